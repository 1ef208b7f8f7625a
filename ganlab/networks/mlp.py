"""Fully connected generator and discriminator (Goodfellow et al. 2014), for any sample shape.

>>> import torch
>>> g = MLPGenerator(latent_dim=2, shape=(2,), hidden=(16, 16))
>>> g(torch.randn(5, 2)).shape
torch.Size([5, 2])
>>> d = MLPDiscriminator(shape=(1, 8, 8), hidden=(16,))
>>> d(torch.randn(3, 1, 8, 8)).shape
torch.Size([3])
>>> d = MLPDiscriminator((2,), hidden=(16,), norm="layer", spectral_norm=True, minibatch="stddev")
>>> d(torch.randn(4, 2)).shape
torch.Size([4])
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from ganlab.networks.layers import apply_spectral_norm, minibatch_layer

_NORMS_1D: dict[str, Callable[[int], nn.Module] | None] = {"none": None, "layer": nn.LayerNorm}


def _mlp(
    widths: Sequence[int],
    make_act: Callable[[], nn.Module],
    make_norm: Callable[[int], nn.Module] | None,  # norm after each linear layer, or None
) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for width_in, width_out in itertools.pairwise(widths):
        layers.append(nn.Linear(width_in, width_out))
        if make_norm is not None:
            layers.append(make_norm(width_out))
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
        layers = _mlp([latent_dim, *hidden], nn.ReLU, nn.BatchNorm1d if batchnorm else None)
        layers.append(nn.Linear(hidden[-1] if hidden else latent_dim, math.prod(self.shape)))
        if output == "tanh":
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(z.shape[0], *self.shape)


class MLPDiscriminator(nn.Module):
    def __init__(
        self,
        shape: Sequence[int],  # shape of one input sample (the packed shape with PacGAN)
        hidden: Sequence[int] = (256, 256),
        negative_slope: float = 0.2,  # LeakyReLU slope; 0 gives ReLU
        norm: str = "none",  # "none" or "layer" (LayerNorm after each hidden linear layer)
        spectral_norm: bool = False,  # spectral normalization on every linear layer
        minibatch: str = "none",  # "none", "stddev" or "discrimination", before the last layer
        minibatch_group: int = 4,  # group size for minibatch="stddev"
    ) -> None:
        super().__init__()
        assert norm in _NORMS_1D, f"MLP norm must be one of {sorted(_NORMS_1D)}, got {norm!r}"
        self.shape = tuple(shape)
        layers = _mlp(
            [math.prod(self.shape), *hidden],
            lambda: nn.LeakyReLU(negative_slope),
            _NORMS_1D[norm],
        )
        features = hidden[-1] if hidden else math.prod(self.shape)
        batch_layer, added = minibatch_layer(minibatch, features, group_size=minibatch_group)
        if batch_layer is not None:  # only then, so default state dicts keep their keys
            layers.append(batch_layer)
        layers.append(nn.Linear(features + added, 1))
        self.net = nn.Sequential(*layers)
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(torch.flatten(x, 1)).squeeze(1)
