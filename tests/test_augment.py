"""DiffAugment: shapes, gradients, per-sample randomness, reproducibility, exact behaviour."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from helpers import compose_train, fit
from torch import Tensor

from ganlab.augment import POLICIES, DiffAugment, apply_color, color, cutout, translation

Transform = Callable[[Tensor, torch.Generator | None], Tensor]
TRANSFORMS: dict[str, Transform] = {
    "color": lambda x, g: color(x, generator=g),
    "translation": lambda x, g: translation(x, 0.25, generator=g),
    "cutout": lambda x, g: cutout(x, 0.5, generator=g),
    "diffaugment": lambda x, g: DiffAugment()(x, generator=g),
}


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def images(batch: int = 4, channels: int = 3, size: int = 8, seed: int = 0) -> Tensor:
    return torch.rand(batch, channels, size, size, generator=seeded(seed)) * 2 - 1


@pytest.mark.parametrize("name", TRANSFORMS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shape_and_dtype_preserved(name: str, dtype: torch.dtype) -> None:
    x = images().to(dtype)
    y = TRANSFORMS[name](x, seeded())
    assert y.shape == x.shape and y.dtype == dtype and y.device == x.device


@pytest.mark.parametrize("name", TRANSFORMS)
def test_gradients_flow_to_input(name: str) -> None:
    x = images().requires_grad_(True)
    (TRANSFORMS[name](x, seeded()) ** 2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("name", TRANSFORMS)
def test_each_sample_gets_its_own_augmentation(name: str) -> None:
    x = images(batch=1).expand(2, -1, -1, -1).contiguous()  # two identical samples
    y = TRANSFORMS[name](x, seeded(3))
    assert not torch.equal(y[0], y[1])


@pytest.mark.parametrize("name", TRANSFORMS)
def test_seeded_generator_reproduces(name: str) -> None:
    x = images()
    first, again = TRANSFORMS[name](x, seeded(7)), TRANSFORMS[name](x, seeded(7))
    assert torch.equal(first, again)
    assert not torch.equal(first, TRANSFORMS[name](x, seeded(8)))


def test_global_rng_is_used_without_a_generator() -> None:
    x = images()
    torch.manual_seed(5)
    first = DiffAugment()(x)
    torch.manual_seed(5)
    assert torch.equal(first, DiffAugment()(x))


def test_color_matches_closed_form() -> None:
    x = images(batch=3)
    u = torch.rand(3, 3, generator=seeded(11))  # color draws one (3, B) uniform tensor
    brightness, saturation, contrast = u[0] - 0.5, 2 * u[1], u[2] + 0.5
    expected = x + brightness.view(3, 1, 1, 1)
    grey = expected.mean(dim=1, keepdim=True)
    expected = grey + (expected - grey) * saturation.view(3, 1, 1, 1)
    mean = expected.mean(dim=(1, 2, 3), keepdim=True)
    expected = mean + (expected - mean) * contrast.view(3, 1, 1, 1)
    torch.testing.assert_close(color(x, generator=seeded(11)), expected)
    torch.testing.assert_close(apply_color(x, brightness, saturation, contrast), expected)


def test_color_factors_one_at_a_time() -> None:
    x, zero, one = images(batch=2), torch.zeros(2), torch.ones(2)
    torch.testing.assert_close(apply_color(x, zero, one, one), x)
    torch.testing.assert_close(apply_color(x, 0.25 * one, one, one), x + 0.25)
    grey = apply_color(x, zero, zero, one)  # saturation 0: every channel equals the mean
    torch.testing.assert_close(grey, x.mean(dim=1, keepdim=True).expand_as(x))
    flat = apply_color(x, zero, one, zero)  # contrast 0: every value equals the sample mean
    torch.testing.assert_close(flat, x.mean(dim=(1, 2, 3), keepdim=True).expand_as(x))


def test_translation_moves_a_bright_pixel_within_the_ratio() -> None:
    size, ratio = 16, 0.125  # shifts of at most 2 pixels per axis
    x = torch.zeros(32, 1, size, size)
    x[:, :, 7, 9] = 1.0
    y = translation(x, ratio, generator=seeded(1))
    assert torch.equal(y.sum(dim=(1, 2, 3)), torch.ones(32))  # moved, never lost or duplicated
    where = (y[:, 0] == 1).nonzero()[:, 1:]  # (row, col) of the pixel in each image
    shifts = where - torch.tensor([7, 9])
    assert shifts.abs().max() <= 2
    assert len({tuple(s) for s in shifts.tolist()}) > 1  # not the same shift everywhere


def test_translation_keeps_content_and_pads_with_zeros() -> None:
    x = images(batch=8, channels=2, size=8) * 0.5 + 1.0  # strictly positive: padding shows as 0
    y = translation(x, 0.25, generator=seeded(2))
    for xi, yi in zip(x, y, strict=True):
        rows, cols = (yi[0] != 0).nonzero(as_tuple=True)
        top, left = int(rows.min()), int(cols.min())
        bottom, right = int(rows.max()) + 1, int(cols.max()) + 1
        dh = top if top > 0 else bottom - 8  # shift down (> 0) or up (< 0)
        dw = left if left > 0 else right - 8
        assert abs(dh) <= 2 and abs(dw) <= 2
        source = xi[:, top - dh : bottom - dh, left - dw : right - dw]
        assert torch.equal(yi[:, top:bottom, left:right], source)  # the image is intact
        assert int((yi[0] == 0).sum()) == 64 - (bottom - top) * (right - left)


def test_translation_ratio_zero_is_identity() -> None:
    x = images()
    assert torch.equal(translation(x, 0.0, generator=seeded()), x)


def test_cutout_zeroes_a_square_of_the_right_size() -> None:
    size, side = 16, 8  # ratio 0.5
    x = torch.ones(64, 3, size, size)
    y = cutout(x, 0.5, generator=seeded(4))
    full = 0
    for yi in y:
        assert torch.equal(yi[0], yi[1]) and torch.equal(yi[0], yi[2])  # same mask per channel
        rows, cols = (yi[0] == 0).nonzero(as_tuple=True)
        height = int(rows.max() - rows.min()) + 1
        width = int(cols.max() - cols.min()) + 1
        assert len(rows) == height * width  # one solid rectangle
        assert height <= side and width <= side  # clipped only at the border
        if min(rows.min(), cols.min()) > 0 and max(rows.max(), cols.max()) < size - 1:  # inside
            assert (height, width) == (side, side)
            full += 1
    assert full > 0


def test_cutout_gradient_is_zero_exactly_in_the_hole() -> None:
    x = images().requires_grad_(True)
    y = cutout(x, 0.5, generator=seeded(6))
    y.sum().backward()
    assert x.grad is not None
    assert torch.equal(x.grad == 0, y.detach() == 0)


def test_probability_zero_is_identity_and_one_half_is_per_sample() -> None:
    x = images(batch=16)
    assert torch.equal(DiffAugment(probability=0.0)(x, generator=seeded()), x)
    y = DiffAugment(policy="color", probability=0.5)(x, generator=seeded(9))
    unchanged = (y == x).flatten(1).all(dim=1)
    assert 0 < int(unchanged.sum()) < 16


def test_policy_order_and_empty_policy() -> None:
    x = images()
    augment = DiffAugment(policy=" translation , color ", translation_ratio=0.25)
    assert augment.transforms == ("translation", "color")
    g = seeded(12)
    expected = color(translation(x, 0.25, generator=g), generator=g)
    assert torch.equal(augment(x, generator=seeded(12)), expected)
    assert torch.equal(DiffAugment(policy="")(x), x)


def test_diffaugment_has_no_state_and_takes_plain_arguments() -> None:
    augment = DiffAugment("color,cutout", translation_ratio=0.1, cutout_ratio=0.25, probability=0.8)
    assert not isinstance(augment, torch.nn.Module)  # nothing can reach a state_dict
    assert augment == DiffAugment("color,cutout", 0.1, 0.25, 0.8)
    holder = torch.nn.Module()
    holder.augment = augment  # type: ignore[assignment]
    assert holder.state_dict() == {}


def test_unknown_policy_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="valid names are") as error:
        DiffAugment("color,flip")
    assert "'flip'" in str(error.value)
    assert all(name in str(error.value) for name in POLICIES)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"probability": 1.5},
        {"probability": -0.1},
        {"translation_ratio": 1.0},
        {"cutout_ratio": -0.5},
    ],
)
def test_bad_numbers_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be in"):
        DiffAugment(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", TRANSFORMS)
def test_vector_data_is_rejected_with_a_pointer_to_instance_noise(name: str) -> None:
    with pytest.raises(ValueError, match=r"image data \(B, C, H, W\).*instance noise"):
        TRANSFORMS[name](torch.randn(8, 2), None)


def test_integer_images_are_rejected() -> None:
    with pytest.raises(TypeError, match="floating-point"):
        DiffAugment()(torch.zeros(2, 3, 8, 8, dtype=torch.uint8))


SMALL_NETS = ("model.generator.base_channels=8", "model.discriminator.base_channels=8")


@pytest.mark.parametrize(
    ("overrides", "augmented"),
    [
        (("data=subset", "data.per_class=10"), True),  # 100 training digits: the remedy
        (("data=subset", "data.per_class=10", "small_data.below=0"), False),  # turned off
        (("data=subset", "data.per_class=300"), False),  # 3,000 digits: not small
        (("data=ring8", "model=gan"), False),  # not images
        (("data=digits",), False),  # 1,797 images, but 8 px: too small to shift and cut out
    ],
)
def test_small_image_sets_get_diffaugment_and_say_so(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    overrides: tuple[str, ...],
    augmented: bool,
) -> None:
    from hydra.utils import instantiate

    from ganlab.train import _remedy_small_data

    cfg = compose_train(tmp_path, *overrides)
    with caplog.at_level(logging.INFO):
        _remedy_small_data(cfg, instantiate(cfg.data))
    d_input = cfg.model.get("d_input") or {}
    assert ("augment" in d_input) == augmented, d_input
    if augmented:
        assert d_input.augment._target_ == "ganlab.augment.DiffAugment"
        assert "small data: 100 training images (below small_data.below=2,000)" in caplog.text
        assert "small_data.below=0 turns this off" in caplog.text


def test_the_remedy_never_replaces_the_models_own_augmentation(tmp_path: Path) -> None:
    from hydra.utils import instantiate

    from ganlab.train import _remedy_small_data

    own = ("model/d_input=diffaugment", "model.d_input.augment.policy=color")
    cfg = compose_train(tmp_path, "data=subset", "data.per_class=10", *own)
    _remedy_small_data(cfg, instantiate(cfg.data))
    assert cfg.model.d_input.augment.policy == "color"
    noise = compose_train(
        tmp_path, "data=subset", "data.per_class=10", "model/d_input=instance_noise"
    )
    _remedy_small_data(noise, instantiate(noise.data))  # noise alone: augmented, then noised
    assert list(noise.model.d_input) == ["augment", "noise"]


def test_a_small_data_run_trains_and_checkpoints_with_the_remedy(tmp_path: Path) -> None:
    model, _ = fit(tmp_path, "data=subset", "data.per_class=10", *SMALL_NETS, "max_kimg=0.5")
    assert isinstance(model.d_input["augment"], DiffAugment)
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    stored = checkpoint["hyper_parameters"]["d_input"]
    assert stored["augment"]["_target_"] == "ganlab.augment.DiffAugment"
