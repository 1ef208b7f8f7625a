"""Fault injection: what ganlab does when things go wrong, and whether any state is lost.

Each fault is injected into real ``python -m ganlab.train`` runs (small ring8 / grid25 / digits
models on the CPU) and judged by what is left afterwards: the checkpoint's state compared
bit for bit with an uninterrupted run, the error message, the files on disk.

    python benchmarks/faults.py            # prints the table (about 5 CPU minutes)
    python benchmarks/faults.py --fresh    # injects again instead of reusing the cached result

The result is kept in ``benchmarks/results/faults/`` with the commit that produced it.

The same behaviours are asserted by tests/test_resume.py, tests/test_divergence.py,
tests/config/test_validation.py and tests/data/test_datamodules.py; this is the report.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from runs import commit_of, measured, measured_options

from ganlab.checkpoints import read_checkpoint

COMMON = ["logger=csv", "trainer.enable_progress_bar=false", "seed=0"]
RING = ["model=gan", "data=ring8", "data.samples_per_epoch=51200"]


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled"}
    result = subprocess.run(
        [sys.executable, "-m", "ganlab.train", *COMMON, *args],
        capture_output=True,
        text=True,
        env=env,
    )
    if check and result.returncode != 0:
        raise RuntimeError(result.stdout[-2000:] + result.stderr[-2000:])
    return result


def same_state(a: Path, b: Path) -> bool:
    """G, D, EMA, both optimizers and the counters are bit-identical."""
    one, two = read_checkpoint(a), read_checkpoint(b)

    def flat(x: object) -> list[torch.Tensor]:
        if isinstance(x, dict):
            return [t for k in sorted(x) for t in flat(x[k])]
        if isinstance(x, (list, tuple)):
            return [t for v in x for t in flat(v)]
        return [x] if isinstance(x, torch.Tensor) else []

    pairs = zip(
        flat([one["state_dict"], one["optimizer_states"]]),
        flat([two["state_dict"], two["optimizer_states"]]),
        strict=True,
    )
    counters = ("images_seen", "d_steps", "g_steps")
    return all(torch.equal(x, y) for x, y in pairs) and all(
        one["ganlab"][k] == two["ganlab"][k] for k in counters
    )


def sigterm_mid_epoch(tmp: Path) -> tuple[str, str]:
    cli(*RING, "max_kimg=150", f"hydra.run.dir={tmp}/whole", f"paths.root_dir={tmp}")
    run = tmp / "cut"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled"}
    where = [f"hydra.run.dir={run}", f"paths.root_dir={tmp}", "trainer.log_every_n_steps=5"]
    process = subprocess.Popen(
        [sys.executable, "-m", "ganlab.train", *COMMON, *RING, "max_kimg=150", *where],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    while not (run / "csv" / "metrics.csv").is_file() or (
        (run / "csv" / "metrics.csv").read_text().count("\n") < 20
    ):
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    status = process.wait()
    last = run / "checkpoints" / "last.ckpt"
    stopped = read_checkpoint(last)["ganlab"]["images_seen"] / 1000
    cli(*RING, "max_kimg=150", f"ckpt_path={last}", f"paths.root_dir={tmp}")
    exact = same_state(tmp / "whole" / "checkpoints" / "last.ckpt", last)
    return (
        f"exit {status}, checkpoint at {stopped:.1f} kimg; resumed in place to 150 kimg",
        "none (bit-identical to the uninterrupted run)" if exact else "STATE DIFFERS",
    )


def kill_during_save(tmp: Path) -> tuple[str, str]:
    path = tmp / "last.ckpt"
    cli(*RING, "max_kimg=5", f"hydra.run.dir={tmp}/run", f"paths.root_dir={tmp}")
    (tmp / "run" / "checkpoints" / "last.ckpt").replace(path)
    before = path.read_bytes()
    script = textwrap.dedent(
        f"""
        import os, signal, torch
        from ganlab.checkpoint_plugin import AtomicCheckpointIO
        state = torch.load({str(path)!r}, weights_only=True)
        real_save = torch.save
        def dying(obj, f):
            real_save(obj, f)  # most of the file is written ...
            f.truncate(f.tell() // 2)
            os.kill(os.getpid(), signal.SIGKILL)  # ... and the process dies before renaming
        torch.save = dying
        AtomicCheckpointIO().save_checkpoint(state, {str(path)!r})
        """
    )
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True)
    intact = path.read_bytes() == before
    read_checkpoint(path, for_resume=True)
    return (
        f"writer SIGKILLed mid-write (exit {killed.returncode}); last.ckpt untouched",
        "none (the previous last.ckpt loads)" if intact else "LAST.CKPT CHANGED",
    )


def nan_at_step(tmp: Path, action: str) -> tuple[str, str]:
    args = [
        "model=gan",
        "data=grid25",
        "data.batch_size=128",
        "data.samples_per_epoch=1280",
        "max_kimg=3.84",
        f"callbacks.divergence.action={action}",
        "+callbacks.poison._target_=helpers.PoisonBatch",
        "+callbacks.poison.epoch=1",
        "+callbacks.poison.batch=4",
        f"hydra.run.dir={tmp}/run",
        f"paths.root_dir={tmp}",
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "tests")}
    result = subprocess.run(
        [sys.executable, "-m", "ganlab.train", *COMMON, *args],
        capture_output=True,
        text=True,
        env={**env, "OMP_NUM_THREADS": "1"},
    )
    output = result.stdout + result.stderr
    last = read_checkpoint(tmp / "run" / "checkpoints" / "last.ckpt")
    finite = all(
        torch.isfinite(v).all() for v in last["state_dict"].values() if v.is_floating_point()
    )
    kimg = last["ganlab"]["images_seen"] / 1000
    if action == "stop":
        named = "DivergenceError" in output and "at step 28" in output
        how = f"exit {result.returncode}; {'step, player and causes named' if named else '??'}"
        return how + f"; last.ckpt at {kimg:.2f} kimg", "none (weights finite)" if finite else "NaN"
    rolled = "rolled back" in output
    return (
        f"exit {result.returncode}; {'rolled back, lr x0.5' if rolled else '??'}; "
        f"finished at {kimg:.2f} kimg",
        "none (weights finite)" if finite else "NaN",
    )


def corrupt_images(tmp: Path) -> tuple[str, str]:
    root = tmp / "images"
    root.mkdir()
    for i in range(70):
        Image.new("RGB", (16, 16), (i, 0, 0)).save(root / f"good{i}.png")
    (root / "zero.png").write_bytes(b"")
    good = (root / "good0.png").read_bytes()
    (root / "truncated.png").write_bytes(good[: len(good) // 2])
    (root / "text.jpg").write_text("not an image")
    Image.new("RGBA", (16, 16)).save(root / "rgba.png")
    Image.new("L", (16, 16)).save(root / "gray.png")
    result = cli(
        "model=dcgan",
        "data=image_folder",
        f"data.root={root}",
        "data.shape=[3,16,16]",
        "data.batch_size=8",
        "trainer.max_epochs=1",
        "logger=none",
        f"paths.root_dir={tmp}",
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("image_folder:"))
    return f"trained; {line.split(' (first')[0]}", "none (bad files skipped, counted)"


def bad_checkpoint(tmp: Path) -> tuple[str, str]:
    path = tmp / "bad.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(1000)}}, path)
    path.write_bytes(path.read_bytes()[:300])
    result = cli(*RING, f"ckpt_path={path}", f"paths.root_dir={tmp}", check=False)
    message = (result.stdout + result.stderr).strip().splitlines()[-1].replace(f"{tmp}/", "")
    return f"exit {result.returncode}: {message[:90]}...", "none (nothing started)"


def bad_config(tmp: Path, *overrides: str) -> tuple[str, str]:
    result = cli(f"paths.root_dir={tmp}", *overrides, check=False)
    message = (result.stdout + result.stderr).strip().splitlines()[-1]
    return f"exit {result.returncode}: {message[:100]}...", "none (refused before data loads)"


FAULTS: list[tuple[str, Callable[[Path], tuple[str, str]]]] = [
    ("SIGTERM mid-epoch, then resume", sigterm_mid_epoch),
    ("process killed while saving last.ckpt", kill_during_save),
    ("NaN at step 28 (stop)", lambda t: nan_at_step(t, "stop")),
    ("NaN at step 28 (rollback)", lambda t: nan_at_step(t, "rollback")),
    ("corrupt, truncated, empty, RGBA, gray images", corrupt_images),
    ("truncated file as ckpt_path", bad_checkpoint),
    ("misspelled key", lambda t: bad_config(t, "model=gan", "+model.generator.hiden=[8]")),
    ("wrong type", lambda t: bad_config(t, "model=gan", "trainer.max_epochs=1.5")),
    ("conditional model, unlabelled data", lambda t: bad_config(t, "model=cgan", "data=celeba")),
    (
        "gradient penalty, BatchNorm critic",
        lambda t: bad_config(t, "model=wgan_gp", "data=mnist5k", "model.discriminator.norm=batch"),
    ),
]


def inject_all() -> dict[str, Any]:
    rows = []
    for name, inject in FAULTS:
        with tempfile.TemporaryDirectory(prefix="ganlab-faults-") as tmp:
            handled, lost = inject(Path(tmp))
        rows.append([name, handled, lost])
        print(f"done: {name}", file=sys.stderr)
    return {"rows": rows}


def table(record: dict[str, Any]) -> str:
    lines = ["| fault injected | how it was handled | state lost |", "|---|---|---|"]
    for row in record["rows"]:
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |")
    lines += ["", f"commit {commit_of(record)}"]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    measured_options(parser, "faults")
    return parser


def options() -> dict[str, Any]:
    """The cache key: which faults are injected."""
    return {"faults": [name for name, _ in FAULTS]}


def main() -> None:
    args = parser().parse_args()
    result = table(measured(args.cache, "faults", options(), args.fresh, inject_all))
    print(result)
    if args.out:
        args.out.write_text(result + "\n")


if __name__ == "__main__":
    main()
