"""The command lines a user types, run as real processes."""

from __future__ import annotations

import csv
import glob
import sys
import zipfile
from pathlib import Path

import torch
from helpers import run_cli, run_dir

from ganlab import load_generator


def test_train_log_resume_and_sample(tmp_path: Path) -> None:
    common = ["model=gan", "data=ring8", "debug=fast", f"paths.root_dir={tmp_path}"]
    out = run_cli("ganlab.train", *common, "logger=[csv,tensorboard,wandb]", "max_kimg=2")
    run = Path(run_dir(out))
    assert run.is_relative_to(tmp_path / "outputs" / "train" / "gan-ring8")
    assert (run / ".hydra" / "config.yaml").is_file()
    last = run / "checkpoints" / "last.ckpt"
    assert last.is_file() and (run / "samples" / "final.png").is_file()

    with open(run / "csv" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    keys = set(rows[0])
    for key in (
        "train/d_loss",
        "train/g_loss",
        "train/d_real",
        "train/d_fake",
        "train/grad_norm_d",
        "train/grad_norm_g",
        "train/kimg",
    ):
        assert key in keys, f"{key} not logged; got {sorted(keys)}"
    assert glob.glob(str(run / "tensorboard" / "events.out.tfevents.*"))
    offline = glob.glob(str(run / "wandb" / "offline-run-*"))
    assert offline and glob.glob(f"{offline[0]}/run-*.wandb")
    assert glob.glob(f"{offline[0]}/files/media/images/samples_*.png")

    generator = load_generator(last)
    assert generator.kimg >= 2.0 and generator.ema

    # resume: counters continue from the checkpoint, not from zero, in the same run directory
    out = run_cli(
        "ganlab.train",
        *common,
        "logger=csv",
        "max_kimg=4",
        "trainer.max_epochs=10",
        f"ckpt_path={last}",
    )
    assert Path(run_dir(out)) == run
    resumed = load_generator(last)
    assert 4.0 <= resumed.kimg < 4.0 + 2 * 0.512
    assert resumed.kimg - generator.kimg < 3.0  # it did not restart from 0 kimg

    out = run_cli("ganlab.sample", f"ckpt={last}", "num_samples=100", f"out={tmp_path}/points.png")
    assert (tmp_path / "points.png").is_file() and "100 samples (EMA generator" in out
    run_cli("ganlab.sample", f"ckpt={last}", "num_samples=10", f"out={tmp_path}/x.pt", "seed=4")
    samples = torch.load(tmp_path / "x.pt")
    assert samples.shape == (10, 2) and torch.equal(samples, resumed.sample(10, seed=4))


def test_missing_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    args = ["model=gan", "data=ring8", "debug=fast", f"paths.root_dir={tmp_path}"]
    out = run_cli("ganlab.train", *args, f"ckpt_path={tmp_path}/nope.ckpt", check=False)
    assert "does not exist" in out and "last.ckpt" in out


def test_multirun_sweeps_models(tmp_path: Path) -> None:
    out = run_cli(
        "ganlab.train",
        "-m",
        "model=gan,dcgan",
        "data=digits",
        "trainer.max_epochs=1",
        "logger=none",
        f"paths.root_dir={tmp_path}",
        timeout=400,
    )
    runs = sorted(
        Path(p).parent.parent
        for p in glob.glob(str(tmp_path / "outputs/train/multirun/*/*/checkpoints/last.ckpt"))
    )
    assert len(runs) == 2, out[-2000:]
    assert {load_generator(r / "checkpoints/last.ckpt").shape for r in runs} == {(1, 8, 8)}

    report = run_cli("ganlab.report", str(runs[0].parent))  # the sweep's summary
    assert (
        "| run | model | kimg | status |" in report and "| 1 | dcgan | 1.792 | finished |" in report
    )


def test_two_process_ddp_on_cpu(tmp_path: Path) -> None:
    # WGAN-GP: the gradient penalty's double backward inside DDP's forward must work
    out = run_cli(
        "ganlab.train",
        "trainer=ddp_cpu",
        "model=wgan_gp",
        "model.generator.base_channels=16",
        "model.discriminator.base_channels=16",
        "data=digits",
        "trainer.max_epochs=1",
        "logger=csv",
        f"paths.root_dir={tmp_path}",
        timeout=300,
    )
    generator = load_generator(Path(run_dir(out)) / "checkpoints" / "last.ckpt")
    # 1,797 digits split over 2 processes, full batches of 64 on each: 14 steps x 2 x 64 images
    assert generator.kimg == 14 * 2 * 64 / 1000


def test_missing_data_is_one_message_before_any_process_starts(tmp_path: Path) -> None:
    # the design card's command without the data: the launching process checks the data before
    # DDP's other processes, a logger, W&B or a run directory exist
    import os
    import subprocess

    command = [
        sys.executable,
        "-m",
        "ganlab.train",
        "model=wgan_gp",
        "data=celeba",
        "trainer.devices=2",
        "logger=wandb",
        f"paths.root_dir={tmp_path}",
        f"paths.data_dir={tmp_path}/data",
    ]
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert out.count("DataError: celeba: dataset not found") == 1, out
    assert f"{tmp_path}/data/celeba/img_align_celeba" in out and "drive.google.com/uc?id=" in out
    for absent in ("Traceback", "gloo", "wandb", "Initializing distributed"):
        assert absent not in out, out
    assert not [p for p in tmp_path.rglob("*") if p.is_file()], "a failed start left files"


def test_built_wheel_ships_the_configs(tmp_path: Path) -> None:
    import subprocess

    repo = Path(__file__).resolve().parents[2]
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist"), str(repo)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("ganlab-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert "ganlab/conf/train.yaml" in names and "ganlab/conf/model/dcgan.yaml" in names
        archive.extractall(tmp_path / "site")
    # the unpacked wheel, first on the path, must find its own configs and train
    env = {"PYTHONPATH": str(tmp_path / "site")}
    code = "import ganlab.config as c; print(c.config_dir())"
    where = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, **env},
        cwd=tmp_path,
        check=True,
    ).stdout
    assert where.strip() == str(tmp_path / "site" / "ganlab" / "conf")
    out = run_cli(
        "ganlab.train",
        "model=gan",
        "data=ring8",
        "debug=fast",
        f"paths.root_dir={tmp_path}",
        env=env,
        cwd=str(tmp_path),
    )
    assert Path(run_dir(out)).is_relative_to(tmp_path)


