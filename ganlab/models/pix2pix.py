"""Pix2Pix (Isola et al. 2017, "Image-to-Image Translation with Conditional Adversarial
Networks"): a generator that translates an input image, judged in (input, output) pairs.

G (the U-Net, :class:`ganlab.networks.UNetGenerator`) maps each batch's source image to a
sample (no latents: dropout is its only noise); D (the PatchGAN) judges the source joined to
a real or generated target (``judges_pairs``), so only a target that fits its source looks
real. G's loss adds ``l1_weight`` times the L1 distance to the target (the paper's lambda =
100), logged as ``train/l1``. Everything else is the one canonical step: any objective,
regularizer, D-input transform or schedule of ``conf/model`` applies.

Ablations of the paper's Table 1: ``adversarial_weight=0`` (L1 alone: D still trains, G
ignores it), ``l1_weight=0`` (cGAN alone) and ``judges_pairs=false`` (L1 + an unconditional
D that judges outputs alone; D's input shape is then the target's).

Test time (``inference``, :mod:`ganlab.models.translation`): the paper runs G as in
training, dropout on and BatchNorm with the test batch's statistics (section 3.3; the official
code without ``--eval``): ``inference="train"``, the preset's. Then an output depends on the
dropout draw (seeded here) and on the other images of its batch. ``inference="eval"`` makes
each output depend on its input alone.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch.nn.functional as F
from torch import Tensor

from ganlab.models.base import Batch
from ganlab.models.translation import Translation

__all__ = ["Pix2Pix"]


class Pix2Pix(Translation):
    """Conditional GAN for paired image translation: G(source) judged as (source, output)."""

    data_pairing: ClassVar[str | None] = "paired"  # read by ganlab.validation

    def __init__(
        self,
        *args: Any,  # the arguments of Translation (and GAN)
        l1_weight: float = 100.0,  # lambda: weight of the L1 distance to the target in G's loss
        adversarial_weight: float = 1.0,  # weight of G's adversarial loss (0: L1 alone)
        judges_pairs: bool = True,  # D judges (source, sample); false: the sample alone
        **kwargs: Any,
    ) -> None:
        self.judges_pairs = judges_pairs  # GAN.__init__ reads it (the width of D's input)
        super().__init__(*args, **kwargs)
        assert l1_weight >= 0 and adversarial_weight >= 0 and l1_weight + adversarial_weight > 0, (
            f"l1_weight ({l1_weight}) and adversarial_weight ({adversarial_weight}) are "
            "weights of G's loss: non-negative, not both 0"
        )
        self.l1_weight, self.adversarial_weight = l1_weight, adversarial_weight

    def unpack_batch(self, batch: Any) -> Batch:
        assert isinstance(batch, (list, tuple)) and len(batch) == 3, (
            "Pix2Pix trains on paired data: batches of (target, label, source), as "
            "data=edges2digits, gray2color and paired_folder serve"
        )
        target, labels, source = batch
        return Batch(real=target, labels=labels, source=source)

    def generator_loss(self, batch: Batch, fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        if self.adversarial_weight > 0:
            adversarial, logs = super().generator_loss(batch, fake)
        else:  # L1 alone: D is not asked (its step still runs, and logs what it makes of G)
            adversarial, logs = fake.new_zeros(()), {}
        l1 = F.l1_loss(fake, batch.real)
        logs["train/l1"] = l1.detach()
        return self.adversarial_weight * adversarial + self.l1_weight * l1, logs

    def grid_rows(self, source: Tensor, target: Tensor, seed: int) -> list[Tensor]:
        """A row of inputs, of their outputs and of their targets."""
        return [source, self.translate(source, seed), target]
