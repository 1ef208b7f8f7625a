"""The ResNet generator of CycleGAN (Zhu et al. 2017, appendix 7.2, after Johnson et al. 2016):
an image to an image of the same size through a stack of residual blocks at a quarter of its
resolution.

``c7s1-k``: reflection padding 3, a 7x7 convolution to ``k`` channels, normalization, ReLU;
``dk``: a stride-2 3x3 convolution (halves the image); ``Rk``: a residual block of two 3x3
convolutions with reflection padding (normalization after each, ReLU between); ``uk``: a
stride-2 3x3 transposed convolution (doubles it back). The network is ``c7s1-64, d128, d256,
R256 x n_blocks, u128, u64, c7s1-C`` ending in tanh, with ``base_channels = 64``; the paper
uses 6 blocks at 128 px and 9 at 256 px. Instance normalization by default, as the paper's;
ganlab's has learned affine parameters (the official code's has none: 2 per channel of
each normalization more, 10,496 for the 9-block network).

G is driven by its input image (``source_shape``), not by latents: it has no ``latent_dim``.

>>> import torch
>>> g = ResNetTranslator(shape=(3, 32, 32), source_shape=(1, 32, 32), base_channels=8, n_blocks=2)
>>> g(torch.randn(2, 1, 32, 32)).shape
torch.Size([2, 3, 32, 32])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from torch import Tensor, nn

from ganlab.networks.init import initialize
from ganlab.networks.layers import check_source, norm2d

__all__ = ["ResNetTranslator"]

DOWNSAMPLINGS = 2  # stride-2 convolutions before the blocks (and transposed ones after)


def _conv_norm_relu(conv: nn.Module, channels: int, norm: str) -> list[nn.Module]:
    return [conv, norm2d(norm, channels), nn.ReLU(inplace=False)]


class _ResidualBlock(nn.Module):
    """``x + F(x)``: two reflection-padded 3x3 convolutions, normalized, ReLU between (and
    dropout 0.5 there, the official code's option)."""

    def __init__(self, channels: int, norm: str, bias: bool, dropout: bool) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            *_conv_norm_relu(nn.Conv2d(channels, channels, 3, bias=bias), channels, norm),
        ]
        layers += [nn.Dropout(0.5)] if dropout else []
        layers += [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm2d(norm, channels),
        ]
        self.body = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = x + self.body(x)
        return out


class ResNetTranslator(nn.Module):
    """CycleGAN's generator: an image of ``source_shape`` to one of ``shape`` (the same height
    and width, divisible by 4); ``n_blocks=9``, ``base_channels=64`` is the official
    ``resnet_9blocks``."""

    data_kinds: ClassVar[tuple[str, ...]] = ("image",)  # conf/data/kind

    def __init__(
        self,
        shape: Sequence[int],  # (C, H, W) of one output image
        source_shape: Sequence[int],  # (C, H, W) of one input image (Batch.source)
        base_channels: int = 64,  # the paper's ngf: the first convolution's width
        n_blocks: int = 9,  # residual blocks: 9 (256 px) or 6 (128 px) in the paper
        norm: str = "instance",  # "instance" (the paper's), "batch", "layer" or "none"
        dropout: bool = False,  # dropout 0.5 inside each block (off in CycleGAN)
        init: str = "dcgan",  # N(0, 0.02) weights, as the official code ("normal", gain 0.02)
    ) -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in shape)
        self.source_shape = tuple(int(s) for s in source_shape)
        scale = 2**DOWNSAMPLINGS
        assert len(self.shape) == 3 and self.shape[1:] == self.source_shape[1:], (
            f"the ResNet translator maps an image to one of the same size: output "
            f"{list(self.shape)} and input {list(self.source_shape)} must be [C, H, W] with "
            "equal H and W"
        )
        assert all(side % scale == 0 for side in self.shape[1:]), (
            f"the ResNet translator halves the image {DOWNSAMPLINGS} times: height and width "
            f"must be multiples of {scale}, got {list(self.shape[1:])} (set data.shape)"
        )
        assert n_blocks >= 0, f"n_blocks must be >= 0, got {n_blocks}"
        bias = norm != "batch"  # BatchNorm's shift makes a bias redundant (as the official code)
        width = base_channels
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            *_conv_norm_relu(nn.Conv2d(self.source_shape[0], width, 7, bias=bias), width, norm),
        ]
        for _ in range(DOWNSAMPLINGS):
            conv = nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=bias)
            layers += _conv_norm_relu(conv, 2 * width, norm)
            width *= 2
        layers += [_ResidualBlock(width, norm, bias, dropout) for _ in range(n_blocks)]
        for _ in range(DOWNSAMPLINGS):
            up = nn.ConvTranspose2d(width, width // 2, 3, 2, padding=1, output_padding=1, bias=bias)
            layers += _conv_norm_relu(up, width // 2, norm)
            width //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, self.shape[0], 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        initialize(self, init)

    def forward(self, source: Tensor) -> Tensor:
        check_source(source, self.source_shape)
        out: Tensor = self.net(source)
        return out
