"""The runner every Hydra program of ganlab shares (:mod:`ganlab.cli`).

A program is a function of the composed config; :func:`hydra_program` makes it a command line:
Hydra composes ``conf/<config_name>.yaml`` with the command line's overrides and calls it. An
error the user can fix (the program's ``user_errors``, whose messages say what went wrong and
how to fix it) ends the program with that one line instead of a traceback.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from ganlab.config import config_dir

R = TypeVar("R")
UserErrors = tuple[type[Exception], ...]


def one_line(error: Exception) -> str:
    """How a user error ends a program: its type and its message.

    >>> one_line(ValueError("seed=-1 must be >= 0"))
    'ValueError: seed=-1 must be >= 0'
    """
    return f"{type(error).__name__}: {error}"


def discard_unused_run_dir(run_dir: Path, job_name: str) -> None:
    """Remove the directory Hydra made for this run if the run wrote nothing to it: only
    ``.hydra/`` and an empty ``<job>.log`` (Lightning logs there as soon as a trainer exists).
    A run that failed its start-up checks then leaves no directory behind."""
    log = run_dir / f"{job_name}.log"
    if not run_dir.is_dir() or (log.is_file() and log.stat().st_size > 0):
        return
    if {entry.name for entry in run_dir.iterdir()} <= {".hydra", log.name}:
        shutil.rmtree(run_dir, ignore_errors=True)


def hydra_program(
    config_name: str,
    user_errors: UserErrors,
    *,
    discard_unused: bool = False,  # a failed run removes its run directory if it wrote nothing
) -> Callable[[Callable[[DictConfig], R]], Callable[[], None]]:
    """Decorate ``run(cfg)`` into a program: ``main()`` reads the command line (``sys.argv``),
    composes ``conf/<config_name>.yaml`` and calls ``run``; what ``run`` returns goes to Hydra
    (a sweeper optimizes it).

    One of ``user_errors`` ends the program as ``SystemExit("<Type>: <message>")``, except in
    a ``-m`` sweep, where it fails only its job (the sweeper decides whether the sweep goes on:
    Optuna's ``max_failure_rate``). Only a program whose run directory is its own (not ``.``)
    may set ``discard_unused``.
    """

    def decorate(run: Callable[[DictConfig], R]) -> Callable[[], None]:
        # wraps: Hydra names the job (hydra.job.name, <job>.log) after run's module, e.g. train
        @functools.wraps(run)
        def task(cfg: DictConfig) -> R:
            try:
                return run(cfg)
            except user_errors as error:
                hydra_cfg = HydraConfig.get()
                if hydra_cfg.mode == RunMode.MULTIRUN:
                    raise
                if discard_unused:
                    discard_unused_run_dir(Path(hydra_cfg.runtime.output_dir), hydra_cfg.job.name)
                raise SystemExit(one_line(error)) from None  # the message says all

        return hydra.main(version_base="1.3", config_path=config_dir(), config_name=config_name)(
            task
        )

    return decorate
