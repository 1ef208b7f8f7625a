"""Drawing a generator's inputs, the one way ganlab does it: latents from the prior the
generator was trained with and, for a class-conditional generator, class labels.

- :func:`draw_inputs`: the :class:`Inputs` (latents and labels) of ``n`` samples, optionally
  truncated (the truncation trick);
- :func:`draw_batches`: the same in batches, one after the other from one stream;
- :func:`draw_latents`: the latents alone (noise, then any InfoGAN codes);
- :func:`generate`: a generator's samples of given inputs;
- :func:`translating`: a generator driven by an input image (Pix2Pix's), in its test-time mode.

Every draw comes from ``seed``: an int (a fresh ``torch.Generator`` seeded with it), a
``torch.Generator`` (successive draws continue its stream) or None (the global RNG). Draws are
made on the CPU, so a seed gives the same samples on any device. Images come from
:meth:`GAN.sample <ganlab.models.GAN.sample>` (a model) and
:meth:`TrainedGenerator.sample <ganlab.generator.TrainedGenerator.sample>` (a checkpoint),
both built on these functions. No Lightning here: plain networks and tensors.

>>> from ganlab.networks import MLPGenerator
>>> g = MLPGenerator(latent_dim=4, shape=(2,), hidden=[8], num_classes=3).eval()
>>> latent, labels = draw_inputs(g, 5, seed=0)
>>> latent.shape, labels.shape
(torch.Size([5, 4]), torch.Size([5]))
>>> torch.equal(draw_inputs(g, 5, seed=0).latent, latent)
True
>>> [inputs.latent.shape[0] for inputs in draw_batches(g, 5, batch_size=2, seed=0)]
[2, 2, 1]
>>> generate(g, draw_inputs(g, 5, seed=0)).shape
torch.Size([5, 2])
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from ganlab import rng
from ganlab.latent import truncated_normal
from ganlab.networks.base import Generator

Seed = int | torch.Generator | None  # a seed, a generator to draw on, or None: the global RNG
MAX_GRID_CLASSES = 16  # sample grids give each class a row up to this many classes
INFERENCE_MODES = ("train", "eval")  # test-time modes of a translating G (Pix2Pix's inference)

__all__ = [
    "INFERENCE_MODES",
    "MAX_GRID_CLASSES",
    "Inputs",
    "Seed",
    "class_grid_labels",
    "draw_batches",
    "draw_inputs",
    "draw_latents",
    "generate",
    "noise_width",
    "tracks_average",
    "translate_batches",
    "translating",
]


class Inputs(NamedTuple):
    """A generator's inputs for a batch: latents ``(n, latent_dim)`` and, for a
    class-conditional generator, class labels ``(n,)`` (None otherwise)."""

    latent: Tensor
    labels: Tensor | None = None


def _rng(seed: Seed) -> torch.Generator | None:
    """The ``torch.Generator`` to draw from: a fresh one for an int seed, else ``seed`` itself."""
    return torch.Generator().manual_seed(seed) if isinstance(seed, int) else seed


def noise_width(network: nn.Module) -> int:
    """The noise part of a generator's latent (InfoGAN codes follow it)."""
    width: Any = getattr(network, "noise_dim", None)
    return int(network.latent_dim if width is None else width)  # type: ignore[arg-type]


def tracks_average(network: nn.Module) -> bool:
    """Whether the generator keeps an average latent ``w_avg`` (as StyleGAN's mapping network
    does) and truncates towards it itself: ``forward(z, [labels,] truncation_psi=psi)``, the
    convention of NVIDIA's StyleGAN2/3 generators. No ganlab generator does yet; for all of
    them truncation acts on ``z`` (:func:`draw_inputs`)."""
    if not isinstance(getattr(network, "w_avg", None), Tensor):
        return False
    return "truncation_psi" in inspect.signature(network.forward).parameters


def draw_latents(network: nn.Module, n: int, seed: Seed = None) -> Tensor:
    """``n`` latents from the prior ``network`` was trained with: its noise (standard normal,
    or uniform on [-1, 1] for ``noise="uniform"``), then each InfoGAN code (categories drawn
    uniformly, one-hot; continuous codes uniform on [-1, 1]). A network that is not a
    :class:`~ganlab.networks.base.Generator` but has a ``latent_dim`` gets standard normal
    noise."""
    rng = _rng(seed)
    if not isinstance(network, Generator):
        latent_dim: Any = network.latent_dim
        return torch.randn(n, int(latent_dim), generator=rng)
    if network.noise == "uniform":
        noise = torch.rand(n, network.noise_dim, generator=rng) * 2 - 1
    else:
        noise = torch.randn(n, network.noise_dim, generator=rng)
    values = [
        torch.rand(n, generator=rng) * 2 - 1
        if code == "uniform"
        else torch.randint(int(code), (n,), generator=rng)
        for code in network.codes
    ]
    return network.join_latent(noise, values)


