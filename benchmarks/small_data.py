"""Small data: does the default DCGAN hold up on a few hundred images, with and without the
small-data remedy?

For each seed and each ``k`` in ``--per-class``, the DCGAN preset (``model=dcgan``, 32 px)
trains ``--kimg`` thousand images on ``k`` real MNIST digits per class (``data=subset`` of
mnist5k, the ``k`` of a smaller subset among those of a larger one) twice: unprotected
(``small_data.below=0``) and as ganlab runs it by default (below 2,000 training images, D sees
real and fake images through DiffAugment). Every ``--every`` kimg a kept checkpoint's generator
draws 500 digits that a small classifier trained on mnist5k judges (the share it labels with
confidence >= 0.9, and how many digits appear among those); the GAN doctor's checks
(``doctor.jsonl``: D's real/fake separation ``d_auc``, coverage, findings) are kept as well.

    python benchmarks/small_data.py [--seeds 1] [--per-class 50,100] [--kimg 150] [--side 32]

Finished runs are kept in ``--cache`` and not rerun.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runs import cached, commit_of, commits_line, run_modules, table_options, train_command

ARMS = {"unprotected": ["small_data.below=0"], "default": []}
BATCH = 64  # data.batch_size of mnist5k (and so of its subsets)
HOLDOUT = 0.2  # data=subset's held-out share: k images per class leave 400 of each class


def gan_command(
    k: int, arm: str, seed: int, kimg: float, every: float, side: int, extra: list[str]
) -> list[str]:
    """The preset on ``k`` digits per class at ``side`` px (and ``extra`` overrides), a
    checkpoint kept about every ``every`` kimg."""
    epoch_kimg = (10 * k // BATCH) * BATCH / 1000  # full batches only
    data = ["data=subset", f"data.per_class={k}", f"data.split_seed={seed}"]
    keep = f"callbacks.periodic_checkpoint.every_n_epochs={max(1, round(every / epoch_kimg))}"
    return train_command(
        "model=dcgan",
        *data,
        f"data.data.shape=[1,{side},{side}]",
        keep,
        *extra,
        *ARMS[arm],
        seed=seed,
        kimg=kimg,
    )


def judge_checkpoints(k: int) -> Callable[[Path], dict[str, Any]]:
    """What to measure in a finished run: each kept checkpoint's samples, and the doctor."""

    def inspect(root: Path) -> dict[str, Any]:
        import torch
        import torch.nn.functional as F

        from ganlab import load_generator
        from ganlab.data import MNIST5k
        from ganlab.io import read_jsonl
        from ganlab.metrics.classifier import digit_judgement, load_or_train_digit_classifier

        torch.set_num_threads(1)
        data = MNIST5k(shape=(1, 28, 28))
        data.setup("fit")
        classifier = load_or_train_digit_classifier(
            root / "digit_classifier.pt", *data.tensors, epochs=8, seed=0
        )
        epoch_kimg = (10 * k // BATCH) * BATCH / 1000
        trajectory = []
        for path in sorted((root / "run" / "checkpoints").glob("epoch*.ckpt")):
            samples = load_generator(path).sample(500, seed=0)
            judged = digit_judgement(
                classifier, F.interpolate(samples, size=(28, 28), mode="bilinear", antialias=True)
            )
            trajectory.append(
                {
                    "kimg": round((int(path.stem.removeprefix("epoch")) + 1) * epoch_kimg, 1),
                    "confident": judged["confident_fraction"],
                    "digits": judged["classes_covered"],
                }
            )
        checks = read_jsonl(root / "run" / "doctor.jsonl")
        flagged = [c["kimg"] for c in checks if "d_overpowering" in c["findings"]]
        return {
            "trajectory": trajectory,
            "doctor": [
                {key: c.get(key) for key in ("kimg", "d_auc", "coverage", "findings")}
                for c in checks
            ],
            "d_overpowering_from_kimg": min(flagged) if flagged else None,
        }

    return inspect


def measure(args: argparse.Namespace, k: int, arm: str, seed: int) -> dict[str, Any]:
    """The record of one (k, arm, seed): from the cache, or trained and judged now."""
    argv = gan_command(k, arm, seed, args.kimg, args.every, args.side, args.overrides)

    def compute() -> dict[str, Any]:
        final, cpu = run_modules([argv], f"k={k} {arm}, seed {seed}", judge_checkpoints(k))
        return {**final, "cpu_minutes": cpu}

    return cached(args.cache, f"k{k}-{arm}-s{seed}", [argv], compute)


def table(runs: list[dict[str, Any]]) -> str:
    """One row per run: the judged share at each kept checkpoint, and the doctor's flag."""
    kimgs = sorted({point["kimg"] for run in runs for point in run["trajectory"]})
    header = " | ".join(f"{kimg:g} kimg" for kimg in kimgs)
    lines = [
        f"| images | D input | seed | {header} | doctor: D overpowers G from | commit |",
        "|---|---|---|" + "---|" * len(kimgs) + "---|---|",
    ]
    for run in runs:
        at = {p["kimg"]: f"{100 * p['confident']:.0f}% ({p['digits']})" for p in run["trajectory"]}
        flagged = run["d_overpowering_from_kimg"]
        cells = " | ".join(at.get(kimg, "") for kimg in kimgs)
        lines.append(
            f"| {10 * run['k']} | {run['arm']} | {run['seed']} | {cells} | "
            f"{'never' if flagged is None else f'{flagged:.0f} kimg'} | {commit_of(run)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--per-class", default="50,100", help="real images per class")
    parser.add_argument("--kimg", type=float, default=150, help="each run's length")
    parser.add_argument("--every", type=float, default=25, help="kimg between judged samples")
    parser.add_argument("--side", type=int, default=32, help="image side in pixels")
    parser.add_argument("overrides", nargs="*", help="more Hydra overrides for every run")
    parser.add_argument("--arms", default=",".join(ARMS), help="which of: " + ", ".join(ARMS))
    table_options(parser, "small_data")
    args = parser.parse_args()
    start = time.time()
    runs = []
    for seed in range(args.seeds):
        for k in (int(k) for k in args.per_class.split(",")):
            for arm in args.arms.split(","):
                record = measure(args, k, arm, seed)
                runs.append({"k": k, "arm": arm, "seed": seed, **record})
                print(f"k={k} {arm} seed {seed}: {record['trajectory']}", flush=True)
    result = "\n".join([table(runs), "", commits_line(runs)])
    print(f"\n{result}\n\n{len(runs)} runs in {(time.time() - start) / 60:.1f} min wall")
    if args.out:
        args.out.write_text(result + "\n")


if __name__ == "__main__":
    main()
