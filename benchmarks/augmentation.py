"""Synthetic data augmentation: does a conditional GAN's output help a classifier trained on a
few real digits?

For each seed and each ``k`` in ``--per-class``, on one seeded stratified split of ``mnist5k``
(``data=subset``: 400 training and 100 held-out images per class; the ``k`` per class of the
smaller subsets are among those of the larger ones):

1. a CGAN trains on the ``k`` real images per class only (DCGAN-sized nets with DiffAugment,
   the usual remedy for small data), ``--kimg`` thousand images;
2. its EMA generator draws ``--synthetic`` images per class, quantized to 8 bits as a PNG
   export (``python -m ganlab.sample class_grid=true out=<dir>/``) would store them;
3. the same small classifier (:class:`~ganlab.networks.classifier.DigitClassifier`, random shifts of up
   to 2 px, AdamW with cosine decay, ``--steps`` steps of 64 images) trains three times:
   on the real images alone, on real and synthetic images mixed 1:1 (the real images
   repeated to balance them), and on the synthetic images alone (the classification accuracy
   score of Ravuri & Vinyals 2019, a check on the samples);
4. each classifier is scored on the 1,000 held-out real images.

    python benchmarks/augmentation.py [--seeds 3] [--per-class 10,50,100] [--kimg 50]

Finished runs are kept in ``--cache`` and not rerun.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runs import cached, commits_line, mean_se, run_modules, table_options, train_command

SMALL = [  # the CPU-sized CGAN of benchmarks/conditional.py, with DiffAugment
    "model=cgan",
    "model.generator.latent_dim=64",
    "model.generator.base_channels=32",
    "model.discriminator.base_channels=32",
    "model.ema.half_life_kimg=5",
    "model/d_input=diffaugment",
    "callbacks.evaluation.every_kimg=0",
]
ARMS = ("real", "real+GAN", "GAN")
BATCH = 64


def gan_command(k: int, seed: int, kimg: float) -> list[str]:
    subset = ["data=subset", f"data.per_class={k}", f"data.split_seed={seed}"]
    return train_command(*SMALL, *subset, seed=seed, kimg=kimg)


def classify_with_and_without(
    k: int, seed: int, synthetic: int, steps: int
) -> Callable[[Path], dict[str, float]]:
    """What to measure on a finished GAN run: the test accuracy of each arm."""

    def inspect(root: Path) -> dict[str, float]:
        import torch

        from ganlab import load_generator
        from ganlab.data import ClassSubset, MNIST5k
        from ganlab.metrics.classifier import classify, train_classifier
        from ganlab.metrics.features import to_uint8
        from ganlab.networks.classifier import DigitClassifier

        torch.set_num_threads(1)
        start = time.process_time()
        real = ClassSubset(MNIST5k(), per_class=k, split_seed=seed).images()
        x_test, y_test = ClassSubset(MNIST5k(), split="test", split_seed=seed).images()
        generator = load_generator(root / "run" / "checkpoints" / "last.ckpt")
        y_fake = torch.arange(generator.num_classes).repeat_interleave(synthetic)
        x_fake = torch.cat(  # in chunks, each drawn with its own seed
            [
                generator.sample(len(y), seed=1000 * seed + i, labels=y)
                for i, y in enumerate(y_fake.split(500))
            ]
        )
        x_fake = to_uint8(x_fake).float() / 127.5 - 1.0  # as read back from 8-bit PNGs
        repeats = math.ceil(len(x_fake) / len(real[0]))
        sets = {
            "real": real,
            "real+GAN": (
                torch.cat([real[0].repeat(repeats, 1, 1, 1)[: len(x_fake)], x_fake]),
                torch.cat([real[1].repeat(repeats)[: len(y_fake)], y_fake]),
            ),
            "GAN": (x_fake, y_fake),
        }
        accuracy = {}
        for arm, (x, y) in sets.items():
            with torch.random.fork_rng():
                torch.manual_seed(seed)
                model = DigitClassifier(10, 16, 1)
            epochs = math.ceil(steps / math.ceil(len(x) / BATCH))
            train_classifier(
                model, x, y, epochs=epochs, batch_size=BATCH, seed=seed, outlier_weight=0.0
            )
            accuracy[arm] = float((classify(model, x_test)[0] == y_test).float().mean())
        return {**accuracy, "classifier_cpu_minutes": (time.process_time() - start) / 60}

    return inspect


def measure(args: argparse.Namespace, k: int, seed: int) -> dict[str, Any]:
    """The record of one (k, seed): from the cache, or the CGAN trained and the arms measured."""
    argv = gan_command(k, seed, args.kimg)
    inspect = classify_with_and_without(k, seed, args.synthetic, args.steps)
    protocol = {"synthetic": args.synthetic, "steps": args.steps, "batch": BATCH}

    def compute() -> dict[str, float]:
        final, cpu = run_modules([argv], f"k={k}, seed {seed}", inspect)
        return {**final, "cpu_minutes": cpu}

    return cached(args.cache, f"k{k}-s{seed}", [argv, protocol], compute)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--per-class", default="10,50,100", help="real images per class")
    parser.add_argument("--kimg", type=float, default=50, help="the CGAN's training length")
    parser.add_argument("--synthetic", type=int, default=500, help="GAN images per class")
    parser.add_argument("--steps", type=int, default=1000, help="classifier steps (batch 64)")
    table_options(parser, "augmentation")
    args = parser.parse_args()
    ks = [int(k) for k in args.per_class.split(",")]
    start = time.time()
    runs: list[dict[str, Any]] = []
    for seed in range(args.seeds):
        for k in ks:
            record = measure(args, k, seed)
            runs.append({"k": k, "seed": seed, **record})
            accuracies = ", ".join(f"{a} {100 * record[a]:.1f}%" for a in ARMS)
            print(f"k={k:>3} seed {seed}: {accuracies}", flush=True)

    lines = [
        f"| real per class | real only | real + GAN (1:1) | GAN only | CGAN CPU min "
        f"({args.kimg:g} kimg) |",
        "|---|---|---|---|---|",
    ]
    for k in ks:
        group = [r for r in runs if r["k"] == k]
        cells = [mean_se([r[a] for r in group], scale=100) + "%" for a in ARMS]
        cpu = statistics.fmean(r["cpu_minutes"] for r in group)
        lines.append(f"| {k} ({len(group)} seeds) | " + " | ".join(cells) + f" | {cpu:.1f} |")
    result = "\n".join([*lines, "", commits_line(runs)])
    print(f"\n{result}\n\n{len(runs)} runs in {(time.time() - start) / 60:.1f} min wall")
    if args.out:
        args.out.write_text(result + "\n")


if __name__ == "__main__":
    main()