def test_ddp_inside_a_sweep_runs_each_job_once(tmp_path: Path) -> None:
    # Lightning starts DDP's other processes by re-running the command line: with `-m` and a
    # sweep in it, each would re-run the whole sweep unless they get this job's overrides only
    out = run_cli(
        "ganlab.train",
        "-m",
        "model=gan",
        "data=ring8",
        "seed=0,1",
        "trainer=ddp_cpu",
        "debug=fast",
        f"paths.root_dir={tmp_path}",
        timeout=400,
    )
    checkpoints = sorted(glob.glob(str(tmp_path / "outputs/**/last.ckpt"), recursive=True))
    sweeps = {Path(c).parents[2] for c in checkpoints}
    assert len(checkpoints) == 2 and len(sweeps) == 1, (checkpoints, out[-3000:])
    for seed, path in enumerate(checkpoints):
        checkpoint = torch.load(path, weights_only=False)
        assert checkpoint["hyper_parameters"] is not None
        assert len(checkpoint["ganlab"]["rng"]) == 2  # written by a job of two processes
        assert Path(path).parents[1].name == str(seed)
    # DDP's second processes ran their own job only: no sweep of their own, no other run dirs
    (sweep,) = sweeps
    assert out.count("Launching 2 jobs") == 1, out[-3000:]
    assert list((tmp_path / "outputs").rglob("multirun.yaml")) == [sweep / "multirun.yaml"]
    assert sorted(p.name for p in sweep.iterdir()) == ["0", "1", "multirun.yaml"]
