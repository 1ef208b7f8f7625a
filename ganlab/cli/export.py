"""``ganlab-export`` / ``python -m ganlab.export``: a trained generator as one self-contained
TorchScript or ONNX file (:func:`ganlab.export.export`)."""

from __future__ import annotations

from omegaconf import DictConfig

from ganlab.checkpoints import CheckpointError
from ganlab.cli.runner import hydra_program
from ganlab.export import ExportError, export


@hydra_program("export", (CheckpointError, ExportError))
def main(cfg: DictConfig) -> None:
    export(cfg)
