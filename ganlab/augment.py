"""What D sees of real and fake samples: the D-input transforms of ``model.d_input``.

A transform is called as ``transform(x, kimg=...)`` on every D input in training (real and
fake alike, in the order of ``model.d_input``), ``kimg`` being how far training is:

- :class:`DiffAugment` (``model/d_input=diffaugment``) — Differentiable Augmentation (Zhao et al.
  2020, "Differentiable Augmentation for Data-Efficient GAN Training") for image batches
  ``(B, C, H, W)`` in [-1, 1];
- :class:`InstanceNoise` (``model/d_input=instance_noise``) — Gaussian noise annealed to 0.

DiffAugment applies the same random augmentation family to real *and* fake images before the
discriminator. Every transform is differentiable with respect to its input, so the generator's
gradient flows back through the augmentation. Each sample draws its own random parameters.

Random numbers are drawn with the optional ``torch.Generator`` on that generator's device (the
CPU when no generator is given, using the global CPU RNG) and then moved to ``x.device``: a seeded
CPU generator gives the same augmentation on every device.

>>> x = torch.zeros(2, 3, 8, 8)
>>> augment = DiffAugment("color,translation,cutout")
>>> augment(x, generator=torch.Generator().manual_seed(0)).shape
torch.Size([2, 3, 8, 8])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import torch
from einops import rearrange
from torch import Tensor

__all__ = [
    "POLICIES",
    "DInputTransform",
    "DiffAugment",
    "InstanceNoise",
    "apply_color",
    "color",
    "cutout",
    "small_data_remedy",
    "translation",
]


class DInputTransform(Protocol):
    """A D-input transform: ``x`` as D sees it, ``kimg`` thousand real images into training."""

    def __call__(self, x: Tensor, *, kimg: float) -> Tensor: ...


def _check_images(x: Tensor, who: str) -> None:
    if x.dim() != 4:
        raise ValueError(
            f"{who} is for image data (B, C, H, W), got a tensor of shape {tuple(x.shape)}. "
            "For vector data (e.g. 2-D mixtures) use instance noise instead of DiffAugment."
        )
    if not x.is_floating_point():
        raise TypeError(
            f"{who} needs floating-point images in [-1, 1], got dtype {x.dtype}: "
            "convert the batch first, e.g. x.float() / 127.5 - 1 for uint8 images."
        )


def _check_ratio(ratio: float, name: str) -> None:
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"{name} must be in [0, 1) (a fraction of the image size), got {ratio}")


def _draw_device(generator: torch.Generator | None) -> torch.device:
    """Where random numbers are drawn: the generator's device, else the CPU (global RNG)."""
    return generator.device if generator is not None else torch.device("cpu")


def _uniform(
    shape: tuple[int, ...], low: float, high: float, x: Tensor, generator: torch.Generator | None
) -> Tensor:
    """U(low, high) of ``shape`` drawn on the generator's device, returned on x's device/dtype."""
    u = torch.rand(shape, generator=generator, device=_draw_device(generator))
    return (low + (high - low) * u).to(device=x.device, dtype=x.dtype)


def _randint(
    low: int, high: int, shape: tuple[int, ...], x: Tensor, generator: torch.Generator | None
) -> Tensor:
    """Integers in [low, high) of ``shape`` drawn on the generator's device, moved to x's device."""
    device = _draw_device(generator)
    return torch.randint(low, high, shape, generator=generator, device=device).to(x.device)


def _pixels(size: int, ratio: float) -> int:
    """``ratio * size`` rounded to the nearest whole pixel (halves round up)."""
    return int(size * ratio + 0.5)


def apply_color(x: Tensor, brightness: Tensor, saturation: Tensor, contrast: Tensor) -> Tensor:
    """The colour transform of :func:`color` with given per-sample factors, each of shape (B,).

    In order: ``x + brightness``; then deviations from the per-pixel channel mean scaled by
    ``saturation``; then deviations from the per-sample mean (over C, H, W) scaled by
    ``contrast``. Nothing is clamped, so the result may leave [-1, 1].

    >>> x = torch.tensor([[[[0.0, 0.5]], [[1.0, -0.5]]]])  # (1, 2, 1, 2)
    >>> one = torch.ones(1)
    >>> torch.equal(apply_color(x, 0 * one, one, one), x)
    True
    >>> apply_color(x, 0 * one, 0 * one, one)  # saturation 0: grey (channel mean)
    tensor([[[[0.5000, 0.0000]],
    <BLANKLINE>
             [[0.5000, 0.0000]]]])
    """
    _check_images(x, "apply_color")
    per_sample = "b -> b 1 1 1"
    x = x + rearrange(brightness, per_sample)
    grey = x.mean(dim=1, keepdim=True)
    x = grey + (x - grey) * rearrange(saturation, per_sample)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return mean + (x - mean) * rearrange(contrast, per_sample)


