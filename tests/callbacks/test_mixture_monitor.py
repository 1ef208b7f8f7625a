"""MixtureCoverageMonitor: val/modes, val/hq, val/kl during training, with provenance."""

from __future__ import annotations

import json

import pytest
from helpers import point_loader, quiet_trainer

from ganlab.callbacks import MixtureCoverageMonitor
from ganlab.data import RingMixture
from ganlab.metrics.mixture import mixture_coverage


def test_logs_coverage_every_kimg_and_at_the_end(tiny_gan, tmp_path) -> None:
    monitor = MixtureCoverageMonitor(every_kimg=0.5, num_samples=500, jsonl_dir=str(tmp_path))
    data = RingMixture(batch_size=100, samples_per_epoch=1000)
    model = tiny_gan()
    trainer = quiet_trainer(max_epochs=1, callbacks=[monitor])
    trainer.fit(model, datamodule=data)
    # at 0.1 kimg (first batch), crossing 0.5 kimg, and at the end (1.0 kimg)
    assert [h["kimg"] for h in monitor.history] == [0.1, 0.5, 1.0]
    final = mixture_coverage(model.sample(500, seed=0), data.means, data.std)
    assert trainer.callback_metrics["val/modes"].item() == final.modes
    assert trainer.callback_metrics["val/kl"].item() == pytest.approx(final.kl)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["metric"] for r in records[-3:]] == ["val/modes", "val/hq", "val/kl"]
    assert records[-1] | {"value": None} == {
        "metric": "val/kl",
        "value": None,
        "kimg": 1.0,
        "n_fake": 500,
        "seed": 0,
        "generator": "ema",
        "num_modes": 8,
        "protocol": "mixture coverage, HQ within 3.0 std (VEEGAN/PacGAN)",
    }


def test_is_inactive_on_data_that_is_not_a_mixture(tiny_gan, tmp_path) -> None:
    monitor = MixtureCoverageMonitor(every_kimg=0.01, jsonl_dir=str(tmp_path))
    trainer = quiet_trainer(max_epochs=1, callbacks=[monitor])
    trainer.fit(tiny_gan(), point_loader())
    assert monitor.history == [] and "val/modes" not in trainer.callback_metrics
    assert not (tmp_path / "metrics.jsonl").exists()
