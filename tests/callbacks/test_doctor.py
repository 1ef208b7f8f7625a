"""The GAN doctor fires on a collapsing run, stays quiet on a healthy one, names fixes."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import QUIET, compose_train

from ganlab.callbacks import GANDoctor
from ganlab.train import train

# the mode-coverage recipe (2x128 MLPs, batch 128, Adam 1e-3); checks at 300, 400, 500 kimg
LONG = ["callbacks.doctor.every_kimg=100", "callbacks.doctor.start_kimg=300", "max_kimg=500"]


def _doctor(tmp_path: Path, *overrides: str) -> GANDoctor:
    result = train(compose_train(tmp_path, *QUIET, "experiment=coverage", *overrides))
    return next(c for c in result.trainer.callbacks if isinstance(c, GANDoctor))


def test_reports_collapse_with_fixes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # early on, the naive GAN sits on a few of grid25's modes: the finding needs two checks
    doctor = _doctor(
        tmp_path,
        "data=grid25",
        "callbacks.doctor.every_kimg=50",
        "callbacks.doctor.start_kimg=100",
        "max_kimg=150",
    )
    assert [round(h["kimg"] / 50) for h in doctor.history] == [2, 3, 3]  # the last: final
    assert [f.key for f in doctor.findings] == ["collapse"]
    assert "GANDoctor: mode collapse suspected at 150 kimg" in caplog.text
    assert "model.pack=4" in caplog.text
    assert (tmp_path / "doctor.jsonl").read_text().count("\n") == len(doctor.history)


@pytest.mark.slow
def test_fires_on_a_collapsing_naive_gan(tmp_path: Path) -> None:
    doctor = _doctor(tmp_path, "data=grid25", *LONG)  # the naive GAN piles onto a few modes
    assert all(h["coverage"] < 0.45 for h in doctor.history)
    assert "collapse" in {f.key for f in doctor.findings}


@pytest.mark.slow
def test_quiet_on_a_healthy_run(tmp_path: Path) -> None:
    doctor = _doctor(tmp_path, "data=ring8", "model.pack=2", *LONG)  # covers all 8 modes
    assert doctor.history and all(not h["findings"] for h in doctor.history)
    assert all(h["coverage"] > 0.6 for h in doctor.history)


def test_each_signal_has_a_diagnosis_with_fixes() -> None:
    doctor = GANDoctor()
    values = {"coverage": 0.1, "d_auc": 0.999, "grad_ratio_d": 500.0, "grad_ratio_g": 2.0}
    findings = doctor.diagnose({**values, "d_loss_cv": 3.0}, kimg=12.0)
    assert [f.key for f in findings] == ["collapse", "d_overpowering", "explosion_d", "oscillation"]
    assert "at 12 kimg" in findings[0].text and "unrolled_steps" in findings[0].fixes
    assert "label_smoothing" in findings[1].fixes and "grad_clip" in findings[2].fixes
    healthy = {"coverage": 0.7, "d_auc": 0.7, "grad_ratio_d": 3.0, "d_loss_cv": 0.05}
    assert doctor.diagnose(healthy, kimg=12.0) == []
