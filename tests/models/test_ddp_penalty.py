"""Gradient penalties under DDP: two gloo processes on half batches must train D exactly like
one process on the whole batch (the penalty's double backward goes through DDP correctly)."""

from __future__ import annotations

import functools

import torch
from helpers import ConstantLatentGAN, quiet_trainer
from lightning.pytorch.strategies import DDPStrategy
from torch.utils.data import DataLoader, TensorDataset

from ganlab.callbacks import DestroyProcessGroup
from ganlab.losses import R1
from ganlab.networks import MLPDiscriminator, MLPGenerator


def _train(devices: int, batch_size: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    sgd = functools.partial(torch.optim.SGD, lr=0.1)
    model = ConstantLatentGAN(
        generator=MLPGenerator(4, (2,), hidden=(8,), output="linear"),
        discriminator=MLPDiscriminator((2,), hidden=(8,)),
        g_optimizer=sgd,
        d_optimizer=sgd,
        regularizer={"r1": R1(gamma=10.0)},
        ema=None,
    )
    x = torch.randn(64, 2, generator=torch.Generator().manual_seed(1))
    data = DataLoader(TensorDataset(x, torch.zeros(64, dtype=torch.long)), batch_size=batch_size)
    strategy = (
        DDPStrategy(start_method="spawn", process_group_backend="gloo", find_unused_parameters=True)
        if devices > 1
        else "auto"
    )
    trainer = quiet_trainer(
        max_epochs=3, devices=devices, strategy=strategy, callbacks=[DestroyProcessGroup()]
    )
    trainer.fit(model, data)
    return {k: v.detach().clone() for k, v in model.discriminator.state_dict().items()}


def test_r1_under_two_process_ddp_matches_one_process() -> None:
    # Every batch is the whole dataset (the distributed sampler shuffles across ranks), so
    # each of the 3 steps sees the same 64 points split or not.
    single = _train(devices=1, batch_size=64)
    ddp = _train(devices=2, batch_size=32)
    assert single.keys() == ddp.keys()
    for name in single:
        assert torch.allclose(single[name], ddp[name], atol=1e-6), name
