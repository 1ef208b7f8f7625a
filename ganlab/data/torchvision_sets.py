"""Standard downloadable datasets in torchvision's on-disk layout under ``data.root``.

* :class:`MNIST`, :class:`FashionMNIST` - ``<root>/{MNIST,FashionMNIST}/raw/*-ubyte``
* :class:`CIFAR10` - ``<root>/cifar-10-batches-py/``
* :class:`CelebA` - ``<root>/celeba/img_align_celeba/`` + ``list_eval_partition.txt`` (unlabelled)

``prepare_data`` (rank 0) does nothing when the files are present, unpacks archives that were put
in place by hand (``*.gz``, ``cifar-10-python.tar.gz``, ``img_align_celeba.zip``), otherwise tries
torchvision's download when ``download=True`` (probing the host first so an offline machine fails
in milliseconds instead of hanging). If the files are still missing it raises ONE
:class:`~ganlab.data.base.DataError` that lists them, the directory they belong in and the
URLs/commands to fetch them. ``setup`` repeats the (offline) check in case ``prepare_data`` was
skipped.

MNIST/Fashion-MNIST/CIFAR-10 are held in memory as uint8, converted once to ``shape``; CelebA is
decoded per sample with PIL (center crop 178x178, resize).
"""

from __future__ import annotations

import importlib.util
import os
import pickle
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torchvision.datasets as tvd
from torch import Tensor
from torch.utils.data import Dataset
from torchvision.datasets.mnist import read_image_file, read_label_file
from torchvision.datasets.utils import extract_archive
from typing_extensions import Unpack

from ganlab.data.base import (
    DataError,
    DataOptions,
    GANDataModule,
    as_image_shape,
    print_rank_zero,
)
from ganlab.data.downloads import missing_message, try_download
from ganlab.data.image_folder import IMAGE_EXTENSIONS, ImageFileDataset
from ganlab.data.imaging import uint8_to_images

__all__ = ["CIFAR10", "MNIST", "CelebA", "FashionMNIST", "UInt8Images"]


def _root_path(root: str, name: str) -> Path:
    if not isinstance(root, (str, os.PathLike)) or not str(root):
        raise DataError(f"{name}: data.root must be a directory path; got {root!r}")
    return Path(os.path.expanduser(str(root)))


def _has_entries(folder: Path) -> bool:
    with os.scandir(folder) as it:
        return any(True for _ in it)


class UInt8Images(Dataset[tuple[Tensor, Tensor]]):
    """uint8 images ``(N, C, H, W)`` + labels, served as float32 in [-1, 1] + int64."""

    def __init__(self, images: Tensor, labels: Tensor) -> None:
        self.images = images
        self.labels = labels.to(torch.int64)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.images[index].float().div_(127.5).sub_(1.0), self.labels[index]


class _OnDisk(GANDataModule):
    """Image sets in files under ``data.root``: the shared "files present? unpack? download?
    else one helpful DataError" logic."""

    data_name: ClassVar[str] = ""
    splits: ClassVar[tuple[str, ...]] = ("train", "test")  # what data.split may name

    def __init__(
        self,
        root: str,  # data directory; each class's docstring says where its files live
        split: str = "train",
        download: bool = True,  # fetch missing files (torchvision's download)
        **options: Unpack[DataOptions],
    ) -> None:
        super().__init__(**options)
        if split not in self.splits:
            raise DataError(
                f"{self.data_name}: data.split must be one of {list(self.splits)}; got {split!r}"
            )
        self._image_shape = as_image_shape(self.shape)
        self.root = str(root)
        self._root = _root_path(root, self.data_name)
        self.split = split
        self.download = bool(download)

    def _missing(self) -> list[Path]:
        raise NotImplementedError

    def _unpack_local(self) -> None:
        """Unpack archives already on disk (no network)."""

    def _fetch(self) -> None:
        raise NotImplementedError

    def _probe_url(self) -> str:
        raise NotImplementedError

    def _fix(self) -> str:
        raise NotImplementedError

    def prepare_data(self) -> None:
        self._ensure_files(self.download)

    def _ensure_files(self, allow_download: bool) -> None:
        """Used by ``prepare_data`` (``allow_download=data.download``) and ``setup`` (False)."""
        if not self._missing():
            return
        try:
            self._unpack_local()
        except Exception as e:
            raise DataError(
                f"{self.data_name}: could not unpack the archive found under {self._root} "
                f"({type(e).__name__}: {e}). Delete it and fetch it again."
            ) from e
        missing = self._missing()
        if not missing:
            return
        reason = None
        if allow_download:
            reason = try_download(self._fetch, self._probe_url())
            missing = self._missing()
            if not missing:
                return
            reason = reason or "the expected files are still missing afterwards"
        raise DataError(
            missing_message(
                self.data_name, self._root, missing, allow_download, reason, self._fix()
            )
        )


