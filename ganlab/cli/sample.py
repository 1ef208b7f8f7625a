"""``ganlab-sample`` / ``python -m ganlab.sample``: grids, tensors, PNG folders, class rows,
traversals and latent walks from a checkpoint (:func:`ganlab.sample.sample`)."""

from __future__ import annotations

from omegaconf import DictConfig

from ganlab.checkpoints import CheckpointError
from ganlab.cli.runner import hydra_program
from ganlab.sample import SampleError, sample


@hydra_program("sample", (CheckpointError, SampleError))
def main(cfg: DictConfig) -> None:
    sample(cfg)
