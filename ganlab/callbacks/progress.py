"""A progress bar for the whole run, in the run's own unit: kimg shown (or epochs).

Lightning's bar counts the batches of the current epoch and ``trainer.max_epochs``; a ganlab run
is usually as long as ``max_kimg`` with ``max_epochs=-1``, which Lightning shows as
``Epoch 50/-2 ... 7/78``. :class:`RunProgressBar` keeps Lightning's rich display and replaces
what its training row measures, through the bar's public extension points only
(``configure_columns``, ``get_metrics`` and the training hooks).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import RichProgressBar
from rich.console import RenderableType
from rich.progress import BarColumn, ProgressColumn, Task
from rich.progress_bar import ProgressBar as RichBar
from rich.style import Style
from rich.text import Text
from torch import Tensor

from ganlab.callbacks.runtime import kimg_budget
from ganlab.models.base import GAN


@dataclass(frozen=True)
class RunProgress:
    """Where a training run stands, in its own unit."""

    unit: str  # "kimg" (thousands of real images shown to D) or "epochs"
    done: float
    total: float | None  # the run's length in `unit`; None: no limit (max_kimg, max_epochs off)
    epoch: int
    images_per_s: float | None  # real images shown per second lately; None until measured
    elapsed_s: float  # since training started in this process (a resumed run: since resuming)
    eta_s: float | None  # until the run ends at the current speed; None without a limit

    @property
    def fraction(self) -> float | None:
        return None if not self.total else min(1.0, self.done / self.total)

    def count(self) -> str:
        """``12.3/250 kimg`` or ``3.42/10 epochs``."""
        done = f"{self.done:.1f}" if self.unit == "kimg" else f"{self.done:.2f}"
        return f"{done}/{self.total:g} {self.unit}" if self.total else f"{done} {self.unit}"

    def speed(self) -> str:
        return "-- img/s" if self.images_per_s is None else f"{self.images_per_s:,.0f} img/s"

    def times(self) -> str:
        return f"{_clock(self.elapsed_s)} • ETA {_clock(self.eta_s)}"

    def text(self) -> str:
        """The training row without its bar and losses."""
        return f"Epoch {self.epoch} {self.count()} {self.times()} {self.speed()}"


def _clock(seconds: float | None) -> str:
    return "-:--:--" if seconds is None else str(timedelta(seconds=int(seconds)))


class RunProgressBar(RichProgressBar):
    """Lightning's rich progress bar, measuring the whole run instead of the epoch's batches.

    The training row shows the epoch; kimg shown of the run's length, which is ``max_kimg`` of
    the trainer's :class:`~ganlab.callbacks.KimgBudget` (or the epoch limit where that ends the
    run first), or else epochs of ``trainer.max_epochs``; the elapsed time and the ETA of the
    whole run; real images shown per second over the last ``window_s`` seconds; then the
    ``metrics`` as last logged (every ``trainer.log_every_n_steps``, shown without their
    ``train/`` prefix) and anything logged with ``prog_bar=True``, not Lightning's ``v_num``.
    :attr:`run` holds the numbers, also when nothing is displayed (``refresh_rate=0``, ranks
    other than 0).
    """

    def __init__(
        self,
        refresh_rate: int = 4,  # display refreshes per second at most; 0 shows nothing
        metrics: Sequence[str] = ("train/d_loss", "train/g_loss"),  # callback_metrics keys
        window_s: float = 30.0,  # images/s and the ETA are measured over this long
        console_kwargs: dict[str, Any] | None = None,  # for rich's Console
    ) -> None:
        assert window_s > 0, f"window_s must be positive, got {window_s}"
        super().__init__(refresh_rate=refresh_rate, console_kwargs=console_kwargs)
        self.metrics = list(metrics)
        self.window_s = window_s
        self.run: RunProgress | None = None
        self._samples: deque[tuple[float, int]] = deque()  # (time, images shown) in the window
        self._start = 0.0
        self._images_per_batch = 0  # over all processes, measured

    # ------------------------------------------------------------------ measuring
    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        assert isinstance(pl_module, GAN), "RunProgressBar needs a ganlab GAN module"
        self._start = time.perf_counter()
        self._samples = deque([(self._start, pl_module.images_seen)])
        self.run = self._measure(trainer, pl_module, batches_done=0)
        super().on_train_start(trainer, pl_module)

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        assert isinstance(pl_module, GAN)
        now, images = time.perf_counter(), pl_module.images_seen
        last = self._samples[-1][1] if self._samples else images
        if images < last:  # counters reloaded from a checkpoint (a rollback): measure anew
            self._samples.clear()
        elif images > last:
            self._images_per_batch = images - last
        self._samples.append((now, images))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.window_s:
            self._samples.popleft()
        self.run = self._measure(trainer, pl_module, batches_done=batch_idx + 1)
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)

    def _measure(self, trainer: L.Trainer, pl_module: GAN, batches_done: int) -> RunProgress:
        """The run's progress after ``batches_done`` batches of the current epoch."""
        (t0, images0), (now, images) = self._samples[0], self._samples[-1]
        speed = (images - images0) / (now - t0) if images > images0 and now > t0 else None
        unit, done, total, remaining = self._position(trainer, pl_module, batches_done)
        return RunProgress(
            unit=unit,
            done=done,
            total=total,
            epoch=trainer.current_epoch,
            images_per_s=speed,
            elapsed_s=now - self._start,
            eta_s=remaining / speed if speed and remaining is not None else None,
        )

    def _position(
        self, trainer: L.Trainer, pl_module: GAN, batches_done: int
    ) -> tuple[str, float, float | None, float | None]:
        """(unit, done, total, real images left to show, where known)."""
        batches = trainer.num_training_batches  # inf for a loader without a length
        max_epochs = trainer.max_epochs if trainer.max_epochs is not None else -1
        # images to the end of the epoch limit, once an epoch's length and a batch's are known
        to_epoch_limit = None
        if max_epochs >= 0 and math.isfinite(batches) and self._images_per_batch:
            left = (max_epochs - trainer.current_epoch) * batches - batches_done
            to_epoch_limit = max(0.0, left * self._images_per_batch)

        max_kimg = kimg_budget(trainer)
        if max_kimg is None and max_epochs >= 0:
            within = batches_done / batches if math.isfinite(batches) and batches > 0 else 0.0
            return "epochs", trainer.current_epoch + within, float(max_epochs), to_epoch_limit
        if max_kimg is None:  # no limit at all
            return "kimg", pl_module.kimg, None, None
        total = float(max_kimg)
        if to_epoch_limit is not None:  # run length is whichever limit comes first
            total = min(total, pl_module.kimg + to_epoch_limit / 1000)
        return "kimg", pl_module.kimg, total, max(0.0, total - pl_module.kimg) * 1000

    # ------------------------------------------------------------------ displaying
    def get_metrics(
        self, trainer: L.Trainer, pl_module: L.LightningModule
    ) -> dict[str, int | str | float | dict[str, float]]:
        logged = trainer.callback_metrics
        shown: dict[str, int | str | float | dict[str, float]] = {
            name.removeprefix("train/"): _number(logged[name])
            for name in self.metrics
            if name in logged
        }
        shown.update(trainer.progress_bar_metrics)
        return shown

    def configure_columns(self, trainer: L.Trainer) -> list:
        # Lightning's columns: description, bar, batches, time, speed (kept for other rows)
        description, bar, batches, times, speed = super().configure_columns(trainer)
        theme = self.theme
        return [
            _RunText(self, lambda run: f"Epoch {run.epoch}", theme.description, description),
            _RunBar(
                self,
                bar,
                complete_style=theme.progress_bar,
                finished_style=theme.progress_bar_finished,
                pulse_style=theme.progress_bar_pulse,
            ),
            _RunText(self, RunProgress.count, theme.batch_progress, batches),
            _RunText(self, RunProgress.times, theme.time, times),
            _RunText(self, RunProgress.speed, theme.processing_speed, speed),
        ]

    def run_on(self, task: Task) -> RunProgress | None:
        """The run's progress if ``task`` is the training row, else None."""
        return self.run if task.id == self.train_progress_bar_id else None


