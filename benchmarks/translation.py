"""Pix2Pix's ablations (the paper's Tables 1 and 2, in spirit) on the offline paired task, and
CycleGAN's on the offline unpaired one.

Each variant trains ``model=pix2pix`` from the command line on ``data=edges2digits`` (edges to
32 px digits) at half width (ngf = ndf = 32) for ``--kimg`` thousand pairs. Then its generator,
in its test-time mode (the paper's: dropout on, each batch's BatchNorm statistics; batches of
64), translates the 1,000 held-out edge maps, scored against their digits:

- L1 (per pixel, range [-1, 1]), PSNR and SSIM (``ganlab.metrics.paired_scores``);
- digit agreement: the share of translations the mnist5k digit classifier (``python -m
  ganlab.fit_classifier data=mnist5k``, trained once into the cache directory) reads as the
  digit whose edges went in;
- classifier-feature FID of the 1,000 translations against the 1,000 target digits;
- CPU minutes of training.

Variants: Table 1's objectives (L1 alone, cGAN alone, L1 + cGAN, L1 + an unconditional GAN)
and Table 2's patch sizes of L1 + cGAN (1x1 PixelGAN, 16x16, 34x34, 70x70: the preset).

CycleGAN variants (``cyclegan_*``) train ``model=cyclegan`` on ``data=mnist2digits`` (MNIST
<-> scikit-learn's 8x8 digits framed as MNIST) at the learning test's width (ngf = ndf = 8, 3
residual blocks): the GAN alone, GAN + cycle, GAN + cycle + identity (the preset), the paper's
Table 4 in spirit. Each translates the held-out images of both domains, scored by

- label preservation each way: the target domain's classifier (mnist5k's; the framed 8x8
  digits' own, ``python -m ganlab.fit_classifier data=digits data.digit_box=20``) reads the
  translation as the source image's digit, against the same classifier on the untranslated
  images;
- classifier-feature FID of the translations against the target domain's held-out images;
- cycle L1 (``ganlab.metrics.cycle_scores``) each way.

    python benchmarks/translation.py [--seeds 3] [--jobs 2] [--kimg 16]

Finished runs are kept in ``--cache`` and not rerun.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from runs import (
    cached,
    classifier_options,
    commits_line,
    ensure_classifier,
    mean_se,
    run_modules,
    train_command,
)

HALF_WIDTH = [
    "model=pix2pix",
    "data=edges2digits",
    "model.generator.base_channels=32",
    "model.discriminator.base_channels=32",
    "callbacks.sample_grid.every_kimg=100000",
]
VARIANTS: dict[str, list[str]] = {
    "l1": [*HALF_WIDTH, "model.adversarial_weight=0"],  # Table 1: L1 alone
    "cgan": [*HALF_WIDTH, "model.l1_weight=0"],  # cGAN alone
    "l1_cgan": HALF_WIDTH,  # the preset: L1 + cGAN, 70x70 patches
    "l1_gan": [*HALF_WIDTH, "model.judges_pairs=false"],  # L1 + an unconditional D
    "l1_cgan_1x1": [*HALF_WIDTH, "model.discriminator.n_layers=0"],  # Table 2: PixelGAN
    "l1_cgan_16x16": [*HALF_WIDTH, "model.discriminator.n_layers=1"],
    "l1_cgan_34x34": [*HALF_WIDTH, "model.discriminator.n_layers=2"],
}
SCORES = ("l1", "psnr", "ssim", "agreement", "fid")
CYCLEGAN = [  # the learning test's narrowed preset
    "model=cyclegan",
    "data=mnist2digits",
    "model.generator.base_channels=8",
    "model.generator.n_blocks=3",
    "model.discriminator.base_channels=8",
    "callbacks.sample_grid.every_kimg=100000",
]
CYCLEGAN_VARIANTS: dict[str, list[str]] = {
    "cyclegan_gan": [*CYCLEGAN, "model.cycle_weight=0"],  # no cycle (and so no identity) term
    "cyclegan_gan_cycle": [*CYCLEGAN, "model.identity_weight=0"],
    "cyclegan_gan_cycle_identity": CYCLEGAN,  # the preset
}
CYCLEGAN_SCORES = (
    "a2b",
    "a2b_untranslated",
    "b2a",
    "b2a_untranslated",
    "a2b_rendered",
    "fid_b",
    "fid_a",
    "cycle_l1_a",
    "cycle_l1_b",
)
FRAMED_DIGITS = ("digits", "data.shape=[1,32,32]", "data.digit_box=20")  # mnist2digits' B


def commands(variant: str, seed: int, kimg: float) -> list[list[str]]:
    options = VARIANTS.get(variant) or CYCLEGAN_VARIANTS[variant]
    return [train_command(*options, seed=seed, kimg=kimg)]


def translation_scores(classifier: Path) -> Callable[[Path], dict[str, float]]:
    """What to read from a finished run: its translations of the held-out pairs, scored."""

    def inspect(root: Path) -> dict[str, float]:
        import torch

        from ganlab import load_translator
        from ganlab.data import Edges2Digits
        from ganlab.metrics import FID, paired_scores
        from ganlab.metrics.classifier import ClassifierFeatures

        torch.set_num_threads(1)
        translator = load_translator(root / "run" / "checkpoints" / "last.ckpt")
        pairs = Edges2Digits().held_out()  # the 1,000 held-out pairs
        output = translator(pairs.source, seed=0)
        extractor = ClassifierFeatures(path=str(classifier))
        agreement = float((extractor.predict(output) == pairs.labels).float().mean())
        fid = FID(extractor.num_features)
        with torch.no_grad():
            fid.update(extractor(pairs.target)["features"].double(), real=True)
            fid.update(extractor(output)["features"].double(), real=False)
        return {
            **paired_scores(output, pairs.target),
            "agreement": agreement,
            "fid": float(fid.compute()),
        }

    return inspect


def agreement(extractor: Any, labels: Any, images: Any) -> float:
    """Share of ``images`` that ``extractor``'s classifier reads as their ``labels``."""
    return float((extractor.predict(images) == labels).float().mean())


