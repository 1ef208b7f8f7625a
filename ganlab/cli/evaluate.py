"""``ganlab-evaluate`` / ``python -m ganlab.evaluate``: score a checkpoint's generator or a
folder of generated images against real images (:func:`ganlab.evaluate.evaluate`); returns
the first metric's value, for Hydra sweepers."""

from __future__ import annotations

from omegaconf import DictConfig

from ganlab.checkpoints import CheckpointError
from ganlab.cli.runner import hydra_program
from ganlab.evaluate import EvaluationError, evaluate


@hydra_program("evaluate", (CheckpointError, EvaluationError))
def main(cfg: DictConfig) -> float:
    return evaluate(cfg)[0].value
