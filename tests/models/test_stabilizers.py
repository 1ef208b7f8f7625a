"""The stabilizer options of the shared training step: wiring and invariants."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from helpers import point_loader, quiet_trainer
from lightning.pytorch.loggers import CSVLogger

from ganlab.augment import DiffAugment, InstanceNoise
from ganlab.losses import R1, WeightClipping
from ganlab.models import GAN, Unroll
from ganlab.networks import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator


class UnrollProbe(GAN):
    """Snapshots D and its optimizer around every generator step."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.g_step_checks: list[bool] = []
        self.g_grads: list[torch.Tensor] = []

    def _step(self, opt, loss, parameters, player, logging, logs) -> None:  # type: ignore[override]
        if player != "g":
            return super()._step(opt, loss, parameters, player, logging, logs)
        d_opt = self.optimizers()[0].optimizer
        params = {k: v.detach().clone() for k, v in self.discriminator.state_dict().items()}
        state = _flat_state(d_opt.state_dict())
        super()._step(opt, loss, parameters, player, logging, logs)
        same_params = all(
            torch.equal(v, params[k]) for k, v in self.discriminator.state_dict().items()
        )
        after = _flat_state(d_opt.state_dict())
        same_state = after.keys() == state.keys() and all(
            torch.equal(torch.as_tensor(after[k]), torch.as_tensor(state[k])) for k in state
        )
        self.g_step_checks.append(same_params and same_state)
        self.g_grads.append(torch.cat([p.grad.flatten() for p in self.generator.parameters()]))


def _flat_state(state: dict[str, Any]) -> dict[str, Any]:
    return {f"{i}.{k}": v for i, s in state["state"].items() for k, v in s.items()}


def test_unrolled_g_step_leaves_d_and_its_optimizer_bit_identical(tiny_gan) -> None:
    model = tiny_gan(UnrollProbe, unroll=Unroll(steps=3))
    quiet_trainer(max_epochs=1).fit(model, point_loader(n=48, batch_size=16))
    assert model.g_step_checks == [True, True, True]


@pytest.mark.parametrize("second_order", [True, False])
def test_unrolling_changes_the_generator_gradient(tiny_gan, second_order: bool) -> None:
    grads = []
    for unroll in (None, Unroll(steps=3, second_order=second_order)):
        model = tiny_gan(UnrollProbe, unroll=unroll)
        quiet_trainer(max_steps=2).fit(model, point_loader(n=16, batch_size=16))
        grads.append(model.g_grads[0])
    assert not torch.allclose(grads[0], grads[1])


def test_packing_feeds_d_groups_of_samples(tiny_gan) -> None:
    seen: list[torch.Size] = []
    model = tiny_gan(pack=4, discriminator=MLPDiscriminator((8,), hidden=(16,)))
    model.discriminator.register_forward_pre_hook(lambda _, args: seen.append(args[0].shape))
    quiet_trainer(max_steps=2).fit(model, point_loader(n=16, batch_size=16))
    assert set(seen) == {torch.Size([4, 8])}


def test_packing_needs_a_discriminator_built_for_packs(tiny_gan) -> None:
    with pytest.raises(AssertionError, match=r"build D with shape \[8\]"):
        tiny_gan(pack=4)


def test_regularizers_are_logged_and_applied(tiny_gan, tmp_path) -> None:
    model = tiny_gan(regularizer={"r1": R1(gamma=1.0, every=2), "clip": WeightClipping(0.05)})
    logger = CSVLogger(tmp_path, name="run")
    quiet_trainer(max_epochs=2, logger=logger, log_every_n_steps=1).fit(model, point_loader())
    assert all(p.abs().max() <= 0.05 for p in model.discriminator.parameters())
    metrics = (tmp_path / "run" / "version_0" / "metrics.csv").read_text()
    header = metrics.splitlines()[0].split(",")
    assert "train/r1" in header and "train/clip" not in header  # clipping is no penalty
    r1 = [row.split(",")[header.index("train/r1")] for row in metrics.splitlines()[1:]]
    assert sum(bool(v) for v in r1) == 4  # lazy: every 2nd of 8 D steps


def test_instance_noise_anneals_to_zero(tiny_gan) -> None:
    model = tiny_gan(d_input={"noise": InstanceNoise(std=0.2, anneal_kimg=10.0)})
    x = torch.ones(10_000, 2)
    assert model.discriminator_input(x).std().item() == pytest.approx(0.2, rel=0.05)
    model.images_seen = 5000
    assert model.discriminator_input(x).std().item() == pytest.approx(0.1, rel=0.05)
    model.images_seen = 20000
    assert torch.equal(model.discriminator_input(x), x)


def test_augmentation_sees_real_and_fake_with_gradients_to_g(tiny_gan) -> None:
    calls: list[bool] = []

    def record(x: torch.Tensor, kimg: float) -> torch.Tensor:
        calls.append(x.requires_grad)
        return x.flip(-1)

    model = tiny_gan(
        generator=DCGANGenerator(4, (1, 8, 8), base_channels=4),
        discriminator=DCGANDiscriminator((1, 8, 8), base_channels=4),
        d_input={"record": record},
    )
    images = torch.randn(16, 1, 8, 8)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images), batch_size=16)
    quiet_trainer(max_steps=2).fit(model, loader)
    # D step: real, fake (detached); G step: fake with its graph
    assert calls == [False, False, True]


def test_augmentation_is_refused_for_vector_data(tiny_gan) -> None:
    with pytest.raises(AssertionError, match="model/d_input=instance_noise"):
        tiny_gan(d_input={"augment": DiffAugment()})
    tiny_gan(d_input={"noise": InstanceNoise()})  # for any data
