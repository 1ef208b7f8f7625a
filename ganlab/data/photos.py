"""A paired translation task on photographs, offline: grayscale crops to their colours.

scikit-learn bundles two photographs (``load_sample_images``: a Chinese temple and a flower,
427x640 each). :class:`Gray2Color` cuts seeded square crops from them: the training crops from
the left ``1 - holdout`` of each photograph, the held-out crops from the rest, so no held-out
pixel was ever seen in training. Each pair is a crop in colour (the target) and in grayscale
(the source: ITU-R 601 luma, as PIL's "L" mode). Small, but a photograph rather than digits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, cast

import torch
from torch import Tensor
from typing_extensions import Unpack

from ganlab.data.base import DataError, DataOptions
from ganlab.data.paired import PairedData, PairedTensors
from ganlab.data.subset import SPLITS

__all__ = ["Gray2Color", "luma"]

LUMA = torch.tensor([0.299, 0.587, 0.114])  # ITU-R 601, PIL's RGB -> L


def luma(images: Tensor) -> Tensor:
    """Grayscale ``(N, 1, H, W)`` of RGB images ``(N, 3, H, W)`` in [-1, 1].

    >>> luma(torch.ones(1, 3, 2, 2)).flatten().tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    return torch.einsum("nchw,c->nhw", images, LUMA.to(images))[:, None]


class Gray2Color(PairedData):
    """Crops of scikit-learn's two sample photographs: grayscale (A) to colour (B) with
    ``direction=AtoB``. ``crops`` training crops and a quarter as many held-out ones, drawn
    with ``split_seed``."""

    data_name: ClassVar[str] = "gray2color"
    default_shape: ClassVar[tuple[int, ...]] = (3, 32, 32)

    def __init__(
        self,
        split: str = "train",
        holdout: float = 0.25,  # the right-hand share of each photograph held out
        crops: int = 4000,  # training crops (held out: crops // 4)
        split_seed: int = 0,  # where the crops are cut
        # as declared for ${data.source_shape}: one channel of data.shape's size
        source_shape: Sequence[int] | None = None,
        **options: Unpack[DataOptions],
    ) -> None:
        super().__init__(**options)
        if split not in SPLITS:
            raise DataError(f"data.split must be one of {list(SPLITS)}; got {split!r}")
        if not 0.0 < float(holdout) < 1.0:
            raise DataError(f"data.holdout must lie in (0, 1); got {holdout}")
        if self.shape[0] != 3:
            raise DataError(
                f"gray2color's targets are colour images: data.shape=[3, H, W], got "
                f"{list(self.shape)}"
            )
        if source_shape is not None and tuple(source_shape) != self.source_shape:
            raise DataError(
                f"data.source_shape={list(source_shape)} but gray2color's sources are "
                f"{list(self.source_shape)} (grayscale, the size of data.shape)"
            )
        self.split, self.holdout = split, float(holdout)
        self.crops, self.split_seed = int(crops), int(split_seed)
        self._pairs: dict[str, PairedTensors] = {}

    @property
    def source_shape(self) -> tuple[int, ...]:
        return (1, *self.shape[1:])

    @property
    def num_samples(self) -> int:
        return len(self._split(self.split))

    def prepare_data(self) -> None:
        self._photographs()

    def setup(self, stage: str | None = None) -> None:
        self._dataset = self._split(self.split)
        self._check_fit(stage)

    def held_out(self) -> PairedTensors:
        return self._split("test")

    def _photographs(self) -> list[Tensor]:
        try:
            from sklearn.datasets import load_sample_images
        except ImportError as error:
            raise DataError(
                "gray2color cuts its crops from scikit-learn's sample photographs: "
                "pip install scikit-learn pillow"
            ) from error
        images = cast(list, load_sample_images().images)
        return [torch.tensor(image).permute(2, 0, 1).float() / 127.5 - 1.0 for image in images]

    def _split(self, split: str) -> PairedTensors:
        if split not in self._pairs:
            _, height, width = self.shape
            rng = torch.Generator().manual_seed(self.split_seed + (split == "test"))
            n = self.crops if split == "train" else max(1, self.crops // 4)
            crops = []
            for photo in self._photographs():
                cut = int(photo.shape[2] * (1 - self.holdout))  # held-out columns from here
                left, right = (0, cut) if split == "train" else (cut, photo.shape[2])
                if right - left < width or photo.shape[1] < height:
                    raise DataError(
                        f"data.shape {list(self.shape)} does not fit the {split} part of a "
                        f"{photo.shape[1]}x{photo.shape[2]} photograph: use smaller crops"
                    )
                tops = torch.randint(photo.shape[1] - height + 1, (n // 2,), generator=rng)
                lefts = torch.randint(left, right - width + 1, (n // 2,), generator=rng)
                crops += [
                    photo[:, t : t + height, x : x + width]
                    for t, x in zip(tops, lefts, strict=True)
                ]
            target = torch.stack(crops)
            labels = torch.arange(2).repeat_interleave(n // 2)  # which photograph
            self._pairs[split] = PairedTensors(target, labels, luma(target))
        return self._pairs[split]
