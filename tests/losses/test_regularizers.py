import dataclasses
import math

import pytest
import torch
from hydra.utils import instantiate
from torch import Tensor, nn

from ganlab.losses import (
    DRAGAN,
    R1,
    R2,
    GradientPenalty,
    Regularizer,
    WeightClipping,
    dragan_penalty,
    gradient_penalty,
    r1_penalty,
    r2_penalty,
    weight_clip_,
)

T = torch.tensor


def close(a: Tensor, b: float) -> bool:
    return math.isclose(a.item(), b, rel_tol=1e-5, abs_tol=1e-6)


def linear(w: Tensor, b: float = 0.0):  # D(x) = <w, x> + b, gradient w everywhere
    return lambda x: x.flatten(1) @ w + b


def half_square(x: Tensor) -> Tensor:  # D(x) = ||x||^2 / 2 per sample, gradient x
    return 0.5 * x.flatten(1).square().sum(1)


class Recorder:
    """A quadratic critic that remembers the inputs it was called on."""

    def __init__(self) -> None:
        self.inputs: list[Tensor] = []

    def __call__(self, x: Tensor) -> Tensor:
        self.inputs.append(x.detach().clone())
        return half_square(x)


W = T([3.0, 4.0])  # ||W|| = 5
REAL, FAKE = torch.randn(6, 2), torch.randn(6, 2)


def test_linear_critic_closed_forms() -> None:
    critic = linear(W, b=0.3)
    assert close(gradient_penalty(critic, REAL, FAKE), (5 - 1) ** 2)
    assert close(gradient_penalty(critic, REAL, FAKE, center=0.0), 25.0)  # zero-centered
    assert close(r1_penalty(critic, REAL), 25.0)
    assert close(r2_penalty(critic, FAKE), 25.0)
    assert close(dragan_penalty(critic, REAL), (5 - 1) ** 2)


def test_regularizer_classes_apply_their_weights() -> None:
    critic = linear(W)
    assert close(GradientPenalty(weight=2.0).penalty(critic, REAL, FAKE), 2 * 16)
    assert close(R1(gamma=4.0).penalty(critic, REAL, FAKE), 4 / 2 * 25)
    assert close(R2(gamma=4.0).penalty(critic, REAL, FAKE), 4 / 2 * 25)
    assert close(DRAGAN(weight=3.0).penalty(critic, REAL, FAKE), 3 * 16)
    assert [c.name for c in (GradientPenalty(), R1(), R2(), DRAGAN(), WeightClipping())] == [
        "gp",
        "r1",
        "r2",
        "dragan",
        "clip",
    ]


def test_r1_of_half_square_critic_is_mean_squared_norm() -> None:
    real = torch.randn(5, 2, 3)
    assert close(r1_penalty(half_square, real), real.flatten(1).square().sum(1).mean().item())
    # R2 sees the fakes, not the reals
    assert close(
        R2(gamma=2.0).penalty(half_square, real, 2 * real), 4 * r1_penalty(half_square, real).item()
    )


def test_interpolates_use_one_eps_per_sample() -> None:
    critic = Recorder()
    real, fake = torch.randn(4, 3, 5), torch.randn(4, 3, 5)
    gp = gradient_penalty(critic, real, fake)
    (x_hat,) = critic.inputs
    # x_hat - fake = eps * (real - fake): the same ratio for every element of a sample
    ratio = ((x_hat - fake) / (real - fake)).flatten(1)
    eps = ratio[:, 0]
    torch.testing.assert_close(ratio, eps[:, None].expand_as(ratio))
    assert bool(((eps >= 0) & (eps < 1)).all())
    assert len(set(eps.tolist())) == 4  # drawn per sample, not once per batch
    # the gradient of the quadratic critic at x_hat is x_hat itself
    expected = (x_hat.flatten(1).norm(dim=1) - 1).square().mean()
    assert close(gp, expected.item())


def test_dragan_perturbs_reals_by_a_fraction_of_their_std() -> None:
    critic = Recorder()
    real = torch.randn(8, 4)
    penalty = dragan_penalty(critic, real, perturb=0.5)
    (x_hat,) = critic.inputs
    offset = (x_hat - real) / (0.5 * real.std())
    assert bool(((offset >= 0) & (offset < 1)).all())
    assert close(penalty, (x_hat.norm(dim=1) - 1).square().mean().item())


def test_same_generator_seed_gives_the_same_penalty() -> None:
    real, fake = torch.randn(4, 3), torch.randn(4, 3)

    def gp(seed: int) -> float:
        g = torch.Generator().manual_seed(seed)
        return gradient_penalty(half_square, real, fake, generator=g).item()

    def dragan(seed: int) -> float:
        return dragan_penalty(
            half_square, real, generator=torch.Generator().manual_seed(seed)
        ).item()

    assert gp(1) == gp(1) != gp(2)
    assert dragan(1) == dragan(1) != dragan(2)


def test_one_sided_penalty_ignores_norms_below_center() -> None:
    critic = linear(T([0.3, 0.4]))  # ||w|| = 0.5 < 1
    assert gradient_penalty(critic, REAL, FAKE, one_sided=True).item() == 0.0
    assert close(gradient_penalty(critic, REAL, FAKE), 0.25)
    steep = linear(T([3.0, 4.0]))  # above the center both variants agree
    assert close(gradient_penalty(steep, REAL, FAKE, one_sided=True), 16.0)
    assert GradientPenalty(one_sided=True).penalty(critic, REAL, FAKE).item() == 0.0


