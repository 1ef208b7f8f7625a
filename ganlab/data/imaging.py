"""Image conversion helpers shared by the image DataModules.

Two paths:

* tensors already in memory (digits, MNIST, CIFAR...): :func:`convert_channels` and
  :func:`resize_center_crop` work on whole ``(N, C, H, W)`` float batches;
* image files (image folders, CelebA): :func:`load_image` decodes one file with PIL, converts it
  to the target channel count, resizes the shorter side and center-crops; the translation
  folders read files with :func:`read_image` and :func:`resize_crop_flip` them.

Everything ends in :func:`pil_to_tensor`-style scaling to ``[-1, 1]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from torch import Tensor

from ganlab.data.base import DataError

__all__ = [
    "convert_channels",
    "load_image",
    "pil_to_mode",
    "pil_to_tensor",
    "read_image",
    "resize_center_crop",
    "resize_crop_flip",
    "uint8_to_images",
]

# ITU-R BT.601 luma weights, the ones PIL uses for "RGB" -> "L".
_LUMA = (0.299, 0.587, 0.114)
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_EXIF_ORIENTATION = 0x0112
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")


def convert_channels(x: Tensor, channels: int) -> Tensor:
    """Convert a float batch ``(N, C, H, W)`` with C in {1, 3} to ``channels`` in {1, 3}."""
    c = x.shape[1]
    if c == channels:
        return x
    if c == 1 and channels == 3:
        return x.expand(-1, 3, -1, -1).contiguous()
    if c == 3 and channels == 1:
        w = torch.tensor(_LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return (x * w).sum(dim=1, keepdim=True)
    raise ValueError(f"cannot convert {c} channels to {channels}")


def resize_center_crop(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Resize a float batch so its shorter side fits ``size`` and center-crop to ``size``.

    Bilinear; antialiased when shrinking. For square inputs and outputs this is a plain resize.
    """
    h, w = x.shape[-2:]
    th, tw = size
    if (h, w) == (th, tw):
        return x
    scale = max(th / h, tw / w)
    nh, nw = max(th, math.ceil(h * scale - 1e-6)), max(tw, math.ceil(w * scale - 1e-6))
    out = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False, antialias=scale < 1)
    top, left = (nh - th) // 2, (nw - tw) // 2
    return out[..., top : top + th, left : left + tw]


def uint8_to_images(x: Tensor, shape: tuple[int, int, int], chunk: int = 4096) -> Tensor:
    """Convert a uint8 batch ``(N, C, H, W)`` to ``shape`` (channels, size), staying uint8.

    Works in chunks so that a 50k-image dataset never needs a full float copy.
    """
    c, h, w = shape
    if x.shape[1:] == (c, h, w):
        return x.contiguous()
    out = torch.empty((x.shape[0], c, h, w), dtype=torch.uint8)
    for i in range(0, x.shape[0], chunk):
        part = x[i : i + chunk].float()
        part = resize_center_crop(convert_channels(part, c), (h, w))
        out[i : i + chunk] = part.round_().clamp_(0, 255).to(torch.uint8)
    return out


def pil_to_mode(img: Image.Image, channels: int) -> Image.Image:
    """Convert any PIL image to 8-bit "L" (channels=1) or "RGB" (channels=3).

    * 16/32-bit integer grayscale ("I;16*", "I") is scaled from 0..65535 down to 0..255;
    * float images ("F") are taken as 0..1 if their maximum is <= 1, else as 0..255;
    * transparency (RGBA, LA, palette with transparency...) is composited onto white;
    * everything else (palette, CMYK, YCbCr, 1-bit...) goes through PIL's own conversion.
    """
    mode = img.mode
    if mode in _SIXTEEN_BIT_MODES:
        arr = np.asarray(img, dtype=np.float64) * (255.0 / 65535.0)
        img = Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), mode="L")
    elif mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        if arr.size and np.nanmax(arr) <= 1.0:
            arr = arr * 255.0
        img = Image.fromarray(np.clip(np.rint(np.nan_to_num(arr)), 0, 255).astype(np.uint8), "L")
    elif mode in _ALPHA_MODES or "transparency" in img.info:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba).convert("RGB")
    target = "L" if channels == 1 else "RGB"
    if img.mode != target:
        img = img.convert(target)
    return img


def load_image(path: str, shape: tuple[int, int, int]) -> Tensor:
    """Decode one image file to a float32 tensor ``shape`` = (C, H, W) in ``[-1, 1]``.

    EXIF orientation is applied, the shorter side is resized (bicubic, antialiased) and the
    center is cropped.
    """
    c, h, w = shape
    with Image.open(path) as f:
        f.load()
        img: Image.Image = f
        if f.getexif().get(_EXIF_ORIENTATION, 1) != 1:  # camera photos: apply the rotation
            img = ImageOps.exif_transpose(f)
        img = pil_to_mode(img, c)
    if img.size != (w, h):
        img = ImageOps.fit(img, (w, h), method=Image.Resampling.BICUBIC, centering=(0.5, 0.5))
    return pil_to_tensor(img)


def pil_to_tensor(image: Image.Image) -> Tensor:
    """An 8-bit "L" or "RGB" image as a float32 tensor ``(C, H, W)`` in ``[-1, 1]``."""
    pixels = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy())
    pixels = pixels.unsqueeze(0) if pixels.ndim == 2 else pixels.permute(2, 0, 1)
    return pixels.float().div_(127.5).sub_(1.0)


def read_image(path: Path) -> Image.Image:
    """The image file at ``path``, decoded whole (its file closed); a
    :class:`~ganlab.data.base.DataError` names a file that cannot be decoded."""
    try:
        with Image.open(path) as opened:
            opened.load()
            return opened.copy()
    except Exception as error:  # PIL says "not an image" in many ways (OSError, ValueError...)
        raise DataError(
            f"{path} cannot be read as an image ({type(error).__name__}: {error}): replace it "
            "with a readable image file or remove it"
        ) from error


def resize_crop_flip(
    images: Sequence[Image.Image],
    size: tuple[int, int],  # (H, W) of the tensors returned
    load_size: tuple[int, int],  # (H, W) every image is resized to first
    generator: torch.Generator | None,  # of the crop and flip draws; None: no augmentation
    flip: bool,  # with a generator: flip left-right half of the time
) -> list[Tensor]:
    """``images`` (8-bit "L" or "RGB") resized to ``load_size`` (bicubic) and cropped to
    ``size`` in ``[-1, 1]``: at the top left, or (with a ``generator``) at one random place for
    all of them, then flipped together (``flip``), as the official Pix2Pix and CycleGAN code's
    ``--load_size 286 --crop_size 256`` does."""
    tensors = [
        pil_to_tensor(image.resize(load_size[::-1], Image.Resampling.BICUBIC)) for image in images
    ]
    (height, width), (load_h, load_w) = size, load_size
    top = left = 0
    if generator is not None and (load_h, load_w) != (height, width):
        top = int(torch.randint(load_h - height + 1, (), generator=generator))
        left = int(torch.randint(load_w - width + 1, (), generator=generator))
    tensors = [x[:, top : top + height, left : left + width] for x in tensors]
    if generator is not None and flip and bool(torch.rand((), generator=generator) < 0.5):
        tensors = [x.flip(-1) for x in tensors]
    return tensors
