"""Every loss family learns, a stabilizer beats the naive GAN, and the doctor stays quiet on a
healthy run: short fixed-seed CPU runs on the ring of 8 Gaussians.

Thresholds are calibrated over seeds x CPU kernels x threads (``tests/learning/CALIBRATION.md``,
``benchmarks/calibrate_learning.py``) and sit with a margin below the worst calibrated case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from helpers import QUIET, compose_train, untrained_gan
from omegaconf import DictConfig
from scipy.optimize import linear_sum_assignment

from ganlab.callbacks.doctor import GANDoctor
from ganlab.metrics.mixture import mixture_coverage
from ganlab.models import GAN
from ganlab.train import TrainResult, train

NO_GRIDS = "callbacks.sample_grid.every_kimg=100000"  # PNG grids only cost time here
# The families' presets on ring8, at a budget size: 2x128 MLPs, batch 64 (more steps per kimg)
SMALL_RING8 = [
    "model/arch=mlp",
    "data=ring8",
    "data.batch_size=64",
    "model.generator.hidden=[128,128]",
    "model.discriminator.hidden=[128,128]",
    NO_GRIDS,
]
# Blurry families (WGAN-GP and SNGAN at their papers' learning rates) put few samples within
# 3 std (0.03) of a mode at CPU budgets; within 10 std (0.1, an eighth of the gap between
# neighbouring modes) a sample still says which mode it draws.
NEAR_STD = 10.0


def train_run(tmp_path: Path, *overrides: str) -> tuple[DictConfig, TrainResult]:
    """Train the composed config quietly (QUIET, then ``overrides``); the config, the result."""
    cfg = compose_train(tmp_path, *QUIET, *overrides)
    return cfg, train(cfg)


def ring_samples(datamodule: Any, n: int, seed: int) -> torch.Tensor:
    """``n`` seeded samples of the data module's Gaussian mixture."""
    means, std = datamodule.means, datamodule.std
    rng = torch.Generator().manual_seed(seed)
    modes = torch.randint(len(means), (n,), generator=rng)
    return means[modes] + std * torch.randn(n, means.shape[1], generator=rng)


def wasserstein1(x: torch.Tensor, y: torch.Tensor) -> float:
    """Exact W1 between two equal-size point clouds (optimal assignment)."""
    cost = torch.cdist(x.double(), y.double()).numpy()
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


@dataclass(frozen=True)
class Family:
    model: str
    max_kimg: int
    max_w1_ratio: float | None  # W1 to the data, trained over untrained (None: not asserted)


# Every family must draw all 8 modes (a sample within NEAR_STD of each) with a reverse KL far
# below the untrained G's log 8 = 2.08. CALIBRATION.md (test_loss_family_learns_ring8: seeds
# 0-1 x 3 kernel sets at 1 thread, seed 0 at 2): 8 modes in every run; KL at most 0.18
# (wgan), 0.08 (wgan_gp), 0.09 (lsgan), 0.01 (sngan).
MIN_MODES, MAX_KL = 7, 0.5
FAMILIES = [
    # the clipped critic and RMSprop 5e-5 learn slowly: 4x the others' budget; W1 ratio at
    # most 0.51 calibrated
    Family("wgan", 400, 0.75),
    # at the paper's Adam 1e-4 the samples still spread along the ring between modes at this
    # budget (W1 ratio 0.77-0.92 calibrated): its learning shows in the modes and KL
    Family("wgan_gp", 100, None),
    Family("lsgan", 100, 0.6),  # W1 ratio at most 0.37 calibrated
    Family("sngan", 100, 0.7),  # W1 ratio at most 0.50 calibrated
]


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.model)
def test_loss_family_learns_ring8(
    tmp_path: Path, family: Family, learning_seed: int, record_learning: Callable[..., None]
) -> None:
    """Each family's preset as shipped (objective, regularizer, optimizer, n_critic), on MLPs."""
    budget = f"max_kimg={family.max_kimg}"
    cfg, result = train_run(
        tmp_path, f"model={family.model}", *SMALL_RING8, budget, f"seed={learning_seed}"
    )
    data: Any = result.datamodule  # a Gaussian mixture: means, std
    real = ring_samples(data, 1000, seed=2)
    before = untrained_gan(cfg).sample(10_000, seed=1)
    assert isinstance(result.model, GAN)
    after = result.model.sample(10_000, seed=1)  # the EMA generator
    w1_ratio = wasserstein1(after[:1000], real) / wasserstein1(before[:1000], real)
    near = mixture_coverage(after, data.means, data.std, hq_std=NEAR_STD)
    untrained = mixture_coverage(before, data.means, data.std, hq_std=NEAR_STD)
    record_learning(w1_ratio=w1_ratio, modes=near.modes, kl=near.kl, near=near.hq)
    assert untrained.modes <= 1, untrained  # an untrained G maps every z close to the origin
    # CALIBRATION.md (test_loss_family_learns_ring8): worst cases above MIN_MODES and FAMILIES
    assert near.modes >= MIN_MODES and near.kl <= MAX_KL, near
    if family.max_w1_ratio is not None:
        assert w1_ratio <= family.max_w1_ratio, (w1_ratio, near)


