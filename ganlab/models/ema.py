"""Exponential moving average of a generator's weights (Karras et al.; Yazici et al. 2019).

The decay is expressed as a half-life in thousands of real images shown to D, so it depends on
neither the batch size nor ``n_critic``: after ``half_life_kimg * 1000`` images an old weight has
half its influence. :class:`~ganlab.models.GAN` updates the EMA once per generator step, by the
images of the ``n_critic`` batches D saw since the previous update; its settings are an
:class:`EMA` (``model.ema``; ``model.ema=null`` trains without one).

>>> round(ema_beta(batch_images=1000, half_life_kimg=1.0), 4)
0.5
>>> ema_beta(batch_images=64, half_life_kimg=10.0, images_seen=0, rampup=0.05)  # no history yet
0.0
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


def ema_beta(
    batch_images: int,
    half_life_kimg: float,
    images_seen: int | None = None,
    rampup: float | None = None,  # cap the half-life at rampup * images_seen (StyleGAN2-ADA)
) -> float:
    """Weight of the old average after one update covering ``batch_images`` images."""
    half_life = half_life_kimg * 1000.0
    if rampup is not None:
        assert images_seen is not None, "an EMA ramp-up needs the number of images seen"
        half_life = min(half_life, images_seen * rampup)
    return 0.5 ** (batch_images / half_life) if half_life > 0 else 0.0


@dataclass(frozen=True)
class EMA:
    """How the EMA generator follows G (``model.ema``).

    >>> EMA(half_life_kimg=1.0, rampup=None).beta(images=1000, images_seen=5000)
    0.5
    """

    half_life_kimg: float = 10.0  # thousands of real images after which a weight counts half
    rampup: float | None = 0.05  # early on, half-life <= rampup * images seen (StyleGAN2-ADA)

    def __post_init__(self) -> None:
        assert self.half_life_kimg > 0, (
            f"the EMA half-life is in thousands of images and must be > 0, got "
            f"{self.half_life_kimg} (model.ema=null trains without an EMA generator)"
        )

    def beta(self, images: int, images_seen: int) -> float:
        """Weight of the old average after an update covering ``images`` more images."""
        return ema_beta(images, self.half_life_kimg, images_seen, self.rampup)


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, beta: float) -> None:
    """ema <- beta * ema + (1 - beta) * model for parameters; buffers (BN statistics) copied.

    BatchNorm running statistics are not averaged but copied from the live model, so the
    averaged network is evaluated with statistics that match recent activations.
    """
    ema_params: list[Tensor] = list(ema.parameters())
    params: list[Tensor] = list(model.parameters())
    assert len(ema_params) == len(params), "EMA and model must have the same architecture"
    torch._foreach_lerp_(ema_params, params, 1.0 - beta)
    for ema_buffer, buffer in zip(ema.buffers(), model.buffers(), strict=True):
        ema_buffer.copy_(buffer)
