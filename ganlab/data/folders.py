"""What the translation folders (``data=paired_folder``, ``data=unpaired_folder``) share.

* The folder: ``data.root``, or one of the official Pix2Pix and CycleGAN datasets by
  ``data.name`` (``data.name=horse2zebra``), in ``<data.data_dir>/<name>`` unless ``data.root``
  says where. A named dataset that is not there is downloaded (``data.download``) from
  ``efrosgans.eecs.berkeley.edu`` and unpacked as the official scripts do, atomically: the
  archive is fetched and unpacked in a temporary folder next to the dataset's, which is renamed
  into place at the end, so a failed download leaves nothing behind. Offline, one
  :class:`~ganlab.data.base.DataError` names the URL, the folder and the layout.
* The split and direction, ``source_shape`` (whose channels may differ from ``shape``'s) and
  the sizes of the official training augmentation: resized to ``load_size``, then cropped to
  ``shape`` (``--load_size 286 --crop_size 256``).

Each folder reads the official datasets in its own layout (:data:`OFFICIAL_DATASETS`):
Pix2Pix's side-by-side ``train/ val/ test/`` (and CycleGAN's ``mini_pix2pix``) for
``paired_folder``, CycleGAN's ``trainA/ trainB/ testA/ testB/`` for ``unpaired_folder``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar, cast

import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset
from typing_extensions import Unpack

from ganlab.data.base import (
    DataError,
    DataOptions,
    GANDataModule,
    as_image_shape,
    print_rank_zero,
)
from ganlab.data.downloads import download_file, extract_checked, missing_message, try_download
from ganlab.data.imaging import resize_crop_flip
from ganlab.data.paired import check_split_and_direction

__all__ = [
    "CYCLEGAN_URL",
    "OFFICIAL_DATASETS",
    "PAIRED_DATASETS",
    "PIX2PIX_URL",
    "UNPAIRED_DATASETS",
    "TranslationFolder",
]

# where the official scripts (datasets/download_{pix2pix,cyclegan}_dataset.sh) fetch them
PIX2PIX_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{}.tar.gz"
CYCLEGAN_URL = "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{}.zip"

# official name -> archive, by the layout it unpacks to. Side-by-side AB images in train/, val/,
# test/: Pix2Pix's, and CycleGAN's mini_pix2pix (its aligned example)
PAIRED_DATASETS: dict[str, str] = {
    **{
        name: PIX2PIX_URL.format(name)
        for name in ("facades", "cityscapes", "maps", "edges2shoes", "edges2handbags", "night2day")
    },
    "mini_pix2pix": CYCLEGAN_URL.format("mini_pix2pix"),
}
# trainA/ trainB/ testA/ testB/: CycleGAN's (its mini_colorization, one domain, is neither)
UNPAIRED_DATASETS: dict[str, str] = {
    name: CYCLEGAN_URL.format(name)
    for name in (
        "apple2orange",
        "summer2winter_yosemite",
        "horse2zebra",
        "monet2photo",
        "cezanne2photo",
        "ukiyoe2photo",
        "vangogh2photo",
        "maps",
        "cityscapes",
        "facades",
        "iphone2dslr_flower",
        "ae_photos",
        "mini",
        "grumpifycat",
    )
}
# data config name -> the official datasets it reads
OFFICIAL_DATASETS: dict[str, dict[str, str]] = {
    "paired_folder": PAIRED_DATASETS,
    "unpaired_folder": UNPAIRED_DATASETS,
}

FilesT = TypeVar("FilesT", bound=Dataset[Any])  # what a folder serves of one split


@dataclass(frozen=True)
class Reading:
    """How a translation folder's files become tensors, shared by its paired and unpaired
    datasets."""

    channels: tuple[int, int]  # of A's images and of B's
    size: tuple[int, int]  # (H, W) of the images served
    load_size: tuple[int, int]  # (H, W) every image is resized to first
    augment: bool  # crop (where load_size is larger) and flip at random
    flip: bool
    swap: bool  # BtoA: B is the source

    def tensors(
        self, images: Sequence[Image.Image], generator: torch.Generator | None
    ) -> list[Tensor]:
        """``images`` resized, and (``augment``, with a ``generator``) cropped and flipped
        together on draws from ``generator``."""
        draws = generator if self.augment else None
        return resize_crop_flip(images, self.size, self.load_size, draws, self.flip)

    def oriented(self, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
        """``(source, target)`` of an A and a B image."""
        return (b, a) if self.swap else (a, b)


class TranslationFolder(GANDataModule, Generic[FilesT]):
    """A translation data module reading a folder of images (see the module's docstring).
    Subclasses name their ``splits`` and ``layout``, and build a split's dataset in
    ``_build``."""

    default_shape: ClassVar[tuple[int, ...]] = (3, 256, 256)
    splits: ClassVar[tuple[str, ...]] = ()  # what data.split may name
    layout: ClassVar[str] = ""  # what the folder holds, for messages

    def __init__(
        self,
        root: str | None = None,  # the folder; None: <data_dir>/<name>
        split: str = "train",
        direction: str = "AtoB",  # AtoB: A images are the sources; BtoA: B images
        source_shape: Sequence[int] | None = None,  # (C, H, W) of a source; None: shape's
        load_size: Sequence[int] | None = None,  # (H, W) to resize to before the crop
        flip: bool = True,  # flip training images left-right at random
        name: str | None = None,  # an official dataset (OFFICIAL_DATASETS[data_name])
        data_dir: str = "data",  # where named datasets live (the configs: ${paths.data_dir})
        download: bool = True,  # fetch a named dataset that is not there
        **options: Unpack[DataOptions],
    ) -> None:
        super().__init__(**options)
        check_split_and_direction(split, self.splits, direction, "A images are the sources")
        known = OFFICIAL_DATASETS[self.data_name]
        if name is not None and name not in known:
            elsewhere = [
                f" ({name} is one in another layout: data={other} data.name={name})"
                for other, names in OFFICIAL_DATASETS.items()
                if name in names
            ]
            raise DataError(
                f"data.name={name!r} is no official dataset that data={self.data_name} reads"
                f"{''.join(elsewhere)}; the known ones are {', '.join(known)} (or leave "
                "data.name=null and point data.root at your own folder)"
            )
        if root is None and name is None:
            raise DataError(
                f"data={self.data_name} needs data.root=<your folder holding {self.layout}> or "
                f"data.name=<an official dataset: {', '.join(known)}>"
            )
        self.root = Path(root if root is not None else Path(data_dir) / str(name)).expanduser()
        self.name, self.download = name, bool(download)
        self.split, self.direction = split, direction
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
        self._splits: dict[str, FilesT] = {}

    @property
    def source_shape(self) -> tuple[int, ...]:
        return self._source_shape

    @property
    def num_samples(self) -> int:
        return len(cast(Sized, self._files(self.split)))

    def prepare_data(self) -> None:
        self._ensure_folder(self.download)
        self._files(self.split)  # a missing or broken folder: one clear error now

    def setup(self, stage: str | None = None) -> None:
        self._ensure_folder(allow_download=False)  # prepare_data may have run elsewhere
        self._dataset = self._files(self.split)
        self._check_fit(stage)

    def _files(self, split: str) -> FilesT:
        """The dataset of ``split``, built once."""
        if split not in self._splits:
            self._splits[split] = self._build(split)
        return self._splits[split]

    def _reading(self, split: str) -> Reading:
        """How ``split``'s files are read (training images cropped and flipped at random)."""
        swap = self.direction == "BtoA"  # B is the source domain
        a, b = self.source_shape[0], self.shape[0]
        return Reading(
            channels=(b, a) if swap else (a, b),
            size=self.size,
            load_size=self.load_size if split == "train" else self.size,
            augment=split == "train",
            flip=self.flip,
            swap=swap,
        )

    def _build(self, split: str) -> FilesT:
        raise NotImplementedError

    def _other_layout(self) -> str:
        """For a message about a layout missing from a named dataset's folder: the official
        dataset of the same name in the other layout, which unpacks to a folder of that name
        too, and the fix."""
        others = [
            other
            for other, names in OFFICIAL_DATASETS.items()
            if other != self.data_name and self.name in names
        ]
        if not others:
            return ""
        return (
            f". data={others[0]}'s {self.name} unpacks to a folder of the same name, in its own "
            f"layout: move {self.root} away (data={self.data_name}'s is then downloaded there), "
            "or point data.root elsewhere"
        )

    def _ensure_folder(self, allow_download: bool) -> None:
        """A named dataset that is not in ``root``: downloaded there (``allow_download``), or
        one :class:`DataError` saying where to get it."""
        if self.name is None or self.root.exists():
            return
        url = OFFICIAL_DATASETS[self.data_name][self.name]
        reason = None
        if allow_download:
            print_rank_zero(f"{self.data_name}: downloading {url} into {self.root} ...")
            reason = try_download(lambda: self._fetch(url), url)
            if self.root.is_dir():
                return
            reason = reason or "the folder is still missing afterwards"
        archive = url.rsplit("/", 1)[-1]
        unpack = f"unzip {archive}" if archive.endswith(".zip") else f"tar -xzf {archive}"
        raise DataError(
            missing_message(
                f"{self.data_name} {self.name}",
                self.root,
                [self.root],
                allow_download,
                reason,
                f"Fix: download {url} and unpack it: its folder {self.name}/ holds "
                f"{self.layout}; put it at {self.root}, e.g. `wget {url} && {unpack} && "
                f"mv {self.name} {self.root}`.",
                elsewhere=f"e.g. `data.root=/datasets/{self.name}`; the default is "
                f"${{data.data_dir}}/{self.name}",
            )
        )

    def _fetch(self, url: str) -> None:
        """Download ``url`` and unpack it into ``root``, atomically: everything happens in a
        temporary folder next to ``root`` (removed whatever happens), renamed at the end."""
        self.root.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f".{self.root.name}.", dir=self.root.parent) as tmp:
            archive, unpacked = Path(tmp) / url.rsplit("/", 1)[-1], Path(tmp) / "unpacked"
            download_file(url, archive)
            extract_checked(archive, unpacked)
            top = unpacked / str(self.name)  # the official archives hold the folder <name>/
            (top if top.is_dir() else unpacked).rename(self.root)
