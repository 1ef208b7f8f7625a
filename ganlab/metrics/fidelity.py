"""FID, KID and IS through torchmetrics, computed on features extracted once.

torchmetrics' metrics run their own feature network on images; ganlab runs one
:class:`~ganlab.metrics.features.FeatureExtractor` per image batch and feeds the same features
to every metric (a :class:`~ganlab.metrics.features.Passthrough` stands in for the network),
so FID, KID, precision/recall and density/coverage of one evaluation agree on their inputs and
the images are never stored. Each class here:

- is constructed with the feature size (``num_features``) of the extractor;
- reads ``input`` (``"features"`` or ``"logits"``) of the extractor's output;
- keeps the real side across :meth:`reset` (cached reference statistics stay loaded);
- reports :meth:`results`: ``{name: {"value": ..., <details>}}`` with plain floats
  (``fid``; ``kid`` with ``std`` and ``subset_size``; ``is`` with ``std`` and ``splits``).

The random subsets of KID and the split shuffling of IS draw from their own generator seeded
with ``seed``, so a result does not depend on the global RNG.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import torch
from torch import Tensor
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.inception import InceptionScore as _InceptionScore
from torchmetrics.image.kid import KernelInceptionDistance

from ganlab.metrics.features import Passthrough

__all__ = ["FID", "KID", "InceptionScore"]


class FID(FrechetInceptionDistance):
    """Fréchet distance between the Gaussians fitted to real and fake features (Heusel et al.).

    Running sums in float64: memory is two ``D x D`` matrices whatever the number of images,
    and the result does not depend on the batch size.
    """

    input: ClassVar[str] = "features"
    needs_real: ClassVar[bool] = True

    def __init__(self, num_features: int, **kwargs: Any) -> None:
        super().__init__(feature=Passthrough(num_features), reset_real_features=False, **kwargs)

    def results(self) -> dict[str, dict[str, float]]:
        return {"fid": {"value": float(self.compute())}}


class KID(KernelInceptionDistance):
    """Kernel Inception Distance (Bińkowski et al.): unbiased MMD² with the cubic polynomial
    kernel ``(x.y / D + 1)^3``, averaged over ``subsets`` random subsets of ``subset_size``.

    With fewer samples than ``subset_size`` on either side the subset shrinks to the smaller
    set (with a warning) and :meth:`results` reports the size used.
    """

    input: ClassVar[str] = "features"
    needs_real: ClassVar[bool] = True

    def __init__(
        self,
        num_features: int,
        subsets: int = 100,
        subset_size: int = 1000,  # the standard; shrinks to the smaller set if needed
        seed: int = 0,  # of the subset draws
        **kwargs: Any,
    ) -> None:
        super().__init__(
            feature=Passthrough(num_features),
            subsets=subsets,
            subset_size=subset_size,
            reset_real_features=False,
            **kwargs,
        )
        self.requested_subset_size = subset_size
        self.seed = seed

    def results(self) -> dict[str, dict[str, float]]:
        n = min(sum(len(f) for f in side) for side in (self.real_features, self.fake_features))
        if n < 2:
            raise ValueError(
                f"KID needs at least 2 real and 2 fake samples; the smaller set has {n}"
            )
        self.subset_size = min(self.requested_subset_size, n)
        if self.subset_size < self.requested_subset_size:
            warnings.warn(
                f"KID: {n} samples are fewer than subset_size={self.requested_subset_size}; "
                f"using subsets of {n} (more samples give a less noisy estimate)",
                stacklevel=2,
            )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            mean, std = self.compute()
        details = {"std": float(std), "subset_size": self.subset_size, "subsets": self.subsets}
        return {"kid": {"value": float(mean), **details}}


class InceptionScore(_InceptionScore):
    """Inception Score (Salimans et al.): ``exp(E_x KL(p(y|x) || p(y)))`` of the fake logits,
    mean and standard deviation over ``splits`` splits. Needs a classifier head."""

    input: ClassVar[str] = "logits"
    needs_real: ClassVar[bool] = False

    def __init__(self, num_features: int, splits: int = 10, seed: int = 0, **kwargs: Any) -> None:
        super().__init__(feature=Passthrough(num_features), splits=splits, **kwargs)
        self.seed = seed  # of the shuffle before splitting

    def update(self, logits: Tensor, real: bool = False) -> None:
        assert not real, "the Inception Score rates generated samples only"
        super().update(logits)

    def results(self) -> dict[str, dict[str, float]]:
        with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"std\(\): degrees of freedom")
            torch.manual_seed(self.seed)
            mean, std = self.compute()
        spread = float(std) if self.splits > 1 else 0.0  # one split has no spread (not NaN)
        return {"is": {"value": float(mean), "std": spread, "splits": self.splits}}
