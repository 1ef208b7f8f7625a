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


def dataset_images(trainer: L.Trainer) -> int | None:
    """Samples in the training set of the trainer's data module (None: unknown, or generated
    on the fly)."""
    return getattr(getattr(trainer, "datamodule", None), "dataset_size", None)


def kimg_budget(trainer: L.Trainer) -> float | None:
    """The ``max_kimg`` of the trainer's :class:`KimgBudget` (None: no such limit)."""
    callbacks: list[L.Callback] = trainer.callbacks  # type: ignore[attr-defined]  # public
    return next((c.max_kimg for c in callbacks if isinstance(c, KimgBudget)), None)


def run_length_kimg(trainer: L.Trainer) -> float | None:
    """The run's length in kimg: :class:`KimgBudget`'s ``max_kimg``, else ``max_epochs`` epochs
    of the training set; None when neither limits it."""
    budget = kimg_budget(trainer)
    if budget is not None:
        return float(budget)
    images = dataset_images(trainer)
    max_epochs = trainer.max_epochs
    if images is None or max_epochs is None or max_epochs < 0:
        return None
    return max_epochs * images / 1000
