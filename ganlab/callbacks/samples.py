"""Sample grids during training: PNGs in the run directory and images in every logger."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from lightning.pytorch.utilities import rank_zero_only

from ganlab.callbacks.periodic import EveryKimg
from ganlab.compat import logging_step
from ganlab.models.base import GAN
from ganlab.plotting import load_png, save_samples


class SampleGrid(EveryKimg):
    """Every ``every_kimg`` thousand images, draw the same seeded latents through the EMA
    generator.

    Image data gives a grid of ``num_samples`` (a row per class for a conditional generator
    of up to 16 classes); 2-D data a scatter of ``num_points`` samples over the mixture's
    modes. Files go to ``<dirpath>/kimg_XXXXXX.png`` and the last to
    ``<dirpath>/final.png``, whatever the logger.
    """

    def __init__(
        self,
        dirpath: str,
        every_kimg: float = 10.0,
        nrow: int | None = None,  # images per row; None: 8, or a row per class
        num_samples: int = 64,  # images per grid (about: a conditional grid has whole rows)
        num_points: int = 2500,  # 2-D data: samples per scatter plot
        seed: int = 0,  # of the latents, independent of the training seed
    ) -> None:
        super().__init__(every_kimg)
        self.dirpath = Path(dirpath)
        self.nrow = nrow
        self.num_samples = num_samples
        self.num_points = num_points
        self.seed = seed
        self.last_path: Path | None = None

    def run(self, trainer: L.Trainer, pl_module: GAN, final: bool) -> None:
        name = "final.png" if final else f"kimg_{pl_module.images_seen // 1000:06d}.png"
        self.draw(trainer, pl_module, name)

    @rank_zero_only
    def draw(self, trainer: L.Trainer, pl_module: GAN, name: str) -> None:
        point_data = len(pl_module.sample_shape) == 1
        if point_data:
            samples, rows = pl_module.sample(self.num_points, seed=self.seed), None
        else:
            samples, rows = pl_module.sample_grid(self.num_samples, self.seed)
        datamodule = getattr(trainer, "datamodule", None)
        modes = getattr(datamodule, "means", None) if point_data else None
        path = save_samples(samples, self.dirpath / name, self.nrow or rows, modes=modes)
        self.last_path = path
        step = logging_step(trainer)
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image(
                    "samples", [str(path)], step=step, caption=[f"{pl_module.kimg:.1f} kimg"]
                )
            elif isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image("samples", load_png(path), global_step=step)
