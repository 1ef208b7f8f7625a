"""Where the Hydra configs live, and the resolvers they use."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

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


def by_kind(kind: str, image: str, vector: str) -> str:
    """The option for data of this kind (``image`` or ``vector``, which every data config
    declares: conf/data/kind), e.g. a preset's networks in its defaults list:
    ``override arch: ${by_kind:${data/kind@_global_},dcgan,mlp}``.

    >>> by_kind("image", "dcgan", "mlp"), by_kind("vector", "dcgan", "mlp")
    ('dcgan', 'mlp')
    """
    options = {"image": image, "vector": vector}
    assert kind in options, (
        f"a data kind is one of {sorted(options)} (conf/data/kind), got {kind!r}"
    )
    return options[kind]


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


def judged_shape(shape: Any, source_shape: Any, pairs: Any) -> ListConfig:
    """Input shape of a D that judges samples of ``shape``: joined to their source image
    (channels) when it judges ``pairs`` (Pix2Pix's conditional D), else the samples'.

    >>> list(judged_shape([3, 32, 32], [1, 32, 32], True))
    [4, 32, 32]
    >>> list(judged_shape([3, 8, 8], [1, 8, 8], False))
    [3, 8, 8]
    """
    shape, source_shape = [int(s) for s in shape], [int(s) for s in source_shape]
    assert shape[1:] == source_shape[1:], (
        f"D judges a sample {shape} joined to its source {source_shape}: their height and width "
        "must match (data.shape, data.source_shape)"
    )
    joined = [shape[0] + source_shape[0], *shape[1:]] if bool(pairs) else shape
    return OmegaConf.create(joined)


def q_output_width(codes: Any, fixed_std: float | None = None) -> int:
    """Outputs of InfoGAN's Q head for the generator's codes (see :func:`q_outputs`): with a
    fixed standard deviation for the continuous codes, Q predicts only their means.

    >>> q_output_width([10, "uniform", "uniform"]), q_output_width([10, "uniform"], 1.0)
    (14, 11)
    """
    return q_outputs(list(codes), learn_std=fixed_std is None)


def downscaled_source_shape(shape: Any, scale: Any) -> ListConfig:
    """An SR task's source shape: ``shape`` with its sides divided by ``scale``
    (:func:`ganlab.data.super_resolution.downscaled_shape`).

    >>> list(downscaled_source_shape([1, 28, 28], 4))
    [1, 7, 7]
    """
    # here, not at the top: ganlab.data imports Lightning, which ganlab.sampling's users
    # (anything that only samples a trained generator) must not need
    from ganlab.data.super_resolution import downscaled_shape

    return OmegaConf.create(downscaled_shape(shape, scale))


RESOLVERS: dict[str, Callable[..., Any]] = {
    "by_kind": by_kind,
    "downscaled_shape": downscaled_source_shape,
    "gan_strategy": gan_strategy,
    "judged_shape": judged_shape,
    "output_activation": output_activation,
    "packed_shape": packed_input_shape,
    "q_outputs": q_output_width,
}


def name_run(
    cfg: DictConfig, choices: Mapping[str, Any], sweep: str | None = None, job: int | None = None
) -> None:
    """Fill ``cfg.run_name`` and ``cfg.run_group`` (the W&B run's name and group) where they
    are null, from the config groups chosen (``choices``: Hydra's ``runtime.choices``) and the
    seed; the runs of a sweep (``sweep``: its directory name, ``job``: the run's number) share
    one group.

    >>> cfg = OmegaConf.create({"run_name": None, "run_group": None, "seed": 3})
    >>> name_run(cfg, {"model": "wgan_gp", "data": "grid25", "experiment": None})
    >>> cfg.run_name, cfg.run_group
    ('wgan_gp-grid25-s3', 'wgan_gp-grid25')
    >>> name_run(cfg := OmegaConf.create({"run_name": None, "run_group": None, "seed": 0}),
    ...          {"model": "gan", "data": "grid25", "experiment": "coverage"}, "2026-11-26_10-00-00", 4)
    >>> cfg.run_name, cfg.run_group
    ('coverage-gan-grid25-s0-4', 'coverage-2026-11-26_10-00-00')
    """
    parts = [choices.get("experiment"), choices.get("model"), choices.get("data")]
    base = "-".join(str(p) for p in parts if p)
    name = base + ("" if cfg.get("seed") is None else f"-s{cfg.seed}")
    with open_dict(cfg):
        if cfg.get("run_name") is None:
            cfg.run_name = name if job is None else f"{name}-{job}"
        if cfg.get("run_group") is None:
            group = choices.get("experiment") or base
            cfg.run_group = group if sweep is None else f"{group}-{sweep}"


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
    overrides = (f"paths.output_dir={output_dir}", *overrides)
    with initialize_config_dir(config_dir(), version_base="1.3"):
        cfg = compose(config_name, overrides=list(overrides), return_hydra_config=True)
    choices = cfg.hydra.runtime.choices
    with open_dict(cfg):
        del cfg.hydra  # its ${hydra:...} values exist only inside a Hydra run
    if "run_name" in cfg:
        name_run(cfg, choices)
    OmegaConf.resolve(cfg)
    return cfg
