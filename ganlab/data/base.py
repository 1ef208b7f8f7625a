"""Common base class, error type and helpers for every ganlab DataModule.

Contract shared by all DataModules (other packages rely on it):

* Every DataModule takes the keyword arguments of :class:`DataOptions` (``shape``,
  ``batch_size``, ``num_workers``, ``pin_memory``, ``num_classes``, ``seed``) besides its own.
* ``shape`` is the shape of ONE sample: ``(2,)`` for 2-D toy data, ``(C, H, W)`` for images.
  Model configs read it through ``${data.shape}``.
* ``train_dataloader()`` yields ``(x, y)`` tuples (x float32, y int64 of shape ``(B,)``) for
  labelled data, or just ``x`` for unlabelled data. Images are scaled to ``[-1, 1]``.
* ``split`` names the part of the dataset served (``train``, ``test``, ...); stored datasets
  also give ``dataset()`` (map-style) and ``eval_dataloader()`` (every sample once, in order:
  what metrics read).
* ``num_classes`` is ``None`` for unlabelled data; ``num_samples`` is the dataset size (or the
  number of samples per epoch for data generated on the fly). Data configs declare
  ``num_classes`` too, so model configs read it as ``${data.num_classes}``; the declaration is
  checked against the data at ``setup``.
* Problems with the data are reported early, from ``prepare_data``/``setup``, as a single
  :class:`DataError` whose message says how to fix them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence, Sized
from typing import Any, ClassVar, TypedDict, cast

import lightning as L
from lightning.fabric.utilities.rank_zero import rank_zero_only
from torch.utils.data import DataLoader, Dataset
from typing_extensions import Unpack

from ganlab.data.resumable import EpochSampler, RandomItems, ResumableLoader, SeededItems

__all__ = [
    "DataError",
    "DataOptions",
    "GANDataModule",
    "as_image_shape",
    "as_shape",
    "default_num_workers",
]

MAX_DEFAULT_WORKERS = 4  # enough to decode JPEGs for a small GAN; more only costs memory


class DataError(RuntimeError):
    """A dataset is missing, empty, corrupt or misconfigured; the message names the fix."""


def as_shape(shape: Sequence[int], name: str = "data.shape") -> tuple[int, ...]:
    """Validate ``shape`` (a list/tuple/ListConfig of positive ints) and return it as a tuple."""
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence):
        raise DataError(
            f"{name} must be a list of positive integers, e.g. [1, 32, 32]; got {shape!r}"
        )
    out: list[int] = []
    for s in shape:
        if isinstance(s, bool) or not isinstance(s, int) or s <= 0:
            raise DataError(
                f"{name} must be a list of positive integers, e.g. [1, 32, 32]; got {list(shape)!r}"
            )
        out.append(int(s))
    if not out:
        raise DataError(f"{name} must not be empty")
    return tuple(out)


def as_image_shape(shape: Sequence[int], name: str = "data.shape") -> tuple[int, int, int]:
    """Validate an image sample shape ``(C, H, W)`` with ``C`` in ``{1, 3}``."""
    shp = as_shape(shape, name)
    if len(shp) != 3 or shp[0] not in (1, 3):
        raise DataError(
            f"{name} must be [C, H, W] with C = 1 (grayscale) or 3 (RGB), e.g. [3, 64, 64]; "
            f"got {list(shp)!r}"
        )
    return shp[0], shp[1], shp[2]


def default_num_workers() -> int:
    """Loader workers for ``data.num_workers: null``: up to 4, never more than the CPU cores
    this process may use (what PyTorch counts before warning about too many workers)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(MAX_DEFAULT_WORKERS, cores or 1)


def print_rank_zero(message: str) -> None:
    """Print one line on global rank 0 only (every rank runs ``setup``)."""
    if getattr(rank_zero_only, "rank", 0) == 0:
        print(message, flush=True)


class DataOptions(TypedDict, total=False):
    """The options every ganlab DataModule takes besides its own: the flat config keys
    ``data.shape``, ``data.batch_size``, ... By default ``shape``, ``batch_size`` and
    ``num_workers`` are the DataModule's ``default_shape``, ``default_batch_size`` (64) and
    ``default_workers`` (0), ``pin_memory`` is False, ``num_classes`` None and ``seed`` 0."""

    shape: Sequence[int]  # of one sample: (D,) for vectors, (C, H, W) for images
    batch_size: int
    num_workers: int | None  # loader worker processes; None: default_num_workers()
    pin_memory: bool
    num_classes: int | None  # as declared for ${data.num_classes}; checked at setup
    seed: int  # the training order: each epoch's shuffle follows (seed, epoch)


