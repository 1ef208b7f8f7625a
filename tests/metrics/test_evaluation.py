"""The evaluator: one feature pass feeds every metric; names, provenance and the reference cache."""

from __future__ import annotations

import functools

import pytest
import torch
from torch import Tensor, nn

from ganlab.metrics.evaluation import (
    Evaluator,
    ReferenceCache,
    ReferenceKey,
    budget_name,
)
from ganlab.metrics.features import FeatureExtractor
from ganlab.metrics.fidelity import FID, KID, InceptionScore


class Projection(FeatureExtractor):
    """A fixed random projection of the pixels, with a 4-class head: cheap and deterministic."""

    name = "projection"
    weights_hash = "fixed"
    num_features = 6
    num_classes = 4

    def __init__(self, with_head: bool = True) -> None:
        super().__init__()
        self.proj = nn.Linear(3 * 8 * 8, 6).requires_grad_(False)
        torch.nn.init.normal_(self.proj.weight, generator=torch.Generator().manual_seed(0))
        self.num_classes = 4 if with_head else 0
        self.calls = 0

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        self.calls += 1
        features = self.proj(images.flatten(1))
        out = {"features": features}
        if self.num_classes:
            out["logits"] = features[:, :4]
        return out


def _images(n: int, seed: int, shift: float = 0.0) -> list[Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, 3, 8, 8, generator=g) * 2 - 1) * 0.5 + shift
    return list(x.split(16))


METRICS = {
    "fid": FID,
    "kid": functools.partial(KID, subsets=5, subset_size=20),
    "is": functools.partial(InceptionScore, splits=2),
}


def test_score_names_budgets_and_records_provenance() -> None:
    extractor = Projection()
    evaluator = Evaluator(extractor, METRICS)
    features, hit = evaluator.real_features(_images(64, seed=0))
    assert features.shape == (64, 6) and not hit
    evaluator.set_real(features)
    records = evaluator.score(_images(40, seed=1, shift=0.3), {"dataset": "toy", "seed": 3})
    by_name = {r.metric: r for r in records}
    assert set(by_name) == {"fid40", "kid40", "is40"}
    assert by_name["fid40"].n_real == 64 and by_name["fid40"].n_fake == 40
    assert by_name["is40"].n_real is None  # IS never looks at real images
    assert by_name["kid40"].details["subset_size"] == 20
    line = by_name["fid40"].to_json()
    assert line["feature_extractor"] == "projection" and line["weights_hash"] == "fixed"
    assert line["dataset"] == "toy" and line["seed"] == 3 and line["quantize"] is False

    # the real side stays loaded: scoring the same fakes again gives the same numbers
    again = {r.metric: r.value for r in evaluator.score(_images(40, seed=1, shift=0.3))}
    assert again == {r.metric: r.value for r in records}
    closer = {r.metric: r.value for r in evaluator.score(_images(40, seed=2))}
    assert closer["fid40"] < by_name["fid40"].value


def test_metrics_that_need_logits_refuse_a_headless_extractor() -> None:
    with pytest.raises(ValueError, match=r"'is' needs class logits.*'projection'"):
        Evaluator(Projection(with_head=False), {"is": InceptionScore})
    with pytest.raises(ValueError, match="no metrics"):
        Evaluator(Projection(), {})
    with pytest.raises(RuntimeError, match="set_real"):
        Evaluator(Projection(), {"fid": FID}).score(_images(8, seed=0))


def test_reference_features_are_cached_by_key(tmp_path) -> None:
    extractor = Projection()
    evaluator = Evaluator(extractor, {"fid": FID})
    cache = ReferenceCache(tmp_path)
    key = ReferenceKey("toy", "test", (3, 8, 8), extractor.name, extractor.weights_hash, 64)
    first, hit = evaluator.real_features(_images(64, seed=0), key, cache)
    calls = extractor.calls
    second, hit_again = evaluator.real_features(_images(64, seed=0), key, cache)
    assert (hit, hit_again) == (False, True)
    assert extractor.calls == calls  # nothing recomputed
    assert torch.equal(first, second)
    other = ReferenceKey("toy", "train", (3, 8, 8), extractor.name, extractor.weights_hash, 64)
    assert cache.load(other) is None  # another split is another reference
    assert not list(tmp_path.glob(".*.tmp*"))  # written atomically


def test_budget_names() -> None:
    assert budget_name("fid", 5000) == "fid5k" and budget_name("precision", 1234) == "precision1234"
