"""fp16 with one gradient scaler per player (exercised on the CPU's fp16 autocast)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import QUIET, compose_train

from ganlab.checkpoints import read_checkpoint
from ganlab.precision import PerOptimizerMixedPrecision
from ganlab.train import train
from ganlab.validation import ConfigError, check_combinations


def test_an_overflow_backs_off_only_its_own_players_scale() -> None:
    plugin = PerOptimizerMixedPrecision(device="cpu", init_scale=2.0**10)
    d_weight, g_weight = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(3))
    d_opt, g_opt = torch.optim.SGD([d_weight], lr=0.1), torch.optim.SGD([g_weight], lr=0.1)
    for opt, weight, overflow in ((d_opt, d_weight, True), (g_opt, g_weight, False)):
        plugin.use(opt)
        plugin.scaler.scale(weight.sum()).backward()
        if overflow:  # D's gradients overflow, G's do not
            weight.grad[0] = float("inf")
        plugin.unscale(opt)
        plugin.unscale(opt)  # once per step, however often asked
        assert torch.equal(weight.grad[1:], torch.ones(2))  # true gradients after unscaling
        plugin.skip(opt)
    assert [s.get_scale() for s in plugin.scalers] == [2.0**9, 2.0**10]

    restored = PerOptimizerMixedPrecision(device="cpu")
    restored.load_state_dict(plugin.state_dict())
    assert restored.scaler_for(d_opt).get_scale() == 2.0**9
    assert restored.scaler_for(g_opt).get_scale() == 2.0**10


def test_fp16_training_keeps_a_scaler_per_player_in_the_checkpoint(tmp_path: Path) -> None:
    plugins = (
        "trainer.plugins=[{_target_: ganlab.checkpoint_plugin.AtomicCheckpointIO}, "
        "{_target_: ganlab.precision.PerOptimizerMixedPrecision, device: cpu}]"
    )
    cfg = compose_train(
        tmp_path, *QUIET, "model=gan", "data=ring8", "max_kimg=3", "trainer.precision=null", plugins
    )
    result = train(cfg)
    plugin = result.trainer.precision_plugin
    assert isinstance(plugin, PerOptimizerMixedPrecision) and len(plugin.scalers) == 2
    saved = read_checkpoint(tmp_path / "checkpoints" / "last.ckpt")["PerOptimizerMixedPrecision"]
    assert [s["scale"] for s in saved["scalers"]] == [s.get_scale() for s in plugin.scalers]
    assert all(torch.isfinite(p).all() for p in result.model.parameters())


def test_shared_scaler_fp16_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="trainer=fp16"):
        check_combinations(compose_train(tmp_path, "trainer.precision=16-mixed"))