class _DownloadableArrays(_OnDisk):
    """Base for labelled sets that torchvision can download and that fit in memory as uint8;
    ``data.split`` is ``train`` or ``test``."""

    sizes: ClassVar[tuple[int, int]] = (0, 0)  # (train, test) sizes
    _dataset: UInt8Images | None = None

    @property
    def num_classes(self) -> int | None:
        return 10

    @property
    def num_samples(self) -> int:
        if self._dataset is not None:
            return len(self._dataset)
        return self.sizes[0] if self.train else self.sizes[1]

    @property
    def train(self) -> bool:
        return self.split == "train"

    def _required(self) -> list[Path]:
        raise NotImplementedError

    def _read(self) -> tuple[Tensor, Tensor]:
        """uint8 images ``(N, C, H, W)`` and int64 labels from the files on disk."""
        raise NotImplementedError

    def _missing(self) -> list[Path]:
        return [p for p in self._required() if not p.is_file() or p.stat().st_size == 0]

    def setup(self, stage: str | None = None) -> None:
        if self._dataset is None:
            missing = self._missing()
            if missing:  # prepare_data was skipped (or ran elsewhere): never download here
                self._ensure_files(allow_download=False)
            try:
                images, labels = self._read()
            except Exception as e:
                raise DataError(
                    f"{self.data_name}: the files under {self._root} could not be read "
                    f"({type(e).__name__}: {e}); they are probably corrupt or incomplete. "
                    "Delete them and download them again."
                ) from e
            self._dataset = UInt8Images(uint8_to_images(images, self._image_shape), labels)
        self._check_fit(stage)


class MNIST(_DownloadableArrays):
    """MNIST (60,000 train / 10,000 test 28x28 digits, 10 classes), torchvision layout: files
    in ``<root>/MNIST/raw/``."""

    data_name: ClassVar[str] = "mnist"
    sizes: ClassVar[tuple[int, int]] = (60_000, 10_000)
    default_shape: ClassVar[tuple[int, ...]] = (1, 32, 32)  # 28x28 originals, resized
    _tv: ClassVar[Any] = tvd.MNIST

    @property
    def raw_dir(self) -> Path:
        return self._root / self._tv.__name__ / "raw"

    def _names(self) -> list[str]:
        prefix = "train" if self.train else "t10k"
        return [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]

    def _urls(self) -> list[str]:
        return [f"{self._tv.mirrors[0]}{n}.gz" for n in self._names()]

    def _required(self) -> list[Path]:
        return [self.raw_dir / n for n in self._names()]

    def _unpack_local(self) -> None:
        for p in self._required():
            gz = p.with_name(p.name + ".gz")
            if not p.is_file() and gz.is_file():
                extract_archive(str(gz), str(p.parent))

    def _fetch(self) -> None:
        self._tv(str(self._root), train=self.train, download=True)

    def _probe_url(self) -> str:
        return self._urls()[0]

    def _fix(self) -> str:
        urls = self._urls()
        d = self.raw_dir
        return (
            f"Fix: put these files into {d}/ (the .gz files are enough; they are unpacked "
            "automatically):\n  "
            + "\n  ".join(urls)
            + f"\ne.g. `mkdir -p {d} && wget -P {d} {' '.join(urls)}`."
        )

    def _read(self) -> tuple[Tensor, Tensor]:
        images_file, labels_file = self._required()
        images = read_image_file(str(images_file))  # (N, 28, 28) uint8
        labels = read_label_file(str(labels_file))
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f"{images.shape[0]} images but {labels.shape[0]} labels")
        return images.unsqueeze(1).contiguous(), labels.to(torch.int64)


