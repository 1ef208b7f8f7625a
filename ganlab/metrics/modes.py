"""Modes captured by a generator, counted by a classifier (Stacked MNIST protocol)."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor
from torchmetrics import Metric

__all__ = ["ModeCount"]


class ModeCount(Metric):
    """Histogram of the classifier's predicted class (mode) over generated samples.

    ``modes``: classes predicted for at least one sample (VEEGAN / PacGAN count of captured
    modes, e.g. of 1,000 on Stacked MNIST); ``mode_kl``: ``KL(p || uniform)`` of the predicted
    class distribution (0 when every mode gets the same share). Reads the extractor's logits;
    counts are summed across processes.

    >>> metric = ModeCount(4)
    >>> metric.update(torch.eye(4)[[0, 0, 1, 3]])
    >>> metric.results()["modes"]["value"], round(metric.results()["mode_kl"]["value"], 4)
    (3, 0.3466)
    """

    input: ClassVar[str] = "logits"
    needs_real: ClassVar[bool] = False
    is_differentiable = False
    full_state_update = False
    counts: Tensor

    def __init__(self, num_features: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_modes = num_features  # classes of the classifier = modes of the data
        self.add_state("counts", torch.zeros(num_features, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, logits: Tensor, real: bool = False) -> None:
        assert not real, "modes are counted on generated samples only"
        self.counts += torch.bincount(logits.argmax(1), minlength=self.num_modes).to(self.counts)

    def compute(self) -> Tensor:
        return self.counts

    def results(self) -> dict[str, dict[str, Any]]:
        counts = self.compute().double()
        p = counts / counts.sum()
        kl = float((p[p > 0] * (p[p > 0] * self.num_modes).log()).sum())
        modes = int((counts > 0).sum())
        return {
            "modes": {"value": modes, "num_modes": self.num_modes},
            "mode_kl": {"value": kl, "num_modes": self.num_modes},
        }
