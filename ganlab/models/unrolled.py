"""Unrolled discriminators (Metz et al. 2017, "Unrolled Generative Adversarial Networks").

The generator's loss is measured against a *copy* of the discriminator advanced ``k`` optimizer
steps ahead. Differentiating through those steps (second order) lets G anticipate how D would
react to it, which discourages mode hopping. The real discriminator's parameters and optimizer
state are never touched: the copy lives in a dict of tensors, driven by
``torch.func.functional_call(discriminator, params, (x,))``, and its optimizer is a purely
functional (out-of-place, differentiable) re-implementation of D's optimizer that starts from a
clone of D's optimizer state.

- :class:`FunctionalOptimizer` — out-of-place SGD / Adam / AdamW / RMSprop steps on a dict of
  named tensors, matching ``torch.optim`` numerically;
- :func:`unroll` — ``k`` steps of a loss on a parameter dict, first or second order;
- :func:`unrolled_parameters` — the same, starting from a module and its optimizer;
- :class:`Unroll` — the settings :class:`~ganlab.models.GAN` reads (``model/unroll``).

>>> w = nn.Parameter(torch.tensor([1.0]))
>>> sgd = torch.optim.SGD([w], lr=0.25)
>>> opt = FunctionalOptimizer.from_optimizer(sgd, {"w": w})
>>> unrolled = unroll(lambda p: (p["w"] ** 2).sum(), {"w": w}, opt, steps=2, create_graph=True)
>>> unrolled["w"].tolist()  # each step halves w
[0.25]
>>> torch.autograd.grad(unrolled["w"].sum(), w)[0].tolist()  # second order: dw_2/dw_0
[0.25]
>>> w.tolist()  # the real parameter is untouched
[1.0]

Buffers: ``functional_call`` with a parameter dict alone runs the module with its *own* buffers,
so a discriminator with BatchNorm in train mode updates its running statistics on every unrolled
step. Avoid BatchNorm in an unrolled D (the usual choice for GAN discriminators anyway), or accept
that the unrolled passes move those statistics; this module does not manage buffers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

__all__ = ["FunctionalOptimizer", "Unroll", "unroll", "unrolled_parameters"]

# Exact classes only: a subclass may override ``step`` with a rule we would silently mismatch.
_SUPPORTED: dict[type[Optimizer], str] = {
    torch.optim.SGD: "sgd",
    torch.optim.Adam: "adam",
    torch.optim.AdamW: "adam",
    torch.optim.RMSprop: "rmsprop",
}
_SUPPORTED_NAMES = "torch.optim.SGD, Adam (amsgrad=False), AdamW (amsgrad=False) and RMSprop"


@dataclass(frozen=True)
class _Hyper:
    """The hyperparameters of one parameter's group (only those its optimizer uses matter)."""

    lr: float
    weight_decay: float = 0.0
    momentum: float = 0.0  # SGD, RMSprop
    dampening: float = 0.0  # SGD
    nesterov: bool = False  # SGD
    beta1: float = 0.9  # Adam
    beta2: float = 0.999  # Adam
    eps: float = 1e-8  # Adam, RMSprop
    decoupled: bool = False  # Adam: AdamW-style weight decay
    alpha: float = 0.99  # RMSprop
    centered: bool = False  # RMSprop


def _number(optimizer: str, key: str, value: object) -> float:
    """A group hyperparameter as a Python float, refusing tensors (e.g. ``lr=torch.tensor(..)``)."""
    if isinstance(value, Tensor):
        raise NotImplementedError(
            f"{optimizer}: {key} given as a Tensor is not supported by FunctionalOptimizer; "
            f"build the optimizer with a Python number ({key}={value.item()!r})"
        )
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{optimizer}: expected a number for {key}, got {value!r}")
    return float(value)


def _hyper(optimizer: Optimizer, kind: str, group: Mapping[str, object]) -> _Hyper:
    """Read and validate one param_group of a supported optimizer."""
    name = type(optimizer).__name__
    if group.get("maximize", False):
        raise NotImplementedError(
            f"{name}(maximize=True) is not supported by FunctionalOptimizer; "
            "negate the loss instead and build the optimizer with maximize=False"
        )
    if group.get("amsgrad", False):
        raise NotImplementedError(
            f"{name}(amsgrad=True) is not supported by FunctionalOptimizer; "
            f"supported: {_SUPPORTED_NAMES}"
        )
    lr = _number(name, "lr", group["lr"])
    weight_decay = _number(name, "weight_decay", group.get("weight_decay", 0.0))
    if kind == "sgd":
        return _Hyper(
            lr=lr,
            weight_decay=weight_decay,
            momentum=_number(name, "momentum", group.get("momentum", 0.0)),
            dampening=_number(name, "dampening", group.get("dampening", 0.0)),
            nesterov=bool(group.get("nesterov", False)),
        )
    if kind == "adam":
        betas = group["betas"]
        assert isinstance(betas, (tuple, list)), f"{name}: betas must be a pair, got {betas!r}"
        decoupled = type(optimizer) is torch.optim.AdamW or group.get("decoupled_weight_decay")
        return _Hyper(
            lr=lr,
            weight_decay=weight_decay,
            beta1=_number(name, "betas[0]", betas[0]),
            beta2=_number(name, "betas[1]", betas[1]),
            eps=_number(name, "eps", group["eps"]),
            decoupled=bool(decoupled),
        )
    return _Hyper(  # rmsprop
        lr=lr,
        weight_decay=weight_decay,
        momentum=_number(name, "momentum", group.get("momentum", 0.0)),
        eps=_number(name, "eps", group["eps"]),
        alpha=_number(name, "alpha", group["alpha"]),
        centered=bool(group.get("centered", False)),
    )


