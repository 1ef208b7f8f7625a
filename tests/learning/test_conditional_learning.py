"""Learning tests of class control: short fixed-seed CPU runs on mnist5k, judged by a digit
classifier trained on real digits.

Each test has a quick default-suite recipe (16 px, about 20-30 CPU seconds) whose thresholds
are calibrated in ``tests/learning/CALIBRATION.md``, and the longer 32 px recipe of the slow
suite (``make test-slow``; thresholds from the measured runs in the comments)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from helpers import fit
from torch import Tensor

from ganlab.metrics.classifier import classify
from ganlab.metrics.conditional import (
    class_agreement,
    code_predictions,
    code_purity,
    conditional_predictions,
)
from ganlab.models.base import evaluating

# DCGAN-sized nets for a CPU (as benchmarks/conditional.py): 32 base channels, EMA 5 kimg
SMALL = [
    "data=mnist5k",
    "model.generator.base_channels=32",
    "model.discriminator.base_channels=32",
    "model.ema.half_life_kimg=5",
    "callbacks.evaluation.every_kimg=0",
]
# The default suite's recipe: the same nets at 16 px (a quarter of the pixels; the classifier
# reads real 16 px digits 96.5% right, 28 px 97.5%) and an EMA of 2 kimg for short runs
TINY = [*SMALL, "data.shape=[1,16,16]", "model.ema.half_life_kimg=2"]
# CGAN with a projection D (Miyato & Koyama 2018) instead of label planes, Adam 5e-4: at 16 px
# and 30 kimg it gave 88-94% agreement (2 seeds), label planes 79% (2e-4: 69% at 20 kimg)
QUICK_CGAN = [
    "model.discriminator.conditioning=projection",
    "model.g_optimizer.lr=5e-4",
    "model.d_optimizer.lr=5e-4",
]


def predictor(classifier: torch.nn.Module) -> Callable[[Tensor], Tensor]:
    """The 28 px digit classifier's classes for samples of any size (resized to 28 px)."""

    def predict(x: Tensor) -> Tensor:
        return classify(
            classifier, F.interpolate(x, size=(28, 28), mode="bilinear", antialias=True)
        )[0]

    return predict


@pytest.mark.parametrize(
    ("overrides", "min_agreement"),
    [
        # calibrated (CALIBRATION.md, 2 seeds x 3 kernel sets x 1-2 threads): agreement
        # 0.929-0.966; the target 0.85 keeps a margin of 0.08
        pytest.param(
            ["model=cgan", *TINY, *QUICK_CGAN, "model.generator.latent_dim=64", "max_kimg=50"],
            0.85,
            id="cgan-projection-16px",
        ),
        # measured (seed 0, 1,000 samples): 92.3% at 60 kimg, 96.7% at 100
        pytest.param(
            ["model=cgan", *SMALL, "model.generator.latent_dim=64", "max_kimg=100"],
            0.9,
            id="cgan-32px",
            marks=pytest.mark.slow,  # ~5 CPU minutes
        ),
        # CALIBRATION.md (seeds 0-1 x default/avx2/unset, 1 thread): 0.893-0.996 (its "ok"
        # column was read against the earlier 0.9, which seed 0 missed under avx2 and unset);
        # 0.85 keeps a margin of 0.04
        pytest.param(
            ["model=acgan", *SMALL, "model.generator.latent_dim=64", "max_kimg=80"],
            0.85,
            id="acgan-32px",
            marks=pytest.mark.slow,  # ~5 CPU minutes
        ),
    ],
)
def test_conditional_samples_show_the_requested_digit(
    tmp_path: Path,
    digit_classifier: torch.nn.Module,
    overrides: list[str],
    min_agreement: float,
    learning_seed: int,
    record_learning: Callable[..., None],
) -> None:
    trained, _ = fit(tmp_path, *overrides, f"seed={learning_seed}")
    with evaluating(trained.sampling_generator) as generator:
        requested, predicted = conditional_predictions(
            generator, predictor(digit_classifier), per_class=100, seed=1
        )
    agreement = class_agreement(predicted, requested)
    record_learning(agreement=agreement)
    assert agreement >= min_agreement


@pytest.mark.parametrize(
    ("overrides", "minimum"),
    [
        # calibrated (CALIBRATION.md, 2 seeds x 3 kernel sets x 1-2 threads): worst cases
        # purity 0.693 (the target 0.6), 6 distinct digits, matched accuracy 0.528
        pytest.param(
            [*TINY, "max_kimg=40"],
            {"purity": 0.6, "distinct_majorities": 5, "matched_accuracy": 0.45},
            id="16px",
        ),
        # measured (this seed, CPU): purity 0.82 at 20 kimg, 0.88 at 40, 0.95 at 60 (7 distinct
        # digits, one-to-one matched accuracy 0.66). On a GPU, 6 seeds: purity 0.82-0.96 at
        # 60-80 kimg. Without DiffAugment 0.69-0.79 at 160 kimg (3 seeds); with the Gaussian
        # noise and learned-std Q of earlier versions 0.48-0.55. The target is 0.7.
        pytest.param(
            [*SMALL, "max_kimg=60"],
            {"purity": 0.7, "distinct_majorities": 6, "matched_accuracy": 0.55},
            id="32px",
            marks=pytest.mark.slow,  # ~5 CPU minutes
        ),
    ],
)
def test_infogan_code_discovers_digit_identity_without_labels(
    tmp_path: Path,
    digit_classifier: torch.nn.Module,
    overrides: list[str],
    minimum: dict[str, float],
    learning_seed: int,
    record_learning: Callable[..., None],
) -> None:
    trained, _ = fit(
        tmp_path, "model=infogan", "model/d_input=diffaugment", *overrides, f"seed={learning_seed}"
    )
    with evaluating(trained.sampling_generator) as generator:
        values, predicted = code_predictions(
            generator, predictor(digit_classifier), per_value=100, code=0, seed=1
        )
    scores: dict[str, Any] = code_purity(predicted, values, num_classes=10)
    record_learning(**{name: scores[name] for name in minimum})
    # distinct majorities: not one digit for every code value (which purity alone rewards)
    for name, floor in minimum.items():
        assert scores[name] >= floor, scores