def cyclegan_scores(classifiers: tuple[Path, Path]) -> Callable[[Path], dict[str, float]]:
    """What to read from a finished CycleGAN run: label preservation, FID and cycle L1 of its
    translations of both domains' held-out images (``classifiers``: A's, then B's)."""

    def inspect(root: Path) -> dict[str, float]:
        import torch

        from ganlab import load_translator
        from ganlab.data import MNIST2Digits
        from ganlab.metrics import FID, cycle_scores
        from ganlab.metrics.classifier import ClassifierFeatures

        torch.set_num_threads(1)
        ckpt = root / "run" / "checkpoints" / "last.ckpt"
        g, f = load_translator(ckpt, direction="AtoB"), load_translator(ckpt, direction="BtoA")
        data = MNIST2Digits()
        a, b = data.held_out()  # 1,000 MNIST digits, 359 framed 8x8 digits
        to_b, to_a = g(a.images), f(b.images)
        scores = cycle_scores(lambda x, reverse=False: (f if reverse else g)(x), a.images, b.images)
        # A -> B is also read as a translator that learned only the 8x8 set's rendering would be
        rendered = data.domains["B"].render(a.images)
        for name, path, source, output, target, reference in (
            ("a2b", classifiers[1], a, to_b, b, rendered),
            ("b2a", classifiers[0], b, to_a, a, None),
        ):
            extractor = ClassifierFeatures(path=str(path))
            kept = partial(agreement, extractor, source.labels)
            scores[name], scores[f"{name}_untranslated"] = kept(output), kept(source.images)
            fid = FID(extractor.num_features)
            with torch.no_grad():
                fid.update(extractor(target.images)["features"].double(), real=True)
                fid.update(extractor(output)["features"].double(), real=False)
            scores[f"fid_{name[-1]}"] = float(fid.compute())
            if reference is not None:
                scores[f"{name}_rendered"] = kept(reference)
        return scores

    return inspect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--kimg", type=float, default=16.0)
    parser.add_argument("--variants", default=",".join([*VARIANTS, *CYCLEGAN_VARIANTS]))
    classifier_options(parser, "translation")
    args = parser.parse_args()
    variants = args.variants.split(",")
    known = [*VARIANTS, *CYCLEGAN_VARIANTS]
    assert not set(variants) - set(known), f"unknown variants; choose from {known}"
    classifier = ensure_classifier(args.classifiers, "mnist5k")
    framed = ensure_classifier(args.classifiers, *FRAMED_DIGITS, name="digits_box20")

    def one(job: tuple[str, int]) -> dict:
        variant, seed = job
        argvs = commands(variant, seed, args.kimg)

        def compute() -> dict[str, float]:
            cyclegan = variant in CYCLEGAN_VARIANTS
            inspect = (
                cyclegan_scores((classifier, framed))
                if cyclegan
                else translation_scores(classifier)
            )
            final, cpu = run_modules(argvs, f"{variant}, seed {seed}", inspect)
            return {
                **{k: final[k] for k in (CYCLEGAN_SCORES if cyclegan else SCORES)},
                "cpu_minutes": cpu,
            }

        record = cached(args.cache, f"{variant}-{seed}", argvs, compute)
        return {"variant": variant, "seed": seed, **record}

    start = time.time()
    jobs = [(v, s) for s in range(args.seeds) for v in variants]
    with ThreadPoolExecutor(args.jobs) as pool:
        runs = []
        for run in pool.map(one, jobs):
            runs.append(run)
            keys = CYCLEGAN_SCORES if run["variant"] in CYCLEGAN_VARIANTS else SCORES
            scores = ", ".join(f"{k} {run[k]:.3f}" for k in keys)
            print(f"{run['variant']:>14} seed {run['seed']}: {scores}", flush=True)

    lines = []
    for names, header, row in (
        (VARIANTS, table_header, table_row),
        (CYCLEGAN_VARIANTS, cyclegan_table_header, cyclegan_table_row),
    ):
        chosen = [v for v in variants if v in names]
        if chosen:
            lines += [header(args.kimg), "|" + "---|" * header(args.kimg).count(" | ") + "---|"]
            lines += [row(v, [r for r in runs if r["variant"] == v]) for v in chosen]
            lines.append("")
    result = "\n".join([*lines, commits_line(runs)])
    print(f"\n{result}\n\n{len(jobs)} runs in {(time.time() - start) / 60:.1f} min wall")
    if args.out:
        args.out.write_text(result + "\n")


