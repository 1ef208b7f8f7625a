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

Test time (``inference``): the paper runs G as in training, dropout on and BatchNorm with
the test batch's statistics (section 3.3; the official code without ``--eval``):
``inference="train"``, the preset's. Then an output depends on the dropout draw (seeded
here) and on the other images of its batch. ``inference="eval"`` uses BatchNorm's running
statistics and no dropout: each output depends on its input alone. Either way translating
changes nothing in G (BatchNorm's running statistics are restored afterwards).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from ganlab import rng
from ganlab.models.base import GAN, Batch
from ganlab.sampling import INFERENCE_MODES, translating

__all__ = ["Pix2Pix"]

GRID_COLUMNS = 8  # pairs per row of a sample grid: a row of inputs, of outputs, of targets


class Pix2Pix(GAN):
    """Conditional GAN for paired image translation: G(source) judged as (source, output)."""

    needs_pairs: ClassVar[bool] = True  # read by ganlab.validation: the data must be paired

    def __init__(
        self,
        *args: Any,  # the arguments of GAN
        l1_weight: float = 100.0,  # lambda: weight of the L1 distance to the target in G's loss
        adversarial_weight: float = 1.0,  # weight of G's adversarial loss (0: L1 alone)
        judges_pairs: bool = True,  # D judges (source, sample); false: the sample alone
        inference: str = "train",  # test-time mode of G: "train" (the paper's) or "eval"
        **kwargs: Any,
    ) -> None:
        self.judges_pairs = judges_pairs  # GAN.__init__ reads it (the width of D's input)
        super().__init__(*args, **kwargs)
        assert self.latent_dim == 0 and self.source_shape, (
            "Pix2Pix translates an input image: its generator takes Batch.source "
            "(model.generator.source_shape), e.g. ganlab.networks.UNetGenerator"
        )
        assert l1_weight >= 0 and adversarial_weight >= 0 and l1_weight + adversarial_weight > 0, (
            f"l1_weight ({l1_weight}) and adversarial_weight ({adversarial_weight}) are "
            "weights of G's loss: non-negative, not both 0"
        )
        assert inference in INFERENCE_MODES, (
            f"model.inference must be one of {list(INFERENCE_MODES)} (train: as the paper, "
            f"dropout on and the batch's BatchNorm statistics), got {inference!r}"
        )
        self.l1_weight, self.adversarial_weight = l1_weight, adversarial_weight
        self.inference = inference

    def unpack_batch(self, batch: Any) -> Batch:
        assert isinstance(batch, (list, tuple)) and len(batch) == 3, (
            "Pix2Pix trains on paired data: batches of (target, label, source), as "
            "data=edges2digits, gray2color and paired_folder serve"
        )
        target, labels, source = batch
        return Batch(real=target, labels=labels, source=source)

    def generate(self, batch: Batch, generator: nn.Module | None = None) -> Tensor:
        assert batch.source is not None
        out: Tensor = (generator or self.generator)(batch.source)
        return out

    def seeded_fakes(self, batch: Batch, seed: int) -> Tensor:
        assert batch.source is not None
        with rng.seeded(seed, self.device):  # the dropout draws
            out: Tensor = self.generator(batch.source)
        return out

    def generator_loss(self, batch: Batch, fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        if self.adversarial_weight > 0:
            adversarial, logs = super().generator_loss(batch, fake)
        else:  # L1 alone: D is not asked (its step still runs, and logs what it makes of G)
            adversarial, logs = fake.new_zeros(()), {}
        l1 = F.l1_loss(fake, batch.real)
        logs["train/l1"] = l1.detach()
        return self.adversarial_weight * adversarial + self.l1_weight * l1, logs

    # ----------------------------------------------------------------------- translating
    def translate(self, source: Tensor, seed: int | None = 0, batch_size: int = 64) -> Tensor:
        """Outputs of the sampling generator (the EMA one where there is one) for source
        images, in batches of ``batch_size`` (in ``inference="train"`` mode BatchNorm uses
        each batch's statistics), dropout drawn from ``seed``; on the CPU."""
        with translating(self.sampling_generator, self.inference, seed) as generator:
            return torch.cat(
                [generator(chunk.to(self.device)).cpu() for chunk in source.split(batch_size)]
            )

    def sample_grid(self, n: int = 64, seed: int = 0) -> tuple[Tensor, int | None]:
        """Held-out pairs as rows of inputs, outputs and targets (``GRID_COLUMNS`` pairs a
        row, about ``n`` images in all), from the data module's ``fixed_pairs``."""
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer else None
        assert datamodule is not None and hasattr(datamodule, "fixed_pairs"), (
            "a Pix2Pix sample grid shows held-out pairs: it needs a paired data module with "
            "fixed_pairs (data=edges2digits, gray2color, paired_folder)"
        )
        columns = GRID_COLUMNS
        blocks = max(1, n // (3 * columns))
        source, target = datamodule.fixed_pairs(blocks * columns)
        output = self.translate(source, seed)
        keep = len(source) // columns * columns  # fewer held-out pairs than asked: whole rows
        assert keep > 0, f"a Pix2Pix grid needs at least {columns} held-out pairs"
        channels = max(source.shape[1], target.shape[1])
        triples = torch.stack([as_channels(x[:keep], channels) for x in (source, output, target)])
        # per block of `columns` pairs: a row of inputs, then outputs, then targets
        return rearrange(triples, "k (b w) c h x -> (b k w) c h x", w=columns), columns


def as_channels(images: Tensor, channels: int) -> Tensor:
    """Grayscale ``images`` repeated to ``channels`` channels (others as they are), so that a
    gray input shows beside a colour output.

    >>> as_channels(torch.zeros(2, 1, 4, 4), 3).shape
    torch.Size([2, 3, 4, 4])
    """
    if images.shape[1] == channels:
        return images
    assert images.shape[1] == 1, f"cannot show {images.shape[1]} channels as {channels}"
    return images.expand(-1, channels, -1, -1)
