"""``last.ckpt`` that captures the exact moment a run is told to stop."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint

from ganlab.compat import every_n_epochs, last_saved_step, save_last_now


class LastCheckpoint(ModelCheckpoint):
    """A ModelCheckpoint that writes ``last.ckpt`` every ``every_n_epochs`` epochs (Lightning 2.6
    writes it only alongside a top-k checkpoint, i.e. never with ``save_top_k=0``, until the
    run ends) and as soon as training is told to stop.

    A stop inside an epoch (``max_kimg`` reached, a preemption signal, the divergence guard)
    would otherwise be saved at the end of the cut-short epoch, marked as finished, and a
    resumed run would skip the rest of it. Saved at the batch instead, the checkpoint carries
    the position in the epoch (and the data loader's), so resuming continues exactly where the
    run stopped; the epoch-end save of that step is then skipped as a duplicate.
    """

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        every = every_n_epochs(self)
        if every >= 1 and (trainer.current_epoch + 1) % every == 0:
            save_last_now(self, trainer)

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any
    ) -> None:
        super().on_train_batch_end(trainer, pl_module, *args)
        if trainer.should_stop and last_saved_step(self) != trainer.global_step:
            save_last_now(self, trainer)
