"""Your own paired images, in the layouts Pix2Pix users already have.

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

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset
from typing_extensions import Unpack

from ganlab.data.base import DataError, DataOptions, as_image_shape
from ganlab.data.image_folder import find_images
from ganlab.data.imaging import pil_to_mode
from ganlab.data.paired import PairedData, PairedTensors, check_split_and_direction

__all__ = ["PAIRED_SPLITS", "PairedFiles", "PairedFolder", "find_pairs"]

PAIRED_SPLITS = ("train", "val", "test")
# the official datasets (where ./datasets/download_pix2pix_dataset.sh gets them)
PIX2PIX_DATASETS = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/<name>.tar.gz"


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


def _read(path: Path, channels: int, box: tuple[int, int, int, int] | None = None) -> Image.Image:
    with Image.open(path) as opened:
        opened.load()
        image = opened.crop(box) if box is not None else opened.copy()
    return pil_to_mode(image, channels)


def _tensor(image: Image.Image) -> Tensor:
    pixels = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy())
    pixels = pixels[None] if pixels.ndim == 2 else pixels.permute(2, 0, 1)
    return pixels.float() / 127.5 - 1.0


class PairedFiles(Dataset[tuple[Tensor, Tensor, Tensor]]):
    """``(target, 0, source)`` of each pair of files, read, resized, and (``augment``) cropped
    and flipped at one random place for both images; the draws come from torch's global
    random stream (which checkpoints keep: a resumed run draws the same crops)."""

    def __init__(
        self,
        pairs: Sequence[tuple[Path, Path | None]],
        a_channels: int,
        b_channels: int,
        size: tuple[int, int],  # (H, W) of the images served
        load_size: tuple[int, int],  # (H, W) both images are resized to first
        augment: bool,  # random crop (where load_size is larger) and flip
        flip: bool,
        swap: bool,  # BtoA: B is the source
    ) -> None:
        self.pairs = list(pairs)
        self.channels = (a_channels, b_channels)
        self.size, self.load_size = size, load_size
        self.augment, self.flip, self.swap = augment, flip, swap

    def __len__(self) -> int:
        return len(self.pairs)

    def images(self, index: int) -> tuple[Image.Image, Image.Image]:
        """The A and B images of pair ``index``, as read."""
        a_path, b_path = self.pairs[index]
        if b_path is not None:
            return _read(a_path, self.channels[0]), _read(b_path, self.channels[1])
        with Image.open(a_path) as opened:
            width, height = opened.size
        if width % 2:
            raise DataError(
                f"{a_path} is {width}x{height}: a side-by-side AB image has A on the left half "
                "and B on the right, so its width must be even (or use the A/ and B/ layout)"
            )
        half = width // 2
        return (
            _read(a_path, self.channels[0], (0, 0, half, height)),
            _read(a_path, self.channels[1], (half, 0, width, height)),
        )

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor, Tensor]:
        a, b = (
            _tensor(image.resize(self.load_size[::-1], Image.Resampling.BICUBIC))
            for image in self.images(index)
        )
        (height, width), (load_h, load_w) = self.size, self.load_size
        top = left = 0
        if self.augment and (load_h, load_w) != (height, width):
            top = int(torch.randint(load_h - height + 1, ()))
            left = int(torch.randint(load_w - width + 1, ()))
        a, b = (x[:, top : top + height, left : left + width] for x in (a, b))
        if self.augment and self.flip and bool(torch.rand(()) < 0.5):
            a, b = a.flip(-1), b.flip(-1)
        source, target = (b, a) if self.swap else (a, b)
        return target.clamp(-1, 1), torch.tensor(0), source.clamp(-1, 1)


class PairedFolder(PairedData):
    """Paired images under ``root`` (either layout; see the module's docstring)."""

    data_name: ClassVar[str] = "paired_folder"
    default_shape: ClassVar[tuple[int, ...]] = (3, 256, 256)

    def __init__(
        self,
        root: str,
        split: str = "train",
        direction: str = "AtoB",  # AtoB: A images are the sources; BtoA: B images
        source_shape: Sequence[int] | None = None,  # (C, H, W) of a source; None: shape's
        load_size: Sequence[int] | None = None,  # (H, W) to resize to before the crop
        flip: bool = True,  # flip training pairs left-right at random (both images)
        **options: Unpack[DataOptions],
    ) -> None:
        super().__init__(**options)
        check_split_and_direction(split, PAIRED_SPLITS, direction, "A images are the sources")
        self.root, self.split, self.direction = Path(root).expanduser(), split, direction
        self._source_shape = as_image_shape(source_shape or self.shape, "data.source_shape")
        if self._source_shape[1:] != as_image_shape(self.shape)[1:]:
            raise DataError(
                f"data.source_shape={list(self._source_shape)} and data.shape="
                f"{list(self.shape)} must have the same height and width (a translator keeps "
                "the image size)"
            )
        size = (int(self.shape[1]), int(self.shape[2]))
        load = (int(load_size[0]), int(load_size[-1])) if load_size is not None else size
        if (
            (load_size is not None and len(load_size) != 2)
            or load[0] < size[0]
            or load[1] < size[1]
        ):
            raise DataError(
                f"data.load_size={list(load_size or load)} must be [H, W] at least data.shape's "
                f"{list(size)} (the crop is taken from it)"
            )
        self.size, self.load_size, self.flip = size, load, bool(flip)
        self._splits: dict[str, PairedFiles] = {}
        self._held_out: PairedTensors | None = None

    @property
    def source_shape(self) -> tuple[int, ...]:
        return self._source_shape

    @property
    def num_samples(self) -> int:
        return len(self._files(self.split))

    def prepare_data(self) -> None:
        self._files(self.split)  # a missing or broken folder: one clear error now

    def setup(self, stage: str | None = None) -> None:
        self._dataset = self._files(self.split)
        self._check_fit(stage)

    def _files(self, split: str) -> PairedFiles:
        if split not in self._splits:
            pairs = find_pairs(self.root, split)
            if not pairs:
                raise DataError(
                    f"data.root={self.root} holds no {split} pairs: put them in "
                    f"{self.root}/A/{split}/ and {self.root}/B/{split}/ (files of the same "
                    f"names), or side-by-side AB images in {self.root}/{split}/; the official "
                    f"Pix2Pix datasets unpack to the latter: {PIX2PIX_DATASETS} (name: facades, "
                    "maps, edges2shoes, cityscapes, night2day, edges2handbags)"
                )
            swap = self.direction == "BtoA"
            a, b = self.source_shape[0], self.shape[0]
            self._splits[split] = PairedFiles(
                pairs,
                b if swap else a,
                a if swap else b,
                self.size,
                self.load_size if split == "train" else self.size,
                augment=split == "train",
                flip=self.flip,
                swap=swap,
            )
        return self._splits[split]

    def held_out(self) -> PairedTensors:
        """The pairs of the test split (or of val where there is no test split), loaded once."""
        if self._held_out is None:
            split = "test" if find_pairs(self.root, "test") else "val"
            files = self._files(split)
            items: list[Any] = [files[i] for i in range(len(files))]
            target, labels, source = (torch.stack(column) for column in zip(*items, strict=True))
            self._held_out = PairedTensors(target, labels, source)
        return self._held_out