def _number(value: Tensor | float) -> float:
    return float(value.item()) if isinstance(value, Tensor) else float(value)


class _RunText(ProgressColumn):
    """Text of the run's progress on the training row; Lightning's ``default`` elsewhere."""

    def __init__(
        self,
        owner: RunProgressBar,
        text: Callable[[RunProgress], str],
        style: str | Style,
        default: ProgressColumn,
    ) -> None:
        super().__init__()
        self._owner, self._text, self._style, self._default = owner, text, style, default

    def render(self, task: Task) -> RenderableType:
        run = self._owner.run_on(task)
        return self._default(task) if run is None else Text(self._text(run), style=self._style)


class _RunBar(BarColumn):
    """The bar of the run's progress on the training row (pulsing without a limit);
    Lightning's ``default`` elsewhere."""

    def __init__(self, owner: RunProgressBar, default: BarColumn, **styles: Any) -> None:
        super().__init__(**styles)
        self._owner, self._default = owner, default

    def render(self, task: Task) -> RichBar:
        run = self._owner.run_on(task)
        if run is None:
            return self._default.render(task)
        fraction = run.fraction
        return RichBar(
            total=1.0,
            completed=fraction or 0.0,
            width=self.bar_width,
            pulse=fraction is None,
            animation_time=task.get_time(),
            style=self.style,
            complete_style=self.complete_style,
            finished_style=self.finished_style,
            pulse_style=self.pulse_style,
        )


def progress_bar(
    enabled: bool = True,  # trainer.enable_progress_bar
    refresh_rate: int = 4,
    metrics: Sequence[str] = ("train/d_loss", "train/g_loss"),
    window_s: float = 30.0,
) -> L.Callback:
    """A :class:`RunProgressBar` for a trainer that shows a bar; otherwise a callback that does
    nothing, since Lightning refuses a progress-bar callback with ``enable_progress_bar=False``
    (how ``conf/callbacks/default.yaml`` builds it, following ``trainer.enable_progress_bar``)."""
    if not enabled:
        return L.Callback()
    return RunProgressBar(refresh_rate=refresh_rate, metrics=metrics, window_s=window_s)
