"""Every option of every config group composes, and the swappable parts instantiate."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import CONF, TRANSLATION_PRESETS, compose_train, model_presets, quiet_trainer
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig

from ganlab.config import GAN_SAFE_DDP
from ganlab.models import GAN


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def test_every_group_has_options() -> None:
    for group in (
        "data",
        "model",
        "model/loss",
        "model/arch",
        "model/optim",
        "model/regularizer",
        "model/d_input",
        "model/unroll",
        "trainer",
        "logger",
        "callbacks",
        "experiment",
        "debug",
    ):
        assert options(group), f"conf/{group} is empty"


@pytest.mark.parametrize("data", options("data"))
def test_data_configs_instantiate(tmp_path: Path, data: str) -> None:
    overrides = [f"data={data}"] + (
        ["data.root=" + str(tmp_path)]
        if data in ("image_folder", "paired_folder", "unpaired_folder")
        else []
    )
    cfg = compose_train(tmp_path, *overrides)
    datamodule = instantiate(cfg.data)
    assert tuple(datamodule.shape) == tuple(cfg.data.shape)


def build_model(cfg: DictConfig) -> GAN:
    return instantiate(cfg.model, _recursive_=False, _convert_="all")


def fit_briefly(cfg: DictConfig, steps: int = 12) -> GAN:
    """Train ``steps`` optimizer steps; check that D learned something and nothing diverged."""
    model = build_model(cfg)
    before = [p.detach().clone() for p in model.discriminator.parameters()]
    quiet_trainer(max_steps=steps).fit(model, datamodule=instantiate(cfg.data))
    after = list(model.discriminator.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before, strict=True))
    assert all(torch.isfinite(p).all() for p in model.parameters())
    return model


@pytest.mark.parametrize("model", model_presets())
def test_presets_train_on_grid25_with_mlp_nets(tmp_path: Path, model: str) -> None:
    cfg = compose_train(
        tmp_path, f"model={model}", "data=grid25", "model/arch=mlp", "data.batch_size=64"
    )
    fit_briefly(cfg)


@pytest.mark.parametrize("model", model_presets())
def test_presets_train_on_digits_with_their_own_nets(tmp_path: Path, model: str) -> None:
    cfg = compose_train(tmp_path, f"model={model}", "data=digits")
    arch = cfg.model.generator._target_.rsplit(".", 1)[-1]
    small = {  # narrow nets: a few CPU steps, not a quality run
        "MLPGenerator": ["model.generator.hidden=[32]", "model.discriminator.hidden=[32]"],
        "DCGANGenerator": [
            "model.generator.base_channels=8",
            "model.discriminator.base_channels=8",
        ],
        "ResNetGenerator": [  # the ResNet nets need >= 16 px
            "data.shape=[1,16,16]",
            "model.generator.channels=16",
            "model.discriminator.channels=16",
        ],
    }[arch]
    fit_briefly(compose_train(tmp_path, f"model={model}", "data=digits", *small))


@pytest.mark.parametrize("model", model_presets(translating=True))
def test_translation_presets_train_on_their_paired_data(tmp_path: Path, model: str) -> None:
    narrow = ["model.generator.base_channels=8", "model.discriminator.base_channels=8"]
    cfg = compose_train(tmp_path, f"model={model}", f"data={TRANSLATION_PRESETS[model]}", *narrow)
    fit_briefly(cfg)


@pytest.mark.parametrize(
    ("arch", "data"),
    [
        ("mlp", "ring8"),
        ("mlp", "mnist5k"),
        ("dcgan", "mnist5k"),
        ("dcgan", "celeba"),
        ("resnet", "cifar10"),
        ("resnet", "celeba"),
    ],
)
def test_architectures_follow_the_data_shape(tmp_path: Path, arch: str, data: str) -> None:
    cfg = compose_train(tmp_path, f"model/arch={arch}", f"data={data}")
    gan = build_model(cfg)
    sample = gan.sample(2, seed=0)
    assert sample.shape == (2, *cfg.data.shape)
    assert gan.discriminator(sample).shape == (2,)


@pytest.mark.parametrize("arch", ["dcgan", "resnet"])
def test_conv_nets_on_vector_data_name_the_fix(tmp_path: Path, arch: str) -> None:
    cfg = compose_train(tmp_path, f"model/arch={arch}", "data=ring8")
    with pytest.raises(InstantiationException, match="model/arch=mlp"):
        build_model(cfg)


def test_stabilizers_combine_from_the_command_line(tmp_path: Path) -> None:
    cfg = compose_train(
        tmp_path,
        "model=dcgan",
        "data=mnist5k",
        "model/loss=hinge",
        "model/regularizer=[r1,clip]",
        "model.regularizer.r1.every=16",
        "model.pack=4",
        "model/d_input=[diffaugment,instance_noise]",
        "model.d_input.noise.std=0.05",
        "model.discriminator.minibatch=stddev",
        "model/unroll=first_order",
        "model.unroll.steps=2",
        "model.d_optimizer.lr=4e-4",  # TTUR
        "model.g_optimizer.lr=1e-4",
    )
    gan = build_model(cfg)
    assert type(gan.loss).__name__ == "Hinge"
    assert {k: type(v).__name__ for k, v in gan.regularizers.items()} == {
        "r1": "R1",
        "clip": "WeightClipping",
    }
    assert gan.regularizers["r1"].every == 16
    assert gan.pack == 4 and gan.discriminator.shape == (4, 32, 32)
    assert [type(t).__name__ for t in gan.d_input.values()] == ["DiffAugment", "InstanceNoise"]
    assert gan.d_input["noise"].std == 0.05
    assert gan.unroll is not None and (gan.unroll.steps, gan.unroll.second_order) == (2, False)
    d_opt, g_opt = gan.configure_optimizers()[0]
    assert (d_opt.param_groups[0]["lr"], g_opt.param_groups[0]["lr"]) == (4e-4, 1e-4)


@pytest.mark.parametrize("loss", options("model/loss"))
def test_losses_swap_from_the_command_line(tmp_path: Path, loss: str) -> None:
    cfg = compose_train(tmp_path, "model=gan", "data=ring8", f"model/loss={loss}")
    gan = build_model(cfg)
    names = {
        "nonsaturating": "NonSaturating",
        "minimax": "Minimax",
        "wasserstein": "Wasserstein",
        "hinge": "Hinge",
        "least_squares": "LeastSquares",
    }
    assert type(gan.loss).__name__ == names[loss]


@pytest.mark.parametrize(
    ("overrides", "strategy"),
    [
        ([], "auto"),
        (["trainer.devices=4"], GAN_SAFE_DDP),
        (["trainer.num_nodes=2"], GAN_SAFE_DDP),
        (["trainer=ddp_cpu"], GAN_SAFE_DDP),
        (["trainer=ddp"], GAN_SAFE_DDP),
        (["trainer=gpu"], "auto"),
        (["trainer=cpu"], "auto"),
    ],
)
def test_multi_device_runs_get_a_gan_safe_strategy(
    tmp_path: Path, overrides: list[str], strategy: str
) -> None:
    assert compose_train(tmp_path, *overrides).trainer.strategy == strategy


@pytest.mark.parametrize("logger", options("logger"))
def test_logger_configs_instantiate(tmp_path: Path, logger: str) -> None:
    cfg = compose_train(tmp_path, f"logger={logger}")
    loggers = [instantiate(node) for node in (cfg.logger or {}).values()]
    assert len(loggers) == (0 if logger == "none" else 1)


@pytest.mark.parametrize("experiment", options("experiment"))
def test_experiments_and_debug_presets_compose(tmp_path: Path, experiment: str) -> None:
    cfg = compose_train(tmp_path, f"experiment={experiment}", "debug=fast")
    callbacks = [instantiate(node) for node in cfg.callbacks.values()]
    assert any(type(c).__name__ == "KimgBudget" for c in callbacks)
    assert cfg.max_kimg == 1  # debug applies after the experiment


def test_optimizers_are_partial_and_swappable(tmp_path: Path) -> None:
    cfg = compose_train(
        tmp_path,
        "model=gan",
        "data=ring8",
        "model.d_optimizer._target_=torch.optim.SGD",
        "+model.d_optimizer.momentum=0.9",
        "~model.d_optimizer.betas",
    )
    gan = instantiate(cfg.model, _recursive_=False, _convert_="all")
    d_opt, g_opt = gan.configure_optimizers()[0]
    assert type(d_opt).__name__ == "SGD" and d_opt.param_groups[0]["momentum"] == 0.9
    assert type(g_opt).__name__ == "Adam"
