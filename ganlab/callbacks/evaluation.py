"""FID, KID, IS, precision/recall, density/coverage measured while training."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import lightning as L
from hydra.utils import instantiate
from lightning.pytorch.utilities import rank_zero_info, rank_zero_only
from torch import Tensor

from ganlab.callbacks.periodic import EveryKimg
from ganlab.data.base import GANDataModule
from ganlab.io import append_jsonl, atomic_path
from ganlab.loggers import log_now
from ganlab.metrics.evaluation import (
    Evaluator,
    ReferenceCache,
    ReferenceKey,
    build_extractor,
    take_images,
)
from ganlab.metrics.features import FeatureExtractor
from ganlab.models.base import GAN, evaluating
from ganlab.sampling import draw_batches, generate


class FeatureMetricsMonitor(EveryKimg):
    """Every ``every_kimg``, score ``num_fake`` samples of the sampling (EMA) generator and log
    ``val/<metric><budget>`` (e.g. ``val/fid5k``) to every logger.

    ``feature`` and ``metrics`` are Hydra nodes (``conf/metrics``), built on first use, so a
    disabled monitor (``every_kimg=0``) costs nothing. Real features come from the
    DataModule's ``eval_dataloader`` through the reference cache. Under DDP every process
    scores its own share of the fakes and the reals, and torchmetrics gathers them. When
    ``monitor`` is logged, the best value so far is kept as ``best_<monitor>`` and its
    checkpoint as ``<dirpath>/best.ckpt``; each measurement is appended with its provenance to
    ``<jsonl_dir>/metrics.jsonl``.
    """

    def __init__(
        self,
        feature: Mapping[str, Any] | FeatureExtractor,
        metrics: Mapping[str, Any],  # name -> metric factory (or its Hydra node)
        every_kimg: float = 0.0,  # 0: off
        num_fake: int = 5000,
        num_real: int | None = 10000,  # None: the whole split
        batch_size: int = 64,
        seed: int = 0,  # latents of the scored samples: the same samples every time
        reference_cache: str | None = None,
        monitor: str | None = None,  # e.g. val/fid5k: keep its best checkpoint
        mode: str = "min",
        dirpath: str | None = None,  # where best.ckpt goes
        jsonl_dir: str | None = None,
    ) -> None:
        super().__init__(every_kimg if every_kimg > 0 else float("inf"))
        assert mode in ("min", "max"), f"mode must be 'min' or 'max', got {mode!r}"
        self.enabled = every_kimg > 0
        self.feature_spec = feature
        self.metric_specs = dict(metrics)
        self.num_fake = num_fake
        self.num_real = num_real
        self.batch_size = batch_size
        self.seed = seed
        self.reference_cache = reference_cache
        self.monitor = monitor
        self.mode = mode
        self.dirpath = Path(dirpath) if dirpath else None
        self.jsonl_path = Path(jsonl_dir) / "metrics.jsonl" if jsonl_dir else None
        self.best: float | None = None
        self.evaluator: Evaluator | None = None
        self.last_kimg: float | None = None
        self.reference: dict[str, Any] = {}  # which real data the numbers compare against

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best = state_dict.get("best")

    def _setup(self, trainer: L.Trainer, pl_module: GAN) -> Evaluator:
        spec = self.feature_spec
        datamodule = getattr(trainer, "datamodule", None)
        data_name = getattr(datamodule, "data_name", None)
        extractor = spec if isinstance(spec, FeatureExtractor) else build_extractor(spec, data_name)
        factories = {
            name: instantiate(node) if isinstance(node, Mapping) else node
            for name, node in self.metric_specs.items()
        }
        evaluator = Evaluator(extractor.to(pl_module.device), factories)
        if evaluator.needs_real:
            assert isinstance(datamodule, GANDataModule), "evaluation needs a ganlab DataModule"
            total = len(datamodule.dataset())  # type: ignore[arg-type]
            n_real = total if self.num_real is None else min(self.num_real, total)
            key = ReferenceKey(
                datamodule.data_name,
                datamodule.split,
                tuple(datamodule.shape),
                extractor.name,
                extractor.weights_hash,
                n_real,
            )
            self.reference = {
                "dataset": key.dataset,
                "split": key.split,
                "resolution": list(key.resolution),
            }
            cache = ReferenceCache(self.reference_cache) if self.reference_cache else None
            features, _ = evaluator.real_features(
                take_images(datamodule.eval_dataloader(self.batch_size), n_real), key, cache
            )
            rank, world = trainer.global_rank, trainer.world_size
            # the processes' shares make up the whole reference once torchmetrics gathers them
            evaluator.set_real(features[rank::world], n_total=len(features))
        return evaluator

    def run(self, trainer: L.Trainer, pl_module: GAN, final: bool) -> None:
        if not self.enabled or trainer.sanity_checking:
            return
        if final and self.last_kimg == round(pl_module.kimg, 3):
            return  # already measured at this point
        if self.evaluator is None:
            self.evaluator = self._setup(trainer, pl_module)
        rank, world = trainer.global_rank, trainer.world_size
        share = self.num_fake // world + (rank < self.num_fake % world)
        fakes = self._fakes(pl_module, share, seed=self.seed + 1_000_003 * rank)
        info = {
            **self.reference,
            "kimg": round(pl_module.kimg, 3),
            "ema": pl_module.generator_ema is not None,
        }
        records = self.evaluator.score(fakes, info, n_total=self.num_fake)
        values = {f"val/{r.metric}": r.value for r in records}
        self.last_kimg = round(pl_module.kimg, 3)
        if self.monitor is not None and self.monitor in values:
            self._keep_best(trainer, values[self.monitor])
            values[f"best_{self.monitor}"] = self.best  # type: ignore[assignment]
        log_now(trainer, values)
        self._append(
            [{**r.to_json(), "metric": f"val/{r.metric}", "seed": self.seed} for r in records]
        )
        summary = ", ".join(f"{k} {v:.4g}" for k, v in values.items())
        rank_zero_info(f"[{pl_module.kimg:.0f} kimg] {summary}")

    def _fakes(self, pl_module: GAN, n: int, seed: int) -> Iterator[Tensor]:
        with evaluating(pl_module.sampling_generator) as generator:
            for inputs in draw_batches(generator, n, self.batch_size, seed):
                yield generate(generator, inputs, pl_module.device)

    def _keep_best(self, trainer: L.Trainer, value: float) -> None:
        better = self.best is None or (
            value < self.best if self.mode == "min" else value > self.best
        )
        if not better:
            return
        self.best = value
        if self.dirpath is None:
            return
        best = self.dirpath / "best.ckpt"
        # every process takes part; rank 0 writes, atomically: never a half-written best.ckpt
        with atomic_path(best) if trainer.is_global_zero else nullcontext(best) as path:
            trainer.save_checkpoint(path)

    @rank_zero_only
    def _append(self, lines: list[dict[str, Any]]) -> None:
        if self.jsonl_path is not None:
            append_jsonl(self.jsonl_path, lines)
