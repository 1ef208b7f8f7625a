"""The progress bar measures the whole run: kimg of max_kimg (or epochs), images/s, an ETA."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import lightning as L
import pytest
from helpers import config_gan, point_loader
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ProgressBar
from rich.console import Console

from ganlab.callbacks import KimgBudget
from ganlab.callbacks.progress import RunProgress, RunProgressBar
from ganlab.config import compose_config
from ganlab.models import GAN
from ganlab.train import train

TINY = ["model=gan", "data=ring8", "logger=none", "trainer.enable_model_summary=false"]


def _row(bar: RunProgressBar) -> str:
    """The training row as rich renders it."""
    assert bar.progress is not None
    console = Console(file=io.StringIO(), width=200)
    console.print(bar.progress.make_tasks_table([bar.train_progress_bar]))
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_a_kimg_run_shows_kimg_speed_eta_and_losses(tmp_path: Path) -> None:
    cfg = compose_config(
        *TINY,
        "max_kimg=2",
        "trainer.max_epochs=-1",  # as in the demo: Lightning showed Epoch 0/-2
        "trainer.log_every_n_steps=1",
        output_dir=tmp_path,
    )
    result = train(cfg)
    bar = result.trainer.progress_bar_callback
    assert isinstance(bar, RunProgressBar)  # it replaced Lightning's bar, not added a second
    assert sum(isinstance(c, ProgressBar) for c in result.trainer.callbacks) == 1
    run = bar.run
    assert run is not None and run.unit == "kimg" and run.total == 2.0
    assert isinstance(result.model, GAN) and run.done == result.model.kimg >= 2.0
    assert run.images_per_s is not None and run.images_per_s > 0
    assert run.eta_s is not None and math.isfinite(run.eta_s) and run.eta_s == 0  # at the end
    row = _row(bar)
    assert "Epoch 0 " in row and f"{run.done:.1f}/2 kimg" in row and "img/s" in row
    assert "ETA 0:00:00" in row and "d_loss: " in row and "g_loss: " in row
    assert "v_num" not in row and "/-2" not in row


@pytest.mark.parametrize("enabled", [True, False])
def test_the_config_follows_enable_progress_bar(tmp_path: Path, enabled: bool) -> None:
    cfg = compose_config(*TINY, f"trainer.enable_progress_bar={enabled}", output_dir=tmp_path)
    # Lightning refuses a progress-bar callback when the bar is disabled: the node then builds
    # a callback that does nothing
    trainer = L.Trainer(
        enable_progress_bar=enabled,
        callbacks=[instantiate(cfg.callbacks.progress_bar)],
        logger=False,
    )
    if enabled:
        assert isinstance(trainer.progress_bar_callback, RunProgressBar)
    else:
        assert trainer.progress_bar_callback is None


class _Record(L.Callback):
    """The bar's numbers after every batch (it runs before this callback)."""

    def __init__(self, bar: RunProgressBar) -> None:
        self.bar = bar
        self.runs: list[RunProgress | None] = []

    def on_train_batch_end(self, *args: Any) -> None:
        self.runs.append(self.bar.run)


def _fit(*callbacks: L.Callback, max_epochs: int) -> None:
    L.Trainer(
        accelerator="cpu",
        max_epochs=max_epochs,
        callbacks=list(callbacks),
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
    ).fit(config_gan(), point_loader(n=64, batch_size=16))  # 4 batches of 16 an epoch


def test_an_epoch_run_counts_epochs() -> None:
    bar = RunProgressBar(refresh_rate=0)  # measured, not displayed
    record = _Record(bar)
    _fit(bar, record, max_epochs=3)
    runs = [r for r in record.runs if r is not None]
    assert [r.unit for r in runs] == ["epochs"] * 12 and {r.total for r in runs} == {3.0}
    assert [r.done for r in runs] == [(i + 1) / 4 for i in range(12)]
    assert [r.epoch for r in runs] == [i // 4 for i in range(12)]
    for i, r in enumerate(runs[:-1]):  # the ETA is the images left at the images/s measured
        assert r.images_per_s is not None and r.images_per_s > 0 and r.eta_s is not None
        assert r.eta_s == pytest.approx((12 - i - 1) * 16 / r.images_per_s)
    assert runs[-1].eta_s == 0 and runs[-1].count() == "3.00/3 epochs"


def test_the_first_limit_is_the_run_length() -> None:
    # 100 kimg would take 1,563 epochs of 64 points: the 2 epochs come first, at 0.128 kimg
    bar = RunProgressBar(refresh_rate=0)
    record = _Record(bar)
    _fit(KimgBudget(max_kimg=100), bar, record, max_epochs=2)
    runs = [r for r in record.runs if r is not None]
    assert len(runs) == 8
    assert all(r.unit == "kimg" and r.total == pytest.approx(0.128) for r in runs)
    assert runs[-1].done == pytest.approx(0.128)


def test_a_run_without_a_limit() -> None:
    run = RunProgress("kimg", 12.34, None, 3, None, 65.0, None)
    assert run.fraction is None
    assert run.text() == "Epoch 3 12.3 kimg 0:01:05 • ETA -:--:-- -- img/s"
    done = RunProgress("kimg", 12.34, 250.0, 3, 1234.4, 65.0, 192.5)
    assert done.text() == "Epoch 3 12.3/250 kimg 0:01:05 • ETA 0:03:12 1,234 img/s"
