from __future__ import annotations

from typing import Any

import pytest
import torch
from helpers import config_gan, point_loader, quiet_trainer

from ganlab import load_generator
from ganlab.models import EMA, GAN, Schedulers


class ProbedGAN(GAN):
    """Records which parameters each player's optimizer step changed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.changes: list[tuple[str, set[str]]] = []

    def _step(self, opt, loss, parameters, player, logging, logs) -> None:  # type: ignore[override]
        before = {k: v.detach().clone() for k, v in self.named_parameters()}
        super()._step(opt, loss, parameters, player, logging, logs)
        changed = {k for k, v in self.named_parameters() if not torch.equal(v, before[k])}
        self.changes.append((player, {k.split(".")[0] for k in changed}))


def test_each_step_changes_only_its_player(tiny_gan) -> None:
    model = tiny_gan(ProbedGAN)
    quiet_trainer(max_epochs=1).fit(model, point_loader(n=48, batch_size=16))
    assert [p for p, _ in model.changes] == ["d", "g"] * 3
    for player, modules in model.changes:
        assert modules == {"discriminator" if player == "d" else "generator"}


def test_n_critic_counts_steps_and_images(tiny_gan) -> None:
    model = tiny_gan(n_critic=3)
    quiet_trainer(max_epochs=2).fit(model, point_loader(n=96, batch_size=16))
    assert model.d_steps == 12 and model.g_steps == 4
    assert model.images_seen == 12 * 16 and model.kimg == pytest.approx(0.192)


def test_ema_follows_the_generator(tiny_gan) -> None:
    model = tiny_gan(ema=EMA(half_life_kimg=0.01, rampup=None))
    start = [p.detach().clone() for p in model.generator_ema.parameters()]
    quiet_trainer(max_epochs=3).fit(model, point_loader())
    ema, live = list(model.generator_ema.parameters()), list(model.generator.parameters())
    assert not any(p.requires_grad for p in ema)
    assert any(not torch.equal(a, b) for a, b in zip(ema, start, strict=False))
    # a half-life of 10 images over 16-image batches: EMA ~ the live weights, yet not equal
    assert all(torch.allclose(a, b, atol=5e-3) for a, b in zip(ema, live, strict=False))
    assert any(not torch.equal(a, b) for a, b in zip(ema, live, strict=False))
    for ema_buffer, buffer in zip(
        model.generator_ema.buffers(), model.generator.buffers(), strict=False
    ):
        assert torch.equal(ema_buffer, buffer)  # BatchNorm statistics copied


def test_no_ema_samples_from_the_generator(tiny_gan) -> None:
    model = tiny_gan(ema=None)
    assert model.generator_ema is None and model.sampling_generator is model.generator


def test_schedulers_are_stepped_by_hand(tiny_gan) -> None:
    step_lr = lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)  # noqa: E731
    model = tiny_gan(schedulers=Schedulers(g=step_lr, interval="step"), n_critic=2)
    quiet_trainer(max_epochs=1).fit(model, point_loader(n=64, batch_size=16))
    d_opt, g_opt = model.optimizers()
    assert g_opt.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.5**2)  # two G steps
    assert d_opt.param_groups[0]["lr"] == pytest.approx(1e-3)  # D has no scheduler


def test_checkpoint_rebuilds_model_and_generator(tmp_path) -> None:
    model = config_gan(loss={"_target_": "ganlab.losses.Hinge"})
    trainer = quiet_trainer(max_epochs=1)
    trainer.fit(model, point_loader())
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)

    restored = GAN.load_from_checkpoint(path)
    assert type(restored.loss).__name__ == "Hinge"
    assert torch.equal(restored.sample_grid()[0], model.sample_grid()[0])

    generator = load_generator(path)
    assert generator.ema and generator.kimg == pytest.approx(0.064)
    z = torch.randn(8, model.latent_dim)
    assert torch.allclose(generator(z), model.generator_ema(z))
    raw = load_generator(path, ema=False)
    assert not raw.ema and torch.allclose(raw(z), model.generator(z))
    assert generator.sample(5, seed=3).shape == (5, 2)
    assert torch.equal(generator.sample(5, seed=3), generator.sample(5, seed=3))
