from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call
from torch.optim import Optimizer

from ganlab.models.unrolled import FunctionalOptimizer, unroll, unrolled_parameters

OptimizerFactory = Callable[[Iterable[nn.Parameter]], Optimizer]

OPTIMIZERS: dict[str, OptimizerFactory] = {
    "sgd-nesterov": lambda p: torch.optim.SGD(
        p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01
    ),
    "sgd-dampening": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.5, dampening=0.3),
    "sgd-plain": lambda p: torch.optim.SGD(p, lr=0.1),
    "adam": lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.5, 0.99), weight_decay=0.01),
    "adamw": lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1),
    "rmsprop-centered": lambda p: torch.optim.RMSprop(
        p, lr=0.01, alpha=0.9, centered=True, momentum=0.9, weight_decay=0.01
    ),
    "rmsprop-plain": lambda p: torch.optim.RMSprop(p, lr=0.01),
}


def tiny_net(seed: int = 0, dtype: torch.dtype = torch.float32) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).to(dtype)


def batches(n: int, seed: int = 1, dtype: torch.dtype = torch.float32) -> list[Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(8, 3, generator=generator, dtype=dtype) for _ in range(n)]


def objective(net: nn.Module, params: dict[str, Tensor], x: Tensor) -> Tensor:
    out = functional_call(net, params, (x,))
    return F.softplus(-out).mean() + 0.1 * out.pow(2).mean()


def real_steps(net: nn.Module, opt: Optimizer, data: list[Tensor]) -> None:
    for x in data:
        opt.zero_grad()
        objective(net, dict(net.named_parameters()), x).backward()
        opt.step()


def sub(params: dict[str, Tensor], prefix: str) -> dict[str, Tensor]:
    """The parameters of submodule ``prefix``, named as inside it."""
    return {k.removeprefix(f"{prefix}."): v for k, v in params.items() if k.startswith(prefix)}


