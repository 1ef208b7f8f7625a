"""Nothing lost: exact resume, preemption signals, atomic checkpoint writes, bad checkpoints."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from helpers import QUIET, compose_train, run_cli, run_dir

from ganlab.checkpoint_plugin import AtomicCheckpointIO
from ganlab.checkpoints import CheckpointError, read_checkpoint
from ganlab.train import train


def _train(root: Path, *overrides: str) -> Any:
    cfg = compose_train(
        root, *QUIET, "logger=csv", "callbacks.sample_grid.every_kimg=1", *overrides
    )
    return train(cfg)


def _equal_states(a: Any, b: Any, where: str = "") -> list[str]:
    """Paths (within nested dicts/lists) where two checkpoint entries differ."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        return [d for k in a for d in _equal_states(a[k], b[k], f"{where}/{k}")]
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _equal_states(x, y, f"{where}/{i}")
        ]
    if isinstance(a, torch.Tensor):
        return [] if torch.equal(a, b) else [where]
    return [] if a == b else [where]


@pytest.mark.parametrize(
    ("setting", "kimg"),  # the whole run's length: the first half stops at half of it
    [
        # map-style data (shuffled by the sampler), a conv GAN with BatchNorm and the EMA G:
        # 1,797 digits are 28 batches of 64, so 3 kimg stops inside the second epoch
        (
            [
                "data=digits",
                "model=dcgan",
                "model.generator.base_channels=8",
                "model.discriminator.base_channels=8",
            ],
            6,
        ),
        # generated 2-D data and the PacGAN / instance-noise paths (more random draws)
        (
            [
                "data=grid25",
                "model=gan",
                "model.pack=2",
                "model/d_input=instance_noise",
                "data.samples_per_epoch=1280",
                "data.batch_size=128",
            ],
            6,
        ),
        # Pix2Pix: paired batches, an input-driven G, a D on pairs, and its LR schedule: one
        # constant epoch (62 batches of 64 pairs, 3.97 kimg), then a linear decay, so the
        # stop at 3 kimg is mid-epoch and the rate changes after it
        (
            [
                "data=edges2digits",
                "model=pix2pix",
                "model.generator.base_channels=8",
                "model.discriminator.base_channels=8",
                *(
                    f"model.schedulers.{p}.{k}={v}"
                    for p in "gd"
                    for k, v in (("constant", 1), ("decay", 3))
                ),
            ],
            6,
        ),
        # CycleGAN: unpaired batches of two shuffles, four networks as two players stepped G
        # side first, and D's history pools (full after 4 batches): kept in the checkpoint
        (
            [
                "data=mnist2digits",
                "model=cyclegan",
                "model.generator.base_channels=8",
                "model.generator.n_blocks=1",
                "model.discriminator.base_channels=8",
                "data.batch_size=16",
            ],
            2,
        ),
    ],
    ids=["digits-dcgan", "grid25-pacgan", "edges2digits-pix2pix", "mnist2digits-cyclegan"],
)
def test_stop_and_resume_equals_one_run(tmp_path: Path, setting: list[str], kimg: int) -> None:
    whole = _train(tmp_path / "whole", *setting, f"max_kimg={kimg}")
    _train(tmp_path / "first", *setting, f"max_kimg={kimg / 2}")
    stopped = tmp_path / "first" / "checkpoints" / "last.ckpt"
    halves = _train(tmp_path / "second", *setting, f"max_kimg={kimg}", f"ckpt_path={stopped}")

    one = read_checkpoint(tmp_path / "whole" / "checkpoints" / "last.ckpt")
    two = read_checkpoint(tmp_path / "second" / "checkpoints" / "last.ckpt")
    # G, D and the EMA G; both optimizers (Adam moments and step counts); the counters
    assert not _equal_states(one["state_dict"], two["state_dict"])
    assert not _equal_states(one["optimizer_states"], two["optimizer_states"])
    assert not _equal_states(one["lr_schedulers"], two["lr_schedulers"])
    keep = ("images_seen", "d_steps", "g_steps")
    assert {k: one["ganlab"][k] for k in keep} == {k: two["ganlab"][k] for k in keep}
    assert one["global_step"] == two["global_step"] and one["epoch"] == two["epoch"]
    # the logged step, and the sample grid of the final weights
    assert (
        whole.trainer.fit_loop.epoch_loop._batches_that_stepped
        == halves.trainer.fit_loop.epoch_loop._batches_that_stepped
    )
    final = [(tmp_path / run / "samples" / "final.png").read_bytes() for run in ("whole", "second")]
    assert final[0] == final[1]


