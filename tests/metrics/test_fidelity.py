"""FID, KID and IS on features: against independent numpy/scipy computations and known cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from ganlab.metrics.fidelity import FID, KID, InceptionScore


def _features(n: int, d: int, seed: int, shift: float = 0.0, scale: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    mixing = torch.randn(d, d, generator=g) / math.sqrt(d)
    return (torch.randn(n, d, generator=g) @ mixing) * scale + shift


def _fid_numpy(a: np.ndarray, b: np.ndarray) -> float:
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def _fid(real: torch.Tensor, fake: torch.Tensor, batch: int) -> float:
    metric = FID(real.shape[1])
    for part in real.split(batch):
        metric.update(part, real=True)
    for part in fake.split(batch):
        metric.update(part, real=False)
    return metric.results()["fid"]["value"]


def test_fid_equals_scipy_and_does_not_depend_on_batch_size() -> None:
    real = _features(400, 16, seed=0)
    fake = _features(300, 16, seed=1, shift=0.3, scale=1.4)
    expected = _fid_numpy(real.double().numpy(), fake.double().numpy())
    assert _fid(real, fake, 7) == pytest.approx(expected, rel=1e-6)
    assert _fid(real, fake, 7) == pytest.approx(_fid(real, fake, 1000), rel=1e-9)


def test_fid_of_a_set_against_itself_is_zero() -> None:
    x = _features(500, 32, seed=2)
    assert abs(_fid(x, x, 64)) < 1e-6 * float(x.var(0).sum())


def test_fid_keeps_the_reference_across_reset() -> None:
    real, fake = _features(200, 8, seed=3), _features(200, 8, seed=4, shift=1.0)
    metric = FID(8)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    first = metric.results()["fid"]["value"]
    metric.reset()  # a new round of fakes against the same reference
    metric.update(fake, real=False)
    assert metric.results()["fid"]["value"] == pytest.approx(first, rel=1e-12)


def _mmd_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3, straight from the definition."""
    d = x.shape[1]
    k = lambda a, b: (a @ b.T / d + 1) ** 3  # noqa: E731
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    m, n = len(x), len(y)
    off_x = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    off_y = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(off_x + off_y - 2 * kxy.mean())


def test_kid_with_one_full_subset_is_the_unbiased_mmd() -> None:
    real = _features(120, 10, seed=5)
    fake = _features(120, 10, seed=6, shift=0.5)
    metric = KID(10, subsets=1, subset_size=120)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    result = metric.results()["kid"]
    expected = _mmd_unbiased(real.double().numpy(), fake.double().numpy())
    assert result["value"] == pytest.approx(expected, rel=1e-5)
    assert result["subset_size"] == 120


def test_kid_is_unbiased_near_zero_for_the_same_distribution_and_reproducible() -> None:
    g = torch.Generator().manual_seed(7)
    same_a, same_b = torch.randn(300, 8, generator=g), torch.randn(300, 8, generator=g)
    far = torch.randn(300, 8, generator=g) + 2.0

    def kid(a: torch.Tensor, b: torch.Tensor) -> dict[str, float]:
        metric = KID(8, subsets=20, subset_size=100)
        metric.update(a, real=True)
        metric.update(b, real=False)
        return metric.results()["kid"]

    near = kid(same_a, same_b)
    assert abs(near["value"]) < 3 * near["std"] + 1e-3
    assert kid(same_a, far)["value"] > 100 * abs(near["value"])
    assert kid(same_a, same_b) == near  # subsets come from the metric's own seed


def test_kid_shrinks_its_subset_to_the_samples_there_are() -> None:
    metric = KID(4)  # default subset of 1,000
    metric.update(_features(40, 4, seed=9), real=True)
    metric.update(_features(30, 4, seed=10), real=False)
    with pytest.warns(UserWarning, match="fewer than subset_size=1000"):
        result = metric.results()["kid"]
    assert result["subset_size"] == 30
    tiny = KID(4)
    tiny.update(_features(1, 4, seed=11), real=True)
    tiny.update(_features(5, 4, seed=12), real=False)
    with pytest.raises(ValueError, match="at least 2"):
        tiny.results()


def test_inception_score_known_cases() -> None:
    classes, n = 10, 1000
    confident = torch.full((n, classes), -30.0)
    confident[torch.arange(n), torch.arange(n) % classes] = 30.0  # sure, classes balanced
    metric = InceptionScore(classes, splits=1)
    metric.update(confident)
    assert metric.results()["is"]["value"] == pytest.approx(classes, rel=1e-4)

    one_class = torch.full((n, classes), -30.0)
    one_class[:, 3] = 30.0  # sure, but always the same class: no diversity
    metric = InceptionScore(classes, splits=1)
    metric.update(one_class)
    assert metric.results()["is"]["value"] == pytest.approx(1.0, abs=1e-4)

    unsure = torch.zeros(n, classes)  # uniform predictions: no confidence
    metric = InceptionScore(classes, splits=5)
    metric.update(unsure)
    result = metric.results()["is"]
    assert result["value"] == pytest.approx(1.0, abs=1e-6) and result["splits"] == 5
