"""Named players: a system with two generators and two discriminators runs in the one step.

The system is CycleGAN-shaped (Zhu et al. 2017) on two unpaired 2-D domains: player ``g`` owns
both translators (A to B, B to A) under one optimizer and minimizes the adversarial loss of
both directions plus the cycle-consistency loss; player ``d`` owns both domains' critics.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from helpers import adam, quiet_trainer
from lightning.pytorch.loggers import CSVLogger
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from ganlab.models import GAN, Batch, Player
from ganlab.networks import MLPDiscriminator, MLPGenerator

CENTRES = torch.tensor([[-2.0, 0.0], [1.0, 2.0]])  # the two domains: Gaussian blobs, std 0.2


class Translators(nn.ModuleDict):
    """G's side: a network per direction. As the ``generator`` of a GAN its "latent" is a point
    of domain A (the fixed sample batch is drawn with it)."""

    latent_dim = 2
    shape = (2,)


class CycleGAN(GAN):
    """Batches hold one unpaired sample of each domain: ``real`` is (B, 2 domains, 2)."""

    def __init__(
        self,
        cycle_weight: float = 10.0,  # weight of the cycle-consistency term in G's loss
        **kwargs: Any,  # the arguments of GAN
    ) -> None:
        super().__init__(**kwargs)
        self.cycle_weight = cycle_weight
        self.changes: list[tuple[str, set[str]]] = []  # (player, networks its step changed)

    def players(self) -> list[Player]:
        # GAN's two players (optimizers, n_critic, after-steps), each owning both of its side's
        # networks: d the critics {a, b}, g the translators {a2b, b2a}
        d, g = super().players()
        return [
            replace(d, parameters=self.discriminator.parameters, loss=self.critics_loss),
            replace(g, parameters=self.generator.parameters, loss=self.translators_loss),
        ]

    def generate(  # type: ignore[override]  # what the players' losses get: fakes by domain
        self, batch: Batch, generator: nn.Module | None = None
    ) -> dict[str, Tensor]:
        a, b = batch.real.unbind(1)
        return {"a": self.generator["b2a"](b), "b": self.generator["a2b"](a)}

    def critics_loss(
        self, batch: Batch, fakes: dict[str, Tensor]
    ) -> tuple[Tensor, dict[str, Tensor]]:
        reals = dict(zip("ab", batch.real.unbind(1), strict=True))
        terms = {
            f"d_{domain}_loss": self.loss.discriminator(
                critic(reals[domain]), critic(fakes[domain])
            )
            for domain, critic in self.discriminator.items()
        }
        return sum(terms.values()), {f"train/{k}": v.detach() for k, v in terms.items()}

    def translators_loss(
        self, batch: Batch, fakes: dict[str, Tensor]
    ) -> tuple[Tensor, dict[str, Tensor]]:
        a, b = batch.real.unbind(1)
        adversarial = sum(self.loss.generator(self.discriminator[k](v)) for k, v in fakes.items())
        back_a, back_b = self.generator["b2a"](fakes["b"]), self.generator["a2b"](fakes["a"])
        cycle = F.l1_loss(back_a, a) + F.l1_loss(back_b, b)
        return adversarial + self.cycle_weight * cycle, {"train/cycle_loss": cycle.detach()}

    def _step(
        self,
        opt: Any,
        loss: Tensor,
        parameters: Callable[[], Iterable[nn.Parameter]],
        player: str,
        logging: bool,
        logs: dict[str, Tensor],
    ) -> None:
        before = {k: v.detach().clone() for k, v in self.named_parameters()}
        super()._step(opt, loss, parameters, player, logging, logs)
        changed = {k for k, v in self.named_parameters() if not torch.equal(v, before[k])}
        self.changes.append((player, {".".join(k.split(".")[:2]) for k in changed}))


def two_domains(n: int = 512, batch_size: int = 64) -> DataLoader:
    noise = torch.randn(n, 2, 2, generator=torch.Generator().manual_seed(0))
    return DataLoader(TensorDataset(CENTRES + 0.2 * noise), batch_size=batch_size, shuffle=True)


def cycle_gan() -> CycleGAN:
    torch.manual_seed(0)
    translator = lambda: MLPGenerator(2, (2,), hidden=(32,), output="linear")  # noqa: E731
    critic = lambda: MLPDiscriminator((2,), hidden=(32,))  # noqa: E731
    return CycleGAN(
        generator=Translators({"a2b": translator(), "b2a": translator()}),
        discriminator=nn.ModuleDict({"a": critic(), "b": critic()}),
        g_optimizer=adam(1e-2),
        d_optimizer=adam(1e-3),
        ema=None,
    )


@pytest.mark.usefixtures("one_thread")
def test_two_generators_and_two_discriminators_train_in_the_one_step(tmp_path: Path) -> None:
    model = cycle_gan()
    logger = CSVLogger(tmp_path, name="run")
    quiet_trainer(max_epochs=10, logger=logger, log_every_n_steps=1).fit(model, two_domains())

    # one optimizer per player, in turn order, over all of that player's networks
    d_opt, g_opt = (o.optimizer for o in model.optimizers())
    owned = [{id(p) for group in o.param_groups for p in group["params"]} for o in (d_opt, g_opt)]
    assert owned == [
        {id(p) for p in m.parameters()} for m in (model.discriminator, model.generator)
    ]
    # each step moved both networks of its own side and nothing else
    sides = {"d": {"discriminator.a", "discriminator.b"}, "g": {"generator.a2b", "generator.b2a"}}
    assert [player for player, _ in model.changes] == ["d", "g"] * 80
    assert all(changed == sides[player] for player, changed in model.changes)
    assert model.d_steps == model.g_steps == model.batches == 80

    rows = list(csv.DictReader((Path(logger.log_dir) / "metrics.csv").open()))
    logged = set(rows[0])
    for name in ("d", "g"):  # each player under its name
        assert {f"train/{name}_loss", f"train/grad_norm_{name}", f"train/lr_{name}"} <= logged
    assert {"train/d_a_loss", "train/d_b_loss"} <= logged
    cycle = [float(row["train/cycle_loss"]) for row in rows if row["train/cycle_loss"]]
    assert len(cycle) == 80
    start, end = cycle[0], sum(cycle[-10:]) / 10
    assert end < 0.2 * start, f"the cycle loss went from {start:.3f} to {end:.3f}"


def test_a_checkpoint_from_before_named_players_keeps_the_critic_rhythm(
    tiny_gan: Callable[..., GAN],
) -> None:
    model = tiny_gan(n_critic=3)
    model.on_load_checkpoint({"ganlab": {"images_seen": 704, "d_steps": 11, "g_steps": 3}})
    assert (model.batches, model.d_steps, model.g_steps) == (11, 11, 3)  # no count of batches
    assert [player.due(model.batches) for player in model.players()] == [True, True]
