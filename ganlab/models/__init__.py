"""GAN systems (LightningModules) that wire networks, objectives and optimizers."""

from ganlab.models.base import GAN, Batch
from ganlab.models.conditional import ACGAN, ConditionalGAN
from ganlab.models.cyclegan import CycleGAN
from ganlab.models.ema import EMA
from ganlab.models.image_pool import ImagePool
from ganlab.models.infogan import InfoGAN
from ganlab.models.pix2pix import Pix2Pix
from ganlab.models.players import Player, Schedulers
from ganlab.models.schedules import ConstantThenLinear
from ganlab.models.translation import Translation
from ganlab.models.unrolled import Unroll

__all__ = [
    "ACGAN",
    "EMA",
    "GAN",
    "Batch",
    "ConditionalGAN",
    "ConstantThenLinear",
    "CycleGAN",
    "ImagePool",
    "InfoGAN",
    "Pix2Pix",
    "Player",
    "Schedulers",
    "Translation",
    "Unroll",
]
