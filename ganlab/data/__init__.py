"""ganlab DataModules: 2-D toy mixtures, small offline image sets, torchvision sets, folders,
subsets of any of them by class (``per_class`` images each, a held-out split), and paired
images for translation (:mod:`ganlab.data.paired`: ``(target, label, source)`` triples, also
for super-resolution, :mod:`ganlab.data.super_resolution`) and unpaired ones (:mod:`ganlab.data.unpaired`: ``(a, label_a, b, label_b)`` from two domains),
offline or in folders, yours or the official Pix2Pix and CycleGAN datasets by name
(:mod:`ganlab.data.folders`).

Every DataModule subclasses :class:`GANDataModule`, takes the shared :class:`DataOptions`
(``shape``, ``batch_size``, ``num_workers``, ``pin_memory``, ``num_classes``, ``seed``) besides
its own arguments, and exposes ``shape`` (one sample), ``num_classes`` (``None`` when
unlabelled) and ``num_samples``; ``train_dataloader()`` yields ``(x, y)`` (labelled) or ``x``
(unlabelled) with images in ``[-1, 1]``. Data problems raise a single :class:`DataError` from
``prepare_data``/``setup`` that says how to fix them.
"""

from ganlab.data.arrays import Digits, InMemoryImages, MNIST5k
from ganlab.data.base import DataError, DataOptions, GANDataModule
from ganlab.data.image_folder import ImageFileDataset, ImageFolder
from ganlab.data.mixtures import GaussianMixture, GridMixture, MixtureStream, RingMixture
from ganlab.data.paired import Edges2Digits
from ganlab.data.paired_folder import PairedFolder
from ganlab.data.photos import Gray2Color
from ganlab.data.stacked import StackedDigits, StackedMNIST5k
from ganlab.data.subset import ClassSubset
from ganlab.data.super_resolution import MNISTSR, Bicubic
from ganlab.data.torchvision_sets import CIFAR10, MNIST, CelebA, FashionMNIST
from ganlab.data.unpaired import MNIST2Digits
from ganlab.data.unpaired_folder import UnpairedFolder

__all__ = [
    "CIFAR10",
    "MNIST",
    "MNISTSR",
    "Bicubic",
    "CelebA",
    "ClassSubset",
    "DataError",
    "DataOptions",
    "Digits",
    "Edges2Digits",
    "FashionMNIST",
    "GANDataModule",
    "GaussianMixture",
    "Gray2Color",
    "GridMixture",
    "ImageFileDataset",
    "ImageFolder",
    "InMemoryImages",
    "MNIST2Digits",
    "MNIST5k",
    "MixtureStream",
    "PairedFolder",
    "RingMixture",
    "StackedDigits",
    "StackedMNIST5k",
    "UnpairedFolder",
]
