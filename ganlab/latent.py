"""Paths through a generator's latent space and the truncation trick: pure tensor functions
(no networks, no Lightning), used by ``python -m ganlab.sample`` and the notebooks.

- :func:`lerp` and :func:`slerp` interpolate between latents; :func:`interpolation_path`
  gives the ``steps`` latents from one to the other, ends included.
- :func:`truncated_normal` draws the truncated latents of BigGAN's truncation trick;
  :func:`truncate_toward` is StyleGAN's ``w_avg + psi (w - w_avg)`` for generators that
  track an average latent.

>>> import torch
>>> a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
>>> interpolation_path(a, b, 3, "slerp")
tensor([[1.0000, 0.0000],
        [0.7071, 0.7071],
        [0.0000, 1.0000]])
>>> interpolation_path(a, b, 3, "lerp")
tensor([[1.0000, 0.0000],
        [0.5000, 0.5000],
        [0.0000, 1.0000]])
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

INTERPOLATIONS = ("slerp", "lerp")
TRUNCATION_THRESHOLD = 2.0  # BigGAN's: coordinates beyond +-2 standard deviations are redrawn
_PARALLEL = 1e-6  # below this sin(angle), slerp is lerp (parallel, antipodal or zero vectors)

__all__ = [
    "INTERPOLATIONS",
    "TRUNCATION_THRESHOLD",
    "interpolation_path",
    "lerp",
    "slerp",
    "truncate_toward",
    "truncated_normal",
]


def _fraction(t: float | Tensor, like: Tensor) -> Tensor:
    """``t`` as a tensor with a trailing axis, to broadcast against ``(..., D)`` latents."""
    return torch.as_tensor(t, dtype=like.dtype, device=like.device)[..., None]


def lerp(a: Tensor, b: Tensor, t: float | Tensor) -> Tensor:
    """The straight line ``(1 - t) a + t b`` between latents ``(..., D)``; ``t`` is a float
    or a tensor that broadcasts against the batch shape ``a.shape[:-1]``.

    >>> lerp(torch.tensor([0.0, 2.0]), torch.tensor([4.0, 0.0]), 0.25)
    tensor([1.0000, 1.5000])
    """
    t = _fraction(t, a)
    return (1 - t) * a + t * b


def slerp(a: Tensor, b: Tensor, t: float | Tensor) -> Tensor:
    """Spherical interpolation between latents ``(..., D)`` (Shoemake 1985; White 2016 for
    GANs): the direction turns at constant speed along the great circle from ``a``'s to
    ``b``'s, and the norm goes linearly from ``|a|`` to ``|b|``. Unit vectors stay on the unit
    sphere; Gaussian latents, whose norms concentrate near ``sqrt(D)``, keep a typical norm all
    the way, where the straight line (:func:`lerp`) cuts through the low-density centre.

    ``t`` is a float or a tensor that broadcasts against the batch shape ``a.shape[:-1]``;
    ``t = 0`` gives exactly ``a`` and ``t = 1`` exactly ``b``. Where the great circle is not
    defined (parallel or opposite directions, a zero vector) it is :func:`lerp`.

    >>> a, b = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 4.0])
    >>> slerp(a, b, 0.5)  # at 45 degrees, norm 3
    tensor([2.1213, 2.1213])
    >>> torch.equal(slerp(a, b, 0.0), a) and torch.equal(slerp(a, b, 1.0), b)
    True
    """
    t = _fraction(t, a)
    norm_a = a.norm(dim=-1, keepdim=True)
    norm_b = b.norm(dim=-1, keepdim=True)
    cos = ((a * b).sum(dim=-1, keepdim=True) / (norm_a * norm_b)).clamp(-1, 1)
    omega = torch.arccos(cos.nan_to_num(1.0))  # the angle between the directions
    sin = torch.sin(omega)
    great_circle = sin > _PARALLEL
    safe_sin = torch.where(great_circle, sin, torch.ones_like(sin))
    norm = (1 - t) * norm_a + t * norm_b
    # Weights on a and b themselves, written so that at t = 0 a's is (|a| sin w) / (sin w |a|),
    # exactly 1, and b's exactly 0 (and the reverse at t = 1): the ends are a and b, bit for bit.
    weight_a = norm * torch.sin((1 - t) * omega) / (safe_sin * norm_a.clamp_min(1e-30))
    weight_b = norm * torch.sin(t * omega) / (safe_sin * norm_b.clamp_min(1e-30))
    spherical = weight_a * a + weight_b * b
    return torch.where(great_circle, spherical, lerp(a, b, t[..., 0]))


def interpolation_path(a: Tensor, b: Tensor, steps: int, mode: str = "slerp") -> Tensor:
    """``steps`` latents from ``a`` to ``b`` (both ``(..., D)``), evenly spaced in ``t``:
    shape ``(steps, ..., D)``, with ``path[0] == a`` and ``path[-1] == b`` exactly.
    ``mode``: ``"slerp"`` (:func:`slerp`) or ``"lerp"`` (:func:`lerp`).

    >>> a, b = torch.zeros(4, 8), torch.ones(4, 8)
    >>> interpolation_path(a, b, 5, "lerp").shape
    torch.Size([5, 4, 8])
    """
    if mode not in INTERPOLATIONS:
        raise ValueError(f"interpolation mode must be one of {INTERPOLATIONS}, got {mode!r}")
    if steps < 2:
        raise ValueError(f"an interpolation path needs steps >= 2 (its two ends), got {steps}")
    if a.shape != b.shape:
        raise ValueError(f"the ends differ in shape: {tuple(a.shape)} and {tuple(b.shape)}")
    t = torch.linspace(0, 1, steps, dtype=a.dtype, device=a.device)
    t = t.view(steps, *([1] * (a.dim() - 1)))  # one t per step, broadcast over the batch
    return (slerp if mode == "slerp" else lerp)(a, b, t)


def truncated_normal(
    n: int,
    dim: int,
    psi: float = 1.0,
    *,
    threshold: float = TRUNCATION_THRESHOLD,
    generator: torch.Generator | None = None,
) -> Tensor:
    """``(n, dim)`` latents for the truncation trick (Brock et al. 2019, BigGAN):
    ``psi * z`` where each coordinate of ``z`` is standard normal redrawn until
    ``|z| <= threshold``, i.e. the normal conditioned on ``[-threshold, threshold]``.

    ``psi`` in (0, 1] is the spread kept, as the ``truncation`` input of the published
    BigGAN generators (``truncation * truncnorm(-2, 2)``): every coordinate lies within
    ``+-psi * threshold``, and smaller ``psi`` trades diversity for typical, cleaner samples.
    Note that ``psi = 1`` still truncates at ``threshold``; no truncation at all is the plain
    ``torch.randn``.

    Drawn by inverting the normal CDF (one uniform per coordinate, in float64), which is the
    same distribution as redrawing the outliers but costs the same for any threshold;
    reproducible from ``generator``. On the CPU, in float32.

    >>> g = torch.Generator().manual_seed(0)
    >>> z = truncated_normal(1000, 8, 0.5, generator=g)
    >>> z.shape, bool(z.abs().max() <= 1.0)
    (torch.Size([1000, 8]), True)
    >>> torch.equal(z, truncated_normal(1000, 8, 0.5, generator=torch.Generator().manual_seed(0)))
    True
    """
    if not 0 < psi <= 1:
        raise ValueError(f"psi must be in (0, 1], got {psi}")
    if not threshold > 0:
        raise ValueError(f"the truncation threshold must be positive, got {threshold}")
    low = 0.5 * math.erfc(threshold / math.sqrt(2))  # Phi(-threshold)
    u = torch.rand(n, dim, generator=generator, dtype=torch.float64)
    z = torch.special.ndtri(low + u * (1 - 2 * low))  # uniform on [Phi(-T), Phi(T)] -> z
    return (psi * z.clamp(-threshold, threshold)).float()


def truncate_toward(w: Tensor, w_avg: Tensor, psi: float) -> Tensor:
    """StyleGAN's truncation (Karras et al. 2019): ``w_avg + psi (w - w_avg)``, each latent
    pulled towards the average latent the generator tracked in training (``psi = 1``: ``w``
    unchanged, ``psi = 0``: the average).

    >>> truncate_toward(torch.tensor([[2.0, 4.0]]), torch.tensor([0.0, 2.0]), 0.5)
    tensor([[1., 3.]])
    """
    return torch.lerp(w_avg.expand_as(w), w, psi)  # exact at psi = 0 and 1