def _sqrt(x: Tensor) -> Tensor:
    """``x.sqrt()`` whose gradient is 0 (not inf, hence NaN) where ``x <= 0``.

    A coordinate whose gradient is exactly zero (a dead unit) has a zero second moment; plain
    ``sqrt`` would turn the second-order backward pass into NaN there. Forward values are
    bit-identical to ``sqrt`` for ``x >= 0``.
    """
    positive = x > 0
    return torch.where(positive, torch.where(positive, x, 1.0).sqrt(), 0.0)


def _zeros_if_missing(state: dict[str, Tensor], key: str, like: Tensor) -> Tensor:
    """``state[key]``, or zeros shaped like ``like`` before the optimizer's first step."""
    value = state.get(key)
    return torch.zeros_like(like) if value is None else value


def _unwrap(optimizer: Optimizer) -> Optimizer:
    """The optimizer inside wrappers that expose it as ``.optimizer`` (e.g. LightningOptimizer)."""
    while isinstance(getattr(optimizer, "optimizer", None), Optimizer):
        optimizer = optimizer.optimizer  # type: ignore[attr-defined]
    return optimizer


class FunctionalOptimizer:
    """An out-of-place, differentiable copy of a ``torch.optim`` optimizer's update rule.

    Built with :meth:`from_optimizer`, it holds each named parameter's hyperparameters and a
    detached clone of its optimizer state; :meth:`step` returns new parameter tensors and
    advances only that private state. One instance describes one unroll: build a fresh one from
    the live optimizer each time (its state advances with every :meth:`step`).

    Parameters the optimizer does not own stay unchanged, as they would under the real
    optimizer. Supported: ``torch.optim.SGD``, ``Adam`` and ``AdamW`` (``amsgrad=False``) and
    ``RMSprop``, with Python-number hyperparameters and ``maximize=False``.
    """

    def __init__(
        self,
        kind: str,  # "sgd", "adam" or "rmsprop"
        hyper: dict[str, _Hyper],  # by parameter name; names absent here stay unchanged
        state: dict[str, dict[str, Tensor]],  # cloned per-parameter state tensors, by name
        steps: dict[str, int],  # optimizer steps already taken per parameter (Adam, RMSprop)
        names: frozenset[str],  # every name step() may be given
    ) -> None:
        assert kind in {"sgd", "adam", "rmsprop"}, f"unknown optimizer kind {kind!r}"
        self.kind = kind
        self.hyper = hyper
        self.state = state
        self.steps = steps
        self.names = names

    @classmethod
    def from_optimizer(
        cls,
        optimizer: Optimizer,  # the live optimizer; only read, never modified
        named_parameters: Mapping[str, Tensor],  # name -> the parameter object it optimizes
    ) -> FunctionalOptimizer:
        """Copy ``optimizer``'s hyperparameters and (detached, cloned) state, keyed by name."""
        optimizer = _unwrap(optimizer)
        kind = _SUPPORTED.get(type(optimizer))
        if kind is None:
            raise NotImplementedError(
                f"FunctionalOptimizer cannot unroll {type(optimizer).__module__}."
                f"{type(optimizer).__qualname__}; supported (exact classes): {_SUPPORTED_NAMES}"
            )
        groups = {
            id(p): group for group in optimizer.param_groups for p in group["params"]
        }  # identity, not equality: parameters are tensors
        hyper: dict[str, _Hyper] = {}
        state: dict[str, dict[str, Tensor]] = {}
        steps: dict[str, int] = {}
        for name, param in named_parameters.items():
            group = groups.get(id(param))
            if group is None:
                continue  # not this optimizer's: it never moves
            hyper[name] = _hyper(optimizer, kind, group)
            # .get, not [...]: optimizer.state is a defaultdict and must not grow an entry.
            live = optimizer.state.get(param, {})
            state[name] = {
                key: value.detach().clone()
                for key, value in live.items()
                if key != "step" and isinstance(value, Tensor)
            }
            step = live.get("step", 0)
            steps[name] = int(step.item() if isinstance(step, Tensor) else step)
        return cls(kind, hyper, state, steps, frozenset(named_parameters))

    def step(
        self,
        params: Mapping[str, Tensor],  # current parameters by name
        grads: Mapping[str, Tensor | None],  # their gradients; None or missing: left unchanged
    ) -> dict[str, Tensor]:
        """New parameters after one optimizer step, computed out of place.

        When ``grads`` carry a graph (``create_graph=True``) the result is differentiable with
        respect to the parameters, the gradients and whatever they depend on.
        """
        unknown = set(params) - self.names
        if unknown:
            raise KeyError(
                f"parameters {sorted(unknown)} were not given to FunctionalOptimizer."
                "from_optimizer; pass every parameter step() will see in named_parameters"
            )
        update = {"sgd": self._sgd, "adam": self._adam, "rmsprop": self._rmsprop}[self.kind]
        new = dict(params)
        for name, param in params.items():
            grad = grads.get(name)
            if grad is None or name not in self.hyper:
                continue  # like torch: no gradient (or not owned), no step and no state change
            new[name] = update(name, param, grad, self.hyper[name])
        return new

    def _sgd(self, name: str, param: Tensor, grad: Tensor, h: _Hyper) -> Tensor:
        if h.weight_decay != 0:
            grad = grad.add(param, alpha=h.weight_decay)
        if h.momentum != 0:
            buf = self.state[name].get("momentum_buffer")
            # torch seeds the buffer with a detached copy; keeping the graph is the exact
            # derivative of the same values.
            buf = grad if buf is None else buf.mul(h.momentum).add(grad, alpha=1 - h.dampening)
            self.state[name]["momentum_buffer"] = buf
            grad = grad.add(buf, alpha=h.momentum) if h.nesterov else buf
        return param.add(grad, alpha=-h.lr)

    def _adam(self, name: str, param: Tensor, grad: Tensor, h: _Hyper) -> Tensor:
        state = self.state[name]
        step = self.steps[name] = self.steps[name] + 1
        if h.weight_decay != 0:
            if h.decoupled:
                param = param.mul(1 - h.lr * h.weight_decay)
            else:
                grad = grad.add(param, alpha=h.weight_decay)
        exp_avg = _zeros_if_missing(state, "exp_avg", param).lerp(grad, 1 - h.beta1)
        exp_avg_sq = _zeros_if_missing(state, "exp_avg_sq", param)
        exp_avg_sq = exp_avg_sq.mul(h.beta2).addcmul(grad, grad, value=1 - h.beta2)
        state["exp_avg"], state["exp_avg_sq"] = exp_avg, exp_avg_sq
        # Bias corrections in Python floats, exactly as torch's (non-capturable) Adam.
        step_size = h.lr / (1 - h.beta1**step)
        bias_correction2_sqrt = (1 - h.beta2**step) ** 0.5
        denom = (_sqrt(exp_avg_sq) / bias_correction2_sqrt).add(h.eps)
        return param.addcdiv(exp_avg, denom, value=-step_size)

    def _rmsprop(self, name: str, param: Tensor, grad: Tensor, h: _Hyper) -> Tensor:
        state = self.state[name]
        self.steps[name] += 1
        if h.weight_decay != 0:
            grad = grad.add(param, alpha=h.weight_decay)
        square_avg = _zeros_if_missing(state, "square_avg", param)
        square_avg = square_avg.mul(h.alpha).addcmul(grad, grad, value=1 - h.alpha)
        state["square_avg"] = square_avg
        if h.centered:
            grad_avg = _zeros_if_missing(state, "grad_avg", param).lerp(grad, 1 - h.alpha)
            state["grad_avg"] = grad_avg
            avg = _sqrt(square_avg.addcmul(grad_avg, grad_avg, value=-1))
        else:
            avg = _sqrt(square_avg)
        avg = avg.add(h.eps)
        if h.momentum > 0:
            buf = _zeros_if_missing(state, "momentum_buffer", param)
            buf = state["momentum_buffer"] = buf.mul(h.momentum).addcdiv(grad, avg)
            return param.add(buf, alpha=-h.lr)
        return param.addcdiv(grad, avg, value=-h.lr)


