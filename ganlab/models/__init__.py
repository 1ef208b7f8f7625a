"""GAN systems (LightningModules) that wire networks, objectives and optimizers."""

from ganlab.models.base import GAN, Batch

__all__ = ["GAN", "Batch"]
