"""Learning-rate schedules the papers' presets use that torch has no single class for.

Given as ``model.schedulers.g`` / ``.d`` (Hydra partials called with the player's optimizer),
stepped by the one training step at ``model.schedulers.interval``.
"""

from __future__ import annotations

from torch import Tensor
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

__all__ = ["ConstantThenLinear"]


class ConstantThenLinear(LRScheduler):
    """The base rate for ``constant`` intervals, then a linear decay to zero over ``decay``
    more: Pix2Pix's and CycleGAN's ``lr_policy=linear`` (``n_epochs`` then
    ``n_epochs_decay``, 100 and 100 epochs in the official code). Intervals are epochs or
    steps, as ``model.schedulers.interval`` says. The factor after ``t`` intervals is
    ``1 - max(0, t + 1 - constant) / (decay + 1)``, the official code's: the last decayed
    interval still trains at a small rate.

    >>> import torch
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> schedule = ConstantThenLinear(opt, constant=2, decay=3)
    >>> rates = []
    >>> for _ in range(6):
    ...     rates.append(round(opt.param_groups[0]["lr"], 2))
    ...     opt.step(); schedule.step()
    >>> rates
    [1.0, 1.0, 0.75, 0.5, 0.25, 0.0]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        constant: int,  # intervals (epochs) at the base rate
        decay: int,  # intervals of linear decay after them
        last_epoch: int = -1,
    ) -> None:
        assert constant >= 0 and decay >= 1, (
            f"ConstantThenLinear needs constant >= 0 and decay >= 1 intervals, got "
            f"constant={constant}, decay={decay}"
        )
        self.constant, self.decay = int(constant), int(decay)
        super().__init__(optimizer, last_epoch)

    def factor(self, t: int) -> float:
        """The multiple of the base rate after ``t`` intervals."""
        return max(0.0, 1.0 - max(0, t + 1 - self.constant) / (self.decay + 1))

    def get_lr(self) -> list[float | Tensor]:
        return [base * self.factor(self.last_epoch) for base in self.base_lrs]
