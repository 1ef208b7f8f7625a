"""Discriminator regularizers as pure functions of a critic and tensors.

A *critic* maps a batch of D inputs ``(B, *shape)`` to logits. It may output fewer logits than
samples: with PacGAN packing, consecutive groups of ``m`` samples form one logit's input, so it
returns ``B/m`` logits. Gradient norms are therefore taken per critic output: the input gradient
is reshaped to ``(num_logits, -1)`` and each row's L2 norm is one output's gradient norm (with
``m = 1`` that is the usual per-sample norm).

Input gradients are built with ``create_graph=True``: a penalty is a differentiable function of
D's parameters, and ``penalty.backward()`` (double backward) trains D to satisfy it.

The small frozen classes at the bottom bundle a penalty with its weight so a model can hold
named regularizers as swappable ``_target_`` nodes (``model/regularizer=gp``).

For a linear critic ``D(x) = <w, x>`` the input gradient is ``w`` for every sample:

>>> import torch
>>> w = torch.tensor([3.0, 4.0])  # ||w|| = 5
>>> critic = lambda x: x @ w
>>> real, fake = torch.randn(8, 2), torch.randn(8, 2)
>>> gradient_penalty(critic, real, fake).item()  # (||w|| - 1)^2
16.0
>>> r1_penalty(critic, real).item()  # ||w||^2
25.0
>>> R1(gamma=10.0).penalty(critic, real, fake).item()  # gamma/2 * ||w||^2
125.0
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Critic = Callable[[Tensor], Tensor]  # D inputs (B, *shape) -> logits, one per pack of samples


# ---------------------------------------------------------------------------- pure functions
def _per_logit_gradients(critic: Critic, x: Tensor) -> Tensor:
    """The gradient of the critic's logits w.r.t. ``x``, one flattened row per logit.

    ``x`` must be a leaf that requires grad. The graph is kept (``create_graph=True``) so
    functions of the result can be backpropagated into the critic's parameters.
    """
    with torch.enable_grad():  # penalties need input gradients even under no_grad
        logits = critic(x)
        n = logits.numel()
        if n == 0 or x.shape[0] % n != 0:
            raise ValueError(
                f"the critic returned {n} logits for a batch of {x.shape[0]} samples: it must "
                "return one logit per sample, or one per pack of m consecutive samples "
                "(PacGAN), so the batch size must be a multiple of the number of logits"
            )
        if not logits.requires_grad:
            raise ValueError(
                "the critic's output does not require grad: call the penalty outside "
                "torch.inference_mode, and make sure the critic uses its input"
            )
        (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True, allow_unused=True)
    if grad is None:  # the logits do not depend on x: the gradient is zero
        grad = torch.zeros_like(x)
    # Norms in at least float32: half-precision squares of large gradients overflow.
    return grad.reshape(n, -1).to(torch.promote_types(grad.dtype, torch.float32))


def _per_sample_uniform(
    like: Tensor, generator: torch.Generator | None, elementwise: bool = False
) -> Tensor:
    """U[0, 1) noise shaped like ``like``: one value per sample, or one per element."""
    shape = like.shape if elementwise else (like.shape[0],) + (1,) * (like.dim() - 1)
    device = generator.device if generator is not None else like.device
    noise = torch.rand(shape, generator=generator, device=device, dtype=like.dtype)
    return noise.to(like.device)


def _centered_penalty(norms: Tensor, center: float, one_sided: bool) -> Tensor:
    """mean((norm - center)^2), or mean(relu(norm - center)^2) when ``one_sided``."""
    excess = norms - center
    return (F.relu(excess) if one_sided else excess).square().mean()


def gradient_penalty(
    critic: Critic,
    real: Tensor,
    fake: Tensor,
    center: float = 1.0,  # target gradient norm; 0 gives the zero-centered GP
    one_sided: bool = False,  # penalize only norms above `center` (Petzka et al. 2018)
    generator: torch.Generator | None = None,  # RNG of the interpolation weights
) -> Tensor:
    """WGAN-GP (Gulrajani et al. 2017): ``E[(||grad D(x_hat)|| - center)^2]``.

    ``x_hat = eps * real + (1 - eps) * fake`` with one ``eps ~ U[0, 1)`` per sample; fakes are
    detached. ``center = 0`` is the zero-centered penalty of Thanh-Tung et al. (2019);
    ``one_sided`` penalizes ``relu(||g|| - center)^2`` only (Petzka et al. 2018).
    """
    if real.shape != fake.shape:
        raise ValueError(
            "gradient_penalty interpolates real and fake samples pairwise, so they need the same "
            f"shape; got real {tuple(real.shape)} and fake {tuple(fake.shape)} (pass equally "
            "many fakes as reals)"
        )
    real, fake = real.detach(), fake.detach()
    eps = _per_sample_uniform(real, generator)
    x_hat = (eps * real + (1.0 - eps) * fake).requires_grad_(True)
    norms = _per_logit_gradients(critic, x_hat).norm(dim=1)
    return _centered_penalty(norms, center, one_sided)


def r1_penalty(critic: Critic, real: Tensor) -> Tensor:
    """R1 (Mescheder et al. 2018): ``E||grad D(x)||^2`` on real data, without ``gamma/2``."""
    x = real.detach().requires_grad_(True)
    return _per_logit_gradients(critic, x).square().sum(dim=1).mean()


def r2_penalty(critic: Critic, fake: Tensor) -> Tensor:
    """R2 (Mescheder et al. 2018): ``E||grad D(G(z))||^2`` on (detached) fakes."""
    return r1_penalty(critic, fake)


def dragan_penalty(
    critic: Critic,
    real: Tensor,
    perturb: float = 0.5,  # noise scale, in units of the standard deviation of `real`
    center: float = 1.0,  # target gradient norm
    generator: torch.Generator | None = None,  # RNG of the noise and interpolation weights
) -> Tensor:
    """DRAGAN (Kodali et al. 2017): a gradient penalty around the real data.

    ``x_p = real + perturb * std(real) * u`` with elementwise ``u ~ U[0, 1)``; the penalty
    ``E[(||grad D(x_hat)|| - center)^2]`` is taken at ``x_hat = real + eps * (x_p - real)`` with
    one ``eps ~ U[0, 1)`` per sample.
    """
    if real.numel() < 2:
        raise ValueError(
            "dragan_penalty scales its noise by the standard deviation of the real batch, "
            f"which needs at least 2 elements; got real of shape {tuple(real.shape)}"
        )
    real = real.detach()
    noise = perturb * real.std() * _per_sample_uniform(real, generator, elementwise=True)
    eps = _per_sample_uniform(real, generator)
    x_hat = (real + eps * noise).requires_grad_(True)
    norms = _per_logit_gradients(critic, x_hat).norm(dim=1)
    return _centered_penalty(norms, center, one_sided=False)


def weight_clip_(parameters: Iterable[Tensor], clip: float) -> None:
    """Clamp every parameter in place to ``[-clip, clip]`` (WGAN, Arjovsky et al. 2017).

    >>> layer = torch.nn.Linear(2, 2)
    >>> weight_clip_(layer.parameters(), 0.01)
    >>> bool(layer.weight.abs().max() <= 0.01)
    True
    """
    if not clip > 0:
        raise ValueError(f"the clipping bound must be positive, got clip={clip}")
    with torch.no_grad():
        for p in parameters:
            p.clamp_(-clip, clip)


# ------------------------------------------------------------------------- swappable nodes
def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


class Regularizer:
    """A named D regularizer: a penalty added to D's loss and/or a hook after D's step.

    ``name`` is the logging key. ``every > 1`` is lazy regularization (Karras et al. 2020,
    StyleGAN2): the caller computes the penalty only on D steps where :meth:`due` is true, and
    :meth:`penalty` is multiplied by ``every`` so the average strength is unchanged.
    Regularizers that are not penalties set :attr:`is_penalty` to ``False``; callers may then
    skip :meth:`penalty`, which returns zero.
    """

    name: ClassVar[str]  # logging key, e.g. "gp"
    # its penalty needs each sample's critic value to depend on that sample alone (no
    # BatchNorm in D: ganlab.validation.check_model)
    per_sample_critic: ClassVar[bool] = False
    every: int = 1  # compute the penalty every `every` D steps, scaled by `every`

    def __post_init__(self) -> None:
        _check(
            isinstance(self.every, int) and self.every >= 1,
            f"{type(self).__name__}.every must be an integer >= 1 (1 = every D step), "
            f"got {self.every!r}",
        )

    @property
    def is_penalty(self) -> bool:
        """Whether :meth:`penalty` contributes to D's loss (``False``: skip computing it)."""
        return True

    def due(self, d_step: int) -> bool:
        """Whether the penalty is computed on D step ``d_step`` (counted from 0)."""
        return d_step % self.every == 0

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor) -> Tensor:
        """The weighted penalty to add to D's loss (already scaled by ``every``)."""
        return torch.zeros((), device=real.device)

    def after_step(self, discriminator: nn.Module) -> None:
        """Called after each D optimizer step (e.g. to clip D's weights)."""


