"""InfoGAN (Chen et al. 2016): unsupervised, interpretable latent codes.

G's latent carries codes (``model.generator.codes``: categorical and uniform continuous, see
:class:`ganlab.networks.base.Generator`); D's auxiliary head is the Q network, sharing
D's trunk, and predicts the codes of a fake sample. Both players add ``info_weight`` times the
information loss (:func:`ganlab.losses.info_loss`) on the fakes: in D's step it trains D's
trunk, in G's step it trains G and the Q head, which belongs to G's optimizer as in the paper.
Logged as ``train/info_loss``. With ``fixed_std`` Q predicts only the means of the continuous
codes (the official code's std of 1; the ``infogan`` preset, with uniform noise as the paper).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from torch import Tensor, nn

from ganlab.losses.info import info_loss
from ganlab.models.base import GAN, Batch


class InfoGAN(GAN):
    def __init__(
        self,
        *args: Any,  # the arguments of GAN
        info_weight: float = 1.0,  # lambda: weight of the information loss for both players
        continuous_weight: float = 0.1,  # continuous codes' terms relative to categorical ones
        fixed_std: float | None = None,  # Q's std for continuous codes; None: Q predicts it
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.info_weight = info_weight
        self.continuous_weight = continuous_weight
        self.fixed_std = fixed_std
        self.codes: list[int | str] = list(getattr(self.generator, "codes", []))
        assert self.codes, (
            "InfoGAN needs latent codes: set model.generator.codes, e.g. [10, uniform, uniform]"
        )
        assert self.has_aux_head, (
            "InfoGAN's Q network is the discriminator's auxiliary head: set "
            "model.discriminator.aux_outputs=${q_outputs:${model.generator.codes},${model.fixed_std}}"
        )
        assert fixed_std is None or fixed_std > 0, (
            f"model.fixed_std is Q's standard deviation for continuous codes: a positive number "
            f"or null (Q predicts it), got {fixed_std}"
        )
        assert self.pack == 1, "Q predicts the codes of single samples: use model.pack=1"

    @property
    def q_head(self) -> nn.Module:
        """The Q network: D's auxiliary head (it shares D's trunk)."""
        head: nn.Module = self.discriminator.aux_head  # type: ignore[assignment]
        return head

    def auxiliary_losses(
        self, player: str, batch: Batch, real_aux: Tensor | None, fake_aux: Tensor | None
    ) -> dict[str, Tensor]:
        assert fake_aux is not None and batch.latent is not None
        _, values = self.generator.split_latent(batch.latent)  # type: ignore[operator]
        loss = info_loss(fake_aux, values, self.codes, self.continuous_weight, self.fixed_std)
        return {"info_loss": self.info_weight * loss}

    def discriminator_parameters(self) -> Iterator[nn.Parameter]:
        q = {id(p) for p in self.q_head.parameters()}
        return (p for p in self.discriminator.parameters() if id(p) not in q)

    def generator_parameters(self) -> Iterator[nn.Parameter]:
        yield from self.generator.parameters()
        yield from self.q_head.parameters()