def test_packed_critic_norms_are_taken_over_each_pack() -> None:
    w = T([1.0, 0.0, 0.0, 0.0, 2.0, 2.0])  # ||w|| = 3; per-sample halves have norms 1 and 2√2

    def packed(x: Tensor) -> Tensor:  # (B, 3) -> (B/2, 6) -> B/2 logits
        return x.reshape(-1, 6) @ w

    real, fake = torch.randn(4, 3), torch.randn(4, 3)
    assert close(gradient_penalty(packed, real, fake), (3 - 1) ** 2)
    assert close(r1_penalty(packed, real), 9.0)
    assert close(dragan_penalty(packed, real), 4.0)
    with pytest.raises(ValueError, match="multiple of the number of logits"):
        r1_penalty(lambda x: x[:3, 0], real)  # 3 logits cannot split 4 samples into packs


def test_penalties_backpropagate_into_critic_parameters() -> None:
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1), nn.Flatten(0))
    real, fake = torch.randn(4, 3), torch.randn(4, 3)
    for regularizer in (GradientPenalty(), R1(), R2(), DRAGAN()):
        critic.zero_grad()
        regularizer.penalty(critic, real, fake).backward()
        grad = critic[0].weight.grad
        assert grad is not None and grad.abs().sum() > 0, regularizer


def test_double_backward_closed_form_for_a_linear_critic() -> None:
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    layer = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(W[None])
    gradient_penalty(lambda x: layer(x).squeeze(1), REAL, FAKE).backward()
    assert layer.weight.grad is not None
    torch.testing.assert_close(layer.weight.grad[0], 2 * (5 - 1) * W / 5)


def test_penalties_work_under_no_grad() -> None:
    with torch.no_grad():
        assert close(r1_penalty(linear(W), REAL), 25.0)


def test_critic_independent_of_its_input_has_zero_gradient() -> None:
    b = nn.Parameter(torch.ones(()))
    assert r1_penalty(lambda x: b.expand(x.shape[0]), REAL).item() == 0.0


def test_lazy_regularization_is_due_every_k_steps_and_scaled() -> None:
    lazy, eager = R1(gamma=10.0, every=4), R1(gamma=10.0)
    assert [lazy.due(step) for step in range(9)] == [True, False, False, False] * 2 + [True]
    assert all(eager.due(step) for step in range(5))
    critic = linear(W)
    assert close(lazy.penalty(critic, REAL, FAKE), 4 * eager.penalty(critic, REAL, FAKE).item())
    lazy_gp = GradientPenalty(every=3).penalty(critic, REAL, FAKE)
    assert close(lazy_gp, 3 * GradientPenalty().penalty(critic, REAL, FAKE).item())


def test_weight_clipping_clamps_after_each_step() -> None:
    torch.manual_seed(0)
    d = nn.Linear(4, 4)
    with torch.no_grad():
        d.weight.mul_(100)
    before = d.weight.detach().clone()
    clipping = WeightClipping(clip=0.05)
    assert not clipping.is_penalty and GradientPenalty().is_penalty
    assert clipping.penalty(linear(W), REAL, FAKE).item() == 0.0
    clipping.after_step(d)
    assert all(bool((p.abs() <= 0.05).all()) for p in d.parameters())  # float32 bound
    torch.testing.assert_close(d.weight, before.clamp(-0.05, 0.05))
    weight_clip_(d.parameters(), 0.01)
    assert bool((d.weight.abs() <= 0.01).all())


def test_default_penalty_and_hooks_of_the_base_class() -> None:
    class Nothing(Regularizer):
        name = "nothing"

    nothing = Nothing()
    assert nothing.penalty(linear(W), REAL, FAKE).item() == 0.0
    nothing.after_step(nn.Linear(1, 1))
    assert nothing.is_penalty and nothing.due(0)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: GradientPenalty(weight=-1.0), "weight must be >= 0"),
        (lambda: GradientPenalty(center=-1.0), "center"),
        (lambda: GradientPenalty(every=0), "every must be an integer >= 1"),
        (lambda: R1(gamma=-1.0), "R1.gamma must be >= 0"),
        (lambda: R2(every=0), "every"),
        (lambda: DRAGAN(weight=-0.1), "weight"),
        (lambda: DRAGAN(perturb=-0.1), "perturb"),
        (lambda: WeightClipping(clip=0.0), "clip must be > 0"),
        (lambda: weight_clip_([], -1.0), "must be positive"),
        (lambda: gradient_penalty(linear(W), REAL, FAKE[:3]), "same shape"),
        (lambda: dragan_penalty(linear(T([1.0])), T([[1.0]])), "at least 2 elements"),
    ],
)
def test_argument_validation(build, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build()


def test_regularizers_are_frozen_hydra_nodes() -> None:
    gp = instantiate({"_target_": "ganlab.losses.GradientPenalty", "weight": 5.0, "every": 2})
    assert gp == GradientPenalty(weight=5.0, every=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        gp.weight = 1.0  # type: ignore[misc]
    assert not isinstance(R2(), R1)
