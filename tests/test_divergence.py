"""The divergence guard: a non-finite step is skipped, then the run stops or rolls back."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import QUIET, compose_train

from ganlab.checkpoints import read_checkpoint
from ganlab.models.divergence import DivergenceError, NonFinite
from ganlab.train import train

# grid25 in epochs of 10 batches of 128; NaN enters D's real batch at epoch 1, batch 4
RUN = [
    "model=gan",
    "data=grid25",
    "data.batch_size=128",
    "data.samples_per_epoch=1280",
    "max_kimg=3.84",  # 3 epochs
    "logger=none",
    "+callbacks.poison._target_=helpers.PoisonBatch",
    "+callbacks.poison.epoch=1",
    "+callbacks.poison.batch=4",
]


def test_stop_names_the_step_and_keeps_the_intact_weights(tmp_path: Path) -> None:
    with pytest.raises(DivergenceError) as error:
        train(compose_train(tmp_path, *QUIET, *RUN))
    message = str(error.value)
    # epoch 1, batch 4: 14 batches of one D and one G step before it
    assert "the discriminator's loss became non-finite at step 28 (1.8 kimg" in message
    assert "weights are intact" in message and "action=rollback" in message
    last = read_checkpoint(tmp_path / "checkpoints" / "last.ckpt", for_resume=True)
    assert last["ganlab"]["images_seen"] == 15 * 128  # written at the stop
    assert all(
        torch.isfinite(v).all() for v in last["state_dict"].values() if v.is_floating_point()
    )


def test_rollback_reloads_and_lowers_the_learning_rates(tmp_path: Path) -> None:
    result = train(compose_train(tmp_path, *QUIET, *RUN, "callbacks.divergence.action=rollback"))
    guard = next(c for c in result.trainer.callbacks if type(c).__name__ == "DivergenceGuard")
    assert guard.rollbacks == 1 and result.model.nonfinite is None  # type: ignore[attr-defined]
    assert result.model.kimg == pytest.approx(3.84)  # type: ignore[attr-defined]
    rates = [group["lr"] for opt in result.trainer.optimizers for group in opt.param_groups]
    assert rates == [pytest.approx(1e-4), pytest.approx(1e-4)]  # the preset's 2e-4, halved
    state = result.model.state_dict()
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def test_without_a_guard_the_run_fails_at_once(tmp_path: Path) -> None:
    with pytest.raises(DivergenceError, match="at step 28"):
        train(compose_train(tmp_path, *QUIET, *RUN, "~callbacks.divergence"))


def test_message_suggests_fixes_for_the_player_and_precision() -> None:
    event = NonFinite(
        step=5, kimg=0.3, player="g", loss=1.0, grad_norm=float("inf"), precision="16-mixed"
    )
    text = event.message()
    assert "the generator's gradient became non-finite at step 5" in text
    assert "model.g_optimizer.lr" in text and "bf16-mixed" in text
    d = NonFinite(
        step=5, kimg=0.3, player="d", loss=float("nan"), grad_norm=float("nan"), precision="32-true"
    )
    assert "spectral norm" in d.message() and "bf16" not in d.message()