class FashionMNIST(MNIST):
    """Fashion-MNIST (60,000 / 10,000 28x28 clothing images, 10 classes), torchvision layout:
    files in ``<root>/FashionMNIST/raw/``."""

    data_name: ClassVar[str] = "fashion_mnist"
    _tv: ClassVar[Any] = tvd.FashionMNIST


class CIFAR10(_DownloadableArrays):
    """CIFAR-10 (50,000 train / 10,000 test 32x32 RGB images, 10 classes), torchvision layout:
    files in ``<root>/cifar-10-batches-py/``."""

    data_name: ClassVar[str] = "cifar10"
    sizes: ClassVar[tuple[int, int]] = (50_000, 10_000)
    default_shape: ClassVar[tuple[int, ...]] = (3, 32, 32)
    _tv: ClassVar[Any] = tvd.CIFAR10

    @property
    def batches_dir(self) -> Path:
        return self._root / self._tv.base_folder

    def _required(self) -> list[Path]:
        files = self._tv.train_list if self.train else self._tv.test_list
        return [self.batches_dir / name for name, _md5 in files]

    def _unpack_local(self) -> None:
        archive = self._root / self._tv.filename
        if archive.is_file():
            extract_archive(str(archive), str(self._root))

    def _fetch(self) -> None:
        self._tv(str(self._root), train=self.train, download=True)

    def _probe_url(self) -> str:
        return str(self._tv.url)

    def _fix(self) -> str:
        url, archive = self._tv.url, self._root / self._tv.filename
        return (
            f"Fix: download {url}\n"
            f"into {self._root}/ (the .tar.gz is enough; it is unpacked automatically to "
            f"{self.batches_dir}/), e.g. `mkdir -p {self._root} && wget -P {self._root} {url}` "
            f"(or unpack it yourself: `tar -xzf {archive} -C {self._root}`)."
        )

    def _read(self) -> tuple[Tensor, Tensor]:
        chunks, labels = [], []
        for path in self._required():
            with open(path, "rb") as f:
                entry = pickle.load(f, encoding="latin1")
            chunks.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels.extend(entry["labels"] if "labels" in entry else entry["fine_labels"])
        images = torch.from_numpy(np.concatenate(chunks))
        return images, torch.as_tensor(labels, dtype=torch.int64)


