"""Act on a non-finite step: stop with a diagnosis, or roll back and lower the learning rate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_info

from ganlab.checkpoints import CheckpointError, read_checkpoint
from ganlab.loggers import log_now
from ganlab.models.base import GAN


class DivergenceGuard(L.Callback):
    """The GAN skips any optimizer step whose gradient (fp16: loss) is not finite, so the
    weights stay intact, and records it; this callback then decides, at the end of the batch:

    * ``action="stop"``: training stops, ``last.ckpt`` holds the last good weights, and the
      run ends with :class:`~ganlab.models.divergence.DivergenceError` naming the step, the
      player and the likely causes (so sweeps and schedulers see a failed run).
    * ``action="rollback"``: G, D, EMA and optimizer states are reloaded from the newest
      checkpoint, every learning rate is multiplied by ``lr_factor``, and training goes on
      (the clock, kimg, keeps running); after ``max_rollbacks`` it stops as above.

    Gradients are identical on every DDP process after their all-reduce, so all processes
    see the same verdict without extra communication.
    """

    def __init__(
        self,
        action: str = "stop",  # "stop" or "rollback"
        lr_factor: float = 0.5,  # rollback: learning rates are multiplied by this
        max_rollbacks: int = 3,
    ) -> None:
        assert action in ("stop", "rollback"), f"action must be stop or rollback, got {action!r}"
        assert 0 < lr_factor < 1, f"lr_factor must lie in (0, 1), got {lr_factor}"
        self.action = action
        self.lr_factor = lr_factor
        self.max_rollbacks = max_rollbacks
        self.rollbacks = 0

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *_: Any) -> None:
        assert isinstance(pl_module, GAN), "DivergenceGuard needs a ganlab GAN module"
        event = pl_module.nonfinite
        if event is None:
            return
        source = self._last_good(trainer)
        if (
            self.action == "rollback"
            and self.rollbacks < self.max_rollbacks
            and source is not None
            and self._roll_back(trainer, pl_module, source)
        ):
            pl_module.nonfinite = None
            rank_zero_info(
                f"DivergenceGuard: non-finite {event.player.upper()} step at {event.kimg:.1f} "
                f"kimg; rolled back to {source.name} with learning rates x{self.lr_factor} "
                f"(rollback {self.rollbacks} of at most {self.max_rollbacks})"
            )
            return
        trainer.should_stop = True  # last.ckpt (the intact weights) is written, then train() raises
        rank_zero_info(f"DivergenceGuard: {event.message()}")

    @staticmethod
    def _last_good(trainer: L.Trainer) -> Path | None:
        """The newest checkpoint written by this run (every step in it was finite)."""
        paths = [
            Path(getattr(c, "last_model_path", "") or "") for c in trainer.checkpoint_callbacks
        ]
        written = [p for p in paths if p.name and p.is_file()]
        return max(written, key=lambda p: p.stat().st_mtime) if written else None

    def _roll_back(self, trainer: L.Trainer, pl_module: GAN, source: Path) -> bool:
        """Reload weights and optimizer states from ``source``, lowering the current learning
        rates; False if the checkpoint is unusable."""
        try:
            checkpoint = read_checkpoint(source, for_resume=True)
        except CheckpointError:
            return False
        pl_module.load_state_dict(checkpoint["state_dict"])
        for optimizer, state in zip(
            trainer.optimizers, checkpoint["optimizer_states"], strict=True
        ):
            rates = [group["lr"] for group in optimizer.param_groups]
            optimizer.load_state_dict(state)
            for group, rate in zip(optimizer.param_groups, rates, strict=True):
                group["lr"] = rate * self.lr_factor
        self.rollbacks += 1
        log_now(trainer, {"train/rollbacks": self.rollbacks})
        return True

    def state_dict(self) -> dict[str, Any]:
        return {"rollbacks": self.rollbacks}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.rollbacks = int(state_dict.get("rollbacks", 0))
