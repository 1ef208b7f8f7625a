"""Any folder tree of images, optionally labelled by its immediate subfolders.

At ``setup`` every candidate file is checked cheaply (PIL ``open`` + ``verify``); zero-byte,
truncated, corrupt and non-image files are skipped and ONE summary line is printed. A file that
passes the check but still fails to decode later (e.g. a truncated JPEG, which ``verify`` cannot
detect) never crashes an epoch: :class:`ImageFileDataset` substitutes the next good image and
counts the failure (see :attr:`ImageFolder.decode_failures`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.data import Dataset
from typing_extensions import Unpack

from ganlab.data.base import (
    DataError,
    DataOptions,
    GANDataModule,
    as_image_shape,
    print_rank_zero,
)
from ganlab.data.imaging import load_image

__all__ = ["IMAGE_EXTENSIONS", "ImageFileDataset", "ImageFolder", "check_image", "find_images"]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")


def find_images(root: Path) -> list[Path]:
    """All files under ``root`` (recursive, symlinks followed once, hidden entries skipped)
    whose extension is in :data:`IMAGE_EXTENSIONS`, sorted."""
    return sorted(_walk_images(root))


def _walk_images(root: Path) -> Iterator[Path]:
    """The files :func:`find_images` finds, as the walk meets them (stop at the first: cheap)."""
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:  # symlink loop
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in filenames:
            if not f.startswith(".") and os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS:
                yield Path(dirpath) / f


def check_image(path: Path) -> str | None:
    """``None`` if ``path`` looks like a readable image, else a short reason."""
    try:
        if path.stat().st_size == 0:
            return "empty file"
        with Image.open(path) as img:
            img.verify()
    except Exception as e:
        text = str(e).replace(f" '{path}'", "").replace(str(path), path.name)
        return f"{type(e).__name__}: {text}"[:200]
    return None


class ImageFileDataset(Dataset[Any]):
    """Decodes image files to float tensors ``shape`` in [-1, 1]; returns ``(x, y)`` or ``x``.

    If a file fails to decode, the next index that decodes is used instead and the failure is
    counted in a shared-memory counter (visible across DataLoader worker processes).
    """

    def __init__(
        self,
        paths: Sequence[Path | str],
        shape: tuple[int, int, int],
        labels: Sequence[int] | None = None,
        name: str = "images",
    ) -> None:
        if labels is not None and len(labels) != len(paths):
            raise ValueError("labels and paths differ in length")
        self.paths = [str(p) for p in paths]
        self.shape = shape
        self.labels = None if labels is None else torch.as_tensor(list(labels), dtype=torch.int64)
        self.name = name
        self._failures = torch.zeros(1, dtype=torch.int64).share_memory_()
        self._bad: set[int] = set()  # per process: indices known not to decode

    @property
    def failures(self) -> int:
        """How many times a file failed to decode and was replaced (all workers together)."""
        return int(self._failures.item())

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Any:
        n = len(self.paths)
        for k in range(n):
            i = (index + k) % n
            if i in self._bad:
                continue
            try:
                x = load_image(self.paths[i], self.shape)
            except Exception as e:
                self._bad.add(i)
                self._failures += 1
                if len(self._bad) == 1:
                    warnings.warn(
                        f"{self.name}: could not decode {self.paths[i]} ({type(e).__name__}: {e}); "
                        "using another image instead (further failures are only counted)",
                        RuntimeWarning,
                        stacklevel=2,
                    )
                continue
            return x if self.labels is None else (x, self.labels[i])
        raise DataError(f"{self.name}: none of the {n:,} image files could be decoded")


class ImageFolder(GANDataModule):
    """Images found recursively under ``root``; unlabelled (batches are ``x``) by default.

    With ``labels=True`` each immediate subfolder of ``root`` is a class (sorted names ->
    indices 0..K-1, subfolders without valid images are ignored) and batches are ``(x, y)``;
    images lying directly in ``root`` are then ignored. Images are converted to ``shape[0]``
    channels (transparency composited onto white, 16-bit scaled to 8-bit), their shorter side is
    resized (bicubic, antialiased) and the center cropped to ``shape[1:]``. Images are decoded
    per sample with PIL, so ``num_workers`` defaults to the CPU cores, up to 4.
    """

    data_name = "image_folder"
    split = "all"  # every readable image under root
    default_shape = (3, 64, 64)
    default_workers = None
    _dataset: ImageFileDataset | None = None

    def __init__(
        self,
        root: str,  # folder to search recursively (jpg/jpeg/png/bmp/webp/tif/tiff/gif)
        labels: bool = False,  # class label = immediate subfolder of root
        **options: Unpack[DataOptions],
    ) -> None:
        super().__init__(**options)
        if not isinstance(root, (str, os.PathLike)) or not str(root):
            raise DataError(
                "image_folder: data.root must be the path of a folder of images, "
                "e.g. `data=image_folder data.root=/path/to/images`"
            )
        self.root = str(root)
        self.labels = bool(labels)
        self._image_shape = as_image_shape(self.shape)
        self.classes: list[str] = []
        self.skipped: list[tuple[Path, str]] = []  # unreadable files found at setup

    @property
    def path(self) -> Path:
        return Path(os.path.expanduser(self.root))

    @property
    def num_classes(self) -> int | None:
        if not self.labels:
            return None
        if self._dataset is None:
            raise DataError("image_folder: num_classes is known only after setup()")
        return len(self.classes)

    @property
    def num_samples(self) -> int:
        if self._dataset is None:
            raise DataError("image_folder: num_samples is known only after setup()")
        return len(self._dataset)

    @property
    def decode_failures(self) -> int:
        """Images that passed the setup check but failed to decode during training."""
        return 0 if self._dataset is None else self._dataset.failures

    def _check_root(self) -> Path:
        path = self.path
        if not path.is_dir():
            what = "is not a directory" if path.exists() else "does not exist"
            raise DataError(
                f"image_folder: data.root={self.root!r} {what} (resolved to {path.resolve()}). "
                "Set data.root=/path/to/a/folder/of/images."
            )
        return path

    def prepare_data(self) -> None:
        """Before training: the folder exists and holds at least one image file."""
        root = self._check_root()
        if next(_walk_images(root), None) is None:
            raise self._no_images(root)

    def _no_images(self, root: Path) -> DataError:
        return DataError(
            f"image_folder: no image files under data.root={self.root!r} "
            f"(resolved to {root.resolve()}; searched recursively for "
            f"{'/'.join(e[1:] for e in IMAGE_EXTENSIONS)}). Point data.root at a folder of images."
        )

    def setup(self, stage: str | None = None) -> None:
        if self._dataset is None:
            self._dataset = self._scan()
        self._check_fit(stage)

    def _scan(self) -> ImageFileDataset:
        root = self._check_root()
        candidates = find_images(root)
        if not candidates:
            raise self._no_images(root)
        ignored = 0
        if self.labels:
            in_root = [p for p in candidates if p.parent == root]
            ignored = len(in_root)
            candidates = [p for p in candidates if p.parent != root]
            if not candidates:
                raise DataError(
                    f"image_folder: data.labels=true but {str(root)!r} has no class subfolders "
                    "with images (expected root/<class_name>/...); set data.labels=false or "
                    "arrange the images in one subfolder per class."
                )
        workers = min(16, 4 * (os.cpu_count() or 1)) if len(candidates) > 64 else 1
        with ThreadPoolExecutor(max_workers=workers) as pool:
            reasons = list(pool.map(check_image, candidates, chunksize=64))
        good = [p for p, r in zip(candidates, reasons, strict=True) if r is None]
        self.skipped = [(p, r) for p, r in zip(candidates, reasons, strict=True) if r is not None]
        if not good:
            first = self.skipped[0]
            raise DataError(
                f"image_folder: none of the {len(candidates):,} image files under "
                f"data.root={self.root!r} could be read (first: {first[0]}: {first[1]})."
            )
        labels: list[int] | None = None
        if self.labels:
            self.classes = sorted({p.relative_to(root).parts[0] for p in good})
            index = {c: i for i, c in enumerate(self.classes)}
            labels = [index[p.relative_to(root).parts[0]] for p in good]
        line = f"image_folder: {len(good):,} images"
        if self.labels:
            line += f" in {len(self.classes)} classes"
        line += f", {len(self.skipped):,} skipped as unreadable"
        if self.skipped:
            line += f" (first: {self.skipped[0][0].relative_to(root)}: {self.skipped[0][1]})"
        if ignored:
            line += f", {ignored:,} ignored directly under root (labels=true uses subfolders)"
        print_rank_zero(line)
        return ImageFileDataset(good, self._image_shape, labels, name="image_folder")
