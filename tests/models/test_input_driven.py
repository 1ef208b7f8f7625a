"""A generator driven by an input and a D that judges (input, output) pairs train in the one
step: the shape of Pix2Pix (and, with another loss term, SRGAN).

The task is paired 2-D translation: a source ``a`` is a point of a Gaussian blob and its target
``b = R a``, ``R`` a quarter turn. G maps ``a`` to ``b`` (``Batch.source`` in, no latents);
D judges ``(a, b)`` pairs (``judges_pairs``), so only the right ``b`` for each ``a`` looks
real; G's loss adds an L1 term to the target, as Pix2Pix's does.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from helpers import adam, quiet_trainer
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from ganlab.callbacks import GANDoctor
from ganlab.losses import GradientPenalty
from ganlab.models import GAN, Batch
from ganlab.networks import MLPDiscriminator

pytestmark = pytest.mark.usefixtures("one_thread")

QUARTER_TURN = torch.tensor([[0.0, -1.0], [1.0, 0.0]])


class Translator(nn.Sequential):
    """G: a point of domain A to one of domain B; no ``latent_dim``: it is driven by its input."""

    shape = (2,)  # of one output
    source_shape = (2,)  # of one input (Batch.source)

    def __init__(self) -> None:
        super().__init__(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))


class PairedTranslation(GAN):
    """Batches are ``(a, b)`` pairs; D sees each sample joined to its source."""

    judges_pairs = True

    def __init__(self, l1_weight: float = 10.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.l1_weight = l1_weight  # Pix2Pix's lambda: the L1 term's weight in G's loss
        self.d_inputs: list[torch.Size] = []
        self.discriminator.register_forward_pre_hook(
            lambda _, args: self.d_inputs.append(args[0].shape)
        )

    def unpack_batch(self, batch: Any) -> Batch:
        source, target = batch
        return Batch(real=target, source=source)

    def generate(self, batch: Batch, generator: nn.Module | None = None) -> Tensor:
        return (generator or self.generator)(batch.source)

    def seeded_fakes(self, batch: Batch, seed: int) -> Tensor:
        return self.generator(batch.source)  # G draws nothing: the seed has nothing to do

    def generator_loss(self, batch: Batch, fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        loss, logs = super().generator_loss(batch, fake)
        l1 = F.l1_loss(fake, batch.real)
        logs["train/l1"] = l1.detach()
        return loss + self.l1_weight * l1, logs


def pairs(n: int = 512, batch_size: int = 64) -> DataLoader:
    a = torch.tensor([1.0, 0.5]) + 0.5 * torch.randn(
        n, 2, generator=torch.Generator().manual_seed(0)
    )
    return DataLoader(TensorDataset(a, a @ QUARTER_TURN.T), batch_size=batch_size, shuffle=True)


def translation(**kwargs: Any) -> PairedTranslation:
    torch.manual_seed(0)
    return PairedTranslation(
        generator=Translator(),
        discriminator=MLPDiscriminator((4,), hidden=(32,)),  # (a, b): 2 + 2 features
        g_optimizer=adam(1e-2),
        d_optimizer=adam(1e-3),
        **kwargs,
    )


def error(model: PairedTranslation, generator: nn.Module) -> float:
    a = torch.randn(256, 2, generator=torch.Generator().manual_seed(9)) + torch.tensor([1.0, 0.5])
    with torch.no_grad():
        return float(F.l1_loss(generator(a), a @ QUARTER_TURN.T))


def test_an_input_driven_generator_learns_the_pairing_in_the_one_step() -> None:
    model = translation()
    before = error(model, model.generator)
    doctor = GANDoctor(every_kimg=2.0, start_kimg=2.0)
    quiet_trainer(max_epochs=10, callbacks=[doctor]).fit(model, pairs())
    assert model.latent_dim == 0 and model.g_steps == 80
    assert set(model.d_inputs) == {torch.Size([64, 4])}  # every D input: a (source, sample) pair
    # L1 error of G (of its EMA) from 0.947, over training seeds (torch.manual_seed after
    # the model is built), identical under ATEN_CPU_CAPABILITY=default, avx2 and unset (avx512)
    # and at 1 and 2 threads: seed 0: 0.044 (0.036); 1: 0.054 (0.039); 2: 0.063 (0.035)
    assert error(model, model.generator) < 0.1 * before
    assert error(model, model.generator_ema) < 0.15 * before
    # the doctor probes D with the model's own fakes and pairs; G's prior has no coverage
    assert doctor.history and all("d_auc" in h and "coverage" not in h for h in doctor.history)


def test_penalties_interpolate_whole_pairs() -> None:
    """A gradient penalty interpolates (source, real) and (source, fake): the same source on
    both ends, so every interpolate is a pair with the batch's source."""
    seen: list[Tensor] = []
    model = translation(regularizer={"gp": GradientPenalty(weight=1.0)})
    model.discriminator.register_forward_pre_hook(lambda _, args: seen.append(args[0].detach()))
    quiet_trainer(max_steps=2).fit(model, pairs(n=64))
    assert len(seen) == 4  # D step: real, fake, interpolates; G step: fake
    sources = seen[0][:, :2]  # the real pairs' sources, in batch order
    assert all(torch.allclose(x[:, :2], sources, atol=1e-6) for x in seen)  # interpolates too


def test_sampling_without_an_input_names_what_to_override() -> None:
    model = translation()
    with pytest.raises(AssertionError, match=r"takes an input .*overrides generate, seeded_fakes"):
        model.sample(4)
