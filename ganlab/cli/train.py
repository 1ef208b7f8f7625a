"""``ganlab-train`` / ``python -m ganlab.train``: train any GAN from one command line.

    python -m ganlab.train model=dcgan data=mnist5k trainer.max_epochs=20
    python -m ganlab.train -m model=gan,dcgan data=digits trainer.max_epochs=1

Returns the value of ``optimized_metric`` (when set and logged) so Hydra sweepers can optimize
it. Training itself is :func:`ganlab.train.train`; here is what a command line adds: the run's
W&B name and group, and making each job of a ``-m`` sweep a single run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, read_write

from ganlab.checkpoints import CheckpointError
from ganlab.cli.runner import hydra_program
from ganlab.config import name_run
from ganlab.data import DataError
from ganlab.models.divergence import DivergenceError
from ganlab.train import train
from ganlab.validation import ConfigError

# Errors whose message says what went wrong and how to fix it
USER_ERRORS = (CheckpointError, ConfigError, DataError, DivergenceError)
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


@hydra_program("train", USER_ERRORS, discard_unused=True)
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
    with _restored(LAUNCHER_ENV) if multirun else nullcontext():
        return train(cfg).metric
