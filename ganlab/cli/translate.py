"""``ganlab-translate`` / ``python -m ganlab.translate``: translate an image or a folder of
images with a trained translation model (:func:`ganlab.translate.translate`)."""

from __future__ import annotations

from omegaconf import DictConfig

from ganlab.checkpoints import CheckpointError
from ganlab.cli.runner import hydra_program
from ganlab.translate import TranslateError, translate


@hydra_program("translate", (CheckpointError, TranslateError))
def main(cfg: DictConfig) -> None:
    translate(cfg)
