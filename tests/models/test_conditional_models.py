"""Mechanics of the conditional and information-maximizing systems (fast, 2-D data)."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from helpers import adam, quiet_trainer
from torch.utils.data import DataLoader, TensorDataset

from ganlab.models import ACGAN, GAN, Batch, ConditionalGAN, InfoGAN
from ganlab.networks import MLPDiscriminator, MLPGenerator

K = 3


def labelled_loader(n: int = 48, batch_size: int = 16) -> DataLoader:
    rng = torch.Generator().manual_seed(1)
    labels = torch.arange(n) % K
    x = torch.randn(n, 2, generator=rng) * 0.1 + labels[:, None].float()
    return DataLoader(TensorDataset(x, labels), batch_size=batch_size)


def build(cls: type[GAN], g: dict[str, Any], d: dict[str, Any], **kwargs: Any) -> Any:
    torch.manual_seed(0)
    return cls(
        generator=MLPGenerator(4, (2,), hidden=(16,), output="linear", **g),
        discriminator=MLPDiscriminator(**{"shape": (2,), "hidden": (16,), **d}),
        g_optimizer=adam(),
        d_optimizer=adam(),
        **kwargs,
    )


def test_conditional_gan_refuses_unlabelled_data() -> None:
    with pytest.raises(ValueError, match=r"data is unlabelled \(data.num_classes is null\)"):
        build(ConditionalGAN, {"num_classes": None}, {"num_classes": None})


def test_conditional_discriminator_refuses_packing() -> None:
    with pytest.raises(AssertionError, match=r"model\.pack=1"):
        build(
            ConditionalGAN,
            {"num_classes": K},
            {"num_classes": K, "conditioning": "projection", "shape": (4,)},
            pack=2,
        )


class Recording(ConditionalGAN):
    """Keeps what the hooks saw."""

    seen: list[tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]]

    def discriminator_loss(self, batch: Batch, fake: torch.Tensor) -> Any:
        self.seen = [*getattr(self, "seen", []), (batch.real, batch.labels, batch.fake_labels)]
        return super().discriminator_loss(batch, fake)


def test_fakes_take_the_classes_of_the_real_batch_and_d_sees_them() -> None:
    model = build(Recording, {"num_classes": K}, {"num_classes": K, "conditioning": "concat"})
    quiet_trainer(max_epochs=1).fit(model, labelled_loader())
    assert len(model.seen) == 3
    for _, labels, fake_labels in model.seen:
        assert labels is not None and torch.equal(labels, fake_labels)


def test_fixed_grid_has_a_row_per_class_and_sampling_covers_the_classes() -> None:
    model = build(ConditionalGAN, {"num_classes": K}, {"num_classes": K})
    grid, per_row = model.sample_grid(8, seed=1)  # classes 0, 0, 0, 1, 1, 1, 2, 2, 2
    assert grid.shape == (9, 2) and per_row == 3
    assert torch.equal(grid, model.sample_grid(8, seed=1)[0])  # the same latents every time
    assert model.sample(10, seed=0).shape == (10, 2)


def test_acgan_adds_class_losses_for_both_players() -> None:
    model = build(ACGAN, {"num_classes": K}, {"aux_outputs": K}, ema=None)
    data = next(iter(labelled_loader(batch_size=16)))
    batch = model.unpack_batch(data)
    fake = model.generate(batch)
    _, d_logs = model.discriminator_loss(batch, fake.detach())
    _, g_logs = model.generator_loss(batch, fake)
    assert "train/d_class_loss" in d_logs and "train/g_class_loss" in g_logs
    # untrained heads: about log K per cross-entropy, two of them (real and fake) for D
    assert d_logs["train/d_class_loss"] == pytest.approx(2 * math.log(K), rel=0.3)
    assert g_logs["train/g_class_loss"] == pytest.approx(math.log(K), rel=0.3)
    model.classify_fakes = False
    _, real_only = model.discriminator_loss(batch, fake.detach())
    assert real_only["train/d_class_loss"] < d_logs["train/d_class_loss"]


def test_acgan_needs_a_class_head() -> None:
    with pytest.raises(AssertionError, match="aux_outputs"):
        build(ACGAN, {"num_classes": K}, {})


def infogan(**kwargs: Any) -> InfoGAN:
    codes = [K, "uniform"]
    return build(InfoGAN, {"codes": codes}, {"aux_outputs": K + 2, "aux_hidden": 8}, **kwargs)


def test_infogan_q_head_trains_with_the_generator() -> None:
    model = infogan()
    quiet_trainer(max_steps=1).fit(model, labelled_loader())  # builds the optimizers
    d_opt, g_opt = model.optimizers()
    q = {id(p) for p in model.q_head.parameters()}
    d_params = {id(p) for group in d_opt.param_groups for p in group["params"]}
    g_params = {id(p) for group in g_opt.param_groups for p in group["params"]}
    assert q <= g_params and not q & d_params
    trunk = {id(p) for p in model.discriminator.parameters()} - q
    assert trunk == d_params


class Probed(InfoGAN):
    def _step(self, opt, loss, parameters, player, logging, logs) -> None:  # type: ignore[override]
        before = {k: v.detach().clone() for k, v in self.named_parameters()}
        super()._step(opt, loss, parameters, player, logging, logs)
        changed = {k for k, v in self.named_parameters() if not torch.equal(v, before[k])}
        self.changes = [*getattr(self, "changes", []), (player, changed, dict(logs))]


def test_infogan_steps_update_trunk_in_d_step_and_q_in_g_step() -> None:
    torch.manual_seed(0)
    model = build(Probed, {"codes": [K, "uniform"]}, {"aux_outputs": K + 2}, ema=None)
    quiet_trainer(max_epochs=1, log_every_n_steps=1).fit(model, labelled_loader())
    (d_player, d_changed, _), (g_player, g_changed, _) = model.changes[:2]
    assert (d_player, g_player) == ("d", "g")
    assert not any(k.startswith("discriminator.aux_head") for k in d_changed)
    assert any(k.startswith("discriminator.net") for k in d_changed)
    assert any(k.startswith("discriminator.aux_head") for k in g_changed)
    assert not any(k.startswith("discriminator.net") for k in g_changed)
    assert "train/info_loss" in model.trainer.callback_metrics


def test_infogan_needs_codes_and_a_q_head() -> None:
    with pytest.raises(AssertionError, match=r"model\.generator\.codes"):
        build(InfoGAN, {}, {"aux_outputs": 2})
    with pytest.raises(AssertionError, match="auxiliary head"):
        build(InfoGAN, {"codes": [K]}, {})
