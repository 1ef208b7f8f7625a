"""CycleGAN (Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks"): two translators trained on unpaired images of two domains, each
the other's inverse.

G (``generator``) translates the source domain A into the target domain B and F
(``inverse_generator``) B into A; D_B (``discriminator``) judges B images, D_A
(``source_discriminator``) A images. Batches hold an A image and an unrelated B image
(``Batch.source`` and ``Batch.real``). G's side minimizes, over both directions,

    adversarial_weight * (L_GAN(G, D_B) + L_GAN(F, D_A))
    + cycle_weight * (|F(G(a)) - a|_1 + |G(F(b)) - b|_1)
    + identity_weight * cycle_weight * (|G(b) - b|_1 + |F(a) - a|_1)

and D's side judges real images against fakes drawn from a history of the 50 latest
(:class:`~ganlab.models.image_pool.ImagePool`, one per direction, kept in the checkpoint).
Both generators are one player (``g``: one optimizer over both), both discriminators the
other (``d``), and G's side steps first, as in the official code; the step itself is the one
canonical step. Logs: ``train/cycle_a`` (A -> B -> A), ``train/cycle_b``, ``train/identity_a``
(F on A images), ``train/identity_b``, ``train/g_adv_a`` (F against D_A), ``train/g_adv_b``,
``train/d_real_a`` ... per discriminator; ``train/d_real`` / ``train/d_fake`` and what the doctor
reads are D_B's.

The official code's least-squares G loss is the mean squared error, twice ganlab's
(``ganlab.losses.LeastSquares`` halves it, as Mao et al.): the preset's
``adversarial_weight=2`` gives the official weighting of the adversarial against the cycle
and identity terms.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import torch.nn.functional as F
from torch import Tensor, nn

from ganlab.models.base import Batch, _add_terms, _build
from ganlab.models.image_pool import ImagePool
from ganlab.models.players import Player
from ganlab.models.translation import Translation

__all__ = ["CycleGAN"]


class CycleGAN(Translation):
    """Two translators A -> B and B -> A with cycle consistency (see the module)."""

    data_pairing: ClassVar[str | None] = "unpaired"  # read by ganlab.validation
    grid_rows_per_block: ClassVar[int] = 6  # A, G(A), F(G(A)), B, F(B), G(F(B))

    def __init__(
        self,
        *args: Any,  # the arguments of Translation (and GAN): generator is G (A -> B), ...
        inverse_generator: nn.Module | Mapping[str, Any],  # F: B -> A
        source_discriminator: nn.Module | Mapping[str, Any],  # D_A: judges A images
        cycle_weight: float = 10.0,  # lambda_A = lambda_B: weight of each cycle's L1
        identity_weight: float = 0.5,  # identity L1 weight as a multiple of cycle_weight
        adversarial_weight: float = 1.0,  # weight of each generator's adversarial loss
        pool_size: int = 50,  # fakes of each direction in D's history (0: latest only)
        **kwargs: Any,
    ) -> None:
        assert kwargs.get("pack", 1) == 1, (
            "CycleGAN does not support model.pack (PacGAN): each domain's PatchGAN already "
            "judges many patches an image; leave model.pack=1"
        )
        super().__init__(*args, **kwargs)
        self.inverse_generator: nn.Module = _build(inverse_generator)
        self.source_discriminator: nn.Module = _build(source_discriminator)
        source, target = self.source_shape, self.sample_shape
        inverse = (
            tuple(getattr(self.inverse_generator, "source_shape", ())),
            tuple(getattr(self.inverse_generator, "shape", ())),
        )
        assert inverse == (target, source), (
            f"the inverse generator translates B images {list(target)} back into A images "
            f"{list(source)}, but it is built for {list(inverse[0])} -> {list(inverse[1])}: "
            "give it shape ${data.source_shape} and source_shape ${data.shape}"
        )
        judged = getattr(self.source_discriminator, "shape", None)
        assert judged is None or tuple(judged) == source, (
            f"the source discriminator judges A images {list(source)}, but it is built for "
            f"{list(judged)}: give it shape ${{data.source_shape}}"
        )
        assert identity_weight == 0 or source == target, (
            f"the identity loss feeds B images {list(target)} to G, which reads A images "
            f"{list(source)}: set model.identity_weight=0 for domains of different shapes"
        )
        assert min(cycle_weight, identity_weight, adversarial_weight, pool_size) >= 0, (
            "cycle_weight, identity_weight, adversarial_weight and pool_size are >= 0"
        )
        refused = {
            "model.unroll": self.unroll is not None,
            "model.ema": self.ema is not None,  # the paper keeps none; grids use G and F
            "a class-conditional G or D": self.num_classes > 0 or self.d_conditional,
        }
        assert not any(refused.values()), (
            f"CycleGAN does not support {', '.join(k for k, v in refused.items() if v)}: "
            "leave model/unroll=null, model.ema=null, unconditional networks"
        )
        self.cycle_weight, self.identity_weight = cycle_weight, identity_weight
        self.adversarial_weight = adversarial_weight
        self.pools = nn.ModuleDict(
            {"a": ImagePool(pool_size, source), "b": ImagePool(pool_size, target)}
        )

    def unpack_batch(self, batch: Any) -> Batch:
        assert isinstance(batch, (list, tuple)) and len(batch) == 4, (
            "CycleGAN trains on unpaired data: batches of (a, label_a, b, label_b), as "
            "data=mnist2digits and unpaired_folder serve"
        )
        a, _, b, _ = batch  # the labels serve evaluation only
        return Batch(real=b, source=a)

    def generate(self, batch: Batch, generator: nn.Module | None = None) -> Any:
        """Both translations of the batch, both cycles and (when weighted) both identities,
        by name: ``fake_b`` = G(a), ``fake_a`` = F(b), ``rec_a`` = F(G(a)), ``rec_b`` =
        G(F(b)), ``idt_b`` = G(b), ``idt_a`` = F(a)."""
        assert batch.source is not None
        g, f = generator or self.generator, self.inverse_generator
        a, b = batch.source, batch.real
        fake_b, fake_a = g(a), f(b)
        outputs = {"fake_b": fake_b, "fake_a": fake_a, "rec_a": f(fake_b), "rec_b": g(fake_a)}
        if self.identity_weight * self.cycle_weight > 0:
            outputs |= {"idt_b": g(b), "idt_a": f(a)}
        return outputs

    # ------------------------------------------------------------------------- players
    def players(self) -> list[Player]:
        """G's side first (both generators), then D's (both discriminators), as the
        official code steps them; D judges the fakes generated before G's step."""
        d, g = super().players()
        return [g, d]

    def generator_parameters(self) -> Iterator[nn.Parameter]:
        return itertools.chain(self.generator.parameters(), self.inverse_generator.parameters())

    def discriminator_parameters(self) -> Iterator[nn.Parameter]:
        return itertools.chain(
            self.discriminator.parameters(), self.source_discriminator.parameters()
        )

    def _after_discriminator_step(self, batch: Batch) -> None:
        for regularizer in self.regularizers.values():
            for discriminator in (self.discriminator, self.source_discriminator):
                regularizer.after_step(discriminator)  # e.g. weight clipping

    # ------------------------------------------------------------------------- losses
    def _judge(self, net: nn.Module, x: Tensor) -> Tensor:
        logits: Tensor = net(self.discriminator_input(x))
        return logits

    def discriminator_loss(
        self,
        batch: Batch,
        fake: Any,  # what generate returned, detached
    ) -> tuple[Tensor, dict[str, Tensor]]:
        assert batch.source is not None
        loss, logs = batch.real.new_zeros(()), {}
        for domain, net, real in (
            ("b", self.discriminator, batch.real),
            ("a", self.source_discriminator, batch.source),
        ):
            fakes = self.pools[domain](fake[f"fake_{domain}"])
            real_in, fake_in = self.discriminator_input(real), self.discriminator_input(fakes)
            real_logits, fake_logits = net(real_in), net(fake_in)
            loss = loss + self.loss.discriminator(real_logits, fake_logits)
            logs[f"train/d_real_{domain}"] = real_logits.detach().mean()
            logs[f"train/d_fake_{domain}"] = fake_logits.detach().mean()
            loss = _add_terms(loss, self.penalties(net, real_in, fake_in, f"_{domain}"), logs)
            if domain == "b":  # the target domain's D is the one the doctor and histograms read
                self.step_stats["d_real_logits"] = real_logits.detach()
                self.step_stats["d_fake_logits"] = fake_logits.detach()
                logs["train/d_real"], logs["train/d_fake"] = (
                    logs["train/d_real_b"],
                    logs["train/d_fake_b"],
                )
        return loss, logs

    def generator_loss(
        self,
        batch: Batch,
        fake: Any,  # what generate returned
    ) -> tuple[Tensor, dict[str, Tensor]]:
        assert batch.source is not None
        a, b = batch.source, batch.real
        terms = {
            "g_adv_b": self.adversarial_weight
            * self.loss.generator(self._judge(self.discriminator, fake["fake_b"])),
            "g_adv_a": self.adversarial_weight
            * self.loss.generator(self._judge(self.source_discriminator, fake["fake_a"])),
            "cycle_a": self.cycle_weight * F.l1_loss(fake["rec_a"], a),
            "cycle_b": self.cycle_weight * F.l1_loss(fake["rec_b"], b),
        }
        if "idt_b" in fake:
            weight = self.identity_weight * self.cycle_weight
            terms["identity_b"] = weight * F.l1_loss(fake["idt_b"], b)
            terms["identity_a"] = weight * F.l1_loss(fake["idt_a"], a)
        logs = {f"train/{name}": term.detach() for name, term in terms.items()}
        loss: Tensor = sum(terms.values(), batch.real.new_zeros(()))
        return loss, logs

    # ----------------------------------------------------------------------- translating
    def translator(self, reverse: bool = False) -> nn.Module:
        """G (A -> B), or F (B -> A) with ``reverse``."""
        return self.inverse_generator if reverse else self.generator

    def grid_rows(self, source: Tensor, target: Tensor, seed: int) -> list[Tensor]:
        """A -> B -> A for held-out A images, then B -> A -> B for held-out B images."""
        fake_b, fake_a = self.translate(source, seed), self.translate(target, seed, reverse=True)
        return [
            source,
            fake_b,
            self.translate(fake_b, seed, reverse=True),
            target,
            fake_a,
            self.translate(fake_a, seed),
        ]
