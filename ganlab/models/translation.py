"""What every image-to-image translation system shares (Pix2Pix, CycleGAN).

A translator's G is driven by each batch's source image (``Batch.source``), not by latents.
:class:`Translation` adds to the one canonical step what using such a G needs: its test-time
mode (``inference``), the data direction it was trained on (``direction``, read by
:func:`ganlab.load_translator` and ``ganlab.translate``), :meth:`~Translation.translate` in
either direction the system can go, and sample grids of held-out images in rows
(:meth:`~Translation.grid_rows`: Pix2Pix's input | output | target, CycleGAN's A -> B -> A and
B -> A -> B).

Test time (``inference``): ``"train"`` runs G as in training, dropout on and BatchNorm with
the batch's statistics (the Pix2Pix paper's choice, section 3.3); ``"eval"`` uses BatchNorm's
running statistics and no dropout. Either way translating changes nothing in G
(:func:`ganlab.sampling.translating`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from einops import rearrange
from torch import Tensor, nn

from ganlab import rng
from ganlab.data.paired import DIRECTIONS
from ganlab.models.base import GAN, Batch
from ganlab.sampling import INFERENCE_MODES, translate_batches

__all__ = ["GRID_COLUMNS", "Translation", "as_channels"]

GRID_COLUMNS = 8  # images per row of a translation grid


class Translation(GAN):
    """A GAN whose generator translates the batch's source image (see the module)."""

    grid_rows_per_block: ClassVar[int] = 3  # rows of a grid block (Pix2Pix: in, out, target)
    # the data it reads, checked by ganlab.validation against the data module's ``pairing``:
    # "paired" (each source with its target) or "unpaired" (two domains)
    data_pairing: ClassVar[str | None] = None

    def __init__(
        self,
        *args: Any,  # the arguments of GAN
        inference: str = "train",  # test-time mode of G: "train" (the Pix2Pix paper's) or "eval"
        # data.direction of training: which of the dataset's domains G translates from (AtoB:
        # A); ganlab.translate's direction option is read against it
        direction: str = "AtoB",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        name = type(self).__name__
        assert self.latent_dim == 0 and self.source_shape, (
            f"{name} translates an input image: its generator takes Batch.source "
            "(model.generator.source_shape), e.g. ganlab.networks.UNetGenerator"
        )
        assert inference in INFERENCE_MODES, (
            f"model.inference must be one of {list(INFERENCE_MODES)} (train: as the Pix2Pix "
            f"paper, dropout on and the batch's BatchNorm statistics), got {inference!r}"
        )
        assert direction in DIRECTIONS, (
            f"model.direction is the data's (${{data.direction}}): one of {list(DIRECTIONS)}, "
            f"got {direction!r}"
        )
        self.inference, self.direction = inference, direction

    def generate(self, batch: Batch, generator: nn.Module | None = None) -> Any:
        assert batch.source is not None
        return (generator or self.generator)(batch.source)

    def seeded_fakes(self, batch: Batch, seed: int) -> Tensor:
        assert batch.source is not None
        with rng.seeded(seed, self.device):  # the dropout draws, where G has dropout
            out: Tensor = self.generator(batch.source)
        return out

    # ----------------------------------------------------------------------- translating
    def translator(self, reverse: bool = False) -> nn.Module:
        """The network that translates source images into target ones (the sampling
        generator: the EMA one where there is one); ``reverse``: target into source, for a
        system that learns both ways."""
        assert not reverse, (
            f"{type(self).__name__} translates one way only ({self.direction}): train "
            "another model with the other data.direction for the reverse"
        )
        return self.sampling_generator

    def translate(
        self,
        source: Tensor,
        seed: int | None = 0,
        batch_size: int = 64,
        reverse: bool = False,  # translate target-domain images into the source domain
    ) -> Tensor:
        """Outputs for ``source`` images, in batches of ``batch_size`` (in ``inference="train"``
        mode BatchNorm uses each batch's statistics), dropout drawn from ``seed``; on the CPU."""
        return translate_batches(self.translator(reverse), source, self.inference, seed, batch_size)

    # ----------------------------------------------------------------------- sample grids
    def grid_rows(self, source: Tensor, target: Tensor, seed: int) -> list[Tensor]:
        """The rows of a grid block, ``grid_rows_per_block`` of them, for held-out ``source``
        and ``target`` images (one row's worth each)."""
        raise NotImplementedError

    def sample_grid(self, n: int = 64, seed: int = 0) -> tuple[Tensor, int | None]:
        """Held-out images in blocks of :meth:`grid_rows` (``GRID_COLUMNS`` images a row,
        about ``n`` images in all), from the data module's ``fixed_pairs``."""
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer else None
        assert datamodule is not None and hasattr(datamodule, "fixed_pairs"), (
            f"a {type(self).__name__} sample grid shows held-out images: it needs a "
            "translation data module with fixed_pairs (data=edges2digits, mnist2digits, "
            "paired_folder, unpaired_folder, ...)"
        )
        columns = GRID_COLUMNS
        blocks = max(1, n // (self.grid_rows_per_block * columns))
        source, target = datamodule.fixed_pairs(blocks * columns)
        keep = min(len(source), len(target)) // columns * columns  # whole rows
        assert keep > 0, f"a translation grid needs at least {columns} held-out images"
        rows = self.grid_rows(source[:keep], target[:keep], seed)
        channels = max(row.shape[1] for row in rows)
        stacked = torch.stack([as_channels(row, channels) for row in rows])
        # per block of `columns` images: each of the rows in turn
        return rearrange(stacked, "k (b w) c h x -> (b k w) c h x", w=columns), columns


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
