"""Fully connected generator and discriminator (Goodfellow et al. 2014), for any sample shape.

>>> import torch
>>> g = MLPGenerator(latent_dim=2, shape=(2,), hidden=(16, 16))
>>> g(torch.randn(5, 2)).shape
torch.Size([5, 2])
>>> d = MLPDiscriminator(shape=(1, 8, 8), hidden=(16,))
>>> d(torch.randn(3, 1, 8, 8)).shape
torch.Size([3])
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn


def _mlp(
    widths: Sequence[int], make_act: Callable[[], nn.Module], batchnorm: bool
) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for width_in, width_out in itertools.pairwise(widths):
        layers.append(nn.Linear(width_in, width_out))
        if batchnorm:
            layers.append(nn.BatchNorm1d(width_out))
        layers.append(make_act())
    return layers


class MLPGenerator(nn.Module):
    def __init__(
        self,
        latent_dim: int,
        shape: Sequence[int],  # shape of one sample: (2,) for 2-D data, (C, H, W) for images
        hidden: Sequence[int] = (256, 256),
        batchnorm: bool = False,
        output: str = "tanh",  # "tanh" for data in [-1, 1], "linear" for unbounded data
    ) -> None:
        super().__init__()
        assert output in ("tanh", "linear"), f"output must be 'tanh' or 'linear', got {output!r}"
        self.latent_dim = latent_dim
        self.shape = tuple(shape)
        layers = _mlp([latent_dim, *hidden], nn.ReLU, batchnorm)
        layers.append(nn.Linear(hidden[-1] if hidden else latent_dim, math.prod(self.shape)))
        if output == "tanh":
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(z.shape[0], *self.shape)


class MLPDiscriminator(nn.Module):
    def __init__(
        self,
        shape: Sequence[int],  # shape of one input sample
        hidden: Sequence[int] = (256, 256),
        negative_slope: float = 0.2,  # LeakyReLU slope; 0 gives ReLU
    ) -> None:
        super().__init__()
        self.shape = tuple(shape)
        layers = _mlp(
            [math.prod(self.shape), *hidden], lambda: nn.LeakyReLU(negative_slope), batchnorm=False
        )
        layers.append(nn.Linear(hidden[-1] if hidden else math.prod(self.shape), 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(torch.flatten(x, 1)).squeeze(1)
