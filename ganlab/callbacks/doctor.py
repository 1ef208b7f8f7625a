"""The GAN doctor: watch the signals the literature uses and say what is going wrong.

Every ``every_kimg`` (after ``start_kimg``) it measures

* ``doctor/coverage``: the fraction of recent real samples with a generated sample among
  their 5 nearest neighbours (Naeem et al.'s coverage, on the samples themselves, images
  average-pooled to at most 8x8): it falls towards 0 as G collapses onto a few modes;
* ``doctor/d_auc``: how well D separates the current real batch from fresh fakes, as the
  probability that a real sample scores above a fake one (1: D wins outright, so G's gradient
  carries little information; any objective, Wasserstein included);
* ``doctor/grad_ratio_d`` / ``_g``: the largest gradient norm since the last check over the
  median of the earlier intervals' medians (an explosion shows as a ratio in the hundreds);
* ``doctor/d_loss_cv``: the coefficient of variation of D's loss over the last ``window``
  steps (violent oscillation).

A value past its threshold in ``patience`` consecutive checks is a finding; ``doctor/status``
is the number of findings (0: healthy). D overpowers G when it separates real from fake almost
perfectly (``d_auc``) and is saturated (``doctor/d_saturation``: the gap between its mean real
and fake logits, ``doctor/d_real`` and ``doctor/d_fake``, over the objective's flat point) or
G's gradient vanishes (``doctor/g_grad_fall``: G's median gradient norm over the largest of the
earlier intervals' medians); a D that merely wins early, with moderate logits, is no finding.

By default the checks follow the run (:func:`check_schedule`). Coverage thresholds were set on
the 2-D mixtures: a naive GAN that collapses onto a few of grid25's or ring8's modes has
coverage 0.06-0.32, a PacGAN that covers every mode 0.63-0.78 once past its first 300 kimg. A
new diagnosis is printed once, with the fixes to try, and sent as text to TensorBoard and W&B;
``doctor.jsonl`` in the run directory keeps every check.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from lightning.pytorch.utilities import rank_zero_info, rank_zero_only
from torch import Tensor

from ganlab.callbacks.periodic import EveryKimg
from ganlab.callbacks.runtime import dataset_images, run_length_kimg
from ganlab.compat import logging_step
from ganlab.io import append_jsonl
from ganlab.loggers import log_now
from ganlab.metrics.prdc import density_coverage
from ganlab.models.base import GAN, Batch


@dataclass(frozen=True)
class Finding:
    key: str  # the doctor/<key> flag
    text: str  # what is wrong, measured
    fixes: str  # what to try


def features(x: Tensor, size: int = 8) -> Tensor:
    """Samples as feature rows: vectors as they are, images average-pooled to ``size`` px.

    >>> features(torch.ones(2, 3, 32, 32)).shape, features(torch.ones(5, 2)).shape
    (torch.Size([2, 192]), torch.Size([5, 2]))
    """
    if x.ndim == 4 and x.shape[-1] > size:
        x = F.adaptive_avg_pool2d(x, size)
    return x.flatten(1).float()


def separation(real: Tensor, fake: Tensor) -> float:
    """P(a real score > a fake score), ties counting half: the AUC of D as a classifier.

    Computed from ranks (Mann-Whitney U), in O(n log n) time and O(n) memory: a PatchGAN
    scores every patch, and all pairs of a batch's 65,536 1x1 patches would be 4e9 values.

    >>> separation(torch.tensor([2.0, 3.0]), torch.tensor([0.0, 2.0]))
    0.875
    """
    real, fake = real.flatten().double(), fake.flatten().double()
    _, group, counts = torch.unique(
        torch.cat([real, fake]), return_inverse=True, return_counts=True
    )
    counts = counts.double()  # rank sums of 1e5 scores exceed float32's exact integers
    mean_rank = counts.cumsum(0) - (counts - 1) / 2  # of each distinct score, ties averaged
    n_real, n_fake = real.numel(), fake.numel()
    u = mean_rank[group[:n_real]].sum() - n_real * (n_real + 1) / 2  # real-over-fake pairs
    return float(u / (n_real * n_fake))


def check_schedule(run_kimg: float | None, images: int | None) -> tuple[float, float, float]:
    """``(start_kimg, every_kimg, settled_kimg)`` of the doctor's checks on a run of
    ``run_kimg`` (None: no limit) over a dataset of ``images`` (None: unknown or generated).

    About 30 checks a run, 1 to 50 kimg apart. D overpowering and exploding gradients are
    diagnosed from the first check: after a tenth of the run, 200 kimg in at the latest, and
    after at most 20 epochs of a small dataset (D memorizes a few hundred images within tens of
    epochs). Collapse and oscillation only from ``settled_kimg``, half the run (200 kimg at the
    latest): a G still learning has low coverage, and a D that still wins easily a spiky loss
    (DCGAN on 500 digits: coverage 0.09-0.37 over its first 60 kimg while the share of samples
    a classifier recognises rose from 0 to 21%).

    >>> check_schedule(150, 500)
    (10.0, 5.0, 75.0)
    >>> check_schedule(25_000, 200_000), check_schedule(None, None)
    ((200.0, 50.0, 200.0), (200.0, 50.0, 200.0))
    """
    if run_kimg is None:
        return 200.0, 50.0, 200.0
    every = min(50.0, max(1.0, run_kimg / 30))
    start = min(200.0, max(every, run_kimg / 10))
    if images is not None:
        start = min(start, max(every, 20 * images / 1000))
    return start, every, max(start, min(200.0, run_kimg / 2))


class GANDoctor(EveryKimg):
    def __init__(
        self,
        every_kimg: float | None = None,  # None: from the run's length (check_schedule)
        start_kimg: float | None = None,  # early training looks collapsed: no diagnosis before
        patience: int = 2,  # consecutive checks a signal must persist to be a finding
        num_samples: int = 1024,  # real and fake samples compared for coverage
        window: int = 500,  # steps of D's loss for the oscillation measure
        coverage_below: float = 0.45,
        auc_above: float = 0.99,  # D overpowers G: separation above this, and D saturated ...
        g_grad_fall_below: float = 0.1,  # ... or G's gradient norm under this share of its peak
        grad_ratio_above: float = 100.0,
        loss_cv_above: float = 1.0,
        seed: int = 0,  # latents of the probe's fakes
        jsonl_dir: str | None = None,
    ) -> None:
        super().__init__(every_kimg or 50.0)
        self._schedule = (start_kimg, every_kimg)  # as configured; None parts set at start
        self.start_kimg = 200.0 if start_kimg is None else start_kimg
        self.settled_kimg = start_kimg or 0.0  # collapse and oscillation from here (set at start)
        self.patience = patience
        self._streaks: dict[str, int] = {}
        self.num_samples = num_samples
        self.coverage_below = coverage_below
        self.auc_above = auc_above
        self.g_grad_fall_below = g_grad_fall_below
        self.grad_ratio_above = grad_ratio_above
        self.loss_cv_above = loss_cv_above
        self.seed = seed
        self.jsonl_dir = Path(jsonl_dir) if jsonl_dir else None
        self._reals: deque[Tensor] = deque()
        self._real_count = 0
        self._batch: Batch | None = None
        self._d_losses: deque[Tensor] = deque(maxlen=window)
        self._logits: dict[str, Tensor] = {}  # D's real and fake logits of the last step
        self._grad_history: dict[str, list[Tensor]] = {"d": [], "g": []}  # since the last check
        self._medians: dict[str, list[float]] = {"d": [], "g": []}  # each interval's median
        self.findings: list[Finding] = []  # of the last check
        self.history: list[dict[str, Any]] = []  # every check's measurements

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        start, every, settled = check_schedule(run_length_kimg(trainer), dataset_images(trainer))
        configured_start, configured_every = self._schedule
        if configured_start is not None:  # every diagnosis from there
            start = settled = configured_start
        self.start_kimg, self.settled_kimg = start, settled
        self.every_kimg = every if configured_every is None else configured_every
        super().on_train_start(trainer, pl_module)

    # ------------------------------------------------------------------ collection
    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, *_: Any
    ) -> None:
        assert isinstance(pl_module, GAN), "GANDoctor needs a ganlab GAN module"
        data = pl_module.unpack_batch(batch)
        self._batch = data
        # reals only from the batches just before a check (pooling every batch would be work
        # on the training step's path); the training loop's values stay on the device until then
        if pl_module.kimg + 2 * self.num_samples / 1000 >= self._next_kimg:
            rows = features(data.real.detach())
            self._reals.append(rows)
            self._real_count += len(rows)
            while self._real_count - len(self._reals[0]) >= self.num_samples:
                self._real_count -= len(self._reals.popleft())
        stats = pl_module.step_stats
        if "d_loss" in stats:
            self._d_losses.append(stats["d_loss"])
        for side in ("real", "fake"):  # kept as they are; averaged only when a check reads them
            if (logits := stats.get(f"d_{side}_logits")) is not None:
                self._logits[side] = logits
        for player in ("d", "g"):
            if (norm := stats.pop(f"grad_norm_{player}", None)) is not None:
                self._grad_history[player].append(norm)
        super().on_train_batch_end(trainer, pl_module)

    # ------------------------------------------------------------------ measurement
    @torch.no_grad()
    def measure(self, pl_module: GAN) -> dict[str, float]:
        values: dict[str, float] = {}
        if pl_module.latent_dim:  # coverage of G's prior (an input-driven G has none)
            values.update(self._coverage(pl_module))
        if self._batch is not None:
            values["d_auc"] = self._d_auc(pl_module, self._batch)
        for player, history in self._grad_history.items():
            if history:  # the largest norm of this interval over the median of interval medians
                norms = torch.stack(history).float()
                recent = float(norms.max())
                self._medians[player].append(float(norms.median()))
                median = statistics.median(self._medians[player])
                values[f"grad_ratio_{player}"] = recent / max(median, 1e-12)
                self._grad_history[player] = []
        if len(medians := self._medians["g"]) > 1:
            values["g_grad_fall"] = medians[-1] / max(max(medians[:-1]), 1e-12)
        values.update({f"d_{side}": float(x.float().mean()) for side, x in self._logits.items()})
        gap = pl_module.loss.saturation_gap
        if gap is not None and len(self._logits) == 2:  # 1: D's loss is flat (see the loss)
            values["d_saturation"] = (values["d_real"] - values["d_fake"]) / gap
        if len(self._d_losses) > 1:
            losses = torch.stack(list(self._d_losses)).float()
            values["d_loss_cv"] = float(
                losses.std(correction=0) / losses.mean().abs().clamp_min(1e-8)
            )
        return values

    def _coverage(self, pl_module: GAN) -> dict[str, float]:
        # each image once: on a dataset smaller than num_samples the recent batches repeat
        # images, and a real sample whose neighbours are its own copies has a radius of 0, which
        # no fake can fall within (coverage 0 on a 100-image set, whatever G draws)
        real = torch.unique(torch.cat(list(self._reals))[-self.num_samples :], dim=0)
        fake = torch.cat(  # in chunks: a large image G need not hold 1,024 samples at once
            [
                features(pl_module.sample(min(256, len(real) - start), seed=self.seed + start))
                for start in range(0, len(real), 256)
            ]
        )
        # a non-finite sample (a poisoned batch, a diverging G) is the divergence guard's to
        # report: coverage is measured on the finite ones, when enough of them are left
        real, fake = (x[torch.isfinite(x).all(dim=1)].cpu() for x in (real, fake))
        if min(len(real), len(fake)) <= 5:
            return {}
        return {"coverage": float(density_coverage(real, fake, k=5)["coverage"])}

    def _d_auc(self, pl_module: GAN, data: Batch) -> float:
        """D's separation of the real batch from fakes of the training G (D's buffers, e.g.
        BatchNorm statistics and spectral-norm vectors, are left as they were)."""
        discriminator = pl_module.discriminator
        saved = {name: b.clone() for name, b in discriminator.named_buffers()}
        fake = pl_module.seeded_fakes(data, self.seed)
        real_scores = pl_module.discriminate(pl_module.judged(data.real, data), data.labels)
        fake_scores = pl_module.discriminate(pl_module.judged(fake, data), data.fake_labels)
        for name, buffer in discriminator.named_buffers():
            buffer.copy_(saved[name])
        return separation(real_scores.float(), fake_scores.float())

    def diagnose(self, values: dict[str, float], kimg: float) -> list[Finding]:
        found = []
        settled = kimg >= self.settled_kimg
        if settled and values.get("coverage", 1.0) < self.coverage_below:
            found.append(
                Finding(
                    "collapse",
                    f"mode collapse suspected at {kimg:.0f} kimg: only {values['coverage']:.0%} "
                    "of real samples have a generated sample among their nearest neighbours",
                    "try model.pack=4 (PacGAN), model/unroll=second_order, "
                    "model.discriminator.minibatch=discrimination, or a lower G learning rate",
                )
            )
        saturated = values.get("d_saturation", 0.0) >= 1.0
        vanishing = values.get("g_grad_fall", 1.0) < self.g_grad_fall_below
        if values.get("d_auc", 0.0) > self.auc_above and (saturated or vanishing):
            found.append(
                Finding(
                    "d_overpowering",
                    f"D overpowers G at {kimg:.0f} kimg: it separates real from fake with AUC "
                    f"{values['d_auc']:.3f}{_overpowering_evidence(values)}, so G's gradients "
                    "carry little information",
                    "on images, D memorizing a small training set is the usual cause: "
                    "DiffAugment (model/d_input=diffaugment) or R1 (model/regularizer=r1); "
                    "otherwise the non-saturating loss (model/loss=nonsaturating), one-sided "
                    "label smoothing (model.loss.real_target=0.9), instance noise "
                    "(model/d_input=instance_noise), a lower D learning rate, or spectral norm "
                    "(model=sngan)",
                )
            )
        for player in ("d", "g"):
            ratio = values.get(f"grad_ratio_{player}", 0.0)
            if ratio > self.grad_ratio_above:
                found.append(
                    Finding(
                        f"explosion_{player}",
                        f"{player.upper()}'s gradient norm exploded at {kimg:.0f} kimg: "
                        f"{ratio:.0f}x its median so far",
                        f"lower model.{player}_optimizer.lr, add model.grad_clip=10, or "
                        "constrain D (model/regularizer=r1, spectral norm)",
                    )
                )
        if settled and values.get("d_loss_cv", 0.0) > self.loss_cv_above:
            found.append(
                Finding(
                    "oscillation",
                    f"D's loss oscillates at {kimg:.0f} kimg (coefficient of variation "
                    f"{values['d_loss_cv']:.2f} over the last steps)",
                    "lower both learning rates, use TTUR (D faster than G), or add an EMA of G "
                    "(model.ema.half_life_kimg) for what you sample",
                )
            )
        return found

    # ------------------------------------------------------------------ reporting
    def run(self, trainer: L.Trainer, pl_module: GAN, final: bool) -> None:
        if pl_module.kimg < self.start_kimg or not self._reals:
            self._grad_history = {"d": [], "g": []}
            return
        values = self.measure(pl_module)
        signals = self.diagnose(values, pl_module.kimg)
        self._streaks = {f.key: self._streaks.get(f.key, 0) + 1 for f in signals}
        findings = [f for f in signals if self._streaks[f.key] >= self.patience]
        keys = {f.key for f in findings}
        flags = {f"doctor/{k}": float(k in keys) for k in _KEYS}
        log_now(
            trainer,
            {
                **{f"doctor/{k}": v for k, v in values.items()},
                **flags,
                "doctor/status": len(findings),
            },
        )
        new = [f for f in findings if f.key not in {old.key for old in self.findings}]
        for finding in new:
            rank_zero_info(f"GANDoctor: {finding.text}; {finding.fixes}")
        if self.findings and not findings:
            rank_zero_info(f"GANDoctor: healthy again at {pl_module.kimg:.0f} kimg")
        self.findings = findings
        record = {"kimg": pl_module.kimg, **values, "findings": [f.key for f in findings]}
        self.history.append(record)
        self._report(trainer, record, new)

    @rank_zero_only
    def _report(self, trainer: L.Trainer, record: dict[str, Any], new: list[Finding]) -> None:
        if self.jsonl_dir is not None:
            append_jsonl(self.jsonl_dir / "doctor.jsonl", [record])
        if not new:
            return
        text = "\n".join(f"{f.text}; {f.fixes}" for f in new)
        step = logging_step(trainer)
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.add_text("doctor/diagnosis", text, global_step=step)
            elif isinstance(logger, WandbLogger):
                logger.log_text(
                    "doctor/diagnosis",
                    columns=["kimg", "diagnosis"],
                    data=[[record["kimg"], f.text + "; " + f.fixes] for f in new],
                    step=step,
                )


def _overpowering_evidence(values: dict[str, float]) -> str:
    """What else the check measured of a saturated D, as a clause of the finding.

    >>> _overpowering_evidence({"d_real": 10.2, "d_fake": -8.0, "g_grad_fall": 0.031})
    " (mean logits: real +10.2, fake -8.0; G's gradient norm at 3% of its peak)"
    """
    parts = []
    if "d_real" in values and "d_fake" in values:
        parts.append(f"mean logits: real {values['d_real']:+.1f}, fake {values['d_fake']:+.1f}")
    if "g_grad_fall" in values:
        parts.append(f"G's gradient norm at {values['g_grad_fall']:.0%} of its peak")
    return f" ({'; '.join(parts)})" if parts else ""


_KEYS = ("collapse", "d_overpowering", "explosion_d", "explosion_g", "oscillation")
