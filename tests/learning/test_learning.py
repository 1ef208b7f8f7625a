"""Learning tests: short fixed-seed CPU runs of the real configs must really learn.

Thresholds come from measured runs (numbers in comments) with margins for other CPUs; a naive
GAN may drop modes (the stabilization toolkit is about that), but it must be far above an
untrained generator.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from helpers import compose_train, fit, untrained_gan

from ganlab.metrics.classifier import digit_judgement
from ganlab.metrics.mixture import mixture_coverage


@pytest.mark.parametrize(
    ("recipe", "min_modes", "min_hq"),
    [
        # A naive GAN's sharpness on ring8 is chaotic across CPU kernels (CALIBRATION.md; also
        # 8 modes / 11.8% HQ on an Intel AVX-512 machine): the test asserts that it learned
        # (modes, KL far below the untrained G's), not how sharp it got. Worst calibrated case:
        # 6 modes, 9.5% HQ, KL 0.46 (untrained: 0 modes, KL 2.08)
        ("gan_ring8", 5, 0.04),
        # worst calibrated case: 21/25 modes, 20% HQ (untrained: every sample on the centre)
        ("gan_grid25", 15, 0.12),
    ],
)
def test_vanilla_gan_covers_mixture_modes(
    tmp_path: Path,
    recipe: str,
    min_modes: int,
    min_hq: float,
    learning_seed: int,
    record_learning: Callable[..., None],
) -> None:
    cfg = compose_train(tmp_path, f"experiment={recipe}")
    model, datamodule = fit(tmp_path, f"experiment={recipe}", f"seed={learning_seed}")
    means, std = datamodule.means, datamodule.std
    untrained = untrained_gan(cfg)
    before = mixture_coverage(untrained.sample(2500, seed=1), means, std)
    after = mixture_coverage(model.sample(2500, seed=1), means, std)
    record_learning(modes=after.modes, hq=after.hq, kl=after.kl)
    assert before.modes <= 1, before  # an untrained G maps every z close to the origin
    assert after.modes >= min_modes and after.hq >= min_hq, after
    assert after.kl < before.kl - 1.0, (before, after)


def test_dcgan_draws_recognizable_digits(
    tmp_path: Path,
    digit_classifier: torch.nn.Module,
    learning_seed: int,
    record_learning: Callable[..., None],
) -> None:
    cfg = compose_train(tmp_path, "experiment=demo")
    model, _ = fit(tmp_path, "experiment=demo", "max_kimg=100", f"seed={learning_seed}")
    judged = digit_judgement(digit_classifier, model.sample(500, seed=0))
    record_learning(
        confident=judged["confident_fraction"],
        classes=judged["classes_covered"],
        mean_confidence=judged["mean_confidence"],
    )
    untrained = untrained_gan(cfg)
    before = digit_judgement(digit_classifier, untrained.sample(500, seed=0))
    # CALIBRATION.md, worst case over seeds 0-1 x kernels: 31% of samples classified with
    # confidence >= 0.9 (real held-out digits: 91%), all 10 digits among them, mean confidence
    # 0.73; untrained: 0%, 0, 0.11
    assert judged["confident_fraction"] >= 0.25, judged
    assert judged["classes_covered"] >= 8, judged
    assert judged["mean_confidence"] >= 0.6, judged
    assert before["confident_fraction"] < 0.02 and before["mean_confidence"] < 0.3, before


def test_default_dcgan_learns_a_small_folder_with_the_small_data_remedy(
    tmp_path: Path,
    digit_classifier: torch.nn.Module,
    learning_seed: int,
    record_learning: Callable[..., None],
) -> None:
    """The preset a new user runs on 500 images (issue 19, section 5): ganlab turns on its
    small-data remedy (DiffAugment on every D input, 500 < small_data.below) and G draws
    digits. benchmarks/small_data.py runs it for longer, beside an unprotected run: on 500
    digits neither collapsed in 150 kimg here (31% and 32% recognised at 125 kimg); on 200
    the doctor flags the unprotected D as overpowering G from 153 of 200 kimg."""
    data = ["data=subset", "data.per_class=50", f"data.split_seed={learning_seed}"]
    model, datamodule = fit(tmp_path, "model=dcgan", *data, "max_kimg=50", f"seed={learning_seed}")
    assert datamodule.dataset_size == 500
    assert type(model.d_input["augment"]).__name__ == "DiffAugment"  # the remedy, by default
    samples = F.interpolate(
        model.sample(500, seed=0), size=(28, 28), mode="bilinear", antialias=True
    )
    judged = digit_judgement(digit_classifier, samples)
    record_learning(
        confident=judged["confident_fraction"],
        classes=judged["classes_covered"],
        mean_confidence=judged["mean_confidence"],
    )
    # CALIBRATION.md, worst case over seeds 0-1 x kernels: 19% confident, 7 digits among them,
    # mean confidence 0.69 (untrained: 0%, 0 digits, 0.11; see test_dcgan_draws_... above)
    assert judged["confident_fraction"] >= 0.12, judged
    assert judged["classes_covered"] >= 5, judged
    assert judged["mean_confidence"] >= 0.55, judged
