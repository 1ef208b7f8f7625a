"""Sample grids during training: PNGs in the run directory and images in every logger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from lightning.pytorch.utilities import rank_zero_only

from ganlab.models.base import GAN
from ganlab.plotting import load_png, save_samples


class SampleGrid(L.Callback):
    """Every ``every_kimg`` thousand images, draw the fixed-latent batch from the EMA generator.

    Image data gives a grid of the fixed latents; 2-D data a scatter of ``num_points`` seeded
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
        assert every_kimg > 0, f"every_kimg must be positive, got {every_kimg}"
        self.dirpath = Path(dirpath)
        self.every_kimg = every_kimg
        self.nrow = nrow
        self.num_points = num_points
        self._next_kimg = 0.0
        self.last_path: Path | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        assert isinstance(pl_module, GAN), "SampleGrid needs a ganlab GAN module"
        # after a resume, continue the schedule instead of redrawing every missed grid
        self._next_kimg = (pl_module.kimg // self.every_kimg) * self.every_kimg
        if pl_module.kimg > 0:
            self._next_kimg += self.every_kimg

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *_: Any) -> None:
        assert isinstance(pl_module, GAN)
        if pl_module.kimg >= self._next_kimg:
            self.draw(trainer, pl_module, f"kimg_{pl_module.images_seen // 1000:06d}.png")
            while self._next_kimg <= pl_module.kimg:
                self._next_kimg += self.every_kimg

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        assert isinstance(pl_module, GAN)
        self.draw(trainer, pl_module, "final.png")

    @rank_zero_only
    def draw(self, trainer: L.Trainer, pl_module: GAN, name: str) -> None:
        point_data = len(pl_module.sample_shape) == 1
        samples = (
            pl_module.sample(self.num_points, seed=0) if point_data else pl_module.sample_fixed()
        )
        datamodule = getattr(trainer, "datamodule", None)
        modes = getattr(datamodule, "means", None) if point_data else None
        path = save_samples(samples, self.dirpath / name, self.nrow, modes=modes)
        self.last_path = path
        step = trainer.fit_loop.epoch_loop._batches_that_stepped
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image(
                    "samples", [str(path)], step=step, caption=[f"{pl_module.kimg:.1f} kimg"]
                )
            elif isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image("samples", load_png(path), global_step=step)