class CelebA(_OnDisk):
    """CelebA aligned faces (``img_align_celeba``), unlabelled: batches are just ``x``.

    Files in ``<root>/celeba/``; ``data.split`` is ``train``, ``valid``, ``test`` or ``all``
    (as ``list_eval_partition.txt`` divides them). ``download`` uses torchvision's Google Drive
    download, which needs ``pip install gdown``. Each 178x218 image is center-cropped to
    178x178 and resized to ``shape[1:]`` (bicubic, antialiased), i.e. the usual DCGAN/WGAN
    preprocessing. JPEGs are decoded per sample, so ``num_workers`` defaults to the CPU
    cores, up to 4.
    """

    data_name: ClassVar[str] = "celeba"
    split_sizes: ClassVar[dict[str, int]] = {
        "train": 162_770,
        "valid": 19_867,
        "test": 19_962,
        "all": 202_599,
    }
    splits: ClassVar[tuple[str, ...]] = tuple(split_sizes)
    default_shape: ClassVar[tuple[int, ...]] = (3, 64, 64)
    default_workers: ClassVar[int | None] = None
    _split_codes: ClassVar[dict[str, str]] = {"train": "0", "valid": "1", "test": "2"}
    _drive_folder = "https://drive.google.com/drive/folders/0B7EVK8r0v71pWEZsZE9oNnFzTm8"
    _homepage = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"
    _dataset: ImageFileDataset | None = None

    @property
    def num_samples(self) -> int:
        if self._dataset is not None:
            return len(self._dataset)
        return self.split_sizes[self.split]

    @property
    def decode_failures(self) -> int:
        return 0 if self._dataset is None else self._dataset.failures

    @property
    def base_dir(self) -> Path:
        return self._root / tvd.CelebA.base_folder

    @property
    def image_dir(self) -> Path:
        return self.base_dir / "img_align_celeba"

    def _missing(self) -> list[Path]:
        missing = []
        if not self.image_dir.is_dir() or not _has_entries(self.image_dir):
            missing.append(self.image_dir)
        partition = self.base_dir / "list_eval_partition.txt"
        if self.split != "all" and not partition.is_file():
            missing.append(partition)
        return missing

    def _fix(self) -> str:
        files = "\n".join(
            f"  {name:<33} https://drive.google.com/uc?id={file_id}"
            for file_id, _md5, name in tvd.CelebA.file_list
        )
        return (
            f"Fix: download the CelebA files from the official page {self._homepage} "
            f"(Google Drive folder {self._drive_folder}) into {self.base_dir}/ - "
            f"torchvision's layout expects:\n{files}\n"
            "ganlab itself needs only img_align_celeba.zip (unpacked automatically to "
            f"{self.image_dir}/, or unpack it yourself: "
            f"`unzip {self.base_dir}/img_align_celeba.zip -d {self.base_dir}`) and "
            "list_eval_partition.txt (not needed for data.split=all).\n"
            "Automatic download needs `pip install gdown` and often hits Google Drive's quota."
        )

    def _unpack_local(self) -> None:
        archive = self.base_dir / "img_align_celeba.zip"
        if not self.image_dir.is_dir() and archive.is_file():
            print_rank_zero(f"celeba: unpacking {archive} ...")
            extract_archive(str(archive), str(self.base_dir))

    def _fetch(self) -> None:
        if importlib.util.find_spec("gdown") is None:
            raise RuntimeError("torchvision needs `gdown` to fetch CelebA (pip install gdown)")
        tvd.CelebA(str(self._root), split=self.split, target_type=[], download=True)

    def _probe_url(self) -> str:
        return "https://drive.google.com"

    def _file_names(self) -> list[str]:
        partition = self.base_dir / "list_eval_partition.txt"
        if self.split == "all" and not partition.is_file():
            with os.scandir(self.image_dir) as it:
                return sorted(
                    e.name for e in it if os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS
                )
        code = self._split_codes.get(self.split)
        names = []
        with open(partition) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2 and (code is None or parts[1] == code):
                    names.append(parts[0])
        return names

    def setup(self, stage: str | None = None) -> None:
        if self._dataset is None:
            missing = self._missing()
            if missing:
                self._ensure_files(allow_download=False)
            names = self._file_names()
            with os.scandir(self.image_dir) as it:
                present = {e.name for e in it}
            absent = [n for n in names if n not in present]
            if not names:
                raise DataError(
                    f"celeba: {self.base_dir / 'list_eval_partition.txt'} lists no images for "
                    f"split {self.split!r}; it is probably corrupt - fetch it again."
                )
            if absent:
                raise DataError(
                    f"celeba: {self.image_dir} is incomplete: {len(absent):,} of the {len(names):,} "
                    f"images listed for split {self.split!r} are missing (first: {absent[:1]}). "
                    "Unpack img_align_celeba.zip again."
                )
            paths = [self.image_dir / n for n in names]
            self._dataset = ImageFileDataset(paths, self._image_shape, None, name="celeba")
        self._check_fit(stage)
