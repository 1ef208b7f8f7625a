"""Every option of every config group composes, and the swappable parts instantiate."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import CONF, compose_train
from hydra.errors import InstantiationException
from hydra.utils import instantiate

from ganlab.config import GAN_SAFE_DDP


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def test_every_group_has_options() -> None:
    for group in (
        "data",
        "model",
        "model/loss",
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
        ["data.root=" + str(tmp_path)] if data == "image_folder" else []
    )
    cfg = compose_train(tmp_path, *overrides)
    datamodule = instantiate(cfg.data)
    assert tuple(datamodule.shape) == tuple(cfg.data.shape)


@pytest.mark.parametrize("model", options("model"))
@pytest.mark.parametrize("data", ["ring8", "mnist5k", "celeba"])
def test_model_configs_instantiate_for_data_shapes(tmp_path: Path, model: str, data: str) -> None:
    if model == "dcgan" and data == "ring8":
        with pytest.raises(InstantiationException, match="model=gan"):
            instantiate(
                compose_train(tmp_path, f"model={model}", f"data={data}").model,
                _recursive_=False,
                _convert_="all",
            )
        return
    cfg = compose_train(tmp_path, f"model={model}", f"data={data}")
    gan = instantiate(cfg.model, _recursive_=False, _convert_="all")
    sample = gan.sample(2, seed=0)
    assert sample.shape == (2, *cfg.data.shape)
    assert gan.discriminator(sample).shape == (2,)


@pytest.mark.parametrize("loss", options("model/loss"))
def test_losses_swap_from_the_command_line(tmp_path: Path, loss: str) -> None:
    cfg = compose_train(tmp_path, "model=gan", "data=ring8", f"model/loss={loss}")
    gan = instantiate(cfg.model, _recursive_=False, _convert_="all")
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