def unroll(
    loss_fn: Callable[[dict[str, Tensor]], Tensor],  # scalar loss of a parameter dict
    params: Mapping[str, Tensor],  # the starting point (e.g. live parameters); never modified
    optimizer: FunctionalOptimizer,  # fresh from from_optimizer; its state advances
    steps: int,  # how many optimizer steps to look ahead (0: params unchanged)
    create_graph: bool,  # True: second order, differentiable through the updates
) -> dict[str, Tensor]:
    """The parameters after ``steps`` optimizer steps on ``loss_fn``, computed out of place.

    Each step is ``grads = d loss_fn(params) / d params`` then ``params = optimizer.step(...)``.

    Second order (``create_graph=True``): the result is a differentiable function of the
    starting parameters and of anything ``loss_fn`` depends on (e.g. a generator's output),
    so a loss evaluated with the unrolled parameters back-propagates through every update.
    If the starting parameters are live, that backward pass also reaches them and fills their
    ``.grad``: zero D's gradients before D's own step (``zero_grad`` does), or start from
    ``p.detach().requires_grad_()``.

    First order (``create_graph=False``): every update is detached, so gradients flow into the
    unrolled parameters' *values* but not through how they were reached. ``loss_fn`` should then
    use detached inputs; its graph is freed after each gradient.

    Starting parameters that do not require grad are replaced by detached leaves that do, so the
    steps can differentiate with respect to them; parameters whose gradient is None (unused by
    the loss) stay unchanged.
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0 (how many optimizer steps to unroll), got {steps}")
    if steps == 0:
        return dict(params)
    names = list(params)
    current = {
        name: p if create_graph and p.requires_grad else p.detach().requires_grad_(True)
        for name, p in params.items()
    }
    for _ in range(steps):
        loss = loss_fn(current)
        if not loss.requires_grad:
            raise ValueError(
                "loss_fn's result does not depend on the parameters it was given; evaluate the "
                "network with them, e.g. torch.func.functional_call(module, params, (x,))"
            )
        grads = torch.autograd.grad(
            loss, [current[n] for n in names], create_graph=create_graph, allow_unused=True
        )
        if create_graph:
            current = optimizer.step(current, dict(zip(names, grads, strict=True)))
        else:
            with torch.no_grad():
                stepped = optimizer.step(current, dict(zip(names, grads, strict=True)))
            current = {name: p.detach().requires_grad_(True) for name, p in stepped.items()}
    return current


def unrolled_parameters(
    module: nn.Module,  # e.g. the discriminator; its parameters are never modified
    optimizer: Optimizer,  # the module's live optimizer; only read, its state is cloned
    loss_fn: Callable[[dict[str, Tensor]], Tensor],  # scalar loss of a parameter dict
    steps: int,  # how many optimizer steps to look ahead
    create_graph: bool = True,  # second order: differentiable through the updates
) -> dict[str, Tensor]:
    """The parameters of ``module`` that ``optimizer`` trains, after ``steps`` steps of it on
    ``loss_fn``.

    Starts from the live parameters (not detached where they require grad, so a second-order
    result also depends on them; inside ``LightningModule.toggled_optimizer`` of another
    optimizer they do not, and start as detached leaves) and a clone of ``optimizer``'s state;
    see :func:`unroll`. Evaluate the unrolled
    module with ``torch.func.functional_call(module, params, (x,))``; frozen parameters and
    buffers are then the module's own (mind BatchNorm, see the module docstring).

    >>> d = nn.Linear(2, 1)
    >>> sgd = torch.optim.SGD(d.parameters(), lr=0.1)
    >>> x = torch.ones(4, 2)
    >>> def loss(p: dict[str, Tensor]) -> Tensor:
    ...     return torch.func.functional_call(d, p, (x,)).pow(2).mean()
    >>> params = unrolled_parameters(d, sgd, loss, steps=3)
    >>> sorted(params), params["weight"].requires_grad, sgd.state_dict()["state"]
    (['bias', 'weight'], True, {})
    """
    owned = {id(p) for group in _unwrap(optimizer).param_groups for p in group["params"]}
    params = {name: p for name, p in module.named_parameters() if id(p) in owned}
    functional = FunctionalOptimizer.from_optimizer(optimizer, params)
    return unroll(loss_fn, params, functional, steps, create_graph)


@dataclass(frozen=True)
class Unroll:
    """G's loss sees D ``steps`` optimizer steps ahead (``model/unroll=second_order``)."""

    steps: int = 5  # Metz et al. use 5 to 10 on mixtures
    second_order: bool = True  # differentiate through the unrolled D steps (the paper's choice)

    def __post_init__(self) -> None:
        assert self.steps >= 1, (
            f"unroll.steps is how many D steps G looks ahead: >= 1, got {self.steps} "
            "(model.unroll=null trains without unrolling)"
        )

    def parameters(
        self,
        discriminator: nn.Module,
        optimizer: Optimizer,  # D's live optimizer; only read
        loss_fn: Callable[[dict[str, Tensor]], Tensor],  # D's loss of a parameter dict
    ) -> dict[str, Tensor]:
        """D's parameters after :attr:`steps` steps (see :func:`unrolled_parameters`)."""
        return unrolled_parameters(discriminator, optimizer, loss_fn, self.steps, self.second_order)
