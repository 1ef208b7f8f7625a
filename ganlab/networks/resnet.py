"""SNGAN ResNet generator and discriminator (Miyato et al. 2018, appendix B.4).

The CIFAR-10 ResNets of WGAN-GP (Gulrajani et al. 2017) as used by SNGAN. G: a linear map from
``z`` to a 4x4 map, residual blocks that each upsample 2x, then BN, ReLU, 3x3 conv and tanh.
D: an "optimized" first block, downsampling residual blocks to 8x8, two more blocks at 8x8,
ReLU, global sum pooling and a linear logit; spectral normalization on by default. Resolutions
are powers of two from 16 px (32, 64, 128 ...); 28 px data is not supported.

>>> import torch
>>> g = ResNetGenerator(latent_dim=8, shape=(3, 32, 32), channels=16)
>>> g(torch.randn(2, 8)).shape
torch.Size([2, 3, 32, 32])
>>> ResNetDiscriminator(shape=(3, 32, 32), channels=16)(torch.randn(2, 3, 32, 32)).shape
torch.Size([2])
>>> g = ResNetGenerator(8, (3, 32, 32), 16, num_classes=10, conditioning="batchnorm")
>>> d = ResNetDiscriminator((3, 32, 32), 16, num_classes=10, conditioning="projection")
>>> labels = torch.tensor([3, 7])
>>> d(g(torch.randn(2, 8), labels), labels).shape
torch.Size([2])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import ClassVar

from einops import rearrange
from torch import Tensor, nn
from typing_extensions import Unpack

from ganlab.networks.base import (
    Conditioned,
    Discriminator,
    DiscriminatorOptions,
    Generator,
    LabelSequential,
    apply,
)
from ganlab.networks.init import initialize
from ganlab.networks.layers import norm2d


def _resnet_plan(shape: Sequence[int]) -> tuple[int, int]:
    """(channels, number of 2x stages from 4x4) of a square image shape ``(C, H, H)``.

    >>> _resnet_plan((3, 32, 32)), _resnet_plan((1, 64, 64))
    ((3, 3), (1, 4))
    """
    assert len(shape) == 3 and shape[1] == shape[2], (
        f"ResNet nets need square image data (C, H, H); got sample shape {tuple(shape)}. "
        "For 2-D or vector data use MLP networks: model/arch=mlp (or model=gan)."
    )
    channels, resolution = shape[0], shape[1]
    assert resolution >= 16 and resolution & (resolution - 1) == 0, (
        f"ResNet nets need a power-of-two resolution of at least 16 px (e.g. 32, 64), got "
        f"{resolution}. 28 px data (MNIST) is not supported: use model/arch=dcgan, or resize the data "
        "to 32 px."
    )
    return channels, int(math.log2(resolution)) - 2


def _conv(in_channels: int, out_channels: int, kernel_size: int, gain: float) -> nn.Conv2d:
    """A same-padding conv with SNGAN's Xavier-uniform init (gain sqrt(2) inside the residual
    branches, 1 on the shortcuts)."""
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
    nn.init.xavier_uniform_(conv.weight, gain)
    nn.init.zeros_(conv.get_parameter("bias"))
    return conv


class _Residual(Conditioned):
    """``residual(x) + shortcut(x)``, with labels for conditional layers in either branch."""

    def __init__(self, residual: nn.Module, shortcut: nn.Module) -> None:
        super().__init__()
        self.residual = residual
        self.shortcut = shortcut

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return apply(self.residual, x, labels) + apply(self.shortcut, x, labels)


def _up_block(
    in_channels: int, out_channels: int, batchnorm: Callable[[int], nn.Module]
) -> _Residual:
    """G block: BN, ReLU, 2x nearest upsample, conv3, BN, ReLU, conv3; upsample + conv1 shortcut."""
    return _Residual(
        LabelSequential(
            batchnorm(in_channels),
            nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="nearest"),
            _conv(in_channels, out_channels, 3, math.sqrt(2)),
            batchnorm(out_channels),
            nn.ReLU(),
            _conv(out_channels, out_channels, 3, math.sqrt(2)),
        ),
        nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"), _conv(in_channels, out_channels, 1, 1.0)
        ),
    )


def _first_down_block(in_channels: int, out_channels: int, norm: str) -> _Residual:
    """D's optimized first block: conv3, ReLU, conv3, avgpool; avgpool + conv1 shortcut (no
    activation before the first conv, which sees the raw image)."""
    return _Residual(
        nn.Sequential(
            _conv(in_channels, out_channels, 3, math.sqrt(2)),
            norm2d(norm, out_channels),
            nn.ReLU(),
            _conv(out_channels, out_channels, 3, math.sqrt(2)),
            nn.AvgPool2d(2),
        ),
        nn.Sequential(nn.AvgPool2d(2), _conv(in_channels, out_channels, 1, 1.0)),
    )


def _down_block(channels: int, norm: str, downsample: bool) -> _Residual:
    """D block: (norm), ReLU, conv3, (norm), ReLU, conv3, (avgpool); conv1 + avgpool shortcut
    when downsampling, identity otherwise."""

    def pool() -> list[nn.Module]:
        return [nn.AvgPool2d(2)] if downsample else []

    return _Residual(
        nn.Sequential(
            norm2d(norm, channels),
            nn.ReLU(),  # not in place: the shortcut still reads the block input
            _conv(channels, channels, 3, math.sqrt(2)),
            norm2d(norm, channels),
            nn.ReLU(),
            _conv(channels, channels, 3, math.sqrt(2)),
            *pool(),
        ),
        nn.Sequential(_conv(channels, channels, 1, 1.0), *pool()) if downsample else nn.Identity(),
    )


class _GlobalSumPool(nn.Module):
    """``(B, C, H, W)`` -> ``(B, C)``, summing over positions (SNGAN's D head)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sum(dim=(2, 3))


class ResNetGenerator(Generator):
    data_kinds: ClassVar[tuple[str, ...]] = ("image",)  # conf/data/kind

    def __init__(
        self,
        latent_dim: int,
        shape: Sequence[int],  # (C, H, H) of one generated image, H a power of two >= 16
        channels: int = 256,  # width of every residual block (SNGAN: 256)
        num_classes: int | None = 0,  # > 0: class-conditional
        conditioning: str = "batchnorm",  # "batchnorm" (SNGAN-projection) or "concat"
        embed_dim: int | None = None,  # label embedding size for "concat" (None: num_classes)
        codes: Sequence[int | str] = (),  # InfoGAN latent codes joining z: see Generator
        noise: str = "normal",  # noise prior: "normal" or "uniform" on [-1, 1] (InfoGAN's)
        init: str = "default",  # weight init: "default", "dcgan", "orthogonal", "xavier"
    ) -> None:
        super().__init__()
        self._init_inputs(latent_dim, shape, num_classes, conditioning, embed_dim, codes, noise)
        self.channels = channels
        image_channels, stages = _resnet_plan(shape)
        self.linear = nn.Linear(self.input_dim, channels * 4 * 4)
        nn.init.xavier_uniform_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)
        self.net = LabelSequential(
            *[_up_block(channels, channels, self.batchnorm) for _ in range(stages)],
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            _conv(channels, image_channels, 3, 1.0),
            nn.Tanh(),
        )
        initialize(self, init)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        h = self.linear(self.latent_input(z, labels))
        return self.net(rearrange(h, "b (c h w) -> b c h w", h=4, w=4), labels)


