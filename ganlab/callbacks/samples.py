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
    """Every ``every_kimg`` thousand images, draw the fixed-latent batch from the EMA generator.

    Image data gives a grid of the fixed latents (a row per class for a conditional generator
    of up to 16 classes); 2-D data a scatter of ``num_points`` seeded
    samples over the mixture's modes. Files go to ``<dirpath>/kimg_XXXXXX.png`` and the last to
    ``<dirpath>/final.png``, whatever the logger.
    """

    def __init__(
        self,
        dirpath: str,
        every_kimg: float = 10.0,
        nrow: int | None = None,
        num_points: int = 2500,  # 2-D data: samples per scatter plot
    ) -> None:
        super().__init__(every_kimg)
        self.dirpath = Path(dirpath)
        self.nrow = nrow
        self.num_points = num_points
        self.last_path: Path | None = None

    def run(self, trainer: L.Trainer, pl_module: GAN, final: bool) -> None:
        name = "final.png" if final else f"kimg_{pl_module.images_seen // 1000:06d}.png"
        self.draw(trainer, pl_module, name)

    @rank_zero_only
    def draw(self, trainer: L.Trainer, pl_module: GAN, name: str) -> None:
        point_data = len(pl_module.sample_shape) == 1
        samples = (
            pl_module.sample(self.num_points, seed=0) if point_data else pl_module.sample_fixed()
        )
        datamodule = getattr(trainer, "datamodule", None)
        modes = getattr(datamodule, "means", None) if point_data else None
        nrow = self.nrow or pl_module.fixed_grid_rows  # a conditional G: a row per class
        path = save_samples(samples, self.dirpath / name, nrow, modes=modes)
        self.last_path = path
        step = logging_step(trainer)
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image(
                    "samples", [str(path)], step=step, caption=[f"{pl_module.kimg:.1f} kimg"]
                )
            elif isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image("samples", load_png(path), global_step=step)
