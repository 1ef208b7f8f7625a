"""Mode coverage on Gaussian-mixture data, measured while training (VEEGAN / PacGAN protocol)."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.utilities import rank_zero_info

from ganlab.callbacks.periodic import EveryKimg, append_metrics
from ganlab.loggers import log_now
from ganlab.metrics.mixture import mixture_coverage
from ganlab.models.base import GAN


class MixtureCoverageMonitor(EveryKimg):
    """Every ``every_kimg``, score ``num_samples`` seeded samples of the sampling (EMA)
    generator against the mixture's modes and log ``val/modes``, ``val/hq`` and ``val/kl``.

    Active only when the DataModule is a Gaussian mixture (it has ``means`` and ``std``), so it
    can sit in the default callbacks. Each measurement is also appended, with how it was
    measured, to ``<jsonl_dir>/metrics.jsonl`` when ``jsonl_dir`` is set. Every process draws
    the same seeded samples, so all ranks agree on the value without communication.
    """

    def __init__(
        self,
        every_kimg: float = 100.0,
        num_samples: int = 2500,  # the papers' protocol
        seed: int = 0,  # latent seed of the scored samples: the same samples every time
        hq_std: float = 3.0,  # "high quality" = within this many std of the nearest mode
        jsonl_dir: str | None = None,
    ) -> None:
        super().__init__(every_kimg)
        self.num_samples = num_samples
        self.seed = seed
        self.hq_std = hq_std
        self.jsonl_path = Path(jsonl_dir) / "metrics.jsonl" if jsonl_dir else None
        self.history: list[dict[str, float | int | str]] = []

    def run(self, trainer: L.Trainer, pl_module: GAN, final: bool) -> None:
        datamodule = getattr(trainer, "datamodule", None)
        if not (hasattr(datamodule, "means") and hasattr(datamodule, "std")):
            if final:
                rank_zero_info(
                    "MixtureCoverageMonitor: the data is not a Gaussian mixture; skipped"
                )
            return
        assert datamodule is not None
        if final and self.history and self.history[-1]["kimg"] == round(pl_module.kimg, 3):
            return  # already measured at this point
        samples = pl_module.sample(self.num_samples, seed=self.seed)
        result = mixture_coverage(
            samples.flatten(1).cpu(), datamodule.means, datamodule.std, self.hq_std
        )
        values = {"val/modes": float(result.modes), "val/hq": result.hq, "val/kl": result.kl}
        log_now(trainer, values)
        record = {
            "kimg": round(pl_module.kimg, 3),
            "n_fake": self.num_samples,
            "seed": self.seed,
            "generator": "ema" if pl_module.generator_ema is not None else "live",
            "num_modes": result.num_modes,
            "protocol": f"mixture coverage, HQ within {self.hq_std} std (VEEGAN/PacGAN)",
        }
        self.history.append({**values, **record})
        append_metrics(self.jsonl_path, values, record)
