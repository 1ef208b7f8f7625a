"""DCGAN generator and discriminator (Radford et al. 2016).

Strided (transposed) convolutions and no pooling; BatchNorm + ReLU in G with a tanh output;
LeakyReLU(0.2) in D, no BatchNorm on D's first layer. Resolutions are ``start * 2**n`` with a
4x4 start (32, 64, 128 px) or 7x7 (28 px).

>>> import torch
>>> g = DCGANGenerator(latent_dim=8, shape=(1, 28, 28), base_channels=8)
>>> g(torch.randn(2, 8)).shape
torch.Size([2, 1, 28, 28])
>>> DCGANDiscriminator(shape=(3, 64, 64), base_channels=8)(torch.randn(2, 3, 64, 64)).shape
torch.Size([2])
>>> d = DCGANDiscriminator((1, 28, 28), 8, norm="layer", spectral_norm=True, minibatch="stddev")
>>> d(torch.randn(4, 1, 28, 28)).shape
torch.Size([4])
>>> g = DCGANGenerator(8, (1, 28, 28), 8, num_classes=10, conditioning="batchnorm")
>>> d = DCGANDiscriminator((1, 28, 28), 8, num_classes=10, conditioning="projection")
>>> labels = torch.tensor([3, 7])
>>> d(g(torch.randn(2, 8), labels), labels).shape
torch.Size([2])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from torch import Tensor, nn
from typing_extensions import Unpack

from ganlab.networks.base import Discriminator, DiscriminatorOptions, Generator, LabelSequential
from ganlab.networks.init import initialize
from ganlab.networks.layers import norm2d


def resolution_plan(resolution: int) -> tuple[int, int]:
    """(start size, number of 2x stages) for a DCGAN of the given square resolution.

    >>> resolution_plan(32), resolution_plan(28), resolution_plan(64)
    ((4, 3), (7, 2), (4, 4))
    """
    start, stages = resolution, 0
    while start % 2 == 0 and start > 4:
        start, stages = start // 2, stages + 1
    assert start in (4, 7) and stages >= 1, (
        f"DCGAN needs a resolution of 4*2^n or 7*2^n (e.g. 28, 32, 64), got {resolution}"
    )
    return start, stages


def _square_shape(shape: Sequence[int]) -> tuple[int, int]:
    assert len(shape) == 3 and shape[1] == shape[2], (
        f"DCGAN nets need square image data (C, H, H); got sample shape {tuple(shape)}. "
        "For 2-D or vector data use MLP networks: model/arch=mlp (or model=gan)."
    )
    return shape[0], shape[1]


class DCGANGenerator(Generator):
    data_kinds: ClassVar[tuple[str, ...]] = ("image",)  # conf/data/kind

    def __init__(
        self,
        latent_dim: int,
        shape: Sequence[int],  # (C, H, H) of one generated image
        base_channels: int = 64,  # channels at the last hidden stage; doubled per stage inward
        norm: str = "batch",  # "batch", "instance", "layer" or "none"
        num_classes: int | None = 0,  # > 0: class-conditional
        conditioning: str = "concat",  # "concat" (embedding joins z) or "batchnorm" (norm="batch")
        embed_dim: int | None = None,  # label embedding size for "concat" (None: num_classes)
        codes: Sequence[int | str] = (),  # InfoGAN latent codes joining z: see Generator
        noise: str = "normal",  # noise prior: "normal" or "uniform" on [-1, 1] (InfoGAN's)
        init: str = "default",  # weight init: "default", "dcgan", "orthogonal", "xavier"
    ) -> None:
        super().__init__()
        self._init_inputs(latent_dim, shape, num_classes, conditioning, embed_dim, codes, noise)
        assert self.conditioning != "batchnorm" or norm == "batch", (
            f"conditional BatchNorm replaces the generator's BatchNorm: set norm=batch, not {norm!r}"
        )
        channels, resolution = _square_shape(shape)
        start, stages = resolution_plan(resolution)
        width = base_channels * 2 ** (stages - 1)

        def normalize(width: int) -> nn.Module:
            return self.batchnorm(width) if norm == "batch" else norm2d(norm, width)

        layers: list[nn.Module] = [
            nn.ConvTranspose2d(self.input_dim, width, start, 1, 0, bias=False),
            normalize(width),
            nn.ReLU(inplace=True),
        ]
        for _ in range(stages - 1):
            layers += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                normalize(width // 2),
                nn.ReLU(inplace=True),
            ]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]
        self.net = LabelSequential(*layers)
        initialize(self, init)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(self.latent_input(z, labels)[:, :, None, None], labels)


class DCGANDiscriminator(Discriminator):
    data_kinds: ClassVar[tuple[str, ...]] = ("image",)  # conf/data/kind

    def __init__(
        self,
        shape: Sequence[int],  # (C, H, H) of one input image (the packed shape with PacGAN)
        base_channels: int = 64,  # channels after the first conv; doubled per stage
        norm: str = "batch",  # "layer", "instance" or "none" for critics with gradient penalties
        spectral_norm: bool = False,  # spectral normalization on every conv and linear layer
        **options: Unpack[DiscriminatorOptions],  # heads, conditioning, init (base.py)
    ) -> None:
        super().__init__()
        self._init_options(shape, options)
        _, resolution = _square_shape(shape)
        channels = self.input_shape[0]
        start, stages = resolution_plan(resolution)
        width = base_channels
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for _ in range(stages - 1):
            layers += [
                nn.Conv2d(width, width * 2, 4, 2, 1, bias=norm == "none"),
                norm2d(norm, width * 2),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            width *= 2
        features = width * start * start  # of the final (width, start, start) feature map
        batch_layer, added = self._minibatch_layer(features)
        if (
            options.get("minibatch") == "discrimination"
        ):  # compares flattened features: a linear final layer
            assert batch_layer is not None
            layers += [nn.Flatten(), batch_layer, nn.Linear(features + added, 1)]
            features += added
        else:  # "stddev" appends `added` channels; "none" keeps the default state-dict keys
            layers += [] if batch_layer is None else [batch_layer]
            layers.append(nn.Conv2d(width + added, 1, start, 1, 0))
            features += added * start * start
        self.net = nn.Sequential(*layers)
        self._init_heads(features)
        self._init_weights(spectral_norm)
