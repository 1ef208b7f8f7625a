"""Logger factories (W&B must never block or crash a run) and exact per-step logging."""

from __future__ import annotations

import netrc
import os
from collections.abc import Mapping
from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from lightning.pytorch.utilities import rank_zero_info
from torch import Tensor

from ganlab.compat import logging_step, wandb_run_if_started


def wandb_has_credentials() -> bool:
    """An API key in WANDB_API_KEY or in ~/.netrc (where ``wandb login`` puts it)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def wandb_mode() -> str:
    """WANDB_MODE when set; else "online" with credentials and "offline" without."""
    return os.environ.get("WANDB_MODE") or ("online" if wandb_has_credentials() else "offline")


def wandb_logger(save_dir: str, **kwargs: Any) -> WandbLogger:
    """A WandbLogger that falls back to offline mode when no API key is configured.

    Without a key W&B would stop the run with ``UsageError: No API key configured``; offline
    runs keep everything under ``<save_dir>/wandb`` and can be uploaded later.
    """
    mode = wandb_mode()
    if mode == "offline" and not os.environ.get("WANDB_MODE"):
        rank_zero_info(
            "W&B: no API key configured, logging offline to "
            f"{save_dir}/wandb. Upload later with `wandb sync {save_dir}/wandb/offline-run-*` "
            "(after `wandb login`), or set WANDB_MODE=disabled / logger=csv to skip W&B."
        )
    os.makedirs(save_dir, exist_ok=True)
    return WandbLogger(save_dir=save_dir, mode=mode, **kwargs)


def wandb_run_id(trainer: L.Trainer) -> str | None:
    """The id of the trainer's W&B run, if it logs to one."""
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            return str(logger.version)
    return None


def finish_wandb(trainer: L.Trainer) -> None:
    """Close the trainer's W&B run now rather than at interpreter exit (Lightning never calls
    ``finish``): W&B's shared service keeps an unfinished run's id busy for a while after its
    process ends, and a resumed run reusing that id would be refused as "in use"."""
    for logger in trainer.loggers:
        run = wandb_run_if_started(logger) if isinstance(logger, WandbLogger) else None
        if run is not None:
            run.finish()


def log_now(trainer: L.Trainer, metrics: Mapping[str, float | Tensor]) -> None:
    """Send ``metrics`` to every logger at the current step, exactly as measured now.

    ``LightningModule.log`` re-reports the last value of a key on steps that did not log it;
    values computed only on some steps (G losses with ``n_critic`` > 1, lazy penalties,
    periodic evaluations) would then show stale repeats. They also land in
    ``trainer.callback_metrics`` (what ``optimized_metric`` and checkpoint monitors read).
    """
    values = {name: float(value) for name, value in metrics.items()}
    values.setdefault("epoch", trainer.current_epoch)
    step = logging_step(trainer)
    for logger in trainer.loggers:
        logger.log_metrics(values, step=step)
    trainer.callback_metrics.update({name: torch.tensor(v) for name, v in values.items()})


def log_histograms(trainer: L.Trainer, values: Mapping[str, Tensor]) -> None:
    """Log the distribution of each tensor in ``values`` at the current step: a histogram in
    W&B and TensorBoard, the 10/50/90% quantiles (``<name>_q10`` ...) in other loggers."""
    step = logging_step(trainer)
    flat = {name: value.detach().float().flatten().cpu() for name, value in values.items()}
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            import wandb

            histograms = {name: wandb.Histogram(v.tolist()) for name, v in flat.items()}
            logger.experiment.log({**histograms, "trainer/global_step": step})
        elif isinstance(logger, TensorBoardLogger):
            for name, v in flat.items():
                logger.experiment.add_histogram(name, v, global_step=step)
        else:
            levels = (10, 50, 90)
            quantiles = {
                f"{name}_q{level}": float(value)
                for name, v in flat.items()
                for level, value in zip(
                    levels, torch.quantile(v, torch.tensor(levels) / 100), strict=True
                )
            }
            logger.log_metrics(quantiles, step=step)
