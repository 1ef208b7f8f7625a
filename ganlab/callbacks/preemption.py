"""Stop cleanly, with a checkpoint, when the cluster says so."""

from __future__ import annotations

import os
import signal
import subprocess
from types import FrameType
from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from ganlab.models.base import GAN


class Preemption(L.Callback):
    """On SIGTERM or SIGUSR1 (what SLURM sends before a preemption or the time limit), finish the
    current batch, write ``checkpoints/last.ckpt`` (:class:`~ganlab.callbacks.LastCheckpoint`)
    and end the run normally (exit status 0).

    The signal is only noted when it arrives; every process then agrees on it at the end of the
    batch (one all-reduce under DDP), so all of them stop at the same step and the checkpoint is
    complete. With ``requeue`` and inside a SLURM job (an sbatch script), the job is put back
    in the queue (``scontrol requeue``); a job script that trains with ``ckpt_path=last`` and a
    fixed ``hydra.run.dir`` then continues from that checkpoint when it restarts.
    """

    def __init__(
        self,
        signals: tuple[str, ...] | list[str] = ("SIGTERM", "SIGUSR1"),
        requeue: bool = False,  # inside a SLURM job: `scontrol requeue` after the checkpoint
    ) -> None:
        self.signals = [getattr(signal, name) for name in signals]
        self.requeue = requeue
        self.received: int | None = None  # the signal noted, not yet acted on
        self.stopped = False  # this run stopped because of a signal
        self._previous: dict[int, Any] = {}

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Installed after Lightning's own handlers (its SIGTERM handler would end the run at the
        # next batch without a checkpoint; its SLURM SIGUSR1 handler saves inside the handler).
        for signum in self.signals:
            try:
                self._previous[signum] = signal.signal(signum, self._note)
            except ValueError:  # not the main thread: signals cannot be handled here
                rank_zero_warn("Preemption: not in the main thread; signals are not handled")
                break

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *_: Any) -> None:
        signalled = trainer.strategy.reduce_boolean_decision(self.received is not None, all=False)
        if signalled and not self.stopped:
            assert isinstance(pl_module, GAN), "Preemption needs a ganlab GAN module"
            name = signal.Signals(self.received).name if self.received else "a signal"
            rank_zero_info(
                f"Preemption: received {name} at {pl_module.kimg:.1f} kimg; writing "
                "checkpoints/last.ckpt and stopping. Continue with ckpt_path=<that file> (or "
                "ckpt_path=last in the same run directory)."
            )
            self.stopped = True
            trainer.should_stop = True

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._restore_handlers()
        job = os.environ.get("SLURM_ARRAY_JOB_ID") or os.environ.get("SLURM_JOB_ID")
        if not (self.stopped and self.requeue and job and trainer.is_global_zero):
            return
        task = os.environ.get("SLURM_ARRAY_TASK_ID")
        job_id = f"{job}_{task}" if os.environ.get("SLURM_ARRAY_JOB_ID") and task else job
        result = subprocess.run(["scontrol", "requeue", job_id], capture_output=True, text=True)
        if result.returncode == 0:
            rank_zero_info(f"Preemption: requeued SLURM job {job_id}")
        else:
            rank_zero_warn(f"Preemption: `scontrol requeue {job_id}` failed: {result.stderr}")

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._restore_handlers()

    def _restore_handlers(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
