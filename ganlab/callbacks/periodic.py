"""Callbacks that act every so many thousand images shown, and once more at the end."""

from __future__ import annotations

from typing import Any

import lightning as L

from ganlab.models.base import GAN


class EveryKimg(L.Callback):
    """Calls :meth:`run` whenever training crosses a multiple of ``every_kimg``, and at the end.

    Images shown (kimg) is the clock: comparable across batch sizes, ``n_critic`` and device
    counts. A resumed run continues the schedule instead of catching up on missed points.
    """

    def __init__(self, every_kimg: float) -> None:
        assert every_kimg > 0, f"every_kimg must be positive, got {every_kimg}"
        self.every_kimg = every_kimg
        self._next_kimg = 0.0

    def run(self, trainer: L.Trainer, pl_module: GAN, final: bool) -> None:
        raise NotImplementedError

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        assert isinstance(pl_module, GAN), f"{type(self).__name__} needs a ganlab GAN module"
        self._next_kimg = (pl_module.kimg // self.every_kimg) * self.every_kimg
        if pl_module.kimg > 0:
            self._next_kimg += self.every_kimg

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *_: Any) -> None:
        assert isinstance(pl_module, GAN)
        if pl_module.kimg >= self._next_kimg:
            self.run(trainer, pl_module, final=False)
            while self._next_kimg <= pl_module.kimg:
                self._next_kimg += self.every_kimg

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        assert isinstance(pl_module, GAN)
        self.run(trainer, pl_module, final=True)
