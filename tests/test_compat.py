"""Every Lightning private that ganlab reads (``ganlab.compat``), exercised on the installed
Lightning: a release that renames or changes one fails here, by name."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import lightning as L
import torch
from helpers import point_loader, quiet_trainer
from lightning.pytorch.loggers import CSVLogger, WandbLogger

from ganlab import compat
from ganlab.callbacks import LastCheckpoint


class Probe(L.Callback):
    """Reads the compat values at every batch end."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, bool, int]] = []

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        step = compat.logging_step(trainer)
        self.seen.append((step, compat.logs_this_step(trainer), trainer.global_step))


def test_logging_step_counts_batches_not_optimizer_steps(tiny_gan: Any, tmp_path: Path) -> None:
    probe = Probe()
    trainer = quiet_trainer(
        max_epochs=1, callbacks=[probe], logger=CSVLogger(tmp_path), log_every_n_steps=2
    )
    trainer.fit(tiny_gan(), point_loader(n=64, batch_size=16))  # 4 batches, 2 steps each
    steps, logs, global_steps = zip(*probe.seen, strict=True)
    # the batch's own logging step (counted after its callbacks): 0-based batches that stepped
    assert steps == (0, 1, 2, 3) and global_steps == (2, 4, 6, 8)
    assert logs == (False, True, False, True)  # every 2nd batch


def test_last_checkpoint_is_written_on_demand(tiny_gan: Any, tmp_path: Path) -> None:
    callback = LastCheckpoint(dirpath=tmp_path, save_last=True, save_top_k=0, every_n_epochs=1)
    assert compat.every_n_epochs(callback) == 1
    trainer = quiet_trainer(max_epochs=1, callbacks=[callback], enable_checkpointing=True)
    trainer.fit(tiny_gan(), point_loader())
    assert compat.last_saved_step(callback) == trainer.global_step
    (tmp_path / "last.ckpt").unlink()
    compat.save_last_now(callback, trainer)  # the same step: skipped as a duplicate
    assert not (tmp_path / "last.ckpt").exists()


def test_wandb_run_is_not_started_by_asking(tmp_path: Path) -> None:
    logger = WandbLogger(save_dir=tmp_path, mode="disabled")
    assert compat.wandb_run_if_started(logger) is None
    run = logger.experiment  # starts the run
    try:
        assert compat.wandb_run_if_started(logger) is run
    finally:
        run.finish()  # a run left open would be reused by every later WandbLogger


class EveryThirdBatch(L.LightningModule):
    """Logs one value on every batch and another (as a G loss with n_critic=3) on every third."""

    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch: Any, index: int) -> None:
        self.log("every", float(index), on_step=True, on_epoch=False)
        if index % 3 == 0:
            self.log("third", float(index), on_step=True, on_epoch=False)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_self_log_repeats_values_of_steps_that_did_not_log(tmp_path: Path) -> None:
    """Why the GAN's step logs through ``ganlab.loggers.log_now`` and not ``self.log``: Lightning
    re-reports a key's last value on every later step, so a G loss measured every 3rd batch
    would appear on every batch, two thirds of it stale. When this test fails, Lightning logs
    only what a step logged, and the step can move to ``self.log_dict``."""
    logger = CSVLogger(tmp_path)
    trainer = quiet_trainer(max_epochs=1, logger=logger, log_every_n_steps=1)
    trainer.fit(EveryThirdBatch(), point_loader(n=6, batch_size=1))
    with open(Path(logger.log_dir) / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [float(row["every"]) for row in rows] == [0, 1, 2, 3, 4, 5]
    assert [float(row["third"]) for row in rows] == [0, 0, 0, 3, 3, 3]  # 1, 2, 4, 5: repeats


def test_networks_a_subclass_gets_as_objects_are_not_saved_as_hyperparameters(
    tmp_path: Path,
) -> None:
    from ganlab.models import CycleGAN
    from ganlab.networks import PatchGANDiscriminator, ResNetTranslator

    def translator() -> ResNetTranslator:
        return ResNetTranslator((1, 8, 8), (1, 8, 8), base_channels=2, n_blocks=0)

    def patchgan() -> PatchGANDiscriminator:
        return PatchGANDiscriminator((1, 8, 8), base_channels=2, n_layers=1)

    adam = {"_target_": "torch.optim.Adam", "_partial_": True}
    spec = {"_target_": "ganlab.networks.PatchGANDiscriminator", "shape": [1, 8, 8]}
    model = CycleGAN(
        translator(),
        patchgan(),
        adam,
        adam,
        inverse_generator=translator(),  # an object: not a hyperparameter
        source_discriminator=spec,  # a config: kept, to rebuild the network from
        ema=None,
    )
    assert "inverse_generator" not in model.hparams
    assert "inverse_generator" not in model.hparams_initial
    assert model.hparams["source_discriminator"] == spec
