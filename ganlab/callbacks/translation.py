"""How close a translator's outputs are to their targets, measured while training."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_info

from ganlab.callbacks.periodic import EveryKimg, append_metrics
from ganlab.loggers import log_now
from ganlab.metrics.translation import cycle_scores, paired_scores
from ganlab.models.base import GAN


class TranslationMonitor(EveryKimg):
    """Every ``every_kimg``, translate the data's held-out images with the sampling generator
    (the EMA one where there is one), in the model's test-time mode, and log how well: on
    paired data ``val/l1``, ``val/psnr`` and ``val/ssim`` to the targets
    (:func:`ganlab.metrics.paired_scores`); on unpaired data (CycleGAN) ``val/cycle_l1_a``
    and ``val/cycle_l1_b``, how well each domain's images come back through both
    translators (:func:`ganlab.metrics.cycle_scores`).

    Active only for a translator (a model with ``translate``: Pix2Pix, CycleGAN) on data with
    held-out images (``held_out()``), so it can sit in the default callbacks. Each
    measurement is also appended, with how it was measured, to ``<jsonl_dir>/metrics.jsonl``
    when ``jsonl_dir`` is set. The outputs are seeded and every process translates the same
    pairs, so all ranks agree without communication; training's random stream is untouched.
    """

    def __init__(
        self,
        every_kimg: float = 10.0,
        num_pairs: int | None = None,  # the first this many held-out pairs (images of each
        # domain, unpaired); None: all
        batch_size: int = 64,  # pairs translated at a time (BatchNorm's batch in train mode)
        seed: int = 0,  # of the dropout draws: the same outputs for the same weights
        jsonl_dir: str | None = None,
    ) -> None:
        super().__init__(every_kimg)
        assert num_pairs is None or num_pairs > 0, f"num_pairs must be positive, got {num_pairs}"
        self.num_pairs = num_pairs
        self.batch_size = batch_size
        self.seed = seed
        self.jsonl_path = Path(jsonl_dir) / "metrics.jsonl" if jsonl_dir else None
        self.history: list[dict[str, Any]] = []

    def run(self, trainer: L.Trainer, pl_module: GAN, final: bool) -> None:
        datamodule = getattr(trainer, "datamodule", None)
        translate = getattr(pl_module, "translate", None)
        if translate is None or not hasattr(datamodule, "held_out"):
            return
        assert datamodule is not None
        if final and self.history and self.history[-1]["kimg"] == round(pl_module.kimg, 3):
            return  # already measured at this point
        held_out = datamodule.held_out()
        if isinstance(held_out, tuple):  # unpaired: the images of each domain
            source, target = (domain.images for domain in held_out)
            n = min(len(source), len(target), self.num_pairs or len(source))
            values = {
                f"val/{name}": value
                for name, value in cycle_scores(
                    functools.partial(translate, seed=self.seed, batch_size=self.batch_size),
                    source[:n],
                    target[:n],
                ).items()
            }
            protocol = (
                "unpaired: mean absolute error per pixel of F(G(a)) to a (cycle_l1_a) and of "
                "G(F(b)) to b (cycle_l1_b), images in [-1, 1]"
            )
        else:
            n = len(held_out.source) if self.num_pairs is None else self.num_pairs
            output = translate(held_out.source[:n], seed=self.seed, batch_size=self.batch_size)
            values = {
                f"val/{name}": value
                for name, value in paired_scores(output, held_out.target[:n]).items()
            }
            protocol = (
                "paired: L1 per pixel, PSNR over the set, mean SSIM (11x11 Gaussian, "
                "sigma 1.5), images in [-1, 1]"
            )
        log_now(trainer, values)
        record = {
            "kimg": round(pl_module.kimg, 3),
            "n_pairs": n,
            "split": "test",
            "dataset": getattr(datamodule, "data_name", type(datamodule).__name__),
            "seed": self.seed,
            "batch_size": self.batch_size,
            "generator": "ema" if pl_module.generator_ema is not None else "live",
            "test_time": getattr(pl_module, "inference", "eval"),
            "protocol": protocol,
        }
        self.history.append({**values, **record})
        append_metrics(self.jsonl_path, values, record)
        summary = ", ".join(f"{k} {v:.4g}" for k, v in values.items())
        rank_zero_info(f"[{pl_module.kimg:.0f} kimg] {summary}")
