"""Hyperparameter search (Optuna) and cluster launching (submitit), run as real processes."""

from __future__ import annotations

import glob
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import CONF, run_cli
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ganlab import load_generator
from ganlab.config import compose_config

QUIET = [
    "logger=none",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]
SEARCHED = {"model.g_optimizer.lr", "model.d_optimizer.lr", "model.pack"}


def last_value(run: Path, metric: str) -> float:
    """The last value of ``metric`` in a run's metrics.jsonl."""
    with open(run / "metrics.jsonl") as f:
        values = [r["value"] for r in map(json.loads, f) if r["metric"] == metric]
    assert values, f"no {metric} in {run}/metrics.jsonl"
    return float(values[-1])


def the_sweep(root: Path) -> Path:
    (sweep,) = glob.glob(str(root / "outputs/train/multirun/*"))
    return Path(sweep)


def test_optuna_search_on_the_coverage_recipe(tmp_path: Path) -> None:
    # 3 trials, one at a time; TPE models the third from the first two
    out = run_cli(
        "ganlab.train",
        "experiment=coverage",
        "hparams_search=coverage_optuna",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.n_jobs=1",
        "hydra.sweeper.sampler.n_startup_trials=2",
        "max_kimg=20",
        "callbacks.mode_coverage.every_kimg=10",
        *QUIET,
        f"paths.root_dir={tmp_path}",
    )
    sweep = the_sweep(tmp_path)
    trials: dict[str, tuple[dict[str, Any], float]] = {}
    for n in ("0", "1", "2"):
        run = sweep / n
        overrides = yaml.safe_load((run / ".hydra/overrides.yaml").read_text())
        params = {k: yaml.safe_load(v) for k, v in (o.split("=", 1) for o in overrides)}
        value = last_value(run, "val/kl")  # the end-of-run measurement: what the trial returned
        assert math.isfinite(value), f"trial {n}: val/kl {value}"
        assert 1e-4 <= params["model.g_optimizer.lr"] <= 3e-3
        assert 1e-4 <= params["model.d_optimizer.lr"] <= 3e-3
        assert params["model.pack"] in (1, 2, 4)
        trials[n] = ({k: params[k] for k in SEARCHED}, value)
    assert not (sweep / "3").exists()

    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["name"] == "optuna" and set(results["best_params"]) == SEARCHED
    best_params, best_value = min(trials.values(), key=lambda t: t[1])
    # the returned value went through a float32 tensor; metrics.jsonl keeps the float64
    assert results["best_value"] == pytest.approx(best_value, rel=1e-6)
    assert results["best_params"] == pytest.approx(best_params)
    assert "Best value" in out


def test_a_metric_never_logged_stops_the_search_with_its_name(tmp_path: Path) -> None:
    out = run_cli(
        "ganlab.train",
        "experiment=coverage",
        "hparams_search=coverage_optuna",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.n_jobs=1",
        "optimized_metric=val/fid5k",  # the evaluation callback is off: never measured
        "max_kimg=2",
        "callbacks.mode_coverage.every_kimg=1",
        *QUIET,
        f"paths.root_dir={tmp_path}",
        check=False,
    )
    # inside a sweep the error fails the trial (Optuna counts it against max_failure_rate)
    # and the search ends with it, naming the metric and those that were logged
    last = out.splitlines()[-1]
    assert last.startswith("ganlab.validation.ConfigError: optimized_metric=val/fid5k was never")
    assert "val/kl" in last, out[-2000:]
    assert not (the_sweep(tmp_path) / "1").exists()  # stopped at the first trial


def compose_with_hydra(*overrides: str) -> DictConfig:
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return compose("train", overrides=list(overrides), return_hydra_config=True)


def test_searches_compose(tmp_path: Path) -> None:
    cfg = compose_with_hydra("experiment=dcgan_cifar10", "hparams_search=dcgan_fid_optuna")
    assert cfg.optimized_metric == "val/fid5k" and cfg.hydra.sweeper.direction == "minimize"
    # measured (every_kimg > 0) on 5,000 samples, which is what the name fid5k says
    assert cfg.callbacks.evaluation.every_kimg > 0 and cfg.callbacks.evaluation.num_fake == 5000
    assert cfg.callbacks.evaluation.monitor == "val/fid5k"
    assert cfg.hydra.sweeper.params["model/loss"] == "choice(nonsaturating, hinge)"
    # the task config is unchanged for notebooks (no hydra node, no ${hydra:} interpolation)
    task = compose_config(
        "experiment=coverage", "hparams_search=coverage_optuna", output_dir=tmp_path
    )
    assert task.optimized_metric == "val/kl" and "hydra" not in task


class Submitted(Exception):
    """Raised instead of submitting: the executor is ready."""


