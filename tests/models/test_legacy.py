"""Checkpoints of ganlab 0.1 (flat EMA, unrolling, instance-noise and scheduler arguments; the
grid latents as buffers) load, sample and resume with today's code.

``checkpoints/ganlab-0.1-gan-ring8.ckpt`` was written by ganlab 0.1 (commit 28ca9c5):
``python -m ganlab.train model=gan data=ring8 model.generator.hidden=[8]
model.discriminator.hidden=[8] max_kimg=0.5 data.batch_size=64 model.instance_noise=0.1
model.unrolled_steps=2 model.ema_half_life_kimg=1 model.scheduler_interval=step
model.g_scheduler={_target_:torch.optim.lr_scheduler.StepLR,_partial_:true,step_size:2,gamma:0.5}``.
Measured when 0.2 landed: that run continued to 4 kimg by 0.1 and by 0.2 (today's overrides)
ends with bit-identical weights, and so do fresh runs of both versions.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from helpers import QUIET, compose_train

from ganlab import load_generator
from ganlab.augment import InstanceNoise
from ganlab.models import EMA, GAN, Schedulers, Unroll
from ganlab.train import train

OLD = Path(__file__).parent / "checkpoints" / "ganlab-0.1-gan-ring8.ckpt"


def test_an_old_checkpoint_builds_the_same_model_in_todays_shape() -> None:
    stored = torch.load(OLD, weights_only=True)
    assert "unrolled_steps" in stored["hyper_parameters"] and "fixed_z" in stored["state_dict"]
    model = GAN.load_from_checkpoint(OLD)
    assert model.ema == EMA(half_life_kimg=1, rampup=0.05)
    assert model.unroll == Unroll(steps=2, second_order=True)
    assert model.d_input == {"noise": InstanceNoise(std=0.1, anneal_kimg=500.0)}
    assert isinstance(model.schedulers, Schedulers) and model.schedulers.interval == "step"
    assert model.schedulers.d is None and model.schedulers.g is not None
    weights = {k: v for k, v in stored["state_dict"].items() if not k.startswith("fixed_")}
    assert weights.keys() == model.state_dict().keys()
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in weights.items())
    assert set(model.hparams) & {"ema_half_life_kimg", "unrolled_steps", "instance_noise"} == set()


def test_an_old_checkpoint_samples_and_resumes(tmp_path: Path) -> None:
    generator = load_generator(OLD)
    assert generator.ema and generator.sample(4, seed=0).shape == (4, 2)
    start = tmp_path / "start.ckpt"
    shutil.copy(OLD, start)
    cfg = compose_train(
        tmp_path,
        *QUIET,
        "model=gan",
        "data=ring8",
        "model.generator.hidden=[8]",
        "model.discriminator.hidden=[8]",
        "data.batch_size=64",
        "model/d_input=instance_noise",
        "model/unroll=second_order",
        "model.unroll.steps=2",
        "model.ema.half_life_kimg=1",
        "max_kimg=1",
        f"ckpt_path={start}",
    )
    result = train(cfg)
    assert result.model.images_seen == 1024  # continued from the checkpoint's 512