def draw_inputs(
    network: nn.Module,
    n: int,
    seed: Seed = None,
    labels: Tensor | None = None,  # classes to generate; None: uniform for a conditional G
    psi: float | None = None,  # the truncation trick, in (0, 1]; None: none
) -> Inputs:
    """Inputs for ``n`` samples of ``network``: latents from its prior (:func:`draw_latents`),
    then for a class-conditional network the labels (drawn uniformly unless given; an
    unconditional network gets none).

    With ``psi``, Gaussian noise is then drawn again from the truncated normal
    (:func:`~ganlab.latent.truncated_normal`) and uniform noise is scaled by ``psi`` towards
    the centre of its cube; InfoGAN codes keep their prior. A network that truncates itself
    (:func:`tracks_average`) gets its latents as drawn: give :func:`generate` the ``psi``."""
    rng = _rng(seed)
    latent = draw_latents(network, n, rng)
    num_classes = int(getattr(network, "num_classes", 0))
    if not num_classes:
        labels = None
    elif labels is None:
        labels = torch.randint(num_classes, (n,), generator=rng)
    assert labels is None or len(labels) == n, f"{len(labels)} labels for {n} samples"
    if psi is not None and not tracks_average(network):
        width = noise_width(network)
        if getattr(network, "noise", "normal") == "uniform":
            noise = psi * latent[:, :width]
        else:
            noise = truncated_normal(n, width, psi, generator=rng)
        latent = torch.cat([noise, latent[:, width:]], dim=1)
    return Inputs(latent, labels)


def draw_batches(
    network: nn.Module,
    n: int,
    batch_size: int,
    seed: Seed = None,
    psi: float | None = None,
    label: int | None = None,  # the class of every sample (conditional G); None: uniform
) -> Iterator[Inputs]:
    """:func:`draw_inputs` for ``n`` samples in batches of ``batch_size``, one after the other
    from one stream: the same seed and batch size give the same inputs."""
    rng = _rng(seed)
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        labels = None if label is None else torch.full((m,), label)
        yield draw_inputs(network, m, rng, labels, psi)


def generate(
    network: nn.Module,
    inputs: Inputs,
    device: torch.device | str | None = None,
    psi: float | None = None,  # truncation inside a network that tracks w_avg
) -> Tensor:
    """``network``'s samples of ``inputs``, which are moved to ``device`` (call it in eval mode
    and without gradients). ``psi`` reaches only a network that truncates itself
    (:func:`tracks_average`); :func:`draw_inputs` truncates the latents of the others."""
    args = [inputs.latent.to(device)]
    if inputs.labels is not None:
        args.append(inputs.labels.to(device))
    if psi is not None and tracks_average(network):
        return network(*args, truncation_psi=psi)
    return network(*args)


def class_grid_labels(num_classes: int, n: int) -> Tensor:
    """Classes of a fixed sample grid of about ``n`` images: for up to
    :data:`MAX_GRID_CLASSES` classes, ``ceil(n / K)`` of each in class order (a row per class),
    else ``n`` labels cycling through the classes.

    >>> class_grid_labels(3, 5)
    tensor([0, 0, 1, 1, 2, 2])
    >>> class_grid_labels(100, 4)
    tensor([0, 1, 2, 3])
    """
    assert num_classes > 0 and n > 0, f"need classes and samples, got {num_classes} and {n}"
    if num_classes <= MAX_GRID_CLASSES:
        return torch.arange(num_classes).repeat_interleave(math.ceil(n / num_classes))
    return torch.arange(n) % num_classes


@contextmanager
def translating(generator: nn.Module, mode: str, seed: int | None = None) -> Iterator[nn.Module]:
    """``generator`` without gradients in a translator's test-time ``mode``
    (:mod:`ganlab.models.pix2pix`): ``"eval"``, or ``"train"`` (the Pix2Pix paper's). In
    ``"train"`` mode the dropout draws come from ``seed`` (the global random state untouched)
    where one is given, and BatchNorm's running statistics, which a forward pass in training
    mode updates, are put back afterwards. The module's own mode is restored on exit."""
    assert mode in INFERENCE_MODES, f"inference must be one of {INFERENCE_MODES}, got {mode!r}"
    was_training = generator.training
    stats = {
        name: buffer.clone()
        for name, buffer in generator.named_buffers()
        if name.rsplit(".", 1)[-1] in ("running_mean", "running_var", "num_batches_tracked")
    }
    generator.train(mode == "train")
    device = next(generator.parameters()).device
    try:
        with torch.no_grad(), rng.seeded(seed, device):
            yield generator
    finally:
        buffers = dict(generator.named_buffers())
        for name, value in stats.items():
            buffers[name].copy_(value)
        generator.train(was_training)


def translate_batches(
    generator: nn.Module, images: Tensor, mode: str, seed: int | None, batch_size: int
) -> Tensor:
    """``generator``'s outputs for ``images``, ``batch_size`` at a time on its device, in the
    test-time ``mode`` (:func:`translating`; in ``"train"`` mode BatchNorm uses each batch's
    statistics), dropout drawn from ``seed``; on the CPU."""
    device = next(generator.parameters()).device
    with translating(generator, mode, seed) as network:
        return torch.cat([network(chunk.to(device)).cpu() for chunk in images.split(batch_size)])