def color(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Random per-sample brightness, saturation and contrast (the paper's "color" policy).

    Draws one (3, B) tensor of U(0, 1) numbers, mapped to brightness shift U(-0.5, 0.5),
    saturation factor U(0, 2) and contrast factor U(0.5, 1.5); see :func:`apply_color`.
    Saturation has no effect on single-channel images.
    """
    _check_images(x, "color")
    u = _uniform((3, x.shape[0]), 0.0, 1.0, x, generator)
    return apply_color(x, u[0] - 0.5, 2.0 * u[1], u[2] + 0.5)


def translation(
    x: Tensor,
    ratio: float = 0.125,  # largest shift, as a fraction of the image height / width
    generator: torch.Generator | None = None,
) -> Tensor:
    """Shift each image by a random whole number of pixels, independently along each axis.

    Shifts are uniform in ``[-s, s]`` with ``s = round(ratio * size)`` per axis. Pixels shifted
    in from outside the image are 0 (mid-grey in [-1, 1] space). Implemented as zero padding and
    an index gather, so the gradient reaches every input pixel that stays in the image.

    >>> x = torch.zeros(1, 1, 5, 5)
    >>> x[0, 0, 2, 2] = 1.0
    >>> y = translation(x, ratio=0.2, generator=torch.Generator().manual_seed(0))
    >>> y.sum().item(), (y.abs() > 0).sum().item()  # the pixel moved by at most 1, intact
    (1.0, 1)
    """
    _check_images(x, "translation")
    _check_ratio(ratio, "translation ratio")
    batch, _, height, width = x.shape
    sh, sw = _pixels(height, ratio), _pixels(width, ratio)
    if sh == 0 and sw == 0:
        return x
    shift_h = _randint(-sh, sh + 1, (batch,), x, generator)
    shift_w = _randint(-sw, sw + 1, (batch,), x, generator)
    padded = torch.nn.functional.pad(x, (sw, sw, sh, sh))  # zeros around the image
    padded = rearrange(padded, "b c h w -> b h w c")
    # out[i, j] = x[i - shift_h, j - shift_w], i.e. padded[i - shift_h + sh, j - shift_w + sw]
    rows = torch.arange(height, device=x.device) + sh - shift_h[:, None]  # (B, H)
    cols = torch.arange(width, device=x.device) + sw - shift_w[:, None]  # (B, W)
    samples = torch.arange(batch, device=x.device)
    out = padded[samples[:, None, None], rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return rearrange(out, "b h w c -> b c h w")


def cutout(
    x: Tensor,
    ratio: float = 0.5,  # side of the cut-out square, as a fraction of the image height / width
    generator: torch.Generator | None = None,
) -> Tensor:
    """Zero a random square (a rectangle for non-square images) in each image.

    The square has side ``round(ratio * size)`` per axis and its centre is a uniformly random
    pixel, so near the border part of it may fall outside the image (a smaller zeroed area).
    Gradients flow to every pixel outside the square.

    >>> y = cutout(torch.ones(4, 1, 8, 8), ratio=0.25, generator=torch.Generator().manual_seed(0))
    >>> bool(((y == 0).sum(dim=(1, 2, 3)) <= 4).all())
    True
    """
    _check_images(x, "cutout")
    _check_ratio(ratio, "cutout ratio")
    batch, _, height, width = x.shape
    ch, cw = _pixels(height, ratio), _pixels(width, ratio)
    if ch == 0 or cw == 0:
        return x
    top = _randint(0, height, (batch,), x, generator) - ch // 2  # centre row - half the side
    left = _randint(0, width, (batch,), x, generator) - cw // 2
    rows = torch.arange(height, device=x.device)
    cols = torch.arange(width, device=x.device)
    in_rows = (rows >= top[:, None]) & (rows < top[:, None] + ch)  # (B, H)
    in_cols = (cols >= left[:, None]) & (cols < left[:, None] + cw)  # (B, W)
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :])  # (B, H, W)
    return x * rearrange(keep, "b h w -> b 1 h w").to(x.dtype)


POLICIES: tuple[str, ...] = ("color", "translation", "cutout")


@dataclass(frozen=True)
class DiffAugment:
    """Apply the comma-separated ``policy`` transforms in order to an image batch.

    A plain callable (no parameters, no buffers: nothing ends up in a checkpoint's state_dict),
    built from plain arguments so it can be a Hydra ``_target_`` node. Call it on the real and
    on the fake batch before the discriminator. An empty policy is the identity.

    >>> DiffAugment("color, cutout").transforms
    ('color', 'cutout')
    >>> DiffAugment("colour")
    Traceback (most recent call last):
    ...
    ValueError: unknown DiffAugment policy 'colour' in 'colour': valid names are color, translation, cutout (comma-separated, e.g. 'color,translation,cutout')
    """

    policy: str = "color,translation,cutout"  # comma-separated names from POLICIES, in order
    translation_ratio: float = 0.125  # largest shift as a fraction of the image size
    cutout_ratio: float = 0.5  # side of the cut-out square as a fraction of the image size
    probability: float = 1.0  # chance that a given sample is augmented (else left unchanged)
    transforms: tuple[str, ...] = field(init=False)
    images_only: ClassVar[bool] = True  # read by GAN: (B, C, H, W) samples only

    def __post_init__(self) -> None:
        names = tuple(name.strip() for name in str(self.policy).split(",") if name.strip())
        for name in names:
            if name not in POLICIES:
                raise ValueError(
                    f"unknown DiffAugment policy {name!r} in {self.policy!r}: valid names are "
                    f"{', '.join(POLICIES)} (comma-separated, e.g. {','.join(POLICIES)!r})"
                )
        _check_ratio(self.translation_ratio, "translation_ratio")
        _check_ratio(self.cutout_ratio, "cutout_ratio")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(
                f"probability must be in [0, 1] (per-sample chance of augmenting), "
                f"got {self.probability}"
            )
        object.__setattr__(self, "transforms", names)

    def _transform(self, name: str) -> Callable[[Tensor, torch.Generator | None], Tensor]:
        if name == "color":
            return color
        if name == "translation":
            return lambda x, g: translation(x, self.translation_ratio, g)
        return lambda x, g: cutout(x, self.cutout_ratio, g)

    def __call__(
        self,
        x: Tensor,
        generator: torch.Generator | None = None,
        *,
        kimg: float = 0.0,  # unused: the policy is the same throughout training
    ) -> Tensor:
        """Augment ``x`` of shape (B, C, H, W); ``generator`` makes the draws reproducible."""
        _check_images(x, "DiffAugment")
        if self.probability == 0.0 or not self.transforms:
            return x
        out = x
        for name in self.transforms:
            out = self._transform(name)(out, generator)
        if self.probability < 1.0:
            draw = torch.rand(x.shape[0], generator=generator, device=_draw_device(generator))
            chosen = (draw < self.probability).to(x.device)
            out = torch.where(rearrange(chosen, "b -> b 1 1 1"), out, x)
        return out


@dataclass(frozen=True)
class InstanceNoise:
    """Instance noise (Sønderby et al. 2017; Arjovsky & Bottou 2017): Gaussian noise on every D
    input, its std annealed linearly from ``std`` to 0 over ``anneal_kimg``, so the supports of
    the real and fake distributions overlap early in training. For any data shape.

    >>> noise = InstanceNoise(std=0.2, anneal_kimg=100.0)
    >>> noise.std_at(kimg=50.0), noise.std_at(kimg=200.0)
    (0.1, 0.0)
    >>> x = torch.zeros(3, 2)
    >>> noise(x, kimg=100.0) is x  # annealed away: the input as it is
    True
    """

    std: float = 0.1  # at the start of training, in data units ([-1, 1] images)
    anneal_kimg: float = 500.0  # thousands of real images over which it falls to 0

    def __post_init__(self) -> None:
        assert self.std >= 0 and self.anneal_kimg > 0, (
            f"instance noise needs std >= 0 and anneal_kimg > 0, got {self.std} and "
            f"{self.anneal_kimg}"
        )

    def std_at(self, kimg: float) -> float:
        return self.std * max(0.0, 1.0 - kimg / self.anneal_kimg)

    def __call__(self, x: Tensor, *, kimg: float) -> Tensor:
        std = self.std_at(kimg)
        return x + std * torch.randn_like(x) if std > 0 else x


def small_data_remedy(
    model: MutableMapping[str, Any], remedy: Mapping[str, Any], images: int | None
) -> str | None:
    """Give D the ``remedy`` augmentation of a small image training set, in the model config.

    ``remedy`` is the train config's ``small_data`` node: ``below`` (training images under which
    it applies; 0: never) and ``d_input`` (``model/d_input`` entries by name, e.g. ``augment``:
    DiffAugment). It applies to a model config with none of those entries of its own, on image
    data only, and goes first in D's input (before e.g. instance noise). Returns the line that
    says what was done, or None.

    >>> model = {"d_input": {}}
    >>> remedy = {"below": 2000, "d_input": {"augment": {"_target_": "ganlab.augment.DiffAugment"}}}
    >>> small_data_remedy(model, remedy, images=500)[:56]
    'small data: 500 training images (below small_data.below='
    >>> model["d_input"]["augment"]["_target_"], small_data_remedy({}, remedy, 5000)
    ('ganlab.augment.DiffAugment', None)
    """
    below, entries = remedy.get("below") or 0, dict(remedy.get("d_input") or {})
    own = dict(model.get("d_input") or {})
    if images is None or images >= below or not entries or entries.keys() & own.keys():
        return None
    model["d_input"] = {**entries, **own}
    names = ", ".join(
        f"{spec['_target_'].rsplit('.', 1)[-1]} (model.d_input.{key})"
        for key, spec in entries.items()
    )
    return (
        f"small data: {images:,} training images (below small_data.below={below:,}), so D sees "
        f"them through {names}, the remedy for a D that memorizes a small training set; "
        "small_data.below=0 turns this off"
    )
