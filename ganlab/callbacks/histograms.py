"""Distributions of D's outputs during training, for the dashboards."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.utilities import rank_zero_only

from ganlab.callbacks.periodic import EveryKimg
from ganlab.loggers import log_histograms
from ganlab.models.base import GAN


class LogitHistograms(EveryKimg):
    """Every ``every_kimg`` thousand images, histograms of D's logits on the step's real batch
    (``train/d_real_logits``) and fake batch (``train/d_fake_logits``).

    The means alone (``train/d_real``, ``train/d_fake``) hide how D separates the two: two
    overlapping bells, a fake distribution with a tail of easily spotted samples, or saturated
    logits (D has won; G's gradients vanish) all can share a mean.
    """

    def run(self, trainer: L.Trainer, pl_module: GAN, final: bool) -> None:
        self._log(trainer, pl_module)

    @rank_zero_only
    def _log(self, trainer: L.Trainer, pl_module: GAN) -> None:
        names = ("d_real_logits", "d_fake_logits")
        values = {f"train/{k}": pl_module.step_stats[k] for k in names if k in pl_module.step_stats}
        if values:
            log_histograms(trainer, values)
