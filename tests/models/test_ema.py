import math

import pytest
import torch
from helpers import adam, point_loader, quiet_trainer
from torch import nn

from ganlab.models.ema import EMA, ema_beta, ema_update


def test_half_life_halves_the_weight_of_old_parameters() -> None:
    # after half_life_kimg * 1000 images, in any batch size, an old weight keeps half its say
    for batch in (16, 64, 500):
        steps = 10_000 // batch
        assert math.isclose(ema_beta(batch, 10.0) ** steps, 0.5, rel_tol=0.02)


def test_rampup_shortens_the_half_life_early() -> None:
    assert ema_beta(64, 10.0, images_seen=1000, rampup=0.05) == pytest.approx(0.5 ** (64 / 50))
    assert ema_beta(64, 10.0, images_seen=10**7, rampup=0.05) == pytest.approx(ema_beta(64, 10.0))


def test_ema_update_arithmetic_and_buffers() -> None:
    model, ema = nn.BatchNorm1d(3), nn.BatchNorm1d(3)
    with torch.no_grad():
        model.weight.fill_(1.0)
        ema.weight.fill_(0.0)
        model.running_mean.fill_(5.0)
    ema_update(ema, model, beta=0.75)
    assert torch.allclose(ema.weight, torch.full((3,), 0.25))
    ema_update(ema, model, beta=0.75)
    assert torch.allclose(ema.weight, torch.full((3,), 0.25 * 0.75 + 0.25))
    assert torch.equal(ema.running_mean, model.running_mean)  # statistics copied, not averaged


@pytest.mark.parametrize("n_critic", [1, 5])
def test_half_life_counts_every_image_shown_to_d(tiny_gan, n_critic: int) -> None:
    # G frozen at 1 (lr 0) and its EMA started at 0: 1 - EMA is the initial weights' share
    model = tiny_gan(
        g_optimizer=adam(lr=0.0), n_critic=n_critic, ema=EMA(half_life_kimg=0.1, rampup=None)
    )
    with torch.no_grad():
        for live, ema in zip(
            model.generator.parameters(), model.generator_ema.parameters(), strict=True
        ):
            live.fill_(1.0)
            ema.fill_(0.0)
    quiet_trainer(max_epochs=1).fit(model, point_loader(n=160, batch_size=16))
    assert model.images_seen == 160 and model.g_steps == 10 // n_critic
    share = 1.0 - torch.cat([p.flatten() for p in model.generator_ema.parameters()])
    # 160 images shown to D over a 100-image half-life, whatever the D steps per G step
    assert torch.allclose(share, torch.full_like(share, 0.5 ** (160 / 100)), atol=1e-6)
