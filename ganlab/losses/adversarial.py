"""Adversarial objectives as pure functions of discriminator logits.

Every objective is a pair: a discriminator loss of ``(real_logits, fake_logits)`` and a
generator loss of ``fake_logits``. Logits may have any shape; losses are means over all
elements. The small classes at the bottom bundle a pair (and its constants) so a model can
hold "the objective" as one swappable ``_target_`` node (``model/loss=hinge``).

>>> import torch
>>> r, f = torch.tensor([0.0]), torch.tensor([0.0])
>>> round(bce_discriminator_loss(r, f).item(), 4)  # 2 log 2: D cannot tell at logit 0
1.3863
>>> hinge_discriminator_loss(torch.tensor([2.0]), torch.tensor([-2.0])).item()
0.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch.nn.functional as F
from torch import Tensor


def bce_discriminator_loss(real: Tensor, fake: Tensor, real_target: float = 1.0) -> Tensor:
    """-E[t log D(x) + (1-t) log(1-D(x))] - E[log(1 - D(G(z)))] with D = sigmoid(logit).

    ``real_target`` < 1 is one-sided label smoothing (Salimans et al. 2016).
    """
    real_term = real_target * F.softplus(-real) + (1.0 - real_target) * F.softplus(real)
    return real_term.mean() + F.softplus(fake).mean()


def minimax_generator_loss(fake: Tensor) -> Tensor:
    """E[log(1 - D(G(z)))]: the saturating generator loss of the original minimax game."""
    return -F.softplus(fake).mean()


def nonsaturating_generator_loss(fake: Tensor) -> Tensor:
    """-E[log D(G(z))]: the non-saturating heuristic (Goodfellow et al. 2014, sec. 3)."""
    return F.softplus(-fake).mean()


def wasserstein_discriminator_loss(real: Tensor, fake: Tensor) -> Tensor:
    """E[f(G(z))] - E[f(x)]: the critic maximises the Kantorovich-Rubinstein dual."""
    return fake.mean() - real.mean()


def wasserstein_generator_loss(fake: Tensor) -> Tensor:
    """-E[f(G(z))]; also the generator loss of the hinge objective."""
    return -fake.mean()


def hinge_discriminator_loss(real: Tensor, fake: Tensor) -> Tensor:
    """E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))] (Lim & Ye 2017; Miyato et al. 2018)."""
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def least_squares_discriminator_loss(
    real: Tensor, fake: Tensor, a: float = 0.0, b: float = 1.0
) -> Tensor:
    """1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2] (Mao et al. 2017): a = fake, b = real target."""
    return 0.5 * ((real - b) ** 2).mean() + 0.5 * ((fake - a) ** 2).mean()


def least_squares_generator_loss(fake: Tensor, c: float = 1.0) -> Tensor:
    """1/2 E[(D(G(z)) - c)^2]: c is the value G wants D to believe for fake data."""
    return 0.5 * ((fake - c) ** 2).mean()


class AdversarialLoss:
    """An objective: ``discriminator(real, fake)`` and ``generator(fake)`` on logits."""

    #: The gap between D's mean real and mean fake logit past which D's loss is flat, so that
    #: its gradient carries almost nothing (None: the objective has no such point, e.g.
    #: Wasserstein, whose logits are unbounded, or least squares, whose targets are points).
    saturation_gap: ClassVar[float | None] = None

    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        raise NotImplementedError

    def generator(self, fake: Tensor) -> Tensor:
        raise NotImplementedError


@dataclass(frozen=True)
class NonSaturating(AdversarialLoss):
    real_target: float = 1.0  # < 1: one-sided label smoothing of D's real target
    # logits at +-5: sigmoid 0.993, under 1% of D's gradient left on either side
    saturation_gap: ClassVar[float | None] = 10.0

    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        return bce_discriminator_loss(real, fake, self.real_target)

    def generator(self, fake: Tensor) -> Tensor:
        return nonsaturating_generator_loss(fake)


@dataclass(frozen=True)
class Minimax(NonSaturating):
    def generator(self, fake: Tensor) -> Tensor:
        return minimax_generator_loss(fake)


@dataclass(frozen=True)
class Wasserstein(AdversarialLoss):
    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        return wasserstein_discriminator_loss(real, fake)

    def generator(self, fake: Tensor) -> Tensor:
        return wasserstein_generator_loss(fake)


@dataclass(frozen=True)
class Hinge(Wasserstein):
    saturation_gap: ClassVar[float | None] = 2.0  # real >= 1 and fake <= -1: D's loss is 0

    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        return hinge_discriminator_loss(real, fake)


@dataclass(frozen=True)
class LeastSquares(AdversarialLoss):
    a: float = 0.0  # D's target for fake samples
    b: float = 1.0  # D's target for real samples
    c: float = 1.0  # the value G wants D to output on fakes

    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        return least_squares_discriminator_loss(real, fake, self.a, self.b)

    def generator(self, fake: Tensor) -> Tensor:
        return least_squares_generator_loss(fake, self.c)
