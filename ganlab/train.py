"""Train any GAN from one command line.

    python -m ganlab.train model=dcgan data=mnist5k trainer.max_epochs=20
    python -m ganlab.train -m model=gan,dcgan data=digits trainer.max_epochs=1

Returns the value of ``optimized_metric`` (when set and logged) so Hydra sweepers can optimize it.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from ganlab.checkpoints import CheckpointError, read_checkpoint
from ganlab.config import config_dir, name_run, register_resolvers
from ganlab.data import DataError
from ganlab.loggers import finish_wandb
from ganlab.models import GAN
from ganlab.models.divergence import DivergenceError
from ganlab.provenance import provenance
from ganlab.stored import check_stored
from ganlab.validation import ConfigError, check_combinations, check_model, check_targets

register_resolvers()
# Errors whose message says what went wrong and how to fix it
USER_ERRORS = (CheckpointError, ConfigError, DataError, DivergenceError)
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


def train(cfg: DictConfig) -> TrainResult:
    """Fit the configured model on the configured data."""
    datamodule = preflight(cfg)
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


# What Lightning's DDP launcher sets in the launching process's environment: left over from
# one job of a sweep, LOCAL_RANK would make the next job expect processes nobody starts.
LAUNCHER_ENV = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")


@contextmanager
def _restored(names: tuple[str, ...]) -> Iterator[None]:
    """Put the environment variables ``names`` back as they were on entry."""
    saved = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _as_single_run(hydra_cfg: Any) -> None:  # HydraConf, a structured DictConfig
    """Make this job of a sweep relaunchable on its own.

    Lightning starts DDP's other processes by re-running ``sys.argv`` with
    ``hydra.run.dir=<HydraConfig run.dir>``; inside a sweep that command line still says ``-m``
    and the whole sweep, so each of them would run every job of the sweep again (pairing up
    with the wrong jobs, into a second sweep directory). Here the command line becomes this
    job's own overrides, and ``run.dir`` this job's directory.
    """
    from hydra._internal.utils import get_args_parser

    args = get_args_parser().parse_args(sys.argv[1:])
    flags = [
        arg
        for name, value in (
            ("--config-path", args.config_path),
            ("--config-name", args.config_name),
            ("--config-dir", args.config_dir),
        )
        if value is not None
        for arg in (name, value)
    ]
    sys.argv = [sys.argv[0], *flags, *hydra_cfg.overrides.task]
    with read_write(hydra_cfg):
        hydra_cfg.run.dir = hydra_cfg.runtime.output_dir


def _discard_unused_run_dir(run_dir: Path, job_name: str) -> None:
    """Remove the directory Hydra made for this run if the run wrote nothing to it: only
    ``.hydra/`` and an empty ``<job>.log`` (Lightning logs there as soon as a trainer exists).
    A run that failed its start-up checks then leaves no directory behind."""
    log = run_dir / f"{job_name}.log"
    if not run_dir.is_dir() or (log.is_file() and log.stat().st_size > 0):
        return
    if {entry.name for entry in run_dir.iterdir()} <= {".hydra", log.name}:
        shutil.rmtree(run_dir, ignore_errors=True)


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="train")
def main(cfg: DictConfig) -> float | None:
    hydra_cfg = HydraConfig.get()
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    if multirun:
        _as_single_run(hydra_cfg)
    name_run(
        cfg,
        hydra_cfg.runtime.choices,
        sweep=Path(hydra_cfg.sweep.dir).name if multirun else None,
        job=hydra_cfg.job.num if multirun else None,
    )
    try:
        with _restored(LAUNCHER_ENV) if multirun else nullcontext():
            return train(cfg).metric
    except USER_ERRORS as error:
        if multirun:  # this job fails (a sweeper may go on: Optuna's max_failure_rate), not all
            raise
        _discard_unused_run_dir(Path(hydra_cfg.runtime.output_dir), hydra_cfg.job.name)
        raise SystemExit(f"{type(error).__name__}: {error}") from None  # the message says all


if __name__ == "__main__":
    main()
