"""Learning tests: short fixed-seed CPU runs of the real configs must really learn.

Thresholds come from measured runs (numbers in comments) with margins for other CPUs; a naive
GAN may drop modes (the stabilization toolkit is about that), but it must be far above an
untrained generator.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import QUIET, compose_train, fit
from omegaconf import DictConfig

from ganlab.metrics.classifier import digit_judgement
from ganlab.metrics.mixture import mixture_coverage
from ganlab.models import GAN
from ganlab.train import train


def untrained_gan(cfg: DictConfig) -> GAN:
    """The configured model before any training step (the baseline a run must beat)."""
    players = ("generator", "discriminator", "g_optimizer", "d_optimizer")
    return GAN(**{k: cfg.model[k] for k in players})


@pytest.mark.parametrize(
    ("recipe", "min_modes", "min_hq"),
    [
        # measured: 8/8 modes, 61% high quality (untrained: 0 modes, 0%)
        ("gan_ring8", 6, 0.35),
        # measured: 23/25 modes, 25% high quality (untrained: all samples on the central mode)
        ("gan_grid25", 15, 0.12),
    ],
)
def test_vanilla_gan_covers_mixture_modes(
    tmp_path: Path, recipe: str, min_modes: int, min_hq: float
) -> None:
    cfg = compose_train(tmp_path, f"experiment={recipe}")
    model, datamodule = fit(tmp_path, f"experiment={recipe}")
    means, std = datamodule.means, datamodule.std
    untrained = untrained_gan(cfg)
    before = mixture_coverage(untrained.sample(2500, seed=1), means, std)
    after = mixture_coverage(model.sample(2500, seed=1), means, std)
    assert before.modes <= 1, before  # an untrained G maps every z close to the origin
    assert after.modes >= min_modes and after.hq >= min_hq, after
    assert after.kl < before.kl - 1.0, (before, after)


def test_dcgan_draws_recognizable_digits(tmp_path: Path, digit_classifier: torch.nn.Module) -> None:
    cfg = compose_train(tmp_path, "experiment=demo")
    model, _ = fit(tmp_path, "experiment=demo", "max_kimg=100")
    judged = digit_judgement(digit_classifier, model.sample(500, seed=0))
    untrained = untrained_gan(cfg)
    before = digit_judgement(digit_classifier, untrained.sample(500, seed=0))
    # measured at 100 kimg: 34% of samples classified with confidence >= 0.9 (real held-out
    # digits: 91%), all 10 digits among them, mean confidence 0.75; untrained: 0%, 0, 0.11
    assert judged["confident_fraction"] >= 0.25, judged
    assert judged["classes_covered"] >= 8, judged
    assert judged["mean_confidence"] >= 0.6, judged
    assert before["confident_fraction"] < 0.02 and before["mean_confidence"] < 0.3, before


def coverage_after(tmp_path: Path, *overrides: str) -> dict[str, float]:
    """Train the mode-coverage recipe; return what MixtureCoverageMonitor logged at the end."""
    result = train(compose_train(tmp_path, *QUIET, "experiment=coverage", *overrides))
    metrics = result.trainer.callback_metrics
    return {name: metrics[f"val/{name}"].item() for name in ("modes", "hq", "kl")}


@pytest.mark.slow  # two 3,000-kimg runs, ~10 CPU minutes
def test_packing_covers_more_grid25_modes_than_the_naive_gan(tmp_path: Path) -> None:
    naive = coverage_after(tmp_path / "naive")
    packed = coverage_after(tmp_path / "pacgan4", "model.pack=4")
    # measured at 3,000 kimg (1 thread): naive 18 modes, 87% HQ, KL 1.09; PacGAN4 24 modes,
    # 40% HQ, KL 0.39
    assert packed["modes"] >= naive["modes"] + 2, (naive, packed)
    assert packed["kl"] <= naive["kl"] - 0.4, (naive, packed)
