"""Unpaired translation data: mnist2digits serves an image of each domain, drawn independently."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import compose_train

from ganlab.data import DataError, MNIST2Digits
from ganlab.validation import ConfigError, check_combinations


@pytest.fixture(scope="module")
def train() -> MNIST2Digits:
    data = MNIST2Digits()
    data.setup("fit")
    return data


def test_batches_hold_one_image_of_each_domain(train: MNIST2Digits) -> None:
    a, label_a, b, label_b = next(iter(train.train_dataloader()))
    assert a.shape == b.shape == (64, 1, 32, 32) and label_a.shape == label_b.shape == (64,)
    assert train.source_shape == train.shape == (1, 32, 32) and train.num_classes == 10
    # 4,000 MNIST and 1,438 8x8 training digits: an epoch serves every image of each domain
    assert train.num_samples == 4000
    dataset = train.dataset()
    assert len({int(i) for i in dataset.b_index}) == 1438
    # drawn independently: the two digits of an item agree about as often as chance (10%)
    agree = torch.stack([dataset[i][1] == dataset[i][3] for i in range(len(dataset))])
    assert 0.07 < float(agree.float().mean()) < 0.13


def test_the_domains_differ_and_direction_swaps_them(train: MNIST2Digits) -> None:
    mnist, digits = train.held_out()
    assert (len(mnist.images), len(digits.images)) == (1000, 359)
    swapped = MNIST2Digits(direction="BtoA")
    source, target = swapped.held_out()
    assert torch.equal(source.images, digits.images) and torch.equal(target.images, mnist.images)

    # 8x8 digits upscaled are blurry: far less energy in neighbouring-pixel differences
    assert sharpness(mnist.images) > 1.5 * sharpness(digits.images)


def sharpness(x: torch.Tensor) -> float:
    """Mean neighbouring-pixel difference per unit of ink."""
    return float((x[..., 1:] - x[..., :-1]).abs().mean() / (x + 1).mean())


def test_mnist_rendered_as_the_8x8_set_is_as_blurry_as_it(train: MNIST2Digits) -> None:
    mnist, digits = train.held_out()
    rendered = train.domains["B"].render(mnist.images)
    assert rendered.shape == mnist.images.shape
    assert rendered.min() >= -1 and rendered.max() <= 1
    # measured: 0.284 against the 8x8 digits' 0.274 (MNIST as it is: 0.424)
    assert abs(sharpness(rendered) - sharpness(digits.images)) < 0.1 * sharpness(digits.images)


def test_both_domains_frame_their_digits_as_mnist(train: MNIST2Digits) -> None:
    def ink_extent(x: torch.Tensor) -> tuple[float, float]:  # rows holding ink, as [0, 1]
        rows = ((x + 1) / 2).mean(dim=(0, 1, 3)) > 0.05
        inked = rows.nonzero().flatten()
        return float(inked[0]) / len(rows), float(inked[-1] + 1) / len(rows)

    mnist, digits = train.held_out()
    top, bottom = ink_extent(digits.images)
    assert 0.12 <= top <= 0.18 and 0.82 <= bottom <= 0.88  # the 20-px box of 28: 1/7 to 6/7
    assert abs(ink_extent(mnist.images)[0] - top) < 0.1
    whole = MNIST2Digits(digit_box=None).held_out()[1]
    assert ink_extent(whole.images) == (0.0, 1.0)  # the whole frame, as the UCI bitmaps


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"direction": "AB"}, r"data.direction must be one of \['AtoB', 'BtoA'\]"),
        ({"split": "val"}, r"data.split must be one of \['train', 'test'\]"),
        ({"holdout": 1.0}, r"data.holdout must lie in \(0, 1\)"),
        ({"digit_box": 30}, r"data.digit_box must be 1 to 28"),
        (
            {"source_shape": [3, 32, 32]},
            r"sources are \[1, 32, 32\] \(both kinds of digit image have the shape",
        ),
    ],
)
def test_bad_options_name_the_fix(options: dict[str, object], message: str) -> None:
    with pytest.raises(DataError, match=message):
        MNIST2Digits(**options)  # type: ignore[arg-type]


def test_a_paired_model_refuses_unpaired_data(tmp_path: Path) -> None:
    cfg = compose_train(tmp_path, "model=pix2pix", "data=mnist2digits")
    with pytest.raises(
        ConfigError,
        match=r"data ganlab.data.MNIST2Digits is unpaired .*use paired data \(data=edges2",
    ):
        check_combinations(cfg)
