"""Where the Hydra configs live, and the resolvers they use."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from ganlab.losses.info import q_outputs
from ganlab.networks.layers import packed_shape

GAN_SAFE_DDP = "ddp_find_unused_parameters_true"


def config_dir() -> str:
    """``ganlab/conf`` inside a built wheel; the repository's top-level ``conf/`` otherwise."""
    packaged = Path(__file__).parent / "conf"
    return str(packaged if packaged.is_dir() else Path(__file__).parent.parent / "conf")


def gan_strategy(devices: Any, num_nodes: Any = 1) -> str:
    """Lightning strategy for a GAN run: "auto" on one device, DDP that tolerates unused
    parameters otherwise (each player's step leaves the other player's parameters unused).

    >>> gan_strategy(1), gan_strategy(4), gan_strategy("0,1"), gan_strategy(1, 2)
    ('auto', 'ddp_find_unused_parameters_true', 'ddp_find_unused_parameters_true', 'ddp_find_unused_parameters_true')
    """
    single = str(devices).strip() in ("1", "[0]") and int(num_nodes) == 1
    return "auto" if single else GAN_SAFE_DDP


def output_activation(shape: Any) -> str:
    """Generator output for data of this sample shape: images are normalized to [-1, 1] by
    every ganlab DataModule (tanh); vector data such as 2-D mixtures are unbounded (linear).

    >>> output_activation([1, 28, 28]), output_activation([2])
    ('tanh', 'linear')
    """
    return "tanh" if len(shape) == 3 else "linear"


def packed_input_shape(shape: Any, m: Any) -> ListConfig:
    """Input shape of a PacGAN discriminator that sees ``m`` samples at once (m x channels).
    A ListConfig, so that ``OmegaConf.resolve`` can put it in place of the interpolation.

    >>> list(packed_input_shape([1, 28, 28], 4)), list(packed_input_shape([2], 1))
    ([4, 28, 28], [2])
    """
    return OmegaConf.create(list(packed_shape([int(s) for s in shape], int(m))))


def q_output_width(codes: Any) -> int:
    """Outputs of InfoGAN's Q head for the generator's codes (see :func:`q_outputs`).

    >>> q_output_width([10, "uniform", "uniform"])
    14
    """
    return q_outputs(list(codes))


RESOLVERS: dict[str, Callable[..., Any]] = {
    "gan_strategy": gan_strategy,
    "output_activation": output_activation,
    "packed_shape": packed_input_shape,
    "q_outputs": q_output_width,
}


def register_resolvers() -> None:
    for name, resolver in RESOLVERS.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)


def compose_config(
    *overrides: str, output_dir: str | Path, config_name: str = "train"
) -> DictConfig:
    """The config ``python -m ganlab.<config_name> <overrides>`` would run with, resolved, for
    notebooks and scripts (``ganlab.train.train(compose_config(...))``). Outside a Hydra run
    there is no run directory to create, so ``output_dir`` says where outputs go.

    >>> cfg = compose_config("model=gan", "data=ring8", output_dir="/tmp/run")
    >>> cfg.model.generator._target_, cfg.paths.output_dir
    ('ganlab.networks.MLPGenerator', '/tmp/run')
    """
    from hydra import compose, initialize_config_dir

    register_resolvers()
    with initialize_config_dir(config_dir(), version_base="1.3"):
        cfg = compose(config_name, overrides=[f"paths.output_dir={output_dir}", *overrides])
    OmegaConf.resolve(cfg)
    return cfg
