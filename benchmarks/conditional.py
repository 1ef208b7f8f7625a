"""Class control of the conditional GANs (and InfoGAN's unsupervised codes) on ``mnist5k``.

Each variant trains from the command line on ``data=mnist5k`` (32 px) for ``--kimg`` thousand
images. Then, with the mnist5k digit classifier (``python -m ganlab.fit_classifier
data=mnist5k``, trained once into the cache directory):

- class agreement: the share of 1,000 EMA samples (100 per class) the classifier puts in the
  class they were generated for (CGAN, ACGAN, projection D);
- for InfoGAN, trained without labels: purity of its 10-way code (each code value mapped to
  its majority digit) and the accuracy of the best one-to-one code-to-digit matching;
- classifier-feature FID of 5,000 samples against the 5,000 real digits
  (``python -m ganlab.evaluate metrics=[fid] metrics/feature=classifier``);
- CPU minutes of training and evaluation.

    python benchmarks/conditional.py [--seeds 1] [--jobs 2] [--kimg 100]

Finished runs are kept in ``--cache`` and not rerun. CIFAR-10 rows need the data and a GPU:
``--data cifar10`` runs the same protocol there (with a cifar10 classifier).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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

# DCGAN-sized nets for a CPU: 64-d noise, 32 base channels, EMA half-life 5 kimg.
SMALL = [
    "model.generator.latent_dim=64",
    "model.generator.base_channels=32",
    "model.discriminator.base_channels=32",
    "model.ema.half_life_kimg=5",
]
VARIANTS: dict[str, list[str]] = {
    "cgan": ["model=cgan", *SMALL],
    "acgan": ["model=acgan", *SMALL],
    "acgan_fake_class": ["model=acgan", "model.classify_fakes=true", *SMALL],  # the paper's D
    "cgan_pd": [  # SNGAN-projection: ResNets (64 channels for a CPU), n_dis 5
        "model=cgan_pd",
        "model.generator.latent_dim=64",
        "model.generator.channels=64",
        "model.discriminator.channels=64",
        "model.ema.half_life_kimg=5",
    ],
    # DCGAN nets at SNGAN's settings: D's hinge loss reaches 0 within the first kimg (n_dis 5)
    "cgan_pd_dcgan": ["model=cgan_pd", "model/arch=dcgan", *SMALL],
    "cgan_pd_dcgan_ndis1": ["model=cgan_pd", "model/arch=dcgan", "model.n_critic=1", *SMALL],
    "infogan": ["model=infogan", *SMALL[1:]],  # the paper's 62-d uniform noise
    # DiffAugment: Q reads augmented fakes, so the code has to go to the digit's shape
    "infogan_diffaug": ["model=infogan", "model/d_input=diffaugment", *SMALL[1:]],
    # translation alone: the code cannot hide in the digit's position either, at less cost to
    # the samples than color and cutout
    "infogan_translation": [
        "model=infogan",
        "model/d_input=diffaugment",
        "model.d_input.augment.policy=translation",
        *SMALL[1:],
    ],
}


def commands(variant: str, data: str, seed: int, kimg: float) -> list[list[str]]:
    train = train_command(
        *VARIANTS[variant],
        f"data={data}",
        "callbacks.evaluation.every_kimg=0",
        seed=seed,
        kimg=kimg,
    )
    evaluate = evaluate_command(
        "metrics=[fid]",
        "metrics/feature=classifier",
        f"metrics.feature.directory={CLASSIFIERS}",
        "num_fake=5000",
        seed=seed,
    )
    return [train, evaluate]


def class_control(classifier: Path, seed: int) -> Callable[[Path], dict[str, float]]:
    """What to read from a finished run: class agreement or code purity of its generator."""

    def inspect(root: Path) -> dict[str, float]:
        import torch

        from ganlab import load_generator
        from ganlab.metrics.classifier import ClassifierFeatures
        from ganlab.metrics.conditional import (
            class_agreement,
            code_predictions,
            code_purity,
            conditional_predictions,
        )

        torch.set_num_threads(1)
        network = load_generator(root / "run" / "checkpoints" / "last.ckpt").network
        extractor = ClassifierFeatures(path=str(classifier))
        if getattr(network, "num_classes", 0):
            requested, predicted = conditional_predictions(network, extractor.predict, 100, seed)
            return {"agreement": class_agreement(predicted, requested)}
        values, predicted = code_predictions(network, extractor.predict, 100, code=0, seed=seed)
        scores = code_purity(predicted, values, extractor.num_classes)
        return {"purity": scores["purity"], "matched": scores["matched_accuracy"]}

    return inspect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--kimg", type=float, default=100)
    parser.add_argument("--data", default="mnist5k")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    classifier_options(parser, "conditional")
    args = parser.parse_args()
    variants = args.variants.split(",")
    assert not set(variants) - set(VARIANTS), f"unknown variants; choose from {sorted(VARIANTS)}"
    classifier = ensure_classifier(args.classifiers, args.data)

    def one(job: tuple[str, int]) -> dict:
        variant, seed = job
        argvs = commands(variant, args.data, seed, args.kimg)

        def compute() -> dict[str, float]:
            inspect = class_control(classifier, seed)
            places = {CLASSIFIERS: args.classifiers}
            final, cpu = run_modules(argvs, f"{variant}, seed {seed}", inspect, places)
            scores = {k: final[k] for k in ("agreement", "purity", "matched") if k in final}
            return {**scores, "fid": final["fid5k"], "cpu_minutes": cpu}

        record = cached(args.cache, f"{variant}-{args.data}-{seed}", argvs, compute)
        return {"variant": variant, "seed": seed, **record}

    start = time.time()
    jobs = [(v, s) for s in range(args.seeds) for v in variants]
    with ThreadPoolExecutor(args.jobs) as pool:
        runs = []
        for run in pool.map(one, jobs):
            runs.append(run)
            control = {k: f"{run[k]:.3f}" for k in ("agreement", "purity", "matched") if k in run}
            print(
                f"{run['variant']:>16} seed {run['seed']}: {control}, FID {run['fid']:.2f}",
                flush=True,
            )

    lines = [
        f"| Variant ({args.data}, {args.kimg:g} kimg) | class agreement | code purity / matched "
        "| classifier FID 5k | CPU min/run |",
        "|---|---|---|---|---|",
    ]
    for variant in variants:
        group = [r for r in runs if r["variant"] == variant]

        def cell(key: str, group: list[dict] = group) -> str:
            values = [r[key] for r in group if key in r]
            return mean_se(values, scale=100) + "%" if values else "-"

        purity = cell("purity") if "purity" in group[0] else "-"
        matched = f" / {cell('matched')}" if "matched" in group[0] else ""
        fid = mean_se([r["fid"] for r in group], digits=2)
        cpu = statistics.fmean(r["cpu_minutes"] for r in group)
        lines.append(
            f"| {variant} ({len(group)} seeds) | {cell('agreement')} | {purity}{matched} "
            f"| {fid} | {cpu:.1f} |"
        )
    result = "\n".join([*lines, "", commits_line(runs)])
    print(f"\n{result}\n\n{len(jobs)} runs in {(time.time() - start) / 60:.1f} min wall")
    if args.out:
        args.out.write_text(result + "\n")


if __name__ == "__main__":
    main()
