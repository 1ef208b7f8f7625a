"""CycleGAN in the one step: two translators and two discriminators as two players, G's loss
of adversarial, cycle and identity terms, D's history pool (kept in the checkpoint), refusals
of what the system cannot combine with, and A -> B -> A / B -> A -> B grids."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import compose_train, fit
from hydra.utils import instantiate

from ganlab.io import read_jsonl
from ganlab.losses import LeastSquares
from ganlab.metrics import cycle_scores
from ganlab.models import CycleGAN, ImagePool

NARROW = [
    "data=mnist2digits",
    "model=cyclegan",
    "model.generator.base_channels=8",
    "model.generator.n_blocks=1",
    "model.discriminator.base_channels=8",
]

pytestmark = pytest.mark.usefixtures("one_thread")


def build(tmp_path: Path, *overrides: str) -> CycleGAN:
    cfg = compose_train(tmp_path, *NARROW, *overrides)
    model = instantiate(cfg.model, _recursive_=False, _convert_="all")
    assert isinstance(model, CycleGAN)
    return model


def unpaired_batch(n: int = 4) -> tuple[torch.Tensor, ...]:
    labels = torch.zeros(n, dtype=torch.long)
    return torch.rand(n, 1, 32, 32) * 2 - 1, labels, torch.rand(n, 1, 32, 32) * 2 - 1, labels


def test_g_loss_is_adversarial_plus_cycles_plus_identities(tmp_path: Path) -> None:
    model = build(tmp_path)
    assert isinstance(model.loss, LeastSquares)
    a, _, b, _ = batch = unpaired_batch()
    data = model.unpack_batch(batch)
    assert data.source is a and data.real is b and data.labels is None  # labels: evaluation only
    out = model.generate(data)
    g, f = model.generator, model.inverse_generator
    expected = {
        "fake_b": g(a),
        "fake_a": f(b),
        "rec_a": f(g(a)),
        "rec_b": g(f(b)),
        "idt_b": g(b),
        "idt_a": f(a),
    }
    assert out.keys() == expected.keys()
    for key, value in expected.items():
        torch.testing.assert_close(out[key], value)
    loss, logs = model.generator_loss(data, out)

    def mse(d: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:  # the official G loss
        return ((d(x) - 1) ** 2).mean()

    adversarial = mse(model.discriminator, out["fake_b"]) + mse(
        model.source_discriminator, out["fake_a"]
    )
    cycles = (out["rec_a"] - a).abs().mean() + (out["rec_b"] - b).abs().mean()
    identities = (out["idt_b"] - b).abs().mean() + (out["idt_a"] - a).abs().mean()
    # lambda = 10, identity 0.5 x lambda, adversarial_weight 2 x ganlab's half MSE = the MSE
    torch.testing.assert_close(loss, adversarial + 10 * cycles + 5 * identities)
    assert {"train/cycle_a", "train/cycle_b", "train/identity_a", "train/g_adv_b"} <= logs.keys()
    no_identity = build(tmp_path, "model.identity_weight=0")
    assert "idt_a" not in no_identity.generate(data)


def test_players_own_both_networks_of_their_side_and_g_steps_first(tmp_path: Path) -> None:
    model = build(tmp_path)
    g, d = model.players()
    assert (g.name, d.name) == ("g", "d")
    networks = {
        "g": (model.generator, model.inverse_generator),
        "d": (model.discriminator, model.source_discriminator),
    }
    for player in (g, d):
        owned = {id(p) for p in player.parameters()}
        expected = {id(p) for net in networks[player.name] for p in net.parameters()}
        assert owned == expected, player.name


def test_d_judges_real_images_against_pooled_fakes_of_each_domain(tmp_path: Path) -> None:
    model = build(tmp_path, "model.pool_size=4")
    data = model.unpack_batch(unpaired_batch())
    with torch.no_grad():
        fakes = model.generate(data)
    loss, logs = model.discriminator_loss(data, fakes)
    assert {"train/d_real_a", "train/d_fake_b", "train/d_real", "train/d_fake"} <= logs.keys()
    assert torch.equal(logs["train/d_real"], logs["train/d_real_b"])  # the target domain's D
    for domain in ("a", "b"):
        pool = model.pools[domain]
        assert int(pool.count) == 4  # filled with the batch's fakes
        torch.testing.assert_close(pool.images, fakes[f"fake_{domain}"])
    assert loss.requires_grad


def test_the_pool_fills_then_swaps_half_of_the_fakes_for_stored_ones() -> None:
    pool = ImagePool(capacity=50, shape=(1,))
    torch.manual_seed(0)
    first = torch.arange(50.0)[:, None]
    assert torch.equal(pool(first), first) and int(pool.count) == 50  # filling: as they are
    fakes = torch.arange(100.0, 1100.0)[:, None]
    returned = pool(fakes)
    assert 0.45 < float((returned != fakes).float().mean()) < 0.55  # a stored one at p = 1/2
    # nothing lost, nothing made up: what came back and what is stored are what went in
    out = torch.cat([returned, pool.images]).flatten().sort().values
    torch.testing.assert_close(out, torch.cat([first, fakes]).flatten())
    assert torch.equal(ImagePool(0, (1,))(fakes), fakes)  # no pool: the latest fakes


def test_refusals_name_the_fix(tmp_path: Path) -> None:
    for overrides, message in [
        (["model.pack=2"], r"does not support model.pack"),
        (["model/unroll=second_order"], r"does not support model.unroll"),
        (["+model.ema={_target_: ganlab.models.EMA}"], r"does not support model.ema"),
        (["model.inverse_generator.shape=[3,32,32]"], r"give it shape \$\{data.source_shape\}"),
        (["model.cycle_weight=-1"], r">= 0"),
    ]:
        with pytest.raises(Exception, match=message):
            build(tmp_path, *overrides)


def test_training_logs_cycles_and_grids_show_both_round_trips(tmp_path: Path) -> None:
    model, datamodule = fit(
        tmp_path,
        *NARROW,
        "max_kimg=0.2",
        "data.batch_size=8",
        "callbacks.translation.every_kimg=0.1",
    )
    assert isinstance(model, CycleGAN)
    assert model.turns == {"g": 25, "d": 25}
    assert int(model.pools["a"].count) == 50  # the pool filled and is part of the state
    assert "pools.b.images" in model.state_dict()
    grid, per_row = model.sample_grid(n=48)
    source, target = datamodule.fixed_pairs(8)
    assert per_row == 8 and grid.shape == (48, 1, 32, 32)
    torch.testing.assert_close(grid[:8], source)  # row 1: A images, row 4: B images
    torch.testing.assert_close(grid[24:32], target)
    torch.testing.assert_close(grid[8:16], model.translate(source))  # A -> B
    torch.testing.assert_close(grid[16:24], model.translate(grid[8:16], reverse=True))  # -> A
    records = [r for r in read_jsonl(tmp_path / "metrics.jsonl") if r["metric"] == "val/cycle_l1_a"]
    last = records[-1]
    assert last["n_pairs"] == 359 and last["dataset"] == "mnist2digits"  # B's held-out images
    assert "unpaired" in last["protocol"] and last["generator"] == "live"
    held_out = datamodule.held_out()
    a, b = held_out[0].images[:359], held_out[1].images
    assert last["value"] == pytest.approx(cycle_scores(model.translate, a, b)["cycle_l1_a"])
