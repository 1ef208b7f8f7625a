"""data=mnist_sr: MNIST digits with low-resolution copies made by a swappable degradation."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from einops import repeat
from hydra.utils import instantiate

from ganlab.config import compose_config
from ganlab.data import MNISTSR, Bicubic, DataError


@pytest.fixture(scope="module")
def train() -> MNISTSR:
    data = MNISTSR()
    data.prepare_data()
    data.setup("fit")
    return data


def test_sources_are_the_targets_reduced(train: MNISTSR) -> None:
    target, _, source = next(iter(train.train_dataloader()))
    assert target.shape[1:] == (1, 28, 28) and source.shape[1:] == (1, 7, 7)
    assert train.source_shape == (1, 7, 7) and train.num_samples == 4000
    torch.testing.assert_close(source, Bicubic()(target, 4))
    held_out = train.held_out()
    assert len(held_out) == 1000 and torch.bincount(held_out.labels).tolist() == [100] * 10
    training = set(map(bytes, train._split("train").target.flatten(1).numpy()))
    assert not training & set(map(bytes, held_out.target.flatten(1).numpy()))  # disjoint


def test_the_degradation_is_swappable() -> None:
    def every_other(images: torch.Tensor, scale: int) -> torch.Tensor:
        return images[..., ::scale, ::scale]

    data = MNISTSR(scale=2, degradation=every_other)
    held_out = data.held_out()
    assert held_out.source.shape[1:] == (1, 14, 14)
    assert torch.equal(held_out.source, held_out.target[..., ::2, ::2])


def test_bicubic_is_antialiased() -> None:
    # the finest checkerboard has no content at a quarter of the resolution: antialiasing
    # averages it away; a flat image stays as it is
    checkerboard = repeat(torch.tensor([[1.0, -1.0], [-1.0, 1.0]]), "h w -> 1 1 (8 h) (8 w)")
    assert Bicubic()(checkerboard, 4).abs().max() < 0.05
    torch.testing.assert_close(
        Bicubic()(torch.full((1, 3, 8, 8), 0.3), 2), torch.full((1, 3, 4, 4), 0.3)
    )


def test_the_config_derives_the_source_shape(tmp_path: Path) -> None:
    cfg = compose_config("data=mnist_sr", "data.scale=2", output_dir=tmp_path)
    assert list(cfg.data.source_shape) == [1, 14, 14]
    data = instantiate(cfg.data)
    assert isinstance(data.degradation, Bicubic) and data.source_shape == (1, 14, 14)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scale": 3}, r"data.shape \[1, 28, 28\] cannot be reduced 3 times: set data.scale"),
        (
            {"source_shape": [1, 14, 14]},
            r"sources are \[1, 7, 7\] \(data.shape reduced data.scale times\): leave "
            r"data.source_shape at \$\{downscaled_shape:\$\{data.shape\},\$\{data.scale\}\}",
        ),
        ({"split": "val"}, r"data.split must be one of \['train', 'test'\]"),
    ],
)
def test_bad_options_name_the_fix(options: dict[str, object], message: str) -> None:
    with pytest.raises(DataError, match=message):
        MNISTSR(**options)  # type: ignore[arg-type]
