"""Learning tests of class control: short fixed-seed CPU runs on mnist5k, judged by a digit
classifier trained on real digits (thresholds from measured runs, numbers in comments)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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
    "model.ema_half_life_kimg=5",
    "callbacks.evaluation.every_kimg=0",
]


def predictor(classifier: torch.nn.Module) -> Callable[[Tensor], Tensor]:
    """The 28 px digit classifier's classes for 32 px samples."""

    def predict(x: Tensor) -> Tensor:
        return classify(
            classifier, F.interpolate(x, size=(28, 28), mode="bilinear", antialias=True)
        )[0]

    return predict


@pytest.mark.slow  # two runs, ~10 CPU minutes
@pytest.mark.parametrize(("model", "kimg"), [("cgan", 100), ("acgan", 80)])
def test_conditional_samples_show_the_requested_digit(
    tmp_path: Path, digit_classifier: torch.nn.Module, model: str, kimg: int
) -> None:
    trained, _ = fit(
        tmp_path, f"model={model}", *SMALL, "model.generator.latent_dim=64", f"max_kimg={kimg}"
    )
    with evaluating(trained.sampling_generator) as generator:
        requested, predicted = conditional_predictions(
            generator, predictor(digit_classifier), per_class=100, seed=1
        )
    # measured (mnist5k classifier, 1,000 samples): cgan 92.3% at 60 kimg, 96.7% at 100;
    # acgan 100% at 80 kimg (82.8% at 60 kimg, 28 px)
    assert class_agreement(predicted, requested) >= 0.9


@pytest.mark.slow  # one run, ~5 CPU minutes
def test_infogan_code_discovers_digit_identity_without_labels(
    tmp_path: Path, digit_classifier: torch.nn.Module
) -> None:
    trained, _ = fit(tmp_path, "model=infogan", "model/augment=diffaugment", *SMALL, "max_kimg=60")
    with evaluating(trained.sampling_generator) as generator:
        values, predicted = code_predictions(
            generator, predictor(digit_classifier), per_value=100, code=0, seed=1
        )
    scores = code_purity(predicted, values, num_classes=10)
    # measured (this seed, CPU): purity 0.82 at 20 kimg, 0.88 at 40, 0.95 at 60 (7 distinct
    # digits, one-to-one matched accuracy 0.66). On a GPU, 6 seeds: purity 0.82-0.96 at 60-80
    # kimg. Without DiffAugment 0.69-0.79 at 160 kimg (3 seeds); with the Gaussian noise and
    # learned-std Q of earlier versions 0.48-0.55. The target is 0.7.
    assert scores["purity"] >= 0.7, scores
    assert scores["distinct_majorities"] >= 6, scores  # not one digit for every code value
    assert scores["matched_accuracy"] >= 0.55, scores