def test_slurm_launcher_asks_for_what_the_trainer_uses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import submitit

    cfg = compose_with_hydra(
        "hydra/launcher=slurm",
        "experiment=wgan_gp_cifar10",
        "trainer=ddp",
        "trainer.devices=4",
        "trainer.num_nodes=2",
        "hydra.launcher.partition=gpu",
        "+hydra.launcher.additional_parameters.mail-type=END",
        f"paths.root_dir={tmp_path}",
    )
    launcher = instantiate(cfg.hydra.launcher)
    assert type(launcher).__name__ == "SlurmLauncher"
    params = launcher.params
    assert (params["nodes"], params["gpus_per_node"], params["tasks_per_node"]) == (2, 4, 4)
    assert params["max_num_timeout"] > 0 and params["signal_delay_s"] >= 60
    assert params["additional_parameters"] == {"requeue": True, "mail-type": "END"}

    # the sbatch script the launcher would submit (submitit only checks that srun exists)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text("#!/bin/sh\n")
    (bin_dir / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    executors: list[Any] = []

    def capture(self: Any, *args: Any) -> Any:
        executors.append(self)
        raise Submitted

    monkeypatch.setattr(submitit.AutoExecutor, "map_array", capture)
    launcher.config = cfg
    with pytest.raises(Submitted):
        launcher.launch([["seed=0"]], initial_job_idx=0)
    slurm = executors[0]._executor
    assert slurm.max_num_timeout == params["max_num_timeout"]
    sbatch = slurm._make_submission_file_text("python -m submitit.core._submit x", "uid")
    for line in (
        "--partition=gpu",
        "--nodes=2",
        "--gpus-per-node=4",
        "--ntasks-per-node=4",
        "--cpus-per-task=8",
        "--mem=64GB",
        "--time=1440",
        "--signal=USR2@120",
        "--requeue",
        "--mail-type=END",
    ):
        assert f"#SBATCH {line}\n" in sbatch, f"{line} missing from:\n{sbatch}"

    # one GPU, one task, one node unless the trainer says otherwise
    single = compose_with_hydra("hydra/launcher=slurm").hydra.launcher
    assert (single.nodes, single.gpus_per_node, single.tasks_per_node) == (1, 1, 1)


def _task_pid(needle: str, job_id: str) -> int | None:
    """The pid of the task process of submitit local job ``job_id`` whose command line
    mentions ``needle``, if it is running."""
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        proc = Path(cmdline).parent
        try:
            args = Path(cmdline).read_bytes().split(b"\0")
            if b"submitit.core._submit" not in args or needle.encode() not in b" ".join(args):
                continue
            environ = proc.joinpath("environ").read_bytes().split(b"\0")
        except OSError:  # ended meanwhile
            continue
        if f"SUBMITIT_LOCAL_JOB_ID={job_id}".encode() in environ:
            return int(proc.name)
    return None


def _job_id(run: Path) -> str:
    """The submitit job id of the job that ran ``run``."""
    return str(OmegaConf.load(run / ".hydra/hydra.yaml").hydra.job.id)


def _job_file(run: Path, name: str) -> Path:
    """A file of the submitit job that ran ``run``: log.out, log.err, result.pkl."""
    job_id = _job_id(run)
    return run.parent / ".submitit" / job_id / f"{job_id}_0_{name}"


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds tasks in /proc")
def test_submitit_sweep_requeues_and_resumes(tmp_path: Path) -> None:
    """Two runs through submitit's local executor (the SLURM launcher's code path without
    sbatch). Run 0 gets submitit's time-limit signal (USR2) after its first last.ckpt: submitit
    requeues the job, and with ckpt_path=last the restarted job continues from that checkpoint
    in the same run directory. Both finish, log val/kl and return it to the sweep."""
    from submitit.core.utils import pickle_load

    max_kimg = 40  # 16 epochs of 2.56 kimg, last.ckpt after each
    command = [
        sys.executable,
        "-m",
        "ganlab.train",
        "-m",
        "hydra/launcher=submitit_local",
        "experiment=coverage",
        "seed=0,1",
        f"max_kimg={max_kimg}",
        "data.samples_per_epoch=2560",
        "callbacks.mode_coverage.every_kimg=20",
        "ckpt_path=last",
        "optimized_metric=val/kl",
        *QUIET,
        f"paths.root_dir={tmp_path}",
    ]
    env = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"}
    sweep_process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,  # its own process group, with the jobs it starts
    )
    interrupted_at = None  # kimg of run 0's last.ckpt when the signal was sent
    try:
        deadline = time.monotonic() + 240
        while sweep_process.poll() is None and time.monotonic() < deadline:
            ckpts = glob.glob(str(tmp_path / "outputs/train/multirun/*/0/checkpoints/last.ckpt"))
            if ckpts and interrupted_at is None:
                run = Path(ckpts[0]).parent.parent
                pid = _task_pid(str(tmp_path), _job_id(run))
                if pid is not None:
                    interrupted_at = load_generator(ckpts[0]).kimg
                    os.kill(pid, signal.SIGUSR2)
            time.sleep(0.2)
        output = sweep_process.communicate(timeout=max(1.0, deadline - time.monotonic()))[0]
    finally:
        if sweep_process.poll() is None:
            os.killpg(sweep_process.pid, signal.SIGKILL)
    assert sweep_process.returncode == 0, output[-3000:]
    assert interrupted_at is not None and interrupted_at < max_kimg, "run 0 was not interrupted"

    sweep = the_sweep(tmp_path)
    assert sorted(p.name for p in sweep.iterdir() if p.name.isdigit()) == ["0", "1"]
    for run, starts in ((sweep / "0", 2), (sweep / "1", 1)):
        assert load_generator(run / "checkpoints/last.ckpt").kimg >= max_kimg
        stdout = _job_file(run, "log.out").read_text()
        assert stdout.count("Starting with JobEnvironment") == starts, stdout[-3000:]
        status, job_return = pickle_load(_job_file(run, "result.pkl"))
        value = last_value(run, "val/kl")
        assert status == "success" and math.isfinite(value)
        assert job_return.return_value == pytest.approx(value, rel=1e-6)
    # the requeued job continued from its own checkpoint
    assert "Requeued job" in _job_file(sweep / "0", "log.out").read_text()
    restored = f"Restored all states from the checkpoint at {sweep}/0/checkpoints/last.ckpt"
    assert restored in _job_file(sweep / "0", "log.err").read_text()