def _start(tmp_path: Path, *overrides: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    args = [
        "model=gan",
        "data=ring8",
        "logger=[csv,wandb]",
        "trainer.enable_progress_bar=false",
        "max_kimg=100000",
        f"paths.root_dir={tmp_path}",
        f"hydra.run.dir={tmp_path}/run",
        *overrides,
    ]
    return subprocess.Popen(
        [sys.executable, "-m", "ganlab.train", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", **(env or {})},
    )


def _signal_when_training(process: subprocess.Popen, run: Path, signum: int) -> str:
    """Send ``signum`` once the run has logged a few rows; the process's whole output."""
    metrics = run / "csv" / "metrics.csv"
    deadline = time.monotonic() + 240
    while not (metrics.is_file() and metrics.read_text().count("\n") > 3):
        assert process.poll() is None, process.communicate()[0][-3000:]
        assert time.monotonic() < deadline, "training did not start logging"
        time.sleep(0.5)
    process.send_signal(signum)
    output, _ = process.communicate(timeout=240)
    assert process.returncode == 0, output[-3000:]
    return output


def test_sigterm_writes_a_checkpoint_and_the_run_resumes_in_place(tmp_path: Path) -> None:
    process = _start(tmp_path, "trainer.log_every_n_steps=5")
    output = _signal_when_training(process, tmp_path / "run", signal.SIGTERM)
    assert "received SIGTERM" in output
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    stopped = read_checkpoint(last, for_resume=True)["ganlab"]["images_seen"] / 1000
    assert 0 < stopped < 100000

    out = run_cli(
        "ganlab.train",
        "model=gan",
        "data=ring8",
        "logger=[csv,wandb]",
        "trainer.log_every_n_steps=5",
        f"max_kimg={stopped + 20}",
        f"paths.root_dir={tmp_path}",
        f"ckpt_path={last}",
    )
    assert Path(run_dir(out)) == tmp_path / "run"  # the same run directory, logs continued
    resumed = read_checkpoint(last)["ganlab"]["images_seen"] / 1000
    assert stopped + 20 <= resumed < stopped + 21
    with open(tmp_path / "run" / "csv" / "metrics.csv") as f:
        steps = [int(row["step"]) for row in csv.DictReader(f) if row.get("train/d_loss")]
    assert steps == sorted(steps) and len(set(steps)) == len(steps)  # one log, in order
    # both invocations logged to the same W&B run (offline here: one folder per invocation)
    runs = sorted((tmp_path / "run" / "wandb").glob("offline-run-*"))
    assert len(runs) == 2 and len({r.name.rsplit("-", 1)[1] for r in runs}) == 1


def test_sigusr1_requeues_a_slurm_job(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scontrol = bin_dir / "scontrol"  # records how it was called
    scontrol.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/scontrol.txt\n')
    scontrol.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "SLURM_JOB_ID": "4242"}
    process = _start(tmp_path, "callbacks.preemption.requeue=true", env=env)
    output = _signal_when_training(process, tmp_path / "run", signal.SIGUSR1)
    assert "received SIGUSR1" in output and "requeued SLURM job 4242" in output
    assert (tmp_path / "scontrol.txt").read_text().split() == ["requeue", "4242"]
    read_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt", for_resume=True)


def test_a_write_killed_midway_leaves_the_previous_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"state_dict": {"w": torch.ones(3)}, "ganlab": {}}, path)
    # another process starts overwriting it and is killed halfway through the write
    script = textwrap.dedent(
        f"""
        import os, signal, torch
        from ganlab.checkpoint_plugin import AtomicCheckpointIO
        real_save = torch.save
        def dying_save(obj, f):
            f.write(b"PK" + b"x" * 1000)
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        torch.save = dying_save
        AtomicCheckpointIO().save_checkpoint({{"state_dict": {{}}, "ganlab": {{}}}}, {str(path)!r})
        """
    )
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    assert torch.equal(read_checkpoint(path)["state_dict"]["w"], torch.ones(3))


def test_unusable_ckpt_path_is_one_clear_error(tmp_path: Path) -> None:
    args = ["model=gan", "data=ring8", "debug=fast", f"paths.root_dir={tmp_path}"]
    truncated = tmp_path / "truncated.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(1000)}, "ganlab": {}}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:300])
    out = run_cli("ganlab.train", *args, f"ckpt_path={truncated}", check=False)
    assert "truncated, corrupt or not a PyTorch checkpoint" in out
    assert "torch/serialization.py" not in out  # no stack trace from inside torch

    weights = tmp_path / "weights.ckpt"
    torch.save({"state_dict": {}, "ganlab": {}}, weights)
    with pytest.raises(CheckpointError, match="cannot resume"):
        read_checkpoint(weights, for_resume=True)
    out = run_cli("ganlab.train", *args, f"ckpt_path={tmp_path}/nope.ckpt", check=False)
    assert "does not exist" in out and "last.ckpt" in out
