"""Translate images with a trained translation model (Pix2Pix, CycleGAN).

python -m ganlab.translate ckpt=<run>/checkpoints/last.ckpt input=edges/ out=digits/
python -m ganlab.translate ckpt=... input=photo.png out=translated/      # one image
python -m ganlab.translate ckpt=... input=big/ out=small/ resize=true    # other sizes: resized
python -m ganlab.translate ckpt=<cyclegan run> input=zebras/ out=horses/ direction=BtoA

Every image under ``input`` (a file, or a folder searched recursively) is read as the model's
source images are (grayscale or RGB, as its ``source_shape`` says), translated in batches, and
written under ``out`` with the same relative path and file name (the format its extension
names). ``out`` is written whole or not at all, and only into a new or empty folder, or with
``overwrite=true`` into one this command wrote before (its ``translate.json`` lists the files;
anything else there is refused before any work). The model's test-time mode is the one it was
trained with (``model.inference``; :mod:`ganlab.models.translation`), dropout drawn from
``seed``. ``direction`` (``AtoB`` or ``BtoA``, between the training data's domains) picks
CycleGAN's generator; unset, the model translates the way it was trained.
A checkpoint whose stored config names anything outside ganlab's allow-list is refused
(:mod:`ganlab.stored`); ``trust=true`` builds it (only for a file you would run as code).
The command line (also installed as ``ganlab-translate``) is :mod:`ganlab.cli.translate`.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from omegaconf import DictConfig
from torch import Tensor

from ganlab.config import register_resolvers
from ganlab.data.image_folder import IMAGE_EXTENSIONS, find_images
from ganlab.data.imaging import pil_to_mode
from ganlab.generator import Translator, load_translator
from ganlab.latent_walks import SampleError, write_png
from ganlab.metrics.features import to_uint8
from ganlab.sample import staged_folder

register_resolvers()

MANIFEST = "translate.json"  # in out: what this command wrote there (all overwrite replaces)


class TranslateError(SampleError):
    """The translation request does not fit the checkpoint or the files; the message says
    what does."""


def input_images(path: Path) -> list[Path]:
    """The images to translate: ``path`` itself, or every image under the folder ``path``."""
    if path.is_file():
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            raise TranslateError(
                f"input={path} is not an image ({', '.join(IMAGE_EXTENSIONS)}): name an image "
                "or a folder of images"
            )
        return [path]
    if not path.is_dir():
        raise TranslateError(f"input={path} does not exist: name an image or a folder of images")
    images = find_images(path)
    if not images:
        raise TranslateError(f"input={path} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
    return images


def read_image(path: Path, shape: tuple[int, ...], resize: bool) -> Tensor:
    """The image at ``path`` as a source of ``shape`` (C, H, W) in [-1, 1]: grayscale for one
    channel, RGB for three, converted as ganlab's data modules convert; resized (bilinear)
    only when ``resize``."""
    from PIL import Image, UnidentifiedImageError

    channels, height, width = shape
    assert channels in (1, 3), f"a translator reads 1- or 3-channel images, not {channels}"
    try:
        with Image.open(path) as opened:
            opened.load()  # read now: the file closes with the block
            image = pil_to_mode(opened, channels)  # 16-bit, alpha, palette: as ganlab's data
    except (OSError, UnidentifiedImageError) as error:
        raise TranslateError(f"{path} cannot be read as an image: {error}") from error
    if image.size != (width, height):
        if not resize:
            raise TranslateError(
                f"{path} is {image.size[0]}x{image.size[1]} but the model translates "
                f"{width}x{height} images: pass resize=true to resize every input to that"
            )
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    pixels = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
    pixels = pixels.view(height, width, channels).permute(2, 0, 1)
    return pixels.float() / 127.5 - 1.0


def write_image(image: Tensor, path: Path) -> None:
    """One image (C, H, W) in [-1, 1] to ``path``, quantized as ganlab's PNGs are, in the
    format the extension names."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_png(to_uint8(image.cpu()).permute(1, 2, 0), path)


def check_out(out: Path, overwrite: bool) -> None:
    """``out`` must be new or empty, or (``overwrite``) a folder this command wrote: every
    entry is its manifest or listed in it."""
    if out.exists() and not out.is_dir():
        raise TranslateError(f"out={out} is a file: translations go into a folder")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not overwrite:
        raise TranslateError(
            f"out={out} is not empty: pass overwrite=true to replace translations written "
            "there before, or name a new folder"
        )
    manifest = out / MANIFEST
    listed = set(json.loads(manifest.read_text())["files"]) if manifest.is_file() else set()
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    foreign = sorted(files - listed - {MANIFEST})
    if foreign:
        raise TranslateError(
            f"out={out} holds files ganlab.translate did not write ({', '.join(foreign[:3])}): "
            "overwrite=true only replaces earlier translations; name a new folder"
        )


def translate_files(
    translator: Translator,
    sources: list[Path],
    root: Path,  # the input folder (names below it are kept), or the single image's folder
    out: Path,
    batch_size: int,
    seed: int,
    resize: bool,
    overwrite: bool,
) -> list[str]:
    """Translate ``sources`` into ``out`` (staged, then renamed whole); their relative names."""
    names = [p.relative_to(root).as_posix() for p in sources]
    with staged_folder(out, overwrite, check_out) as staging:
        for start in range(0, len(sources), batch_size):
            chunk = sources[start : start + batch_size]
            images = torch.stack([read_image(p, translator.source_shape, resize) for p in chunk])
            for name, output in zip(
                names[start : start + batch_size],
                translator(images, seed=seed + start, batch_size=batch_size),
                strict=True,
            ):
                write_image(output, staging / name)
        record = {
            "files": names,
            "direction": translator.direction,
            "inference": translator.inference,
            "kimg": translator.kimg,
        }
        (staging / MANIFEST).write_text(json.dumps(record, indent=1) + "\n")
    return names


def translate(cfg: DictConfig) -> Path:
    source = Path(str(cfg.input))
    out = Path(str(cfg.out))
    sources = input_images(source)  # refuse a bad request before loading anything
    check_out(out, bool(cfg.overwrite))
    translator = load_translator(
        cfg.ckpt, ema=cfg.ema, device=cfg.device, trust=cfg.trust, direction=cfg.direction
    )
    root = source if source.is_dir() else source.parent
    names = translate_files(
        translator,
        sources,
        root,
        out,
        int(cfg.batch_size),
        int(cfg.seed),
        bool(cfg.resize),
        bool(cfg.overwrite),
    )
    weights = "EMA" if translator.ema else "raw"
    print(
        f"{len(names)} images translated {translator.direction} ({weights} generator, "
        f"{translator.kimg:.1f} kimg, {translator.inference} mode) -> {out}/"
    )
    return out


if __name__ == "__main__":  # python -m ganlab.translate runs ganlab.cli.translate
    import importlib  # not a plain import: ganlab.cli.translate imports this module

    importlib.import_module("ganlab.cli.translate").main()
