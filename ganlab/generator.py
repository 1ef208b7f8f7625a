"""The public way for code outside ganlab to use a trained generator.

from ganlab import load_generator
G = load_generator("outputs/train/.../checkpoints/last.ckpt")
x = G.sample(16)  # (16, *G.shape), images in [-1, 1]
x = G.sample(16, seed=0, labels=[3] * 16, psi=0.7)  # seeded; class 3 (a conditional G); truncated

from ganlab import load_translator
T = load_translator("outputs/train/.../checkpoints/last.ckpt")  # a Pix2Pix or CycleGAN run
y = T(x)  # (16, *T.shape): translations of source images x, (16, *T.source_shape) in [-1, 1]
T = load_translator(".../last.ckpt", direction="BtoA")  # CycleGAN's other generator

Loading runs no code from the file: it is read with ``weights_only=True`` and the generator's
stored config may only build ganlab's own networks (:mod:`ganlab.stored`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from ganlab.checkpoints import CheckpointError, read_checkpoint
from ganlab.sampling import (
    INFERENCE_MODES,
    Seed,
    draw_batches,
    draw_inputs,
    generate,
    translate_batches,
)
from ganlab.stored import build_stored


class TrainedGenerator:
    """A generator rebuilt from a checkpoint, in eval mode, with a ``sample`` method."""

    def __init__(self, network: nn.Module, ema: bool, kimg: float) -> None:
        self.network = network.eval().requires_grad_(False)
        self.ema = ema  # whether these are the EMA weights
        self.kimg = kimg  # thousands of real images the model had seen
        self.latent_dim = int(network.latent_dim)  # type: ignore[arg-type]
        self.shape = tuple(int(s) for s in network.shape)  # type: ignore[union-attr]
        self.num_classes = int(getattr(network, "num_classes", 0))  # 0: unconditional

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    def to(self, device: str | torch.device) -> TrainedGenerator:
        self.network.to(device)
        return self

    @torch.no_grad()
    def sample(
        self,
        n: int,
        seed: Seed = None,  # an int, a torch.Generator to draw on, or None: the global RNG
        z: Tensor | None = None,  # latents to use instead of drawing them (n is then len(z))
        labels: Tensor | Sequence[int] | None = None,  # classes (conditional G); None: uniform
        psi: float | None = None,  # the truncation trick, in (0, 1]; None: none
    ) -> Tensor:
        """``n`` samples (images in [-1, 1]); reproducible with ``seed``, or from given ``z``.
        A class-conditional generator makes the given ``labels`` (one per sample). The inputs
        are those of :func:`ganlab.sampling.draw_inputs`; given ``z`` are used as they are."""
        if labels is not None:
            labels = torch.as_tensor(labels, dtype=torch.long)
            assert self.num_classes, "this generator is unconditional: it takes no labels"
            assert int(labels.min()) >= 0 and int(labels.max()) < self.num_classes, (
                f"labels must lie in [0, {self.num_classes}), got {labels.tolist()}"
            )
        if z is None:
            inputs = draw_inputs(self.network, n, seed, labels, psi)
        else:  # the labels as drawn for len(z) samples, the latents given
            inputs = draw_inputs(self.network, len(z), seed, labels)._replace(latent=z)
        return generate(self.network, inputs, self.device, psi)

    def batches(
        self,
        n: int,
        batch_size: int,
        seed: Seed,
        psi: float | None = None,
        label: int | None = None,  # the class of every sample (conditional G); None: uniform
    ) -> Iterator[Tensor]:
        """``n`` samples in batches from one seeded stream (:func:`ganlab.sampling.draw_batches`):
        the same seed and batch size give the same samples."""
        with torch.no_grad():
            for inputs in draw_batches(self.network, n, batch_size, seed, psi, label):
                yield generate(self.network, inputs, self.device, psi)

    def __call__(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.sample(len(z), z=z, labels=labels)


def load_generator(
    path: str | Path,
    ema: bool = True,
    device: str = "cpu",
    trust: bool = False,  # build whatever the stored config names (see below)
) -> TrainedGenerator:
    """Rebuild the generator of a ganlab checkpoint; the EMA weights unless ``ema=False``.

    Safe for a checkpoint from anyone: the file is read with ``torch.load(weights_only=True)``
    and the generator's stored config is built only if every ``_target_`` in it is on
    :data:`ganlab.stored.ALLOWED` (ganlab's networks): anything else, such as a function that
    writes files, is refused with a :class:`~ganlab.checkpoints.CheckpointError` naming it,
    before anything is built. ``trust=True`` builds it anyway (with a warning naming it): only
    for files you would run as code. The weights are data either way: a checkpoint's generator
    makes whatever it was trained (or edited) to make."""
    trained = load_trained(path, ema, device, trust)
    if not isinstance(trained, TrainedGenerator):
        raise CheckpointError(
            f"{path}: its generator translates input images (it has no latents to sample): "
            "use ganlab.load_translator, or python -m ganlab.translate"
        )
    return trained


class Translator:
    """A translating generator rebuilt from a checkpoint (Pix2Pix's, either of CycleGAN's):
    ``translator(images)`` gives its outputs for source images ``(N, *source_shape)`` in
    [-1, 1], in the test-time mode the model was trained to use (``inference``: ``train``,
    the Pix2Pix paper's, or ``eval``; :func:`ganlab.sampling.translating`)."""

    def __init__(
        self,
        network: nn.Module,
        inference: str,
        ema: bool,
        kimg: float,
        direction: str = "AtoB",  # between the training data's domains: AtoB or BtoA
    ) -> None:
        assert inference in INFERENCE_MODES, f"inference must be one of {INFERENCE_MODES}"
        self.network = network.requires_grad_(False)
        self.inference = inference
        self.direction = direction
        self.ema = ema  # whether these are the EMA weights
        self.kimg = kimg  # thousands of real images the model had seen
        self.source_shape = tuple(int(s) for s in network.source_shape)  # type: ignore[union-attr]
        self.shape = tuple(int(s) for s in network.shape)  # type: ignore[union-attr]

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    def to(self, device: str | torch.device) -> Translator:
        self.network.to(device)
        return self

    def __call__(self, images: Tensor, seed: int | None = 0, batch_size: int = 64) -> Tensor:
        """Outputs for ``images``, ``batch_size`` at a time (in ``train`` mode BatchNorm uses
        each batch's statistics), dropout drawn from ``seed``; on the CPU."""
        assert tuple(images.shape[1:]) == self.source_shape, (
            f"the translator reads images of shape {list(self.source_shape)}, got "
            f"{list(images.shape[1:])}"
        )
        return translate_batches(self.network, images, self.inference, seed, batch_size)


def load_translator(
    path: str | Path,
    ema: bool = True,
    device: str = "cpu",
    trust: bool = False,  # build whatever the stored config names (as load_generator)
    # between the training data's domains (data.direction's terms): AtoB or BtoA; None: the
    # way the model was trained. A CycleGAN goes both ways, a Pix2Pix one way only
    direction: str | None = None,
) -> Translator:
    """Rebuild a translating generator of a ganlab checkpoint (Pix2Pix's, or either of
    CycleGAN's), safely as :func:`load_generator` does; the EMA weights where the model kept
    them, unless ``ema=False``."""
    trained = load_trained(path, ema, device, trust, direction)
    if not isinstance(trained, Translator):
        raise CheckpointError(
            f"{path}: its generator makes samples from latents, not from input images: use "
            "ganlab.load_generator, or python -m ganlab.sample"
        )
    return trained


def load_trained(
    path: str | Path,
    ema: bool = True,
    device: str = "cpu",
    trust: bool = False,
    direction: str | None = None,  # a translator's (see load_translator); None: as trained
) -> TrainedGenerator | Translator:
    """The generator of a checkpoint as what it is: a :class:`TrainedGenerator` (latents in)
    or a :class:`Translator` (images in), loaded as :func:`load_generator` says."""
    checkpoint = read_checkpoint(path)
    hparams = checkpoint.get("hyper_parameters", {})
    trained_direction = str(hparams.get("direction", "AtoB"))  # the data's, for a translator
    reverse = direction is not None and direction != trained_direction
    key = "inverse_generator" if reverse else "generator"
    if reverse and key not in hparams:
        raise CheckpointError(
            f"{path}: direction={direction}, but this model translates {trained_direction} "
            "only (a CycleGAN learns both ways; a Pix2Pix one): leave direction unset, or "
            "train a model with the other data.direction"
        )
    spec = hparams.get(key)
    if not isinstance(spec, dict) or "_target_" not in spec:
        raise CheckpointError(
            f"{path} does not describe its {key}: it was trained with a generator passed "
            f"as an object rather than a config. Rebuild that network yourself and load "
            f"state_dict['{key}.*'] into it."
        )
    network: nn.Module = build_stored(spec, path, trust)
    state = checkpoint["state_dict"]
    prefix = f"{key}_ema." if ema and any(k.startswith(f"{key}_ema.") for k in state) else f"{key}."
    network.load_state_dict({k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)})
    kimg = checkpoint.get("ganlab", {}).get("images_seen", 0) / 1000.0
    used_ema = prefix.endswith("_ema.")
    if hasattr(network, "source_shape"):
        inference = str(hparams.get("inference", "eval"))
        way = direction or trained_direction
        return Translator(network, inference, ema=used_ema, kimg=kimg, direction=way).to(device)
    if direction is not None:
        raise CheckpointError(
            f"{path}: direction={direction} is for a translator, and this generator makes "
            "samples from latents"
        )
    return TrainedGenerator(network, ema=used_ema, kimg=kimg).to(device)