@dataclass(frozen=True)
class GradientPenalty(Regularizer):
    """``weight * gradient_penalty``: WGAN-GP, zero-centered (``center=0``) or one-sided."""

    name: ClassVar[str] = "gp"
    per_sample_critic: ClassVar[bool] = True  # gradients at interpolates
    weight: float = 10.0  # lambda of Gulrajani et al.
    center: float = 1.0  # target gradient norm; 0 gives the zero-centered GP
    one_sided: bool = False  # penalize only norms above `center`
    every: int = 1  # lazy regularization interval

    def __post_init__(self) -> None:
        super().__post_init__()
        _check(self.weight >= 0, f"GradientPenalty.weight must be >= 0, got {self.weight}")
        _check(self.center >= 0, f"GradientPenalty.center (a norm) must be >= 0, got {self.center}")

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor) -> Tensor:
        gp = gradient_penalty(critic, real, fake, self.center, self.one_sided)
        return self.every * self.weight * gp


@dataclass(frozen=True)
class _GammaPenalty(Regularizer):
    """Shared fields and checks of R1 and R2."""

    gamma: float = 10.0  # penalty strength; the loss term is gamma/2 * E||grad||^2
    every: int = 1  # lazy regularization interval (StyleGAN2 uses 16)

    def __post_init__(self) -> None:
        super().__post_init__()
        _check(self.gamma >= 0, f"{type(self).__name__}.gamma must be >= 0, got {self.gamma}")


