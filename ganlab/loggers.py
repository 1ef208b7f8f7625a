"""Logger factories. W&B must never block or crash a run."""

from __future__ import annotations

import netrc
import os
from typing import Any

from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_info


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
