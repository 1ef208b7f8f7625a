"""ClassSubset: classes, k per class, and a held-out split that never leaks into training."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from ganlab.data import ClassSubset, DataError, Digits
from ganlab.data.subset import stratified_split


def rows(x: torch.Tensor) -> set[tuple[float, ...]]:
    return {tuple(r) for r in x.flatten(1).tolist()}


def test_classes_and_held_out_split_are_disjoint_and_seeded() -> None:
    train = ClassSubset(Digits(), classes=[1, 2, 3], holdout=0.2, split_seed=0)
    test = ClassSubset(Digits(), holdout=0.2, split="test")
    (x_train, y_train), (x_test, y_test) = train.images(), test.images()
    assert set(y_train.tolist()) == {1, 2, 3} and set(y_test.tolist()) == set(range(10))
    assert len(x_test) == pytest.approx(0.2 * 1797, abs=10)
    assert not rows(x_train) & rows(x_test[y_test <= 3])  # no held-out image is trained on
    again = ClassSubset(Digits(), split="test").images()[1]
    assert torch.equal(again, y_test)  # seeded
    other = ClassSubset(Digits(), split="test", split_seed=1).images()[0]
    assert rows(other) != rows(x_test)
    only = ClassSubset(Digits(), classes=[4], split="test").images()[1]
    assert set(only.tolist()) == {4} and len(only) == int((y_test == 4).sum())


def test_per_class_subsets_are_balanced_nested_and_apart_from_the_test_split() -> None:
    subsets = {k: ClassSubset(Digits(), per_class=k, split_seed=3).images() for k in (5, 20)}
    for k, (_, y) in subsets.items():
        assert torch.equal(torch.bincount(y), torch.full((10,), k))
    assert rows(subsets[5][0]) <= rows(subsets[20][0])  # the 5 per class are among the 20
    x_test, _ = ClassSubset(Digits(), split="test", split_seed=3).images()
    assert not rows(subsets[20][0]) & rows(x_test)
    assert ClassSubset(Digits(), per_class=5).data_name == "digits-k5-train-h0.2-s0"


def test_stratified_split_keeps_the_draw_order_per_class() -> None:
    labels = torch.tensor([0, 1] * 50)
    train, test = stratified_split(labels, 0.1, seed=0)
    assert sorted(train) == [0, 1] and len(test) == 10
    assert all(bool((labels[t] == c).all()) and len(t) == 45 for c, t in train.items())
    assert not torch.equal(train[0], train[0].sort().values)  # drawn, not sorted


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"classes": [1, 10]}, r"data.classes \[10\] are not classes of digits: use 0..9"),
        ({"classes": []}, r"non-empty list"),
        ({"per_class": 0}, r"data.per_class must be a positive integer"),
        ({"holdout": 1.0}, r"data.holdout must lie in \[0, 1\)"),
        ({"holdout": 0.0, "split": "test"}, r"> 0 for split=test"),
        ({"split": "val"}, r"data.split must be one of \['train', 'test'\]"),
    ],
)
def test_bad_options_name_the_fix(kwargs: dict, match: str) -> None:
    with pytest.raises(DataError, match=match):
        ClassSubset(Digits(), **kwargs)


def test_data_made_on_the_fly_is_refused() -> None:
    from ganlab.data import RingMixture

    with pytest.raises(
        DataError, match=r"data=subset chooses stored images by class: .*on the fly"
    ):
        ClassSubset(RingMixture(batch_size=8)).setup("fit")


def test_too_few_images_for_per_class_is_a_data_error() -> None:
    subset = ClassSubset(Digits(), per_class=1000)
    with pytest.raises(DataError, match=r"per_class=1000 but classes .* lower data.per_class"):
        subset.setup("fit")


def test_config_wraps_mnist5k_by_default_and_any_dataset_on_request(tmp_path: Path) -> None:
    from ganlab.config import compose_config

    cfg = compose_config("data=subset", "data.per_class=10", output_dir=tmp_path)
    assert cfg.data.data._target_ == "ganlab.data.MNIST5k"
    assert list(cfg.data.shape) == [1, 32, 32] and cfg.data.num_classes == 10
    cfg = compose_config(
        "data=subset", "data@data.data=digits", "data.per_class=7", output_dir=tmp_path
    )
    subset = instantiate(cfg.data)
    subset.setup("fit")
    assert subset.num_samples == 70 and subset.num_classes == 10
