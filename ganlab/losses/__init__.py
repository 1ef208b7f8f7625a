"""Adversarial losses and regularizers: pure functions of logits and tensors."""

from ganlab.losses.adversarial import (
    AdversarialLoss,
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

__all__ = [
    "AdversarialLoss",
    "Hinge",
    "LeastSquares",
    "Minimax",
    "NonSaturating",
    "Wasserstein",
    "bce_discriminator_loss",
    "hinge_discriminator_loss",
    "least_squares_discriminator_loss",
    "least_squares_generator_loss",
    "minimax_generator_loss",
    "nonsaturating_generator_loss",
    "wasserstein_discriminator_loss",
    "wasserstein_generator_loss",
]
