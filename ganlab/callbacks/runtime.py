"""Run-length and process-lifecycle callbacks."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch.distributed as dist

from ganlab.models.base import GAN


class KimgBudget(L.Callback):
    """Stop training once ``max_kimg`` thousand real images have been shown to D.

    Run length in images shown is comparable across batch sizes, ``n_critic`` values and
    device counts, unlike ``trainer.max_steps`` (which counts every optimizer step).
    """

    def __init__(self, max_kimg: float | None) -> None:
        assert max_kimg is None or max_kimg > 0, f"max_kimg must be positive, got {max_kimg}"
        self.max_kimg = max_kimg

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *_: Any) -> None:
        assert isinstance(pl_module, GAN), "KimgBudget needs a ganlab GAN module"
        if self.max_kimg is not None and pl_module.kimg >= self.max_kimg:
            trainer.should_stop = True


class DestroyProcessGroup(L.Callback):
    """Tear down a gloo process group at the end of a run.

    Lightning destroys only NCCL groups itself; a gloo group left alive makes multi-process
    CPU runs abort intermittently at interpreter exit (SIGABRT).
    """

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if dist.is_available() and dist.is_initialized() and dist.get_backend() == "gloo":
            dist.barrier()
            dist.destroy_process_group()
