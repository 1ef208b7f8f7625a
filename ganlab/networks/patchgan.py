"""The PatchGAN discriminator of Pix2Pix and CycleGAN (Isola et al. 2017, section 3.2.2 and
appendix 6.1.2): a fully convolutional D that gives one logit per overlapping patch of its
input, so it judges local texture and leaves the large scale to the L1 or cycle term.

``n_layers`` stride-2 4x4 convolutions (widths ``base_channels`` times 1, 2, 4, 8, 8, ...), a
stride-1 4x4 convolution, then a stride-1 4x4 convolution to one channel: each logit sees a
patch of :func:`receptive_field` pixels, 70x70 for the default ``n_layers=3`` (the paper's
choice), 34 for 2, 16 for 1. ``n_layers=0`` is the paper's 1x1 "PixelGAN" (1x1 convolutions
only). LeakyReLU(0.2) throughout; normalization after every convolution but the first and
the last.

Logits come as ``(B, patches)``: objectives average them over every element, so each patch is
one real-or-fake decision.

>>> import torch
>>> d = PatchGANDiscriminator(shape=(4, 32, 32), base_channels=8)
>>> d(torch.randn(2, 4, 32, 32)).shape  # 2 x 2 patches of 70 px (zero-padded) on 32 px
torch.Size([2, 4])
>>> [receptive_field(n) for n in (0, 1, 2, 3, 4)]
[1, 16, 34, 70, 142]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from torch import Tensor, nn

from ganlab.networks.init import initialize
from ganlab.networks.layers import apply_spectral_norm, norm2d

__all__ = ["PatchGANDiscriminator", "receptive_field"]

MAX_WIDTH_FACTOR = 8  # widths stop doubling at 8 x base_channels


def receptive_field(n_layers: int) -> int:
    """Side in pixels of the input patch behind one logit of a PatchGAN of ``n_layers``."""
    if n_layers == 0:
        return 1
    field = 1
    for stride in reversed([2] * n_layers + [1, 1]):  # every convolution is 4x4
        field = (field - 1) * stride + 4
    return field


class PatchGANDiscriminator(nn.Module):
    """Logits ``(B, patches)`` for images of ``shape`` (for Pix2Pix, source and sample joined:
    ``source + sample`` channels)."""

    data_kinds: ClassVar[tuple[str, ...]] = ("image",)  # conf/data/kind

    def __init__(
        self,
        shape: Sequence[int],  # (C, H, W) of one input
        base_channels: int = 64,  # the paper's ndf
        n_layers: int = 3,  # stride-2 convolutions: 3 gives 70x70 patches, 0 a 1x1 PixelGAN
        norm: str = "batch",  # "batch" (Pix2Pix), "instance" (CycleGAN), "layer" or "none"
        spectral_norm: bool = False,  # spectral normalization on every convolution
        init: str = "dcgan",  # N(0, 0.02) weights, as the official code
    ) -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in shape)
        assert len(self.shape) == 3, f"PatchGAN judges images [C, H, W], got {list(self.shape)}"
        assert n_layers >= 0, f"n_layers must be >= 0 (0: 1x1 PixelGAN), got {n_layers}"
        self.n_layers = n_layers
        bias = norm != "batch"  # BatchNorm's shift makes a bias redundant
        channels, width = self.shape[0], base_channels
        if n_layers == 0:  # PixelGAN: 1x1 convolutions, ndf then 2 ndf
            layers: list[nn.Module] = [
                nn.Conv2d(channels, width, 1),
                nn.LeakyReLU(0.2),
                nn.Conv2d(width, 2 * width, 1, bias=bias),
                norm2d(norm, 2 * width),
                nn.LeakyReLU(0.2),
                nn.Conv2d(2 * width, 1, 1, bias=bias),
            ]
        else:
            layers = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]
            for n in range(1, n_layers + 1):  # the last of these has stride 1
                wider = base_channels * min(2**n, MAX_WIDTH_FACTOR)
                stride = 2 if n < n_layers else 1
                layers += [
                    nn.Conv2d(width, wider, 4, stride, 1, bias=bias),
                    norm2d(norm, wider),
                    nn.LeakyReLU(0.2),
                ]
                width = wider
            layers.append(nn.Conv2d(width, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        initialize(self, init)
        if spectral_norm:  # after the init: the power iteration starts from the final weights
            apply_spectral_norm(self)

    def forward(self, x: Tensor) -> Tensor:
        logits: Tensor = self.net(x)
        return logits.flatten(1)
