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
>>> g = MLPGenerator(latent_dim=2, shape=(2,), hidden=(16,), num_classes=3)
>>> g(torch.randn(4, 2), torch.tensor([0, 1, 2, 0])).shape
torch.Size([4, 2])
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import ClassVar

from torch import Tensor, nn
from typing_extensions import Unpack

from ganlab.networks.base import Discriminator, DiscriminatorOptions, Generator, LabelSequential
from ganlab.networks.init import initialize

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


class MLPGenerator(Generator):
    data_kinds: ClassVar[tuple[str, ...]] = ("vector", "image")  # conf/data/kind

    def __init__(
        self,
        latent_dim: int,
        shape: Sequence[int],  # shape of one sample: (2,) for 2-D data, (C, H, W) for images
        hidden: Sequence[int] = (256, 256),
        batchnorm: bool = False,  # after each hidden layer; implied by conditioning=batchnorm
        output: str = "tanh",  # "tanh" for data in [-1, 1], "linear" for unbounded data
        num_classes: int | None = 0,  # > 0: class-conditional
        conditioning: str = "concat",  # "concat" (embedding joins z) or "batchnorm"
        embed_dim: int | None = None,  # label embedding size for "concat" (None: num_classes)
        codes: Sequence[int | str] = (),  # InfoGAN latent codes joining z: see Generator
        noise: str = "normal",  # noise prior: "normal" or "uniform" on [-1, 1] (InfoGAN's)
        init: str = "default",  # weight init: "default", "dcgan", "orthogonal", "xavier"
    ) -> None:
        super().__init__()
        assert output in ("tanh", "linear"), f"output must be 'tanh' or 'linear', got {output!r}"
        self._init_inputs(latent_dim, shape, num_classes, conditioning, embed_dim, codes, noise)
        normalize = batchnorm or self.conditioning == "batchnorm"
        layers = _mlp(
            [self.input_dim, *hidden],
            nn.ReLU,
            (lambda width: self.batchnorm(width, dims=1)) if normalize else None,
        )
        layers.append(nn.Linear(hidden[-1] if hidden else self.input_dim, math.prod(self.shape)))
        if output == "tanh":
            layers.append(nn.Tanh())
        self.net = LabelSequential(*layers)
        initialize(self, init)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(self.latent_input(z, labels), labels).view(z.shape[0], *self.shape)


class MLPDiscriminator(Discriminator):
    data_kinds: ClassVar[tuple[str, ...]] = ("vector", "image")  # conf/data/kind
    flatten_input = True

    def __init__(
        self,
        shape: Sequence[int],  # shape of one input sample (the packed shape with PacGAN)
        hidden: Sequence[int] = (256, 256),
        negative_slope: float = 0.2,  # LeakyReLU slope; 0 gives ReLU
        norm: str = "none",  # "none" or "layer" (LayerNorm after each hidden linear layer)
        spectral_norm: bool = False,  # spectral normalization on every linear layer
        **options: Unpack[DiscriminatorOptions],  # heads, conditioning, init (base.py)
    ) -> None:
        super().__init__()
        assert norm in _NORMS_1D, f"MLP norm must be one of {sorted(_NORMS_1D)}, got {norm!r}"
        self._init_options(shape, options)
        (width,) = self.input_shape
        layers = _mlp([width, *hidden], lambda: nn.LeakyReLU(negative_slope), _NORMS_1D[norm])
        features = hidden[-1] if hidden else width
        batch_layer, added = self._minibatch_layer(features)
        if batch_layer is not None:  # only then, so default state dicts keep their keys
            layers.append(batch_layer)
        layers.append(nn.Linear(features + added, 1))
        self.net = nn.Sequential(*layers)
        self._init_heads(features + added)
        self._init_weights(spectral_norm)
