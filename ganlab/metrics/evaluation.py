"""Score generated images against real ones: features once, every metric, full provenance.

:class:`Evaluator` owns a :class:`~ganlab.metrics.features.FeatureExtractor` and a set of
feature metrics (FID, KID, IS, precision/recall, density/coverage). The real side is set once
(:meth:`Evaluator.set_real`, from a :class:`ReferenceCache` when the same reference was
featurized before); :meth:`Evaluator.score` then streams fake batches through the extractor
and returns one :class:`MetricRecord` per number, each carrying how it was measured. Fake
images are never stored, only their features (FID alone keeps constant memory).

Names carry the sample budget: ``fid`` on 10,000 fakes is ``fid10k`` (:func:`budget_name`).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torchmetrics import Metric

from ganlab.io import atomic_save
from ganlab.metrics.features import FeatureExtractor

__all__ = [
    "Evaluator",
    "MetricRecord",
    "ReferenceCache",
    "ReferenceKey",
    "budget_name",
    "build_extractor",
    "extract",
    "take_images",
]


def budget_name(metric: str, n: int) -> str:
    """``metric`` with its sample budget, the way papers quote it.

    >>> budget_name("fid", 10000), budget_name("kid", 2500), budget_name("is", 50000)
    ('fid10k', 'kid2500', 'is50k')
    """
    return f"{metric}{n // 1000}k" if n % 1000 == 0 and n > 0 else f"{metric}{n}"


def extract(extractor: FeatureExtractor, batches: Iterable[Tensor]) -> Iterator[dict[str, Tensor]]:
    """Run ``extractor`` over batches of images, yielding its outputs per batch on the CPU."""
    device = next(extractor.parameters(), torch.empty(0)).device
    for x in batches:
        with torch.inference_mode():
            out = extractor(x.to(device))
        yield {k: v.float().cpu() for k, v in out.items()}


def build_extractor(spec: Mapping[str, Any], data_name: str | None) -> FeatureExtractor:
    """Instantiate a feature extractor config; a ``data: null`` entry (an in-domain
    classifier's dataset) is filled with the name of the data being evaluated."""
    from hydra.utils import instantiate

    fill = {"data": data_name} if "data" in spec and spec["data"] is None else {}
    extractor: FeatureExtractor = instantiate(spec, **fill)
    return extractor


def take_images(batches: Iterable[Any], n: int | None) -> Iterator[Tensor]:
    """The images of ``batches`` (labels of ``(x, y)`` batches dropped), at most ``n``."""
    seen = 0
    for batch in batches:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        if n is not None:
            x = x[: n - seen]
        if len(x):
            yield x
        seen += len(x)
        if n is not None and seen >= n:
            return


@dataclass(frozen=True)
class ReferenceKey:
    """Everything the real-data features depend on."""

    dataset: str
    split: str
    resolution: tuple[int, ...]  # shape of one image as the data module serves it
    extractor: str
    weights_hash: str
    n: int  # number of real images

    def filename(self) -> str:
        parts = [
            self.dataset,
            self.split,
            "x".join(str(s) for s in self.resolution),
            self.extractor,
            self.weights_hash,
            f"n{self.n}",
        ]
        return "-".join(re.sub(r"[^A-Za-z0-9_.]+", "_", p) for p in parts) + ".pt"


class ReferenceCache:
    """Real-data features on disk, one file per :class:`ReferenceKey` (written atomically)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(os.path.expanduser(str(root)))

    def path(self, key: ReferenceKey) -> Path:
        return self.root / key.filename()

    def load(self, key: ReferenceKey) -> Tensor | None:
        path = self.path(key)
        if not path.is_file():
            return None
        stored = torch.load(path, map_location="cpu", weights_only=True)
        if stored.get("key") != asdict(key) | {"resolution": list(key.resolution)}:
            return None  # a file name collision after sanitizing: recompute
        features: Tensor = stored["features"]
        return features

    def save(self, key: ReferenceKey, features: Tensor) -> Path:
        path = self.path(key)
        key_record = asdict(key) | {"resolution": list(key.resolution)}
        atomic_save({"key": key_record, "features": features.contiguous()}, path)
        return path


@dataclass
class MetricRecord:
    """One number and how it was measured (a line of ``metrics.jsonl``)."""

    metric: str  # with its sample budget, e.g. fid10k
    value: float
    n_real: int | None
    n_fake: int
    details: dict[str, Any] = field(default_factory=dict)  # e.g. KID's std and subset size
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "value": self.value,
            "n_real": self.n_real,
            "n_fake": self.n_fake,
            **self.details,
            **self.provenance,
        }


MetricFactory = Callable[..., Metric]


class Evaluator:
    """Features of one extractor, fed to several metrics.

    ``metrics`` maps a name (``fid``, ``kid``, ``is``, ``pr``, ``dc``) to a factory called with
    ``num_features=`` the size of the extractor output the metric reads (its class attribute
    ``input``: ``"features"``, or ``"logits"`` for IS).
    """

    def __init__(self, extractor: FeatureExtractor, metrics: Mapping[str, MetricFactory]) -> None:
        if not metrics:
            raise ValueError("no metrics to compute: choose some, e.g. metrics=[fid,kid]")
        self.extractor = extractor.eval()
        self.metrics: dict[str, Metric] = {}
        for name, factory in metrics.items():
            needs = _input_of(factory)
            if needs == "logits" and not extractor.has_logits:
                raise ValueError(
                    f"metric {name!r} needs class logits, but the feature extractor "
                    f"{extractor.name!r} has no classification head"
                    f"{extractor.no_logits_hint}"
                )
            size = extractor.num_classes if needs == "logits" else extractor.num_features
            self.metrics[name] = factory(num_features=size)
        self.n_real: int | None = None

    @property
    def needs_real(self) -> bool:
        return any(getattr(m, "needs_real", True) for m in self.metrics.values())

    def set_real(self, features: Tensor, n_total: int | None = None, chunk: int = 4096) -> None:
        """Load real ``features`` ``(N, num_features)`` into every metric that compares.

        ``n_total``: the size of the whole reference when this process holds only its share.
        """
        for metric in self.metrics.values():
            if getattr(metric, "needs_real", True):
                _reset_all(metric)
                for part in features.split(chunk):
                    metric.update(part, real=True)
        self.n_real = n_total or len(features)

    def real_features(
        self,
        batches: Iterable[Tensor],
        key: ReferenceKey | None = None,
        cache: ReferenceCache | None = None,
    ) -> tuple[Tensor, bool]:
        """Features of real images, from ``cache`` when ``key`` is there (second value True)."""
        if cache is not None and key is not None:
            cached = cache.load(key)
            if cached is not None:
                return cached, True
        parts = [out["features"] for out in extract(self.extractor, batches)]
        if not parts:
            raise ValueError("the real image source yielded no images")
        features = torch.cat(parts)
        if cache is not None and key is not None:
            cache.save(key, features)
        return features, False

    def score(
        self,
        fake_batches: Iterable[Tensor],
        provenance: Mapping[str, Any] | None = None,
        n_total: int | None = None,  # all processes' fakes together, when this one has a share
    ) -> list[MetricRecord]:
        """Extract features of the fake images and compute every metric."""
        if self.needs_real and self.n_real is None:
            raise RuntimeError("call set_real(...) before score(...): the metrics need real data")
        for metric in self.metrics.values():
            metric.reset()  # the real side stays
        n_fake = 0
        start = time.perf_counter()
        for out in extract(self.extractor, fake_batches):
            for metric in self.metrics.values():
                metric.update(out[_input_of(metric)], real=False)
            n_fake += len(out["features"])
        if n_fake == 0:
            raise ValueError("the generated image source yielded no images")
        n_fake = n_total or n_fake
        info = {
            **self.extractor.provenance(),
            **(provenance or {}),
            "seconds": round(time.perf_counter() - start, 2),
        }
        records = []
        for metric in self.metrics.values():
            n_real = self.n_real if getattr(metric, "needs_real", True) else None
            for name, result in metric.results().items():  # type: ignore[operator]
                details = {k: v for k, v in result.items() if k != "value"}
                records.append(
                    MetricRecord(
                        budget_name(name, n_fake),
                        float(result["value"]),
                        n_real,
                        n_fake,
                        details,
                        info,
                    )
                )
        return records


def _input_of(factory: Any) -> str:
    """Which extractor output a metric (or its factory, e.g. a functools.partial) reads."""
    target = getattr(factory, "func", factory)
    return str(getattr(target, "input", "features"))


def _reset_all(metric: Metric) -> None:
    """Reset both sides, including states a metric keeps across ``reset`` (real features)."""
    keep = getattr(metric, "reset_real_features", None)
    if keep is not None:
        metric.reset_real_features = True
    metric.reset()
    if keep is not None:
        metric.reset_real_features = keep