def assert_identical(a: Any, b: Any) -> None:
    """Recursive bit-identity of (nested) state dicts."""
    if isinstance(a, Tensor):
        assert isinstance(b, Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys()
        for key in a:
            assert_identical(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_identical(x, y)
    else:
        assert a == b


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_functional_steps_match_torch_and_leave_the_real_optimizer_alone(
    name: str, create_graph: bool
) -> None:
    factory = OPTIMIZERS[name]
    a = tiny_net()
    opt_a = factory(a.parameters())
    warmup, ahead = batches(2, seed=1), batches(3, seed=2)
    real_steps(a, opt_a, warmup)

    b = copy.deepcopy(a)
    opt_b = factory(b.parameters())
    opt_b.load_state_dict(copy.deepcopy(opt_a.state_dict()))  # no aliasing of state tensors

    params_before = {k: v.detach().clone() for k, v in a.named_parameters()}
    grads_before = {k: v.grad.clone() for k, v in a.named_parameters() if v.grad is not None}
    state_before = copy.deepcopy(opt_a.state_dict())

    functional = FunctionalOptimizer.from_optimizer(opt_a, dict(a.named_parameters()))
    data = iter(ahead)
    unrolled = unroll(
        lambda p: objective(a, p, next(data)),
        dict(a.named_parameters()),
        functional,
        steps=3,
        create_graph=create_graph,
    )
    real_steps(b, opt_b, ahead)

    for key, param in b.named_parameters():
        torch.testing.assert_close(unrolled[key].detach(), param.detach(), atol=1e-6, rtol=0)
        # the private state advanced exactly like the real one
        real_state = opt_b.state[param]
        for state_key, value in functional.state[key].items():
            torch.testing.assert_close(value.detach(), real_state[state_key], atol=1e-6, rtol=0)
        if "step" in real_state:
            assert functional.steps[key] == int(real_state["step"]) == 5

    for key, param in a.named_parameters():  # A is bit-identical: parameters, grads, state
        assert torch.equal(param, params_before[key])
        assert param.grad is not None and torch.equal(param.grad, grads_before[key])
    assert_identical(opt_a.state_dict(), state_before)


def test_unused_and_unowned_parameters_stay_put() -> None:
    layers = {"body": nn.Linear(3, 1), "unused": nn.Linear(3, 1), "mine": nn.Linear(1, 1)}
    net = nn.ModuleDict(layers)
    opt = torch.optim.Adam([*net["body"].parameters(), *net["unused"].parameters()], lr=0.1)
    x = torch.randn(4, 3)

    def loss(p: dict[str, Tensor]) -> Tensor:
        body = functional_call(layers["body"], sub(p, "body"), (x,))
        return functional_call(layers["mine"], sub(p, "mine"), (body,)).mean()

    named = dict(net.named_parameters())
    functional = FunctionalOptimizer.from_optimizer(opt, named)
    out = unroll(loss, named, functional, steps=2, create_graph=False)
    for key in named:
        moved = not torch.equal(out[key], named[key])
        assert moved == key.startswith("body"), key  # "mine" is not opt's; "unused" has no grad
    assert functional.steps["body.weight"] == 2 and functional.steps["unused.weight"] == 0
    assert "exp_avg" not in functional.state["unused.weight"]
    assert not opt.state  # the real optimizer's (default)dict did not grow entries


def test_unrolled_parameters_are_the_optimizers_and_zero_steps_is_identity() -> None:
    net = tiny_net()
    net[0].bias.requires_grad_(False)  # frozen: left out of the optimizer
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.1)
    x = batches(1)[0]
    out = unrolled_parameters(net, opt, lambda p: objective(net, p, x), steps=2)
    assert set(out) == {"0.weight", "2.weight", "2.bias"}
    assert all(v.grad_fn is not None for v in out.values())  # second order by default
    same = unrolled_parameters(net, opt, lambda p: objective(net, p, x), steps=0)
    assert all(same[k] is p for k, p in net.named_parameters() if p.requires_grad)
    with pytest.raises(ValueError, match="steps must be >= 0"):
        unrolled_parameters(net, opt, lambda p: objective(net, p, x), steps=-1)


@pytest.mark.parametrize("name", ["sgd-nesterov", "adam", "rmsprop-centered"])
def test_second_order_gradient_matches_finite_differences(name: str) -> None:
    dtype = torch.float64
    d = tiny_net(seed=3, dtype=dtype)
    opt = OPTIMIZERS[name](d.parameters())
    real_steps(d, opt, batches(2, seed=4, dtype=dtype))
    real = batches(1, seed=5, dtype=dtype)[0]
    g_out = torch.randn(4, 3, dtype=dtype, generator=torch.Generator().manual_seed(6))

    def g_loss(g: Tensor, create_graph: bool) -> Tensor:
        """G's loss against D unrolled 2 steps on a D loss that sees ``g``."""

        def d_loss(p: dict[str, Tensor]) -> Tensor:
            real_logits, fake_logits = functional_call(d, p, (real,)), functional_call(d, p, (g,))
            return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()

        functional = FunctionalOptimizer.from_optimizer(opt, dict(d.named_parameters()))
        start = {k: v.detach().requires_grad_() for k, v in d.named_parameters()}
        params = unroll(d_loss, start, functional, steps=2, create_graph=create_graph)
        return F.softplus(-functional_call(d, params, (g,))).mean()

    g = g_out.clone().requires_grad_()
    second = torch.autograd.grad(g_loss(g, create_graph=True), g)[0]
    g = g_out.clone().requires_grad_()
    first = torch.autograd.grad(g_loss(g, create_graph=False), g)[0]

    h = 1e-6
    numeric = torch.zeros_like(g_out)
    for i in range(g_out.numel()):
        delta = torch.zeros_like(g_out).view(-1)
        delta[i] = h
        delta = delta.view_as(g_out)
        plus = g_loss(g_out + delta, create_graph=False).item()
        minus = g_loss(g_out - delta, create_graph=False).item()
        numeric.view(-1)[i] = (plus - minus) / (2 * h)

    torch.testing.assert_close(second, numeric, atol=1e-7, rtol=1e-5)
    assert (second - first).abs().max() > 1e-4  # G feels D's reaction only second order


def test_zero_gradient_coordinates_do_not_produce_nan_second_order() -> None:
    w = nn.Parameter(torch.tensor([1.0, 2.0]))
    adam = torch.optim.Adam([w], lr=0.1)
    g = torch.tensor(3.0, requires_grad=True)
    functional = FunctionalOptimizer.from_optimizer(adam, {"w": w})
    out = unroll(lambda p: p["w"][0] * g, {"w": w}, functional, steps=2, create_graph=True)
    assert out["w"][1].item() == 2.0  # zero gradient, zero second moment: no move
    grad = torch.autograd.grad(out["w"].sum() * g, g)[0]
    assert torch.isfinite(grad)


class Wrapper:
    """Stands in for Lightning's LightningOptimizer, which exposes ``.optimizer``."""

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer


def test_wrapped_optimizers_are_unwrapped() -> None:
    w = nn.Parameter(torch.ones(2))
    sgd = torch.optim.SGD([w], lr=0.5)
    functional = FunctionalOptimizer.from_optimizer(Wrapper(sgd), {"w": w})  # type: ignore[arg-type]
    assert functional.kind == "sgd" and functional.hyper["w"].lr == 0.5


class MySGD(torch.optim.SGD):
    pass


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda p: torch.optim.Adagrad(p), "Adagrad.*supported"),
        (lambda p: MySGD(p, lr=0.1), "MySGD.*supported"),
        (lambda p: torch.optim.Adam(p, amsgrad=True), "amsgrad"),
        (lambda p: torch.optim.AdamW(p, amsgrad=True), "amsgrad"),
        (lambda p: torch.optim.SGD(p, lr=0.1, maximize=True), "maximize"),
        (lambda p: torch.optim.Adam(p, lr=torch.tensor(0.01)), "lr given as a Tensor"),
    ],
)
def test_unsupported_optimizers_and_options_raise(factory: OptimizerFactory, match: str) -> None:
    w = nn.Parameter(torch.ones(2))
    with pytest.raises(NotImplementedError, match=match):
        FunctionalOptimizer.from_optimizer(factory([w]), {"w": w})


def test_unknown_names_and_parameter_free_losses_raise() -> None:
    w = nn.Parameter(torch.ones(2))
    functional = FunctionalOptimizer.from_optimizer(torch.optim.SGD([w], lr=0.1), {"w": w})
    with pytest.raises(KeyError, match="named_parameters"):
        functional.step({"v": w}, {"v": torch.ones(2)})
    with pytest.raises(ValueError, match="functional_call"):
        unroll(lambda p: torch.zeros(()), {"w": w}, functional, steps=1, create_graph=False)