@dataclass(frozen=True)
class R1(_GammaPenalty):
    """``gamma / 2 * r1_penalty`` on real data (Mescheder et al. 2018)."""

    name: ClassVar[str] = "r1"

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor) -> Tensor:
        return self.every * self.gamma / 2 * r1_penalty(critic, real)


@dataclass(frozen=True)
class R2(_GammaPenalty):
    """``gamma / 2 * r2_penalty`` on generated data (Mescheder et al. 2018)."""

    name: ClassVar[str] = "r2"

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor) -> Tensor:
        return self.every * self.gamma / 2 * r2_penalty(critic, fake)


@dataclass(frozen=True)
class DRAGAN(Regularizer):
    """``weight * dragan_penalty`` around the real data (Kodali et al. 2017)."""

    name: ClassVar[str] = "dragan"
    per_sample_critic: ClassVar[bool] = True  # gradients at perturbed reals
    weight: float = 10.0  # penalty strength
    perturb: float = 0.5  # noise scale, in standard deviations of the real batch
    every: int = 1  # lazy regularization interval

    def __post_init__(self) -> None:
        super().__post_init__()
        _check(self.weight >= 0, f"DRAGAN.weight must be >= 0, got {self.weight}")
        _check(self.perturb >= 0, f"DRAGAN.perturb must be >= 0, got {self.perturb}")

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor) -> Tensor:
        return self.every * self.weight * dragan_penalty(critic, real, self.perturb)


@dataclass(frozen=True)
class WeightClipping(Regularizer):
    """Clamp D's parameters to ``[-clip, clip]`` after each D step (WGAN); no penalty."""

    name: ClassVar[str] = "clip"
    clip: float = 0.01  # bound on the absolute value of every D parameter

    def __post_init__(self) -> None:
        super().__post_init__()
        _check(self.clip > 0, f"WeightClipping.clip must be > 0, got {self.clip}")

    @property
    def is_penalty(self) -> bool:
        return False

    def after_step(self, discriminator: nn.Module) -> None:
        weight_clip_(discriminator.parameters(), self.clip)
