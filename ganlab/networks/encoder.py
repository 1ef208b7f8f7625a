"""An encoder from samples back to a generator's latent space (f-AnoGAN's E, Schlegl et al.
2019): strided convolutions for images of 8 px and more, an MLP for vectors and tinier images.

>>> import torch
>>> Encoder(latent_dim=16, shape=(1, 28, 28), width=8)(torch.randn(2, 1, 28, 28)).shape
torch.Size([2, 16])
>>> Encoder(latent_dim=4, shape=(2,), width=8)(torch.randn(3, 2)).shape
torch.Size([3, 4])
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor, nn

__all__ = ["Encoder"]


class Encoder(nn.Module):
    """Maps ``(B, *shape)`` to latents ``(B, latent_dim)`` (linear output: the generator's
    prior is unbounded)."""

    def __init__(self, latent_dim: int, shape: Sequence[int], width: int = 64) -> None:
        super().__init__()
        self.latent_dim = int(latent_dim)
        self.shape = tuple(int(s) for s in shape)
        layers: list[nn.Module] = []
        if len(self.shape) == 3 and min(self.shape[1:]) >= 8:
            channels, height, wide = self.shape[0], self.shape[1], self.shape[2]
            c = width
            while min(height, wide) >= 8:  # halve the resolution down to 4..7 px
                layers += [nn.Conv2d(channels, c, 4, 2, 1), nn.LeakyReLU(0.2)]
                channels, height, wide = c, height // 2, wide // 2
                c *= 2
            layers += [nn.Flatten(), nn.Linear(channels * height * wide, self.latent_dim)]
        else:
            flat = math.prod(self.shape)
            layers += [
                nn.Flatten(),
                nn.Linear(flat, 4 * width),
                nn.LeakyReLU(0.2),
                nn.Linear(4 * width, 4 * width),
                nn.LeakyReLU(0.2),
                nn.Linear(4 * width, self.latent_dim),
            ]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
