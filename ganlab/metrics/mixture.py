"""Mode coverage of generator samples on a Gaussian mixture (VEEGAN / PacGAN protocol).

Given generator samples and the means of an isotropic Gaussian mixture whose components
share a per-dimension standard deviation ``std``:

* a sample is *high quality* (HQ) if the Euclidean distance to its nearest mode mean is at
  most ``hq_std * std`` (3 standard deviations by convention);
* a mode is *captured* if it is the nearest mode of at least one HQ sample;
* the *reverse KL* is ``KL(q || uniform) = sum_{k: q_k > 0} q_k log(K q_k)``, where ``q`` is the
  histogram of HQ samples over the ``K`` modes.

When no sample is high quality, ``q`` is undefined; we then report ``kl = log(K)``, the value
of a generator that collapses onto a single mode, so an empty histogram is never scored
better than a one-mode collapse.

The papers draw 2,500 generator samples. For a perfect 2-D sampler with 8 modes the expected
scores are 8 modes, ``hq ~ P(chi2_2 <= 9) = 1 - exp(-4.5) ~ 0.989`` and ``kl ~ 0.0014``
(finite-sample noise of the histogram, about ``(K - 1) / (2 N_hq)``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

__all__ = ["MixtureCoverage", "MixtureCoverageResult", "mixture_coverage"]


@dataclass(frozen=True)
class MixtureCoverageResult:
    """Scores of :func:`mixture_coverage`.

    Attributes:
        modes: number of captured modes (0 .. ``num_modes``).
        hq: fraction of high-quality samples, in ``[0, 1]``.
        kl: ``KL(q || uniform)`` of the HQ histogram over modes (``log K`` if no HQ sample).
        num_modes: ``K``, the number of mixture components.
        num_samples: ``N``, the number of scored samples.
    """

    modes: int
    hq: float
    kl: float
    num_modes: int
    num_samples: int

    def as_dict(self) -> dict[str, float | int]:
        """Return the fields as a plain dict (handy for logging).

        >>> MixtureCoverageResult(2, 0.5, 0.0, 2, 4).as_dict()["hq"]
        0.5
        """
        return asdict(self)


def _check_mixture(means: Tensor, std: float, hq_std: float) -> None:
    if means.dim() != 2 or means.shape[0] == 0:
        raise ValueError(f"means must have shape (K, D) with K >= 1, got {tuple(means.shape)}")
    if not std > 0:
        raise ValueError(f"std must be positive, got {std}")
    if not hq_std > 0:
        raise ValueError(f"hq_std must be positive, got {hq_std}")


def _check_samples(samples: Tensor, means: Tensor) -> None:
    if samples.dim() != 2 or samples.shape[1] != means.shape[1]:
        raise ValueError(
            f"samples must have shape (N, {means.shape[1]}), got {tuple(samples.shape)}"
        )


def _mode_histogram(samples: Tensor, means: Tensor, radius: float) -> Tensor:
    """Count, per mode, the samples within ``radius`` of it that have it as nearest mode."""
    k = means.shape[0]
    if samples.shape[0] == 0:
        return torch.zeros(k, dtype=torch.long, device=means.device)
    x = samples.detach().to(device=means.device, dtype=torch.float64)
    mu = means.detach().to(dtype=torch.float64)
    dist = torch.cdist(x, mu)  # (N, K)
    nearest_dist, nearest = dist.min(dim=1)
    hq = nearest_dist <= radius
    return torch.bincount(nearest[hq], minlength=k)


def _scores_from_histogram(counts: Tensor, num_samples: int) -> tuple[int, float, float]:
    """Return ``(modes, hq, kl)`` from the HQ histogram over modes."""
    k = counts.numel()
    num_hq = int(counts.sum().item())
    modes = int((counts > 0).sum().item())
    hq = num_hq / num_samples if num_samples > 0 else 0.0
    if num_hq == 0:
        return modes, hq, math.log(k)
    q = counts.to(torch.float64) / num_hq
    q = q[q > 0]
    kl = float((q * torch.log(k * q)).sum().item())
    return modes, hq, max(kl, 0.0)


def mixture_coverage(
    samples: Tensor, means: Tensor, std: float, hq_std: float = 3.0
) -> MixtureCoverageResult:
    """Score generator ``samples`` (N, D) against mixture ``means`` (K, D) of isotropic ``std``.

    See the module docstring for the protocol. Distances are computed in float64.

    >>> means = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    >>> samples = torch.tensor([[0.0, 0.01], [0.0, -0.01], [1.0, 0.0], [5.0, 5.0]])
    >>> r = mixture_coverage(samples, means, std=0.01)
    >>> r.modes, r.hq, round(r.kl, 4)  # q = (2/3, 1/3)
    (2, 0.75, 0.0566)
    >>> mixture_coverage(samples[3:], means, std=0.01).kl == math.log(2)  # no HQ sample
    True
    """
    _check_mixture(means, std, hq_std)
    _check_samples(samples, means)
    counts = _mode_histogram(samples, means, hq_std * std)
    modes, hq, kl = _scores_from_histogram(counts, samples.shape[0])
    return MixtureCoverageResult(
        modes=modes,
        hq=hq,
        kl=kl,
        num_modes=int(means.shape[0]),
        num_samples=int(samples.shape[0]),
    )


class MixtureCoverage(Metric):
    """Accumulating, DDP-safe version of :func:`mixture_coverage`.

    ``update(samples)`` stores (N, D) sample batches; ``compute()`` scores all of them (gathered
    across processes) and returns ``{"modes", "hq", "kl"}`` as float scalar tensors.

    >>> means = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    >>> metric = MixtureCoverage(means, std=0.01)
    >>> metric.update(torch.tensor([[0.0, 0.0]]))
    >>> metric.update(torch.tensor([[1.0, 0.0]]))
    >>> {k: v.item() for k, v in metric.compute().items()}
    {'modes': 2.0, 'hq': 1.0, 'kl': 0.0}
    """

    is_differentiable = False
    higher_is_better = None
    full_state_update = False

    samples: list[Tensor]
    means: Tensor

    def __init__(self, means: Tensor, std: float, hq_std: float = 3.0, **kwargs: object) -> None:
        super().__init__(**kwargs)
        means = torch.as_tensor(means, dtype=torch.float32)
        _check_mixture(means, std, hq_std)
        self.std = float(std)
        self.hq_std = float(hq_std)
        self.register_buffer("means", means.clone(), persistent=False)
        self.add_state("samples", default=[], dist_reduce_fx="cat")

    def update(self, samples: Tensor) -> None:
        """Store a batch of generator samples of shape (N, D)."""
        _check_samples(samples, self.means)
        self.samples.append(samples.detach().to(device=self.means.device, dtype=torch.float32))

    def compute(self) -> dict[str, Tensor]:
        """Score every stored sample; see :func:`mixture_coverage`."""
        if isinstance(self.samples, Tensor):  # already concatenated by a DDP sync
            all_samples = self.samples
        elif len(self.samples) == 0:
            all_samples = self.means.new_zeros(0, self.means.shape[1])
        else:
            all_samples = dim_zero_cat(self.samples)
        result = mixture_coverage(all_samples, self.means, self.std, self.hq_std)
        device = self.means.device
        return {
            "modes": torch.tensor(float(result.modes), device=device),
            "hq": torch.tensor(result.hq, device=device),
            "kl": torch.tensor(result.kl, device=device),
        }
