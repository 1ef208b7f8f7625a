"""Part of a labelled dataset: some classes, ``k`` images per class, a held-out test split.

    python -m ganlab.train model=cgan data=subset data.per_class=50         # mnist5k inside
    python -m ganlab.train data=subset data@data.data=digits data.classes=[0,1,2]

The split is stratified and seeded: a share ``holdout`` of every class is held out (served by
``split=test``), and ``split=train`` serves the rest, or its first ``per_class`` images of each
class. For one ``split_seed`` the small subsets are nested (the 10 images per class of
``per_class=10`` are among the 50 of ``per_class=50``) and never meet the held-out images, so
runs on different ``per_class`` are tested on the same images.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, cast

import torch
from torch import Tensor
from torch.utils.data import Dataset, Subset, TensorDataset

from ganlab.data.base import DataError, GANDataModule

__all__ = ["ClassSubset", "check_classes", "stratified_split"]

SPLITS = ("train", "test")


def stratified_split(labels: Tensor, holdout: float, seed: int) -> tuple[dict[int, Tensor], Tensor]:
    """Hold out ``round(holdout * n_c)`` images of every class ``c``, drawn with ``seed``.

    Returns the training indices of each class in the order drawn (so their first ``k`` are a
    seeded sample of ``k``) and the sorted held-out indices.

    >>> labels = torch.tensor([0] * 10 + [1] * 5)
    >>> train, test = stratified_split(labels, 0.2, 0)
    >>> {c: len(t) for c, t in train.items()}, len(test), int((labels[test] == 1).sum())
    ({0: 8, 1: 4}, 3, 1)
    """
    rng = torch.Generator().manual_seed(seed)
    train: dict[int, Tensor] = {}
    test: list[Tensor] = []
    for c in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=rng)]
        n_test = round(holdout * len(idx))
        test.append(idx[:n_test])
        train[int(c)] = idx[n_test:]
    return train, torch.cat(test).sort().values


def check_classes(
    classes: Any,
    num_classes: int | None,
    data_name: str,
    key: str = "data.classes",  # how the error names the option
) -> list[int]:
    """``classes`` as a sorted list of distinct class indices of the data, or an error."""
    if num_classes is None:
        raise DataError(
            f"{data_name} is unlabelled: choosing images by class needs labelled data "
            "(data=mnist5k, digits, mnist, ...)"
        )
    if classes is None or isinstance(classes, (str, int)) or len(classes) == 0:
        raise DataError(
            f"{key} must be a non-empty list of classes, e.g. {key}=[0,1]; got {classes!r}"
        )
    values = [int(c) for c in classes]
    bad = [c for c in values if not 0 <= c < num_classes]
    if bad:
        raise DataError(f"{key} {bad} are not classes of {data_name}: use 0..{num_classes - 1}")
    return sorted(set(values))


def _labels_of(dataset: Dataset[Any]) -> Tensor:
    labels = getattr(dataset, "labels", None)
    if isinstance(labels, Tensor):
        return labels.to(torch.int64)
    items = [dataset[i] for i in range(len(cast(Any, dataset)))]
    if not items or not isinstance(items[0], (tuple, list)):
        raise DataError("choosing images by class needs labelled data (x, y)")
    return torch.as_tensor([int(item[1]) for item in items], dtype=torch.int64)


class ClassSubset(GANDataModule):
    """A labelled DataModule cut down to ``classes`` and ``per_class`` images of each, with a
    stratified held-out split (see the module docstring).

    Labels stay the data's own (a subset of classes keeps ``num_classes``); shape, batch size
    and loaders are the inner DataModule's.
    """

    data_name: ClassVar[str] = "class subset"  # each instance names its subset below

    def __init__(
        self,
        data: GANDataModule,  # the labelled data to cut (any ganlab DataModule)
        classes: Sequence[int] | None = None,  # None: every class
        per_class: int | None = None,  # images of each class (train split); None: all
        holdout: float = 0.2,  # share of every class held out for split=test
        split_seed: int = 0,  # which images are held out and which k are kept
        split: str = "train",
        shape: Sequence[int] | None = None,  # as declared for ${data.shape}; the inner's
        num_classes: int | None = None,  # as declared for ${data.num_classes}; the inner's
        seed: int = 0,  # the training order
    ) -> None:
        super().__init__(
            shape=data.shape,
            batch_size=data.batch_size,
            num_workers=data.num_workers,
            pin_memory=data.pin_memory,
            num_classes=num_classes,
            seed=seed,
        )
        if split not in SPLITS:
            raise DataError(f"data.split must be one of {list(SPLITS)}; got {split!r}")
        if not 0.0 <= float(holdout) < 1.0 or (split == "test" and float(holdout) == 0.0):
            raise DataError(
                f"data.holdout must lie in [0, 1) (and be > 0 for split=test); got {holdout}"
            )
        if per_class is not None and (isinstance(per_class, bool) or int(per_class) < 1):
            raise DataError(f"data.per_class must be a positive integer or null; got {per_class}")
        if shape is not None and tuple(shape) != tuple(data.shape):
            raise DataError(f"shape {list(shape)} differs from the data's {list(data.shape)}")
        self.inner = data
        self.classes = (
            None if classes is None else check_classes(classes, data.num_classes, data.data_name)
        )
        self.per_class = None if per_class is None else int(per_class)
        self.holdout = float(holdout)
        self.split_seed = int(split_seed)
        self.split = split
        chosen = "" if self.classes is None else "-c" + "".join(str(c) for c in self.classes)
        k = "" if self.per_class is None or split == "test" else f"-k{self.per_class}"
        self.data_name = (  # type: ignore[misc]
            f"{data.data_name}{chosen}{k}-{split}-h{self.holdout:g}-s{self.split_seed}"
        )

    @property
    def num_classes(self) -> int | None:
        return self.inner.num_classes

    @property
    def num_samples(self) -> int:
        return len(cast(Any, self.dataset()))

    def prepare_data(self) -> None:
        self.inner.prepare_data()

    def setup(self, stage: str | None = None) -> None:
        if self._dataset is None:
            self.inner.setup(stage or "fit")
            try:
                dataset = self.inner.dataset()
            except DataError as error:  # data made on the fly has no images to choose from
                raise DataError(f"data=subset chooses stored images by class: {error}") from None
            tensors = getattr(self.inner, "tensors", None)
            labels = tensors[1] if tensors is not None else _labels_of(dataset)
            keep = self._indices(labels)
            if tensors is not None:
                self._dataset = TensorDataset(tensors[0][keep], tensors[1][keep])
            else:
                self._dataset = Subset(dataset, keep.tolist())
        self._check_fit(stage)

    def _indices(self, labels: Tensor) -> Tensor:
        train, test = stratified_split(labels, self.holdout, self.split_seed)
        if self.split == "test":
            if self.classes is None:
                return test
            return test[torch.isin(labels[test], torch.tensor(self.classes))]
        if self.classes is not None:
            train = {c: t for c, t in train.items() if c in self.classes}
        if self.per_class is not None:
            short = {c: len(t) for c, t in train.items() if len(t) < self.per_class}
            if short:
                raise DataError(
                    f"{self.inner.data_name}: data.per_class={self.per_class} but classes "
                    f"{sorted(short)} have only {min(short.values())} training images "
                    f"(after holding out {self.holdout:g}); lower data.per_class"
                )
            train = {c: t[: self.per_class] for c, t in train.items()}
        return torch.cat(list(train.values())).sort().values

    def images(self) -> tuple[Tensor, Tensor]:
        """All images of this split ``(N, *shape)`` and their labels ``(N,)``."""
        if self._dataset is None:
            self.setup("validate")  # reading needs no full training batch
        dataset = self.dataset()
        if isinstance(dataset, TensorDataset):
            x, y = dataset.tensors
            return x, y
        xs, ys = zip(*(dataset[i] for i in range(len(cast(Any, dataset)))), strict=True)
        return torch.stack(xs), torch.as_tensor(ys, dtype=torch.int64)
