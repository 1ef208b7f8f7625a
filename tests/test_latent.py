"""ganlab.latent: interpolation paths and truncated latents."""

from __future__ import annotations

import math

import pytest
import torch

from ganlab.latent import (
    interpolation_path,
    lerp,
    slerp,
    truncate_toward,
    truncated_normal,
)


def latents(n: int, dim: int, seed: int) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("mode", ["slerp", "lerp"])
def test_paths_start_and_end_exactly_at_the_latents(mode: str) -> None:
    a, b = latents(16, 64, 0), latents(16, 64, 1) * 3  # different norms too
    path = interpolation_path(a, b, 7, mode)
    assert path.shape == (7, 16, 64)
    assert torch.equal(path[0], a) and torch.equal(path[-1], b)
    assert torch.equal(slerp(a, b, 0.0), a) and torch.equal(slerp(a, b, 1.0), b)


def test_slerp_of_unit_vectors_stays_on_the_great_circle_at_constant_speed() -> None:
    a, b = latents(32, 10, 2), latents(32, 10, 3)
    a, b = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    path = interpolation_path(a, b, 11, "slerp")  # (11, 32, 10)
    torch.testing.assert_close(path.norm(dim=2), torch.ones(11, 32))
    # in the plane of a and b: no component orthogonal to both
    basis = torch.linalg.qr(torch.stack([a, b], dim=2)).Q  # (32, 10, 2)
    in_plane = torch.einsum("rdk,srk->srd", basis, torch.einsum("rdk,srd->srk", basis, path))
    torch.testing.assert_close(in_plane, path, atol=1e-5, rtol=0)
    # equal angles between consecutive steps, summing to the angle between the ends
    angles = torch.arccos((path[1:] * path[:-1]).sum(dim=2).clamp(-1, 1))  # (10, 32)
    total = torch.arccos((a * b).sum(dim=1).clamp(-1, 1))
    torch.testing.assert_close(angles, (total / 10).expand(10, -1), atol=1e-3, rtol=0)


def test_slerp_norms_go_linearly_between_the_ends_and_lerp_cuts_the_corner() -> None:
    a, b = latents(8, 128, 4), latents(8, 128, 5) * 2
    t = torch.linspace(0, 1, 9)[:, None]  # (9, 1) against a batch of 8
    norms = slerp(a, b, t).norm(dim=2)
    expected = (1 - t) * a.norm(dim=1) + t * b.norm(dim=1)
    torch.testing.assert_close(norms, expected)
    # Gaussian latents are near-orthogonal: the straight line's midpoint is atypically short
    assert (lerp(a, b, 0.5).norm(dim=1) < 0.8 * slerp(a, b, 0.5).norm(dim=1)).all()


def test_slerp_falls_back_to_lerp_where_the_circle_is_undefined() -> None:
    a = torch.tensor([[1.0, 2.0], [1.0, 0.0], [0.0, 0.0]])
    b = torch.tensor([[2.0, 4.0], [-1.0, 0.0], [3.0, 1.0]])  # parallel, opposite, from zero
    out = slerp(a, b, 0.25)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, lerp(a, b, 0.25))


def test_bad_paths_are_refused() -> None:
    a = torch.zeros(3)
    with pytest.raises(ValueError, match="steps >= 2"):
        interpolation_path(a, a, 1)
    with pytest.raises(ValueError, match="one of"):
        interpolation_path(a, a, 5, "cubic")
    with pytest.raises(ValueError, match="differ in shape"):
        interpolation_path(a, torch.zeros(4), 5)


@pytest.mark.parametrize("psi", [1.0, 0.7, 0.25])
def test_truncated_latents_lie_within_psi_times_the_threshold(psi: float) -> None:
    z = truncated_normal(20_000, 16, psi, generator=torch.Generator().manual_seed(0))
    assert z.shape == (20_000, 16) and z.dtype == torch.float32
    assert z.abs().max() <= 2 * psi
    # the normal truncated to [-2, 2] has standard deviation 0.8796, scaled by psi
    phi = math.exp(-2) / math.sqrt(2 * math.pi)
    std = math.sqrt(1 - 4 * phi / math.erf(2 / math.sqrt(2)))
    assert abs(z.std().item() - psi * std) < 0.01 * psi
    assert abs(z.mean().item()) < 0.01
    assert (z.abs() > 1.9 * psi).any()  # it reaches the bound: truncated, not squashed


def test_truncation_threshold_and_seeded_reproducibility() -> None:
    def draw(seed: int, threshold: float = 2.0) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        return truncated_normal(500, 4, 0.5, threshold=threshold, generator=g)

    assert torch.equal(draw(3), draw(3)) and not torch.equal(draw(3), draw(4))
    assert draw(3, threshold=0.01).abs().max() <= 0.005  # tiny thresholds cost the same
    for bad in (0.0, 1.5, -0.5):
        with pytest.raises(ValueError, match=r"\(0, 1\]"):
            truncated_normal(2, 2, bad)
    with pytest.raises(ValueError, match="threshold must be positive"):
        truncated_normal(2, 2, 0.5, threshold=0)


def test_truncate_toward_the_average_latent() -> None:
    w, w_avg = latents(10, 6, 6), latents(1, 6, 7)[0]
    assert torch.equal(truncate_toward(w, w_avg, 1.0), w)
    torch.testing.assert_close(truncate_toward(w, w_avg, 0.0), w_avg.expand(10, -1))
    spread = [truncate_toward(w, w_avg, psi).std(dim=0).sum() for psi in (1.0, 0.5, 0.1)]
    assert spread[0] > spread[1] > spread[2]
