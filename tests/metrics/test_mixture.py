"""Known-answer tests for the Gaussian-mixture mode-coverage metric."""

from __future__ import annotations

import math

import pytest
import torch

from ganlab.metrics.mixture import MixtureCoverage, MixtureCoverageResult, mixture_coverage

STD = 0.01


def ring_means(k: int = 8, radius: float = 1.0) -> torch.Tensor:
    angles = 2 * math.pi * torch.arange(k, dtype=torch.float64) / k
    return radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)


def grid_means(side: int = 5) -> torch.Tensor:
    coords = torch.arange(side, dtype=torch.float64) * 2.0 - 2.0 * (side // 2)
    gx, gy = torch.meshgrid(coords, coords, indexing="ij")
    return torch.stack([gx.flatten(), gy.flatten()], dim=1)


def perfect_samples(means: torch.Tensor, n: int, std: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(means.shape[0], (n,), generator=g)
    return means[idx] + std * torch.randn(n, means.shape[1], generator=g, dtype=means.dtype)


def test_samples_at_means_balanced() -> None:
    means = ring_means(8)
    samples = means.repeat(10, 1)
    r = mixture_coverage(samples, means, STD)
    assert isinstance(r, MixtureCoverageResult)
    assert (r.modes, r.hq, r.num_modes, r.num_samples) == (8, 1.0, 8, 80)
    assert r.kl == pytest.approx(0.0, abs=1e-12)


def test_grid25_at_means() -> None:
    means = grid_means(5)
    r = mixture_coverage(means.repeat(3, 1), means, std=0.05)
    assert (r.modes, r.hq) == (25, 1.0)
    assert r.kl == pytest.approx(0.0, abs=1e-12)


def test_collapse_to_one_mode() -> None:
    means = ring_means(8)
    samples = means[3].expand(100, 2) + 0.5 * STD
    r = mixture_coverage(samples, means, STD)
    assert (r.modes, r.hq) == (1, 1.0)
    assert r.kl == pytest.approx(math.log(8))


def test_far_from_every_mode() -> None:
    means = ring_means(8)
    samples = torch.full((50, 2), 10.0)
    r = mixture_coverage(samples, means, STD)
    assert (r.modes, r.hq) == (0, 0.0)
    assert r.kl == pytest.approx(math.log(8))  # documented convention for zero HQ samples


def test_hq_threshold_is_inclusive_at_three_std() -> None:
    means = torch.tensor([[0.0, 0.0], [10.0, 0.0]], dtype=torch.float64)
    samples = torch.tensor([[0.03, 0.0], [0.0, 0.0300001], [10.0, -0.02]], dtype=torch.float64)
    r = mixture_coverage(samples, means, STD)
    assert r.hq == pytest.approx(2 / 3)
    assert r.modes == 2
    assert mixture_coverage(samples, means, STD, hq_std=2.0).modes == 1


def test_unbalanced_histogram_by_hand() -> None:
    means = ring_means(4, radius=1.0)
    counts = [6, 3, 1, 0]  # HQ histogram over the 4 modes
    parts = [means[k].expand(c, 2) for k, c in enumerate(counts)]
    far = torch.full((5, 2), 7.0, dtype=torch.float64)  # 5 low-quality samples
    samples = torch.cat([*parts, far])
    r = mixture_coverage(samples, means, STD)
    # q = (0.6, 0.3, 0.1, 0); KL = sum q log(4 q)
    expected = 0.6 * math.log(2.4) + 0.3 * math.log(1.2) + 0.1 * math.log(0.4)
    assert expected == pytest.approx(0.4883, abs=1e-4)
    assert r.modes == 3
    assert r.hq == pytest.approx(10 / 15)
    assert r.kl == pytest.approx(expected, rel=1e-9)
    assert r.as_dict() == {
        "modes": 3,
        "hq": r.hq,
        "kl": r.kl,
        "num_modes": 4,
        "num_samples": 15,
    }


def test_perfect_sampler_ring8() -> None:
    means = ring_means(8)
    samples = perfect_samples(means, 2500, STD, seed=0)
    r = mixture_coverage(samples, means, STD)
    assert r.modes == 8
    assert 0.98 <= r.hq <= 0.995  # P(chi2_2 <= 9) = 1 - exp(-4.5) = 0.9889
    assert r.kl < 0.01  # expected about (K - 1) / (2 N) = 0.0014


def test_input_validation() -> None:
    means = ring_means(8)
    with pytest.raises(ValueError):
        mixture_coverage(torch.zeros(4, 3), means, STD)
    with pytest.raises(ValueError):
        mixture_coverage(torch.zeros(4, 2), means, 0.0)
    with pytest.raises(ValueError):
        mixture_coverage(torch.zeros(4, 2), means[0], STD)


def test_empty_samples() -> None:
    r = mixture_coverage(torch.zeros(0, 2), ring_means(8), STD)
    assert (r.modes, r.hq, r.num_samples) == (0, 0.0, 0)
    assert r.kl == pytest.approx(math.log(8))


def test_metric_matches_function_in_chunks() -> None:
    means = ring_means(8)
    samples = perfect_samples(means, 2500, STD, seed=1)
    # make it less trivial: drop two modes and add some off-mode samples
    nearest = torch.cdist(samples, means).argmin(dim=1)
    samples = samples[(nearest != 2) & (nearest != 5)]
    samples = torch.cat(
        [samples, 0.5 * torch.randn(200, 2, generator=torch.Generator().manual_seed(2))]
    )
    expected = mixture_coverage(samples, means, STD)

    metric = MixtureCoverage(means, STD)
    for chunk in samples.split(333):
        metric.update(chunk)
    out = metric.compute()
    assert set(out) == {"modes", "hq", "kl"}
    assert all(isinstance(v, torch.Tensor) and v.dim() == 0 for v in out.values())
    assert out["modes"].item() == expected.modes
    assert out["hq"].item() == pytest.approx(expected.hq, rel=1e-6)
    assert out["kl"].item() == pytest.approx(expected.kl, rel=1e-5, abs=1e-7)
    assert expected.modes <= 6  # the two removed modes may only be hit by the random noise

    metric.reset()
    metric.update(means[:1].expand(10, 2))
    after_reset = metric.compute()
    assert after_reset["modes"].item() == 1
    assert after_reset["kl"].item() == pytest.approx(math.log(8), rel=1e-6)


def test_metric_state_syncs_by_concatenation() -> None:
    """Fake a 2-process gather: the synced metric must score the union of both shards."""
    means = ring_means(8)
    other_rank = means[4:].repeat(3, 1)

    def fake_gather(tensor: torch.Tensor, group: object = None) -> list[torch.Tensor]:
        return [tensor, other_rank.to(tensor.dtype)]

    metric = MixtureCoverage(
        means, STD, dist_sync_fn=fake_gather, distributed_available_fn=lambda: True
    )
    metric.update(means[:2].repeat(3, 1))  # this "rank" only saw modes 0..3, in two batches
    metric.update(means[2:4].repeat(3, 1))
    out = metric.compute()
    assert out["modes"].item() == 8
    assert out["hq"].item() == 1.0
    assert out["kl"].item() == pytest.approx(0.0, abs=1e-6)
    assert len(metric.samples) == 2  # local state is restored (unsynced) after compute
