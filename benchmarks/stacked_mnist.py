"""Modes of Stacked MNIST (1,000) a DCGAN captures, with and without stabilizers.

Each variant trains DCGAN nets on ``data=stacked_mnist5k`` from the command line for
``--kimg`` thousand images, then ``python -m ganlab.evaluate`` counts the modes of 26,000 EMA
samples (the PacGAN protocol) with the mnist5k digit classifier on each channel
(``metrics/feature=stacked_classifier metrics=[modes]``) and reports KL to uniform. The
classifier is trained once (``python -m ganlab.fit_classifier data=mnist5k``) into the cache
directory. Finished runs are kept in ``--cache`` and not rerun.

    python benchmarks/stacked_mnist.py [--seeds 3] [--jobs 2] [--kimg 200]

The published rows used ~100k-500k iterations on a GPU; a short CPU run shows the ordering
of the stabilizers, not the published counts.
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from runs import (
    CLASSIFIERS,
    cached,
    classifier_options,
    commits_line,
    ensure_classifier,
    evaluate_command,
    mean_se,
    run_modules,
    train_command,
)

VARIANTS: dict[str, list[str]] = {
    "dcgan": [],
    "pacdcgan2": ["model.pack=2"],
    "pacdcgan4": ["model.pack=4"],
    "minibatch_stddev": ["model.discriminator.minibatch=stddev"],
    "unrolled5": ["model/unroll=second_order"],
    "wgan_gp": ["model=wgan_gp", "model/arch=dcgan"],
}
PUBLISHED = [  # (method, modes, KL, setup)
    ("DCGAN (VEEGAN T2)", "99", "3.40", "DCGAN nets, ~100k iterations"),
    ("Unrolled GAN (VEEGAN T2)", "48.7", "4.32", ""),
    ("VEEGAN (VEEGAN T2)", "150", "2.95", ""),
    ("PacDCGAN2/3/4 (PacGAN T2)", "1000", "0.06/0.06/0.07", "DCGAN nets"),
    ("DCGAN, D = 1/4 G (PacGAN T3)", "30.6±20.7", "5.99±0.42", "tiny nets, 500k iterations"),
    ("Unrolled 5 / 10 (PacGAN T3)", "236.4 / 327.2", "4.67 / 4.66", ""),
    ("PacDCGAN2/3/4 (PacGAN T3)", "484.5 / 601.3 / 667.4", "2.61 / 2.00 / 1.81", ""),
]


def commands(variant: str, seed: int, kimg: float) -> list[list[str]]:
    train = train_command(
        "model=dcgan", *VARIANTS[variant], "data=stacked_mnist5k", seed=seed, kimg=kimg
    )
    evaluate = evaluate_command(
        "metrics=[modes]",
        "metrics/feature=stacked_classifier",
        f"metrics.feature.directory={CLASSIFIERS}",
        "num_fake=26000",
        seed=seed,
    )
    return [train, evaluate]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--kimg", type=float, default=200)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    classifier_options(parser, "stacked_mnist")
    args = parser.parse_args()
    variants = args.variants.split(",")
    assert not set(variants) - set(VARIANTS), f"unknown variants; choose from {sorted(VARIANTS)}"

    ensure_classifier(args.classifiers, "mnist5k")

    def one(job: tuple[str, int]) -> dict:
        variant, seed = job
        argvs = commands(variant, seed, args.kimg)

        def compute() -> dict[str, float]:
            places = {CLASSIFIERS: args.classifiers}
            final, cpu = run_modules(argvs, f"{variant}, seed {seed}", places=places)
            return {"modes": final["modes26k"], "kl": final["mode_kl26k"], "cpu_minutes": cpu}

        return {
            "variant": variant,
            "seed": seed,
            **cached(args.cache, f"{variant}-{seed}", argvs, compute),
        }

    start = time.time()
    jobs = [(v, s) for s in range(args.seeds) for v in variants]
    with ThreadPoolExecutor(args.jobs) as pool:
        runs = []
        for run in pool.map(one, jobs):
            runs.append(run)
            print(
                f"{run['variant']:>16} seed {run['seed']}: {run['modes']:.0f} modes, KL {run['kl']:.2f}, {run['cpu_minutes']:.1f} CPU min",
                flush=True,
            )
    lines = ["| Method | modes (/1000) | KL | CPU min/run | setup |", "|---|---|---|---|---|"]
    for variant in variants:
        group = [r for r in runs if r["variant"] == variant]
        modes = mean_se([r["modes"] for r in group])
        kl = mean_se([r["kl"] for r in group], digits=2)
        cpu = statistics.fmean(r["cpu_minutes"] for r in group)
        lines.append(
            f"| ganlab {variant} ({args.seeds} seeds) | {modes} | {kl} | {cpu:.1f} | {args.kimg:g} kimg, CPU |"
        )
    lines += [f"| {name} | {modes} | {kl} | - | {setup} |" for name, modes, kl, setup in PUBLISHED]
    result = "\n".join([*lines, "", commits_line(runs)])
    print(f"\n{result}\n\n{len(jobs)} runs in {(time.time() - start) / 60:.1f} min wall")
    if args.out:
        args.out.write_text(result + "\n")


if __name__ == "__main__":
    main()
