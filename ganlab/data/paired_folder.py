"""Your own paired images, in the layouts Pix2Pix users already have, or an official Pix2Pix
dataset by name (``data.name=facades``: downloaded where missing, see
:mod:`ganlab.data.folders`).

Two layouts under ``root``, found by looking:

* ``A/<split>/`` and ``B/<split>/`` holding files of the same relative names, one pair per
  name (the official ``combine_A_and_B.py`` input);
* ``<split>/`` holding side-by-side ``AB`` images, A on the left half and B on the right (the
  official Pix2Pix datasets: facades, maps, edges2shoes, cityscapes, ...).

Splits are the folders present (``train``, ``val``, ``test``). Both images of a pair are read
as ``source_shape`` (A's, with ``direction=AtoB``) and ``shape`` channels (grayscale or RGB),
resized to ``load_size`` (default: the shape's size) and, on the training split, cropped at
the same random place to the shape's size and flipped together (``flip``), as the official
code's ``resize_and_crop`` with ``--load_size 286 --crop_size 256`` does. Batches are
``(target, label, source)`` as every paired data module's (labels are 0: the pairs have none).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from ganlab.data.base import DataError
from ganlab.data.folders import PAIRED_DATASETS, PIX2PIX_URL, Reading, TranslationFolder
from ganlab.data.image_folder import find_images
from ganlab.data.imaging import pil_to_mode, read_image
from ganlab.data.paired import PairedData, PairedTensors

__all__ = ["PAIRED_SPLITS", "PairedFiles", "PairedFolder", "find_pairs"]

PAIRED_SPLITS = ("train", "val", "test")


def find_pairs(root: Path, split: str) -> list[tuple[Path, Path | None]]:
    """The pairs of ``split`` under ``root``: ``(A file, B file)`` for the A/B layout,
    ``(AB file, None)`` for side-by-side images; a :class:`DataError` names what is wrong."""
    separate = root / "A" / split, root / "B" / split
    if separate[0].is_dir() or separate[1].is_dir():
        found = [{p.relative_to(d).as_posix(): p for p in find_images(d)} for d in separate]
        only = [
            sorted(found[0].keys() - found[1].keys()),
            sorted(found[1].keys() - found[0].keys()),
        ]
        for side, other, names in (("A", "B", only[0]), ("B", "A", only[1])):
            if names:
                raise DataError(
                    f"{root / side / split / names[0]} has no partner in {root / other / split}"
                    f" ({len(names)} file(s) of {side}/{split} unmatched): the A/B layout "
                    "pairs files of the same relative name; rename or remove the extra files"
                )
        return [(found[0][name], found[1][name]) for name in sorted(found[0])]
    if (root / split).is_dir():
        return [(path, None) for path in find_images(root / split)]
    return []


class PairedFiles(Dataset[tuple[Tensor, Tensor, Tensor]]):
    """``(target, 0, source)`` of each pair of files, read, resized, and (``augment``) cropped
    and flipped at one random place for both images: :meth:`item` draws from the generator
    it is given (training loaders seed one per item and epoch: ganlab.data.resumable);
    ``dataset[i]`` from one seeded with ``i``."""

    def __init__(self, pairs: Sequence[tuple[Path, Path | None]], reading: Reading) -> None:
        self.pairs = list(pairs)
        self.reading = reading

    def __len__(self) -> int:
        return len(self.pairs)

    def images(self, index: int) -> tuple[Image.Image, Image.Image]:
        """The A and B images of pair ``index``, as read."""
        a_path, b_path = self.pairs[index]
        if b_path is not None:
            a, b = read_image(a_path), read_image(b_path)
            channels = self.reading.channels
            return pil_to_mode(a, channels[0]), pil_to_mode(b, channels[1])
        ab = read_image(a_path)
        width, height = ab.size
        if width % 2:
            raise DataError(
                f"{a_path} is {width}x{height}: a side-by-side AB image has A on the left half "
                "and B on the right, so its width must be even (or use the A/ and B/ layout)"
            )
        half = width // 2
        return (
            pil_to_mode(ab.crop((0, 0, half, height)), self.reading.channels[0]),
            pil_to_mode(ab.crop((half, 0, width, height)), self.reading.channels[1]),
        )

    def item(self, index: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
        """Pair ``index``, its crop and flip drawn from ``generator``."""
        a, b = self.reading.tensors(self.images(index), generator)
        source, target = self.reading.oriented(a, b)
        return target, torch.tensor(0), source

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor, Tensor]:
        return self.item(index, torch.Generator().manual_seed(index))


class PairedFolder(TranslationFolder[PairedFiles], PairedData):
    """Paired images under ``root``, or the official Pix2Pix dataset ``name`` (either layout;
    see the module's docstring)."""

    data_name: ClassVar[str] = "paired_folder"
    splits: ClassVar[tuple[str, ...]] = PAIRED_SPLITS
    layout: ClassVar[str] = (
        "A/<split>/ and B/<split>/ of files of the same names, or <split>/ of side-by-side AB "
        "images"
    )

    _held_out: PairedTensors | None = None

    def _build(self, split: str) -> PairedFiles:
        pairs = find_pairs(self.root, split)
        if not pairs:
            raise DataError(
                f"data.root={self.root} holds no {split} pairs: put them in "
                f"{self.root}/A/{split}/ and {self.root}/B/{split}/ (files of the same "
                f"names), or side-by-side AB images in {self.root}/{split}/; the official "
                f"Pix2Pix datasets unpack to the latter: {PIX2PIX_URL.format('<name>')} "
                f"(data.name=<name> downloads one: {', '.join(PAIRED_DATASETS)})"
                f"{self._other_layout()}"
            )
        return PairedFiles(pairs, self._reading(split))

    def held_out(self) -> PairedTensors:
        """The pairs of the test split (or of val where there is no test split), loaded once."""
        if self._held_out is None:
            split = "test" if find_pairs(self.root, "test") else "val"
            files = self._files(split)
            items: list[Any] = [files[i] for i in range(len(files))]
            target, labels, source = (torch.stack(column) for column in zip(*items, strict=True))
            self._held_out = PairedTensors(target, labels, source)
        return self._held_out
