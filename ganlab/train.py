"""Train any GAN: :func:`train` fits the model a composed config describes.

    python -m ganlab.train model=dcgan data=mnist5k trainer.max_epochs=20
    python -m ganlab.train -m model=gan,dcgan data=digits trainer.max_epochs=1

The command line (also installed as ``ganlab-train``) is :mod:`ganlab.cli.train`; from Python,
``train(ganlab.config.compose_config(<overrides>, output_dir=...))``.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
from hydra.utils import instantiate
from lightning.pytorch.utilities import rank_zero_info
from omegaconf import DictConfig, OmegaConf, open_dict

from ganlab.augment import small_data_remedy
from ganlab.checkpoints import read_checkpoint
from ganlab.config import register_resolvers
from ganlab.loggers import finish_wandb
from ganlab.models import GAN
from ganlab.models.divergence import DivergenceError
from ganlab.provenance import provenance
from ganlab.stored import check_stored
from ganlab.validation import ConfigError, check_combinations, check_model, check_targets

register_resolvers()
# Lightning 2.6 on torch >= 2.10 warns about its own use of a deprecated pytree API.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")


def _instantiate_group(group: DictConfig | None) -> list[Any]:
    """Instantiate every ``_target_`` node of a config group that maps names to nodes."""
    if not group:
        return []
    return [instantiate(node) for node in group.values() if node is not None and "_target_" in node]


def _continue_run(cfg: DictConfig, checkpoint: dict[str, Any], path: Path) -> None:
    """Resume the checkpoint's own run: its directory (checkpoints, samples, CSV and
    TensorBoard logs) and its W&B run, when they can be found.

    The model is built from this command line, not from the checkpoint's stored configs; those
    are still checked as every loader checks them (:mod:`ganlab.stored`; ``trust=true``
    accepts them), and so is the W&B id, which joins the config (where Hydra would resolve an
    interpolation in it when the logger is built)."""
    stored = check_stored(
        {
            "hyper_parameters": checkpoint.get("hyper_parameters", {}),
            "wandb_id": checkpoint["ganlab"].get("wandb_id"),
        },
        path,
        bool(cfg.get("trust")),
    )
    run_dir = path.resolve().parent.parent
    with open_dict(cfg):
        if (run_dir / ".hydra").is_dir() and path.resolve().parent.name == "checkpoints":
            print(
                f"resuming run {run_dir} (this invocation's own config and log: "
                f"{cfg.paths.output_dir})"
            )
            cfg.paths.output_dir = str(run_dir)
        wandb_id = stored["wandb_id"]
        if isinstance(wandb_id, str) and wandb_id and cfg.get("logger") and cfg.logger.get("wandb"):
            cfg.logger.wandb.id = wandb_id
            cfg.logger.wandb.resume = "allow"


@dataclass
class TrainResult:
    trainer: L.Trainer
    model: L.LightningModule
    datamodule: L.LightningDataModule
    metric: float | None  # value of cfg.optimized_metric, when set and logged


def preflight(cfg: DictConfig) -> L.LightningDataModule:
    """Every start-up check that needs no trainer, made in the launching process before any
    process group, logger, callback or checkpoint exists, so that a problem is one message:
    the config (:mod:`ganlab.validation`), then the data (the datamodule's ``prepare_data``:
    files found, unpacked or downloaded, else one :class:`DataError` naming them and where to
    get them). Returns the datamodule.

    The data check runs on local rank 0 only, as Lightning's own ``prepare_data`` does: the
    processes Lightning's DDP starts (``LOCAL_RANK`` >= 1) come after the launcher's check.
    """
    check_combinations(cfg)  # before anything is built or loaded
    check_targets(cfg)
    datamodule: L.LightningDataModule = instantiate(cfg.data)
    local_rank = os.environ.get("LOCAL_RANK", os.environ.get("SLURM_LOCALID", "0"))
    if int(local_rank) == 0:
        datamodule.prepare_data()
    return datamodule


def _remedy_small_data(cfg: DictConfig, datamodule: L.LightningDataModule) -> None:
    """Below ``small_data.below`` training images of at least ``small_data.min_side`` px, a
    model with no augmentation of its own gets ``small_data.d_input``
    (:func:`~ganlab.augment.small_data_remedy`); said once."""
    remedy = cfg.get("small_data")
    shape = tuple(getattr(datamodule, "shape", ()))
    if not remedy or not remedy.get("below") or len(shape) != 3:
        return
    if min(shape[1:]) < remedy.get("min_side", 0):  # too small for its shifts and cut-outs
        return
    datamodule.setup("fit")  # kept: the trainer's setup finds the dataset loaded
    with open_dict(cfg):
        note = small_data_remedy(cfg.model, remedy, getattr(datamodule, "dataset_size", None))
    if note:
        rank_zero_info(note)


def train(cfg: DictConfig) -> TrainResult:
    """Fit the configured model on the configured data."""
    datamodule = preflight(cfg)
    _remedy_small_data(cfg, datamodule)
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path is not None and ckpt_path != "last":
        _continue_run(cfg, read_checkpoint(ckpt_path, for_resume=True), Path(ckpt_path))

    # Networks, loss and optimizers reach the module as plain mappings: it builds them and
    # stores them as hyperparameters, so a checkpoint alone can rebuild the model.
    model: L.LightningModule = instantiate(cfg.model, _recursive_=False, _convert_="all")
    check_model(model)
    callbacks = _instantiate_group(cfg.get("callbacks"))
    loggers = _instantiate_group(cfg.get("logger"))
    trainer: L.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)

    config = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(config, dict)
    config["provenance"] = provenance()  # version, git commit, libraries, host
    for logger in trainer.loggers:
        logger.log_hyperparams(config)  # type: ignore[arg-type]

    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
    finally:
        finish_wandb(trainer)
    if isinstance(model, GAN) and model.nonfinite is not None:
        raise DivergenceError(model.nonfinite.message())
    if trainer.is_global_zero:
        print(f"run directory: {cfg.paths.output_dir}")

    metric_name = cfg.get("optimized_metric")
    metric = trainer.callback_metrics.get(metric_name) if metric_name else None
    if metric_name and metric is None:  # a sweeper would get None: say which names exist
        logged = ", ".join(sorted(trainer.callback_metrics)) or "none"
        raise ConfigError(
            f"optimized_metric={metric_name} was never logged by this run (logged: {logged}); "
            "set optimized_metric to one of those, or make the run measure it (val/fid5k: "
            "callbacks.evaluation.every_kimg > 0, num_fake=5000; val/kl: data=ring8 or grid25)"
        )
    return TrainResult(trainer, model, datamodule, None if metric is None else float(metric))


if __name__ == "__main__":  # python -m ganlab.train runs ganlab.cli.train
    import importlib  # not a plain import: ganlab.cli.train imports this module

    importlib.import_module("ganlab.cli.train").main()
