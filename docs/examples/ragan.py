"""Relativistic average GAN (Jolicoeur-Martineau 2019): the worked example of
docs/architecture/add-a-variant.md, trained by tests/test_docs.py.

D judges whether a real sample is more realistic than the average fake, and a fake than the
average real; G's loss is the same with the roles swapped, so G's gradient also flows through
D's logits on real data.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor

from ganlab.losses import AdversarialLoss
from ganlab.models import GAN, Batch


# --8<-- [start:losses]
def ragan_discriminator_loss(real: Tensor, fake: Tensor) -> Tensor:
    """-E[log sigmoid(C(x) - E C(G(z)))] - E[log(1 - sigmoid(C(G(z)) - E C(x)))].

    >>> import torch
    >>> round(ragan_discriminator_loss(torch.zeros(4), torch.zeros(4)).item(), 4)  # 2 log 2
    1.3863
    """
    return F.softplus(-(real - fake.mean())).mean() + F.softplus(fake - real.mean()).mean()


def ragan_generator_loss(real: Tensor, fake: Tensor) -> Tensor:
    """D's loss with the roles of real and fake swapped: G wants its fakes to look more
    realistic than the average real sample."""
    return ragan_discriminator_loss(fake, real)


@dataclass(frozen=True)
class RelativisticAverage(AdversarialLoss):
    """The objective as one ``_target_`` node (``model.loss``)."""

    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        return ragan_discriminator_loss(real, fake)

    def generator(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        assert real is not None, "the relativistic generator loss needs D's logits on real data"
        return ragan_generator_loss(real, fake)


# --8<-- [end:losses]


# --8<-- [start:model]
class RelativisticGAN(GAN):
    """The shared GAN step; only G's loss differs: it also scores the real batch."""

    def generator_loss(self, batch: Batch, fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        fake_logits = self.discriminate(self.discriminator_input(fake), batch.fake_labels)
        real_logits = self.discriminate(self.discriminator_input(batch.real), batch.labels)
        loss = self.loss.generator(fake_logits, real=real_logits.detach())
        return loss, {}


# --8<-- [end:model]