@dataclass(frozen=True)
class Packing:
    """PacGAN (``model.pack``) against the naive GAN of ``experiment=coverage``."""

    data: str
    max_kimg: int
    pack: int
    min_mode_gain: int  # packed modes - naive modes
    min_kl_drop: float  # naive reverse KL - packed reverse KL
    doctor_from_kimg: float | None  # the doctor checks the packed run from here: all quiet


def coverage_run(tmp_path: Path, packing: Packing, pack: int, seed: int) -> TrainResult:
    doctor = packing.doctor_from_kimg
    overrides = [f"callbacks.doctor.start_kimg={doctor}"] if doctor is not None else []
    _, result = train_run(
        tmp_path / f"pack{pack}",
        "experiment=coverage",
        f"data={packing.data}",
        f"max_kimg={packing.max_kimg}",
        f"model.pack={pack}",
        NO_GRIDS,
        *overrides,
        f"seed={seed}",
    )
    return result


def final_coverage(result: TrainResult) -> dict[str, float]:
    """What the MixtureCoverageMonitor logged at the end (2,500 EMA samples)."""
    metrics = result.trainer.callback_metrics
    return {name: metrics[f"val/{name}"].item() for name in ("modes", "hq", "kl")}


@pytest.mark.parametrize(
    "packing",
    [
        # CALIBRATION.md (test_packing_covers_more_modes_than_the_naive_gan[ring8-pack2]): the
        # naive GAN ends at 0-8 modes with KL 1.00-2.08, PacGAN2 at 8 modes with KL <= 0.014
        # (the naive GAN often reaches all modes but piles its mass on a few: the gain is the
        # KL); the doctor checked 5 times in every run and found nothing
        Packing("ring8", 450, 2, 0, 0.5, doctor_from_kimg=300),
        pytest.param(  # two 3,000-kimg runs, ~10 CPU minutes. CALIBRATION.md (seeds 0-1 x
            # default/avx2/unset, 1 thread): PacGAN4 gains 0-6 modes (naive 19-23, packed
            # 23-25) and lowers the reverse KL by 0.15-0.64 (naive 0.90-1.02, packed 0.33-0.77);
            # its "ok" column was read against the earlier +2 modes / -0.4 KL, which 3 of the
            # runs missed: the claim that holds everywhere is "no mode lost, KL lower"
            Packing("grid25", 3000, 4, 0, 0.1, doctor_from_kimg=None),
            marks=pytest.mark.slow,
        ),
    ],
    ids=lambda p: f"{p.data}-pack{p.pack}",
)
def test_packing_covers_more_modes_than_the_naive_gan(
    tmp_path: Path, packing: Packing, learning_seed: int, record_learning: Callable[..., None]
) -> None:
    naive_run = coverage_run(tmp_path, packing, 1, learning_seed)
    packed_run = coverage_run(tmp_path, packing, packing.pack, learning_seed)
    naive, packed = final_coverage(naive_run), final_coverage(packed_run)
    doctor = next(c for c in packed_run.trainer.callbacks if isinstance(c, GANDoctor))
    findings = sum(len(check["findings"]) for check in doctor.history)
    record_learning(
        naive_modes=naive["modes"],
        naive_kl=naive["kl"],
        packed_modes=packed["modes"],
        packed_kl=packed["kl"],
        packed_hq=packed["hq"],
        doctor_checks=len(doctor.history),
        doctor_findings=findings,
    )
    # CALIBRATION.md, worst cases in the parameters' comments
    assert packed["modes"] >= naive["modes"] + packing.min_mode_gain, (naive, packed)
    assert packed["kl"] <= naive["kl"] - packing.min_kl_drop, (naive, packed)
    if packing.doctor_from_kimg is not None:  # a healthy run: checked, never a finding
        status = packed_run.trainer.callback_metrics["doctor/status"].item()
        assert len(doctor.history) >= 3 and findings == 0 and status == 0, doctor.history
