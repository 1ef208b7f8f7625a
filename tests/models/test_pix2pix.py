"""Pix2Pix in the one step: D judges (source, sample) pairs, G's loss adds L1 to the target,
the ablations are options, and test time is the paper's or eval mode without changing G."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import compose_train, fit
from hydra.utils import instantiate

from ganlab.io import read_jsonl
from ganlab.metrics import paired_scores
from ganlab.models import Pix2Pix
from ganlab.networks import UNetGenerator
from ganlab.sampling import translating

NARROW = [
    "data=edges2digits",
    "model=pix2pix",
    "model.generator.base_channels=8",
    "model.discriminator.base_channels=8",
]

pytestmark = pytest.mark.usefixtures("one_thread")


def build(tmp_path: Path, *overrides: str) -> Pix2Pix:
    cfg = compose_train(tmp_path, *NARROW, *overrides)
    model = instantiate(cfg.model, _recursive_=False, _convert_="all")
    assert isinstance(model, Pix2Pix)
    return model


def test_d_judges_pairs_or_outputs_alone(tmp_path: Path) -> None:
    paired = build(tmp_path)
    assert paired.discriminator.shape == (2, 32, 32)  # an edge map joined to a digit
    alone = build(tmp_path, "model.judges_pairs=false")  # Table 1's "L1 + GAN"
    assert alone.discriminator.shape == (1, 32, 32) and not alone.judges_pairs
    assert Pix2Pix.judges_pairs is False  # the instance's choice, not the class's


def test_g_loss_is_adversarial_plus_weighted_l1(tmp_path: Path) -> None:
    model = build(tmp_path)
    source, target = torch.randn(4, 1, 32, 32), torch.randn(4, 1, 32, 32).tanh()
    batch = model.unpack_batch((target, torch.zeros(4, dtype=torch.long), source))
    fake = model.generate(batch)
    loss, logs = model.generator_loss(batch, fake)
    adversarial, _ = super(Pix2Pix, model).generator_loss(batch, fake)
    l1 = (fake - target).abs().mean()
    assert torch.allclose(logs["train/l1"], l1)
    assert torch.allclose(loss, adversarial + 100 * l1)
    l1_only = build(tmp_path, "model.adversarial_weight=0")
    loss, logs = l1_only.generator_loss(batch, l1_only.generate(batch))
    assert torch.allclose(loss, 100 * logs["train/l1"])


def test_bad_weights_and_modes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(Exception, match=r"not both 0"):
        build(tmp_path, "model.adversarial_weight=0", "model.l1_weight=0")
    with pytest.raises(Exception, match=r"model.inference must be one of \['train', 'eval'\]"):
        build(tmp_path, "model.inference=test")


def dropout_unet() -> UNetGenerator:
    """A 64 px U-Net: the smallest with dropout (one decoder stage)."""
    torch.manual_seed(0)
    return UNetGenerator((1, 64, 64), (1, 64, 64), base_channels=4)


def test_translating_changes_nothing_in_g() -> None:
    g = dropout_unet().train()
    before = {k: v.clone() for k, v in g.state_dict().items()}
    x = torch.randn(6, 1, 64, 64)
    for mode in ("train", "eval"):
        with translating(g, mode, seed=0) as net:
            assert net.training == (mode == "train")
            net(x)
        assert g.training  # its own mode back
    assert all(torch.equal(before[k], v) for k, v in g.state_dict().items())  # BN stats too


def test_test_time_modes() -> None:
    """train (the paper's): dropout drawn from the seed, BatchNorm on the batch, so an output
    depends on its batch; eval: each output depends on its input alone."""
    g = dropout_unet()
    x = torch.randn(6, 1, 64, 64)

    def run(mode: str, images: torch.Tensor, seed: int | None) -> torch.Tensor:
        with translating(g, mode, seed) as net:
            return net(images)

    state = torch.get_rng_state()
    assert torch.equal(run("train", x, 0), run("train", x, 0))  # seeded: reproducible
    assert torch.equal(torch.get_rng_state(), state)  # the global stream untouched
    assert not torch.equal(run("train", x, 0), run("train", x, 1))  # dropout draws
    assert not torch.allclose(run("train", x, 0)[:3], run("train", x[:3], 0), atol=1e-4)
    assert torch.allclose(run("eval", x, 0)[:3], run("eval", x[:3], 0), atol=1e-6)


def test_sample_grid_shows_inputs_outputs_and_targets(tmp_path: Path) -> None:
    model, datamodule = fit(tmp_path, *NARROW, "max_kimg=0.2", "logger=none")
    assert isinstance(model, Pix2Pix)
    grid, per_row = model.sample_grid(64)
    source, target = datamodule.fixed_pairs(16)
    assert per_row == 8 and grid.shape == (48, 1, 32, 32)  # 2 blocks of 3 rows of 8
    assert torch.equal(grid[:8], source[:8]) and torch.equal(grid[16:24], target[:8])
    assert torch.equal(grid[24:32], source[8:])
    assert torch.allclose(grid[8:16], model.translate(source[:16])[:8], atol=1e-6)


def test_held_out_scores_are_logged_with_how_they_were_measured(tmp_path: Path) -> None:
    model, _ = fit(
        tmp_path, *NARROW, "max_kimg=0.3", "callbacks.translation.every_kimg=0.2", "logger=csv"
    )
    records = [r for r in read_jsonl(tmp_path / "metrics.jsonl") if r["metric"] == "val/l1"]
    assert [r["kimg"] for r in records] == [0.064, 0.256, 0.32]  # the first batch, 0.2, the end
    last = records[-1]
    assert last["n_pairs"] == 1000 and last["split"] == "test" and last["test_time"] == "train"
    assert last["dataset"] == "edges2digits" and last["generator"] == "live"
    held_out = model.trainer.datamodule.held_out()
    expected = paired_scores(model.translate(held_out.source), held_out.target)
    assert last["value"] == pytest.approx(expected["l1"])  # the final weights, seeded outputs
