"""The GAN doctor fires on a collapsing run, stays quiet on a healthy one, names fixes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from helpers import QUIET, compose_train
from omegaconf import OmegaConf

from ganlab.callbacks import GANDoctor
from ganlab.callbacks.doctor import separation
from ganlab.losses import NonSaturating
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


def test_each_signal_has_a_diagnosis_with_fixes(tmp_path: Path) -> None:
    doctor = GANDoctor()
    values = {"coverage": 0.1, "d_auc": 0.999, "d_saturation": 1.5, "grad_ratio_d": 500.0}
    findings = doctor.diagnose({**values, "d_loss_cv": 3.0}, kimg=12.0)
    assert [f.key for f in findings] == ["collapse", "d_overpowering", "explosion_d", "oscillation"]
    assert "at 12 kimg" in findings[0].text and "model/unroll=second_order" in findings[0].fixes
    assert "real_target" in findings[1].fixes and "grad_clip" in findings[2].fixes
    healthy = {"coverage": 0.7, "d_auc": 0.7, "grad_ratio_d": 3.0, "d_loss_cv": 0.05}
    assert doctor.diagnose(healthy, kimg=12.0) == []
    # every override the doctor suggests works as written on the command line
    found = {o for f in findings for o in re.findall(r"\bmodel[./=][\w./=-]+\w", f.fixes)}
    assert len(found) >= 10, found
    for override in sorted(o for o in found if "=" in o):
        compose_train(tmp_path, override)  # raises on an unknown group, option or key
    cfg = compose_train(tmp_path)
    for key in sorted(o for o in found if "=" not in o):  # named without a value
        assert OmegaConf.select(cfg, key) is not None, key


def test_d_wins_early_is_not_yet_overpowering() -> None:
    """Early in training D separates real from fake perfectly while its logits are moderate
    and G still gets gradient (measured: DCGAN on 500 digits at 15-60 kimg: AUC 1.000, logits
    about +3 / -3, G's gradient norm at 30-60% of its peak): that alone is no finding. A
    saturated D (the logit gap past the loss's flat point) or a vanishing G gradient is."""
    doctor = GANDoctor()
    early = {"d_auc": 1.0, "d_real": 3.1, "d_fake": -3.4, "d_saturation": 0.65}
    assert doctor.diagnose({**early, "g_grad_fall": 0.4}, kimg=30.0) == []
    saturated = {**early, "d_real": 10.0, "d_fake": -8.0, "d_saturation": 1.8}
    (finding,) = doctor.diagnose(saturated, kimg=70.0)
    assert finding.key == "d_overpowering" and "real +10.0, fake -8.0" in finding.text
    assert finding.fixes.startswith("on images, D memorizing a small training set")
    assert "model/d_input=diffaugment" in finding.fixes
    (finding,) = doctor.diagnose({**early, "g_grad_fall": 0.05}, kimg=70.0)
    assert "G's gradient norm at 5% of its peak" in finding.text


def test_checks_follow_the_run(tmp_path: Path) -> None:
    """No fixed 200 kimg: a 6-kimg run is checked every kimg from the first on, and collapse
    (which an early G always looks like) is diagnosed only from half the run."""
    doctor = _doctor(tmp_path, "data=ring8", "max_kimg=6")
    assert (doctor.start_kimg, doctor.every_kimg, doctor.settled_kimg) == (1.0, 1.0, 3.0)
    assert [round(h["kimg"]) for h in doctor.history][:5] == [1, 2, 3, 4, 5]
    early = [h for h in doctor.history if h["kimg"] < 3.0]
    assert early and all("collapse" not in h["findings"] for h in early)
    assert all({"coverage", "d_auc", "d_real", "d_fake", "d_saturation"} <= set(h) for h in early)


class _Stub:
    """Just what :meth:`GANDoctor.measure` reads of a GAN: samples of a G with a prior (a
    latent width) and the objective."""

    loss = NonSaturating()
    latent_dim = 2

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def sample(self, n: int, seed: int) -> torch.Tensor:
        return self.images[:n]


def test_a_small_dataset_repeated_in_the_real_window_still_has_coverage() -> None:
    """100 images seen 10 times each: a G that draws exactly them covers every one (before,
    a real whose 5 nearest neighbours were its own copies had radius 0: coverage 0)."""
    images = torch.randn(100, 2)
    doctor = GANDoctor(num_samples=1000)
    doctor._reals.extend(images.repeat(10, 1).split(64))
    values = doctor.measure(_Stub(images))  # type: ignore[arg-type]
    assert values["coverage"] == 1.0


def test_separation_is_the_auc_of_every_pair_without_forming_the_pairs() -> None:
    """Ties count half, as in the pairwise definition; a 1x1 PatchGAN's 65,536 logits per
    batch (4e9 pairs) take memory of the order of the logits."""
    rng = torch.Generator().manual_seed(0)
    real = torch.randint(0, 20, (300,), generator=rng).float()
    fake = torch.randint(0, 15, (211,), generator=rng).float()
    diff = real[:, None] - fake[None, :]
    pairwise = float((diff > 0).float().mean() + 0.5 * (diff == 0).float().mean())
    assert separation(real, fake) == pytest.approx(pairwise, abs=1e-6)  # float32 means there
    patches = torch.randn(64, 32 * 32, generator=rng)
    assert separation(patches + 10, patches) == 1.0 and separation(patches, patches) == 0.5
