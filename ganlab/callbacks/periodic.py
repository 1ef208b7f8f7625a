"""Callbacks that act every so many thousand images shown, and once more at the end."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_only

from ganlab.io import append_jsonl
from ganlab.models.base import GAN


@rank_zero_only
def append_metrics(
    path: Path | None, values: Mapping[str, float], record: Mapping[str, Any]
) -> None:
    """One line per metric of ``values`` appended to the JSON-lines file ``path`` (none when
    None), each with how it was measured (``record``); by rank 0 only."""
    if path is not None:
        append_jsonl(path, [{"metric": m, "value": v, **record} for m, v in values.items()])


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
