"""Your own unpaired images in the CycleGAN layout, or an official CycleGAN dataset by name
(``data.name=horse2zebra``: downloaded where missing, see :mod:`ganlab.data.folders`).

Under ``root``: ``trainA/``, ``trainB/``, ``testA/`` and ``testB/``, the images of domain A and
of domain B for each split (files found recursively). Batches are ``(source, label_source,
target, label_target)`` as every unpaired data module's (labels are 0: folders have none);
``direction=AtoB`` makes A the source domain, ``BtoA`` B.

Which images meet, as the official ``unaligned`` dataset: an epoch has ``max(len(A),
len(B))`` items; item ``i`` is A image ``i % len(A)`` (the loader shuffles the items, so every
A image is served once or more an epoch, in a new order each epoch) with a B image drawn at
random, anew at every item. No A image has a fixed partner, across epochs or seeds. Each image
is read as its domain's channels (``source_shape`` and ``shape``, grayscale or RGB); training
images are resized to ``load_size`` then cropped to the shape's size at a random place and
flipped (``flip``), each image on its own draws; test images are resized to the shape's size.
Every draw (B's index, crops, flips) comes from a generator seeded per item and epoch
(:mod:`ganlab.data.resumable`): a resumed run draws the same, with worker processes or
without.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import torch
from torch import Tensor
from torch.utils.data import Dataset

from ganlab.data.base import DataError
from ganlab.data.folders import CYCLEGAN_URL, UNPAIRED_DATASETS, Reading, TranslationFolder
from ganlab.data.image_folder import find_images
from ganlab.data.imaging import pil_to_mode, read_image
from ganlab.data.unpaired import Domain, UnpairedData

__all__ = ["UNPAIRED_SPLITS", "UnpairedFiles", "UnpairedFolder"]

UNPAIRED_SPLITS = ("train", "test")


class UnpairedFiles(Dataset[tuple[Tensor, Tensor, Tensor, Tensor]]):
    """``(source, 0, target, 0)``: item ``i`` reads A file ``i % len(a)`` and a B file drawn
    at random, each resized and (``augment``) cropped and flipped on its own draws, all from
    the generator :meth:`item` is given (``dataset[i]``: one seeded with ``i``);
    ``max(len(a), len(b))`` items."""

    def __init__(self, a: Sequence[Path], b: Sequence[Path], reading: Reading) -> None:
        self.files = (list(a), list(b))  # of domain A, of domain B
        self.reading = reading

    def __len__(self) -> int:
        return max(len(self.files[0]), len(self.files[1]))

    def image(self, domain: int, index: int, generator: torch.Generator | None = None) -> Tensor:
        """Image ``index`` of ``domain`` (0: A, 1: B), read, resized, and (``augment``, with a
        ``generator``) cropped and flipped."""
        image = pil_to_mode(read_image(self.files[domain][index]), self.reading.channels[domain])
        return self.reading.tensors([image], generator)[0]

    def item(self, index: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Item ``index``: its B partner, crops and flips drawn from ``generator``."""
        partner = int(torch.randint(len(self.files[1]), (), generator=generator))
        a = self.image(0, index % len(self.files[0]), generator)
        b = self.image(1, partner, generator)
        source, target = self.reading.oriented(a, b)
        return source, torch.tensor(0), target, torch.tensor(0)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        return self.item(index, torch.Generator().manual_seed(index))


class UnpairedFolder(TranslationFolder[UnpairedFiles], UnpairedData):
    """Unpaired images under ``root`` in the CycleGAN layout, or the official CycleGAN dataset
    ``name`` (see the module's docstring)."""

    data_name: ClassVar[str] = "unpaired_folder"
    splits: ClassVar[tuple[str, ...]] = UNPAIRED_SPLITS
    layout: ClassVar[str] = (
        "trainA/ trainB/ testA/ testB/ (one folder of images per domain and split)"
    )
    _held_out: tuple[Domain, Domain] | None = None

    def _build(self, split: str) -> UnpairedFiles:
        if not self.root.is_dir():
            raise DataError(
                f"data.root={self.root} is not a folder: point data.root at the folder holding "
                f"{self.layout}, or name an official CycleGAN dataset, downloaded where missing:"
                f" data.name=<{', '.join(UNPAIRED_DATASETS)}> ({CYCLEGAN_URL.format('<name>')})"
            )
        domains = []
        for side in "AB":
            folder = self.root / f"{split}{side}"
            files = find_images(folder) if folder.is_dir() else []
            if not files:
                what = "holds no images" if folder.is_dir() else "does not exist"
                raise DataError(
                    f"{folder} {what}: data=unpaired_folder reads data.root={self.root} in "
                    f"the CycleGAN layout, {self.layout}; the official datasets have it "
                    f"({CYCLEGAN_URL.format('<name>')}, data.name=<name> downloads one: "
                    f"{', '.join(UNPAIRED_DATASETS)}){self._other_layout()}"
                )
            domains.append(files)
        return UnpairedFiles(domains[0], domains[1], self._reading(split))

    def held_out(self) -> tuple[Domain, Domain]:
        """The test split's images of the source and of the target domain (``testA/``,
        ``testB/``), resized to the shape's size, loaded once (labels 0)."""
        if self._held_out is None:
            files = self._files("test")
            a, b = (
                torch.stack([files.image(domain, i) for i in range(len(files.files[domain]))])
                for domain in (0, 1)
            )
            source, target = files.reading.oriented(a, b)
            self._held_out = (
                Domain(source, torch.zeros(len(source), dtype=torch.long)),
                Domain(target, torch.zeros(len(target), dtype=torch.long)),
            )
        return self._held_out
