"""Generators and discriminators: plain ``nn.Module``s, no Lightning or Hydra.

A generator has ``latent_dim`` and ``shape`` (of one sample) and maps ``z`` of shape
``(B, latent_dim)`` to ``(B, *shape)``; one driven by an input image instead (Pix2Pix's
:class:`UNetGenerator`, CycleGAN's :class:`ResNetTranslator`, SRGAN's :class:`SRResNet`) has
``source_shape`` and no ``latent_dim``. A discriminator maps
``(B, *shape)`` to logits ``(B,)``, or ``(B, patches)`` for :class:`PatchGANDiscriminator`.

Every discriminator takes the same options, off by default: ``norm``, ``spectral_norm``,
``minibatch`` ("none", "stddev" or "discrimination") and ``minibatch_group``. With PacGAN
(:func:`pack`), a discriminator is built for :func:`packed_shape` of the sample shape. Every
network takes ``init``, its weight initialization scheme (:func:`initialize`).
"""

from ganlab.networks.dcgan import DCGANDiscriminator, DCGANGenerator
from ganlab.networks.init import INIT_SCHEMES, initialize
from ganlab.networks.layers import (
    MinibatchDiscrimination,
    MinibatchStdDev,
    apply_spectral_norm,
    minibatch_layer,
    pack,
    packed_shape,
)
from ganlab.networks.mlp import MLPDiscriminator, MLPGenerator
from ganlab.networks.patchgan import PatchGANDiscriminator
from ganlab.networks.resnet import ResNetDiscriminator, ResNetGenerator
from ganlab.networks.resnet_translator import ResNetTranslator
from ganlab.networks.srresnet import SRGANDiscriminator, SRResNet
from ganlab.networks.unet import UNetGenerator

__all__ = [
    "INIT_SCHEMES",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
    "MinibatchDiscrimination",
    "MinibatchStdDev",
    "PatchGANDiscriminator",
    "ResNetDiscriminator",
    "ResNetGenerator",
    "ResNetTranslator",
    "SRGANDiscriminator",
    "SRResNet",
    "UNetGenerator",
    "apply_spectral_norm",
    "initialize",
    "minibatch_layer",
    "pack",
    "packed_shape",
]