class ResNetDiscriminator(Discriminator):
    data_kinds: ClassVar[tuple[str, ...]] = ("image",)  # conf/data/kind

    def __init__(
        self,
        shape: Sequence[int],  # (C, H, H) of one input image (the packed shape with PacGAN)
        channels: int = 128,  # width of every residual block (SNGAN: 128)
        norm: str = "none",  # "none", "layer", "instance" or "batch", before each ReLU in blocks
        spectral_norm: bool = True,  # spectral normalization on every conv and linear layer
        **options: Unpack[DiscriminatorOptions],  # heads (on the pooled features), init
    ) -> None:
        super().__init__()
        self._init_options(shape, options)
        _, stages = _resnet_plan(shape)
        image_channels = self.input_shape[0]
        # 4 * 2**stages px: the first block and stages - 2 more halve it down to 8x8.
        blocks = [_first_down_block(image_channels, channels, norm)]
        blocks += [_down_block(channels, norm, downsample=True) for _ in range(stages - 2)]
        blocks += [_down_block(channels, norm, downsample=False) for _ in range(2)]
        batch_layer, added = self._minibatch_layer(channels)
        linear = nn.Linear(channels + added, 1)
        nn.init.xavier_uniform_(linear.weight)
        nn.init.zeros_(linear.bias)
        self.net = nn.Sequential(
            *blocks,
            nn.ReLU(),
            _GlobalSumPool(),
            *([] if batch_layer is None else [batch_layer]),
            linear,
        )
        self._init_heads(channels + added)
        self._init_weights(spectral_norm)
