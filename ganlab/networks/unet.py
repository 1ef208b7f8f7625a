"""The U-Net generator of Pix2Pix (Isola et al. 2017, "Image-to-Image Translation with Conditional
Adversarial Networks", section 3.2.1 and appendix 6.1.1).

An encoder of stride-2 4x4 convolutions halves the image ``num_downs`` times down to 1x1, a
decoder of stride-2 transposed convolutions doubles it back, and each decoder stage also reads
the encoder's feature map of its resolution (a skip connection), so detail that need not change
(edges, layout) is passed straight across. Encoder: LeakyReLU(0.2) before each convolution but
the first, normalization after each but the first and the innermost; decoder: ReLU before each
transposed convolution, normalization after each but the outermost, which ends in tanh. Widths
are ``base_channels`` times 1, 2, 4, 8, 8, ...; the decoder stages of the full-width levels
between the widening ones and the innermost (``num_downs - 5`` of them: three at 256 px, none
at 32) apply dropout 0.5, the only noise Pix2Pix's G gets (the paper gives it no z), as the
official code does.

G is driven by its input image (``source_shape``), not by latents: it has no ``latent_dim``.

>>> import torch
>>> g = UNetGenerator(shape=(3, 32, 32), source_shape=(1, 32, 32), base_channels=8)
>>> g(torch.randn(2, 1, 32, 32)).shape
torch.Size([2, 3, 32, 32])
>>> g.num_downs, sum(isinstance(m, nn.Dropout) for m in g.modules())
(5, 0)
>>> sum(isinstance(m, nn.Dropout) for m in UNetGenerator((3, 256, 256), (3, 256, 256)).modules())
3
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor, nn

from ganlab.networks.init import initialize
from ganlab.networks.layers import check_source, norm2d

__all__ = ["UNetGenerator"]

MAX_WIDTH_FACTOR = 8  # widths stop doubling at 8 x base_channels (the paper's C512) ...
FULL_WIDTH_LEVEL = 4  # ... from this level (1: outermost) in; its decoder stages drop out


class _SkipBlock(nn.Module):
    """One U-Net level: its encoder step, the levels inside it, its decoder step; the output
    is the input joined (channels) to what the decoder made, except at the outermost level."""

    def __init__(
        self,
        outer: int,  # channels of this level's input (and of its decoder's output)
        inner: int,  # channels of its encoder's output
        inside: nn.Module | None,  # the levels inside; None for the innermost
        norm: str,
        dropout: bool,
        source_channels: int | None = None,  # only the outermost: the input image's channels
    ) -> None:
        super().__init__()
        self.outermost = source_channels is not None
        bias = norm != "batch"  # BatchNorm's shift makes a bias redundant
        down_in = source_channels if source_channels is not None else outer
        down: list[nn.Module] = [nn.Conv2d(down_in, inner, 4, 2, 1, bias=bias)]
        # the decoder reads the innermost's 1x1 map alone, elsewhere the level's encoder map
        # joined to what the levels inside made
        up_in = inner if inside is None else 2 * inner
        if not self.outermost:
            down.insert(0, nn.LeakyReLU(0.2, inplace=False))
            if inside is not None:  # the innermost's 1x1 map is not normalized
                down.append(norm2d(norm, inner))
        up: list[nn.Module] = [nn.ReLU(inplace=False)]
        if self.outermost:
            up += [nn.ConvTranspose2d(up_in, outer, 4, 2, 1), nn.Tanh()]
        else:
            up += [nn.ConvTranspose2d(up_in, outer, 4, 2, 1, bias=bias), norm2d(norm, outer)]
            up += [nn.Dropout(0.5)] if dropout else []
        self.down = nn.Sequential(*down)
        self.inside = inside if inside is not None else nn.Identity()
        self.up = nn.Sequential(*up)

    def forward(self, x: Tensor) -> Tensor:
        made = self.up(self.inside(self.down(x)))
        return made if self.outermost else torch.cat([x, made], dim=1)


class UNetGenerator(nn.Module):
    """Pix2Pix's U-Net: an image of ``source_shape`` to one of ``shape`` (same height and
    width, a power of two; 256 px is the paper's ``unet_256`` with ``base_channels=64``)."""

    data_kinds: ClassVar[tuple[str, ...]] = ("image",)  # conf/data/kind

    def __init__(
        self,
        shape: Sequence[int],  # (C, H, W) of one output image
        source_shape: Sequence[int],  # (C, H, W) of one input image (Batch.source)
        base_channels: int = 64,  # the paper's ngf: the outermost encoder's width
        norm: str = "batch",  # "batch" (the paper's), "instance", "layer" or "none"
        dropout: bool = True,  # dropout 0.5 next to the innermost decoder stage (the paper's)
        init: str = "dcgan",  # N(0, 0.02) weights, as the official code ("normal", gain 0.02)
    ) -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in shape)
        self.source_shape = tuple(int(s) for s in source_shape)
        assert len(self.shape) == 3 and self.shape[1:] == self.source_shape[1:], (
            f"a U-Net maps an image to one of the same size: output {list(self.shape)} and "
            f"input {list(self.source_shape)} must be [C, H, W] with equal H and W"
        )
        height, width = self.shape[1:]
        self.num_downs = height.bit_length() - 1
        assert height == width and height == 2**self.num_downs and height >= 4, (
            f"the U-Net halves the image down to 1x1: it must be square with a power-of-two "
            f"side of at least 4, got {height}x{width} (set data.shape, e.g. [1, 32, 32])"
        )
        widths = [base_channels * min(2**i, MAX_WIDTH_FACTOR) for i in range(self.num_downs)]
        block: _SkipBlock | None = None
        for level in reversed(range(1, self.num_downs)):  # innermost first
            # dropout on the full-width levels between the innermost and the widening ones
            dropped = FULL_WIDTH_LEVEL <= level <= self.num_downs - 2
            block = _SkipBlock(widths[level - 1], widths[level], block, norm, dropout and dropped)
        self.net = _SkipBlock(self.shape[0], widths[0], block, norm, False, self.source_shape[0])
        initialize(self, init)

    def forward(self, source: Tensor) -> Tensor:
        check_source(source, self.source_shape)
        out: Tensor = self.net(source)
        return out
