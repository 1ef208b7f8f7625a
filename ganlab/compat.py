"""Every use of a Lightning (or W&B logger) private attribute, in one place.

ganlab needs a few things Lightning 2.x has no public API for: the step its own logging uses,
whether this step is one it logs on, writing ``last.ckpt`` at a moment of ganlab's choosing,
and forgetting saved hyperparameters that are objects rather than data.
Each is a one-line function here, and ``tests/test_compat.py`` checks every attribute they read
on the installed Lightning, so a Lightning release that renames one fails that test by name
rather than training runs in odd ways.
"""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import WandbLogger


def logging_step(trainer: L.Trainer) -> int:
    """The step Lightning's loggers are at: batches that stepped an optimizer. ``global_step``
    counts every optimizer step (two or more per batch in a GAN), so it is not that step."""
    return int(trainer.fit_loop.epoch_loop._batches_that_stepped)


def logs_this_step(trainer: L.Trainer) -> bool:
    """Whether Lightning logs at this batch (``log_every_n_steps``, and the last batch)."""
    return bool(trainer._logger_connector.should_update_logs)


def wandb_run_if_started(logger: WandbLogger) -> Any | None:
    """The logger's W&B run if one was started; touching ``logger.experiment`` would start one."""
    return logger._experiment


def drop_hyperparameters(module: L.LightningModule, keys: list[str]) -> None:
    """Forget the saved hyperparameters ``keys`` (in ``hparams`` and in the initial copy that
    loggers and checkpoints read), e.g. networks a subclass was given as objects."""
    for key in keys:
        del module.hparams[key]  # module._hparams
        del vars(module)["_hparams_initial"][key]


def save_last_now(callback: ModelCheckpoint, trainer: L.Trainer) -> None:
    """Write ``last.ckpt`` now (Lightning's ModelCheckpoint writes it only with a top-k save or
    at the end of the run), unless the callback would skip saving at this point."""
    if not callback._should_skip_saving_checkpoint(trainer):
        callback._save_last_checkpoint(trainer, callback._monitor_candidates(trainer))


def last_saved_step(callback: ModelCheckpoint) -> int:
    """The ``global_step`` of the callback's newest checkpoint."""
    return int(callback._last_global_step_saved)


def every_n_epochs(callback: ModelCheckpoint) -> int:
    """The callback's ``every_n_epochs`` (0: none) as it resolved it."""
    return int(callback._every_n_epochs)