class GANDataModule(L.LightningDataModule):
    """Base class of all ganlab DataModules.

    Subclasses take their own arguments and ``**options`` (:class:`DataOptions`), which they
    pass on to this class, and state their defaults in ``default_*`` class attributes. They
    set ``self._dataset`` in ``setup`` (or override ``train_dataloader`` when the data is
    generated on the fly) and override :attr:`num_classes` / :attr:`num_samples`.
    """

    data_name: ClassVar[str] = "data"  # how messages name the dataset
    # translation data: "paired" (each source image with its target) or "unpaired" (two
    # domains); None: images to generate. Read by ganlab.validation before anything is built
    pairing: ClassVar[str | None] = None
    split: str = "train"  # the part of the dataset served; data.split where there are several
    default_shape: ClassVar[tuple[int, ...]] = ()  # each DataModule names its own
    default_batch_size: ClassVar[int] = 64
    default_workers: ClassVar[int | None] = 0  # None: default_num_workers()
    _dataset: Dataset[Any] | None = None

    def __init__(self, **options: Unpack[DataOptions]) -> None:
        super().__init__()
        unknown = sorted(set(options) - DataOptions.__optional_keys__)
        if unknown:  # what Python says of an unknown keyword (configs are checked earlier)
            raise TypeError(
                f"{type(self).__name__}() got an unexpected keyword argument {unknown[0]!r}"
            )
        self.seed = int(options.get("seed", 0))
        self._epoch = 0
        self._shape = as_shape(options.get("shape", self.default_shape))
        self.declared_num_classes = options.get("num_classes")
        batch_size = options.get("batch_size", self.default_batch_size)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise DataError(f"data.batch_size must be a positive integer; got {batch_size!r}")
        num_workers = options.get("num_workers", self.default_workers)
        if num_workers is None:
            num_workers = default_num_workers()
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise DataError(
                f"data.num_workers must be an integer >= 0 (or null: as many as the CPU cores, "
                f"up to {MAX_DEFAULT_WORKERS}); got {num_workers!r}"
            )
        self.batch_size = int(batch_size)
        self.num_workers = int(num_workers)
        self.pin_memory = bool(options.get("pin_memory", False))

    # ----------------------------------------------------------------- contract properties
    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one sample: ``(D,)`` for vectors, ``(C, H, W)`` for images."""
        return self._shape

    @property
    def num_classes(self) -> int | None:
        """Number of label classes, or ``None`` for unlabelled data."""
        return None

    @property
    def num_samples(self) -> int:
        """Dataset size (or samples per epoch for data generated on the fly)."""
        raise NotImplementedError

    @property
    def dataset_size(self) -> int | None:
        """Samples in the stored dataset of :attr:`split` (after ``setup``); None for data
        generated on the fly."""
        return None if self._dataset is None else len(cast(Sized, self._dataset))

    # ----------------------------------------------------------------- loaders
    def dataset(self) -> Dataset[Any]:
        """The map-style dataset of :attr:`split` (set up on first use)."""
        if self._dataset is None:
            self.setup("fit")
        if self._dataset is None:
            raise DataError(f"{self.data_name} is generated on the fly: it has no stored dataset")
        return self._dataset

    def train_dataloader(self) -> DataLoader[Any]:
        dataset = self.dataset()
        return self._shuffled_loader(dataset, len(cast(Sized, dataset)), self.data_name)

    def eval_dataloader(self, batch_size: int | None = None) -> DataLoader[Any]:
        """Every sample of :attr:`split` once, in order, last batch included (for metrics)."""
        return DataLoader(
            self.dataset(),
            batch_size=batch_size or self.batch_size,
            shuffle=False,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
        )

    # ----------------------------------------------------------------- epochs and ranks
    def set_epoch(self, epoch: int) -> None:
        """Epoch to use when no trainer is attached (a trainer's ``current_epoch`` wins)."""
        self._epoch = int(epoch)

    def current_epoch(self) -> int:
        trainer: Any = self.trainer
        if trainer is not None:
            return int(trainer.current_epoch)
        return self._epoch

    # ----------------------------------------------------------------- helpers
    def _rank_and_world(self) -> tuple[int, int]:
        """(global rank, world size) of the attached trainer, or (0, 1) without one."""
        trainer: Any = self.trainer
        if trainer is None:
            return 0, 1
        return int(getattr(trainer, "global_rank", 0)), int(getattr(trainer, "world_size", 1))

    def _check_batch_fits(self, size: int, what: str) -> None:
        """With ``drop_last=True`` a batch larger than the (per-rank) dataset gives 0 batches."""
        _, world = self._rank_and_world()
        per_rank = size // world
        if self.batch_size > per_rank:
            where = f" per process ({size:,} split over {world} processes)" if world > 1 else ""
            raise DataError(
                f"{what}: data.batch_size={self.batch_size} is larger than the dataset "
                f"({per_rank:,} samples{where}), so an epoch would contain no full batch. "
                f"Set data.batch_size<={per_rank} or use more data."
            )

    def _check_num_classes(self) -> None:
        """A declared ``num_classes`` (what model configs read) must be the data's own."""
        declared, actual = self.declared_num_classes, self.num_classes
        if declared is not None and declared != actual:
            what = "is unlabelled" if actual is None else f"has {actual} classes"
            fix = "null" if actual is None else actual
            raise DataError(
                f"{self.data_name}: data.num_classes={declared} but the data {what}; set "
                f"data.num_classes={fix} (models size their class embeddings from it)"
            )

    def _check_fit(self, stage: str | None) -> None:
        """From ``setup``: the declared classes must match; training needs one full batch per
        process; evaluation does not."""
        self._check_num_classes()
        if stage in (None, "fit") and self._dataset is not None:
            self._check_batch_fits(len(cast(Sized, self._dataset)), self.data_name)

    def _shuffled_loader(self, dataset: Dataset[Any], size: int, what: str) -> DataLoader[Any]:
        """Shuffled, full batches only, this process's share of each epoch, resumable mid-epoch."""
        self._check_batch_fits(size, what)
        rank, world = self._rank_and_world()
        # a dataset whose items draw random numbers draws each item's from (seed, epoch, index)
        served = SeededItems(dataset) if isinstance(dataset, RandomItems) else dataset
        seeded = served is not dataset
        return ResumableLoader(
            served,
            seed=self.seed,
            epoch_fn=self.current_epoch,
            sampler=EpochSampler(served, self.seed, world, rank, item_seeds=seeded),
            batch_size=self.batch_size,
            drop_last=True,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
        )
