"""Paired translation data: edges2digits serves aligned (target, label, source) triples."""

from __future__ import annotations

import pytest
import torch

from ganlab.data import DataError, Edges2Digits, Gray2Color
from ganlab.data.paired import edge_map
from ganlab.data.photos import luma


@pytest.fixture(scope="module")
def train() -> Edges2Digits:
    data = Edges2Digits()
    data.setup("fit")
    return data


def test_batches_are_target_label_source_of_the_same_digit(train: Edges2Digits) -> None:
    target, labels, source = next(iter(train.train_dataloader()))
    assert target.shape == source.shape == (64, 1, 32, 32) and labels.shape == (64,)
    assert set(source.unique().tolist()) == {-1.0, 1.0}  # binary edge maps
    assert torch.equal(source, edge_map(target))  # each source is its own target's edges
    assert train.source_shape == train.shape == (1, 32, 32) and train.num_classes == 10


def test_held_out_pairs_never_meet_the_training_pairs(train: Edges2Digits) -> None:
    test = Edges2Digits(split="test")
    test.setup("validate")
    assert (train.num_samples, test.num_samples) == (4000, 1000)
    assert torch.bincount(test.dataset().labels).tolist() == [100] * 10  # stratified
    seen = {t.flatten().numpy().tobytes() for t, _, _ in train.dataset()}
    assert not any(t.flatten().numpy().tobytes() in seen for t, _, _ in test.dataset())
    source, target = train.fixed_pairs(10)
    again, _ = test.fixed_pairs(10)
    assert torch.equal(source, again) and torch.equal(source, edge_map(target))


def test_direction_swaps_source_and_target(train: Edges2Digits) -> None:
    swapped = Edges2Digits(direction="BtoA")
    swapped.setup("fit")
    target, _, source = swapped.dataset()[0]
    assert torch.equal(target, train.dataset()[0][2]) and torch.equal(source, train.dataset()[0][0])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"direction": "edges"}, r"data.direction must be one of \['AtoB', 'BtoA'\]"),
        ({"split": "val"}, r"data.split must be one of \['train', 'test'\]"),
        ({"holdout": 0.0}, r"data.holdout must lie in \(0, 1\)"),
        (
            {"source_shape": [3, 32, 32]},
            r"sources are \[1, 32, 32\] \(both kinds of digit image have the shape",
        ),
    ],
)
def test_bad_options_name_the_fix(options: dict[str, object], message: str) -> None:
    with pytest.raises(DataError, match=message):
        Edges2Digits(**options)  # type: ignore[arg-type]


def test_gray2color_pairs_colour_crops_with_their_luma_and_holds_out_unseen_columns() -> None:
    train = Gray2Color()
    train.setup("fit")
    target, label, source = train.dataset()[0]
    assert target.shape == (3, 32, 32) and source.shape == train.source_shape == (1, 32, 32)
    assert torch.allclose(source, luma(target[None])[0]) and int(label) in (0, 1)
    held_out = train.held_out()
    assert (train.num_samples, len(held_out)) == (4000, 1000)
    assert torch.equal(held_out.source, luma(held_out.target))
    # held-out crops come from the right quarter of each photograph, never seen in training
    seen = {t.flatten()[:64].numpy().tobytes() for t, _, _ in train.dataset()}
    assert not any(t.flatten()[:64].numpy().tobytes() in seen for t in held_out.target)
    with pytest.raises(DataError, match=r"colour images: data.shape=\[3, H, W\]"):
        Gray2Color(shape=[1, 32, 32])
