import math

import pytest
import torch

from ganlab.losses import (
    Hinge,
    LeastSquares,
    Minimax,
    NonSaturating,
    Wasserstein,
    bce_discriminator_loss,
    hinge_discriminator_loss,
    least_squares_discriminator_loss,
    least_squares_generator_loss,
    minimax_generator_loss,
    nonsaturating_generator_loss,
    wasserstein_discriminator_loss,
    wasserstein_generator_loss,
)

T = torch.tensor


def close(a: torch.Tensor, b: float) -> bool:
    return math.isclose(a.item(), b, rel_tol=1e-6, abs_tol=1e-7)


def test_bce_discriminator_loss_closed_form() -> None:
    # D(x) = 0.75 on real, D(G(z)) = 0.25 on fake: -log 0.75 - log(1 - 0.25)
    real, fake = T([math.log(3.0)]), T([math.log(1 / 3)])
    assert close(bce_discriminator_loss(real, fake), -2 * math.log(0.75))


def test_bce_at_the_optimum_of_the_game_is_2_log_2() -> None:
    # p_g = p_data makes the optimal D output 1/2 everywhere (Goodfellow et al., Prop. 1)
    assert close(bce_discriminator_loss(torch.zeros(7), torch.zeros(5)), 2 * math.log(2))


def test_label_smoothing_targets_a_probability_below_one() -> None:
    real = torch.linspace(-3, 6, 301, requires_grad=True)
    loss = bce_discriminator_loss(real, torch.zeros(1), real_target=0.9)
    (grad,) = torch.autograd.grad(loss, real)
    best = real[grad.abs().argmin()].item()  # the real logit D is pushed towards
    assert math.isclose(torch.sigmoid(T(best)).item(), 0.9, abs_tol=0.01)


def test_generator_losses_at_logit_zero() -> None:
    assert close(nonsaturating_generator_loss(T([0.0])), math.log(2))
    assert close(minimax_generator_loss(T([0.0])), -math.log(2))


def test_minimax_saturates_where_nonsaturating_does_not() -> None:
    # early in training D rejects fakes confidently (very negative logits)
    fake = T([-10.0], requires_grad=True)
    (g_minimax,) = torch.autograd.grad(minimax_generator_loss(fake), fake)
    (g_ns,) = torch.autograd.grad(nonsaturating_generator_loss(fake), fake)
    assert abs(g_minimax.item()) < 1e-4
    assert abs(g_ns.item()) > 0.99


def test_wasserstein_closed_form() -> None:
    assert close(wasserstein_discriminator_loss(T([1.0, 3.0]), T([0.0, 2.0])), 1.0 - 2.0)
    assert close(wasserstein_generator_loss(T([0.5, 1.5])), -1.0)


def test_hinge_closed_form() -> None:
    # real: relu(1-0.5), relu(1-2) -> mean 0.25; fake: relu(1-0.5), relu(1+1) -> mean 1.25
    assert close(hinge_discriminator_loss(T([0.5, 2.0]), T([-0.5, 1.0])), 1.5)
    assert close(hinge_discriminator_loss(T([1.0, 3.0]), T([-1.0, -4.0])), 0.0)


def test_least_squares_closed_form() -> None:
    assert close(least_squares_discriminator_loss(T([1.0]), T([0.0])), 0.0)
    assert close(least_squares_discriminator_loss(T([0.0]), T([1.0])), 1.0)
    # the -1/1/0 coding of Mao et al. (a=-1, b=1, c=0)
    assert close(least_squares_discriminator_loss(T([1.0]), T([1.0]), a=-1.0, b=1.0), 2.0)
    assert close(least_squares_generator_loss(T([0.0]), c=1.0), 0.5)
    assert close(least_squares_generator_loss(T([2.0, 0.0]), c=0.0), 1.0)


@pytest.mark.parametrize(
    ("objective", "d_value", "g_value"),
    [
        (NonSaturating(), 2 * math.log(2), math.log(2)),
        (Minimax(), 2 * math.log(2), -math.log(2)),
        (Wasserstein(), 0.0, 0.0),
        (Hinge(), 2.0, 0.0),
        (LeastSquares(), 0.5, 0.5),
    ],
)
def test_objectives_bundle_their_functions(objective, d_value, g_value) -> None:
    zeros = torch.zeros(4)
    assert close(objective.discriminator(zeros, zeros), d_value)
    assert close(objective.generator(zeros), g_value)
