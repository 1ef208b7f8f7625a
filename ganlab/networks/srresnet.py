"""The super-resolution networks of SRGAN (Ledig et al. 2017, figure 4): the SRResNet generator
and the VGG-style discriminator.

:class:`SRResNet` reads a low-resolution image of ``source_shape`` and draws one ``scale``
times larger, of ``shape``: a 9x9 convolution, ``n_blocks`` residual blocks (conv-norm-PReLU-
conv-norm, plus the block's input) under one long skip connection, then an upsampling stage
per factor of 2 (a 3x3 convolution to 4x the channels, a pixel shuffle, PReLU; a single
stage of 3 for ``scale=3``), and a 9x9 convolution to the image's channels. The paper's
network has 16 blocks of 64 channels with batch norm; ``norm="none"`` drops it as EDSR and
ESRGAN do, and ``upsampled_skip=True`` adds the bicubic upsampled input to the output, so the
network learns only the residual (BasicSR's MSRResNet), which trains much faster.

:class:`SRGANDiscriminator` is the paper's classifier of 96 px crops: eight 3x3 convolutions
(widths ``base_channels`` x 1, 1, 2, 2, 4, 4, 8, 8, every second one of stride 2),
LeakyReLU(0.2), batch norm after all but the first, then dense 1024, LeakyReLU and one logit.

>>> import torch
>>> g = SRResNet(shape=(3, 32, 32), source_shape=(3, 8, 8), base_channels=8, n_blocks=2)
>>> g(torch.zeros(2, 3, 8, 8)).shape
torch.Size([2, 3, 32, 32])
>>> SRGANDiscriminator(shape=(3, 32, 32), base_channels=8)(torch.zeros(2, 3, 32, 32)).shape
torch.Size([2])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import torch.nn.functional as F
from torch import Tensor, nn
from typing_extensions import Unpack

from ganlab.networks.base import Discriminator, DiscriminatorOptions
from ganlab.networks.init import initialize
from ganlab.networks.layers import check_source, norm2d

__all__ = ["SRGANDiscriminator", "SRResNet", "upscale_factor"]

SR_NORMS = ("batch", "none")
STRIDE_2_CONVOLUTIONS = 4  # the discriminator's: it reads sides divisible by 16


def upscale_factor(shape: Sequence[int], source_shape: Sequence[int]) -> int:
    """How many times larger than a ``source_shape`` image a ``shape`` one is, on both sides:
    2, 3, 4, 8, ...; asserts the shapes are an SR pair (same channels, one integer factor that
    is 3 or a power of 2).

    >>> upscale_factor((3, 64, 48), (3, 16, 12))
    4
    """
    channels, height, width = (int(s) for s in shape)
    source_channels, source_height, source_width = (int(s) for s in source_shape)
    factor = height // source_height
    assert (
        channels == source_channels
        and factor * source_height == height
        and factor * source_width == width
    ), (
        f"super-resolution draws an image of shape {list(shape)} from one of {list(source_shape)}: "
        "they need the same channels, and height and width both a whole multiple of the source's"
    )
    assert factor == 3 or (factor >= 2 and factor & (factor - 1) == 0), (
        f"the upsampling stages multiply the side by 2 (or once by 3): scale {factor} is neither "
        "3 nor a power of 2"
    )
    return factor


class _ResidualBlock(nn.Module):
    """conv-norm-PReLU-conv-norm, plus the input."""

    def __init__(self, width: int, norm: str) -> None:
        super().__init__()
        bias = norm == "none"  # a norm's shift makes a bias redundant
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1, bias=bias),
            norm2d(norm, width),
            nn.PReLU(width),
            nn.Conv2d(width, width, 3, padding=1, bias=bias),
            norm2d(norm, width),
        )

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = x + self.body(x)
        return out


class SRResNet(nn.Module):
    """SRGAN's generator: images of ``source_shape`` to images of ``shape``, ``scale`` times
    larger (:func:`upscale_factor`), in [-1, 1] as the data (not squashed: an MSE-trained
    network is free to overshoot, and the metrics clamp)."""

    data_kinds: ClassVar[tuple[str, ...]] = ("image",)  # conf/data/kind

    def __init__(
        self,
        shape: Sequence[int],  # (C, H, W) of one high-resolution output
        source_shape: Sequence[int],  # (C, H / scale, W / scale) of one low-resolution input
        base_channels: int = 64,  # width of every residual block (the paper's 64)
        n_blocks: int = 16,  # residual blocks (the paper's B = 16)
        norm: str = "batch",  # "batch" (the paper's) or "none" (EDSR, ESRGAN)
        # add the bicubic upsampled input to the output: the network draws only the residual
        upsampled_skip: bool = False,
        init: str = "default",  # weight init (ganlab.networks.init)
    ) -> None:
        super().__init__()
        assert norm in SR_NORMS, f"SRResNet norm must be one of {SR_NORMS}, got {norm!r}"
        assert n_blocks >= 1, f"SRResNet needs at least one residual block, got {n_blocks}"
        self.shape = tuple(int(s) for s in shape)
        self.source_shape = tuple(int(s) for s in source_shape)
        self.scale = upscale_factor(self.shape, self.source_shape)
        self.upsampled_skip = upsampled_skip
        channels, width = self.shape[0], base_channels
        self.head = nn.Sequential(nn.Conv2d(channels, width, 9, padding=4), nn.PReLU(width))
        self.blocks = nn.Sequential(
            *[_ResidualBlock(width, norm) for _ in range(n_blocks)],
            nn.Conv2d(width, width, 3, padding=1, bias=norm == "none"),
            norm2d(norm, width),
        )
        stages = [3] if self.scale == 3 else [2] * int(math.log2(self.scale))
        self.upsample = nn.Sequential(
            *[
                layer
                for factor in stages
                for layer in (
                    nn.Conv2d(width, width * factor**2, 3, padding=1),
                    nn.PixelShuffle(factor),
                    nn.PReLU(width),
                )
            ]
        )
        self.tail = nn.Conv2d(width, channels, 9, padding=4)
        initialize(self, init)

    def forward(self, source: Tensor) -> Tensor:
        check_source(source, self.source_shape)
        features = self.head(source)
        out: Tensor = self.tail(self.upsample(features + self.blocks(features)))
        if self.upsampled_skip:
            out = out + F.interpolate(
                source, scale_factor=self.scale, mode="bicubic", align_corners=False
            )
        return out


class SRGANDiscriminator(Discriminator):
    """SRGAN's VGG-style discriminator: logits ``(B,)`` for images of ``shape`` (sides
    divisible by 16; the paper's 96 px crops give a 6x6x512 map before the dense layers)."""

    data_kinds: ClassVar[tuple[str, ...]] = ("image",)  # conf/data/kind

    def __init__(
        self,
        shape: Sequence[int],  # (C, H, W) of one high-resolution image
        base_channels: int = 64,  # the first convolutions' width (the paper's 64)
        norm: str = "batch",  # "batch" (the paper's) or "none"
        hidden: int = 1024,  # width of the dense layer before the logit (the paper's 1024)
        spectral_norm: bool = False,  # spectral normalization on every conv and linear layer
        **options: Unpack[DiscriminatorOptions],  # heads, conditioning, init (base.py)
    ) -> None:
        super().__init__()
        assert norm in SR_NORMS, f"SRGANDiscriminator norm must be one of {SR_NORMS}, got {norm!r}"
        self._init_options(shape, options)
        channels, height, width = self.input_shape
        side = 2**STRIDE_2_CONVOLUTIONS
        assert height % side == 0 and width % side == 0, (
            f"the SRGAN discriminator halves its input {STRIDE_2_CONVOLUTIONS} times: height and "
            f"width must be multiples of {side}, got {height}x{width} (the HR crop size)"
        )
        layers: list[nn.Module] = [
            nn.Conv2d(channels, base_channels, 3, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        inputs = base_channels
        for i in range(2 * STRIDE_2_CONVOLUTIONS - 1):  # widths x1 (stride 2), x2, x2, x4, ...
            outputs = base_channels * 2 ** ((i + 1) // 2)
            stride = 2 if i % 2 == 0 else 1
            layers += [
                nn.Conv2d(inputs, outputs, 3, stride, padding=1, bias=norm == "none"),
                norm2d(norm, outputs),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            inputs = outputs
        features = inputs * (height // side) * (width // side)
        layers += [nn.Flatten(), nn.Linear(features, hidden), nn.LeakyReLU(0.2, inplace=True)]
        batch_layer, added = self._minibatch_layer(hidden)
        layers += [] if batch_layer is None else [batch_layer]
        layers.append(nn.Linear(hidden + added, 1))
        self.net = nn.Sequential(*layers)
        self._init_heads(hidden + added)
        self._init_weights(spectral_norm)
