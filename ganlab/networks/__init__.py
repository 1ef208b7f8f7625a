"""Generators and discriminators: plain ``nn.Module``s, no Lightning or Hydra.

A generator has ``latent_dim`` and ``shape`` (of one sample) and maps ``z`` of shape
``(B, latent_dim)`` to ``(B, *shape)``; a discriminator maps ``(B, *shape)`` to logits ``(B,)``.
"""

from ganlab.networks.dcgan import DCGANDiscriminator, DCGANGenerator
from ganlab.networks.mlp import MLPDiscriminator, MLPGenerator

__all__ = ["DCGANDiscriminator", "DCGANGenerator", "MLPDiscriminator", "MLPGenerator"]