def table_header(kimg: float) -> str:
    return (
        f"| Variant (edges2digits, {kimg:g} kimg) | L1 | PSNR (dB) | SSIM | digit agreement "
        "| classifier FID 1k | CPU min/run |"
    )


def table_row(variant: str, group: list[dict]) -> str:
    """One variant's runs: mean ± standard error of each score over seeds."""
    cpu = statistics.fmean(r["cpu_minutes"] for r in group)
    return (
        f"| `{variant}` ({len(group)} seeds) | {mean_se([r['l1'] for r in group], digits=4)} "
        f"| {mean_se([r['psnr'] for r in group], digits=2)} "
        f"| {mean_se([r['ssim'] for r in group], digits=3)} "
        f"| {mean_se([r['agreement'] for r in group], scale=100)}% "
        f"| {mean_se([r['fid'] for r in group], digits=2)} | {cpu:.1f} |"
    )


def cyclegan_table_header(kimg: float) -> str:
    return (
        f"| Variant (mnist2digits, {kimg:g} kimg) "
        "| label kept A -> B (untranslated; rendered as the 8x8 set) "
        "| label kept B -> A (untranslated) | classifier FID B / A | cycle L1 A / B "
        "| CPU min/run |"
    )


def cyclegan_table_row(variant: str, group: list[dict]) -> str:
    """One CycleGAN variant's runs: mean ± standard error of each score over seeds."""

    def kept(way: str, *references: str) -> str:
        shown = [f"{way}_{reference}" for reference in ("untranslated", *references)]
        means = "; ".join(f"{100 * statistics.fmean(r[key] for r in group):.1f}%" for key in shown)
        return f"{mean_se([r[way] for r in group], scale=100)}% ({means})"

    def pair(first: str, second: str, digits: int) -> str:
        values = ([r[first] for r in group], [r[second] for r in group])
        return " / ".join(mean_se(v, digits=digits) for v in values)

    cpu = statistics.fmean(r["cpu_minutes"] for r in group)
    return (
        f"| `{variant}` ({len(group)} seeds) | {kept('a2b', 'rendered')} | {kept('b2a')} "
        f"| {pair('fid_b', 'fid_a', 2)} | {pair('cycle_l1_a', 'cycle_l1_b', 3)} | {cpu:.1f} |"
    )


if __name__ == "__main__":
    main()
