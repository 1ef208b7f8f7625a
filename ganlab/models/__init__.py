"""GAN systems (LightningModules) that wire networks, objectives and optimizers."""

from ganlab.models.base import GAN, Batch
from ganlab.models.conditional import ACGAN, ConditionalGAN
from ganlab.models.infogan import InfoGAN
from ganlab.models.players import Player

__all__ = ["ACGAN", "GAN", "Batch", "ConditionalGAN", "InfoGAN", "Player"]
