"""Draw samples from a trained checkpoint.

python -m ganlab.sample ckpt=<run>/checkpoints/last.ckpt num_samples=64 out=grid.png
python -m ganlab.sample ckpt=... num_samples=1000 out=samples.pt   # raw tensor in [-1, 1] (or .npy)
python -m ganlab.sample ckpt=... labels=[0,1,2]      # conditional G: a row of per_class each
python -m ganlab.sample ckpt=... class_grid=true     # conditional G: a row per class
python -m ganlab.sample ckpt=... traverse=c2         # InfoGAN: vary code c2 along each row
python -m ganlab.sample ckpt=... interpolate=slerp steps=10 rows=8 out=walk.gif  # + walk.png
python -m ganlab.sample ckpt=... interpolate=slerp out=frames/   # frame_0000.png ... + grid.png
python -m ganlab.sample ckpt=... truncation=0.5      # any mode: the truncation trick
python -m ganlab.sample ckpt=... num_samples=50000 out=fakes/    # 000000.png ... for FID tools

Every mode is reproducible from ``seed``: the same seed gives the same files, byte for byte.
A checkpoint whose stored config names anything outside ganlab's allow-list is refused before
anything is written (:mod:`ganlab.stored`); ``trust=true`` builds it (only for a file you would
run as code).

This module turns the command line's request into files; the command line itself (also
installed as ``ganlab-sample``) is :mod:`ganlab.cli.sample`; the samples come from
:meth:`TrainedGenerator.sample <ganlab.generator.TrainedGenerator.sample>` and ``.batches``, the
traversals, interpolations and animations from :mod:`ganlab.latent_walks`.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import torch
from omegaconf import DictConfig
from torch import Tensor

from ganlab.config import register_resolvers
from ganlab.generator import TrainedGenerator, load_generator
from ganlab.io import atomic_path, atomic_save
from ganlab.latent import INTERPOLATIONS
from ganlab.latent_walks import (
    SampleError,
    interpolation,
    to_pixels,
    traversal,
    video_writer,
    write_animation,
    write_png,
)
from ganlab.plotting import image_grid, save_samples

register_resolvers()

TENSOR_SUFFIXES = (".pt", ".npy")
ANIMATION_SUFFIXES = (".gif", ".mp4")
# the files this command writes into a folder: all that overwrite=true may replace
OWN_FILES = re.compile(r"\d{6,}\.png|frame_\d{4,}\.png|grid\.png|samples\.npy")
CLASS_FOLDER = re.compile(r"\d+")  # a labelled export's folder of one class's PNGs


def output_kind(out: str) -> str:
    """What ``out`` asks for: "folder" (ends with /, is a folder or has no suffix), "tensor"
    (.pt, .npy), "gif", "mp4" or "image" (a PNG or another picture format Pillow writes).

    >>> [output_kind(o) for o in ("fakes/", "x.pt", "x.npy", "walk.gif", "w.mp4", "g.png")]
    ['folder', 'tensor', 'tensor', 'gif', 'mp4', 'image']
    """
    path = Path(out)
    suffix = path.suffix.lower()
    if out.endswith(("/", os.sep)) or path.is_dir() or not suffix:
        return "folder"
    if suffix in TENSOR_SUFFIXES:
        return "tensor"
    if suffix in ANIMATION_SUFFIXES:
        return suffix[1:]
    from PIL import Image

    if suffix not in Image.registered_extensions():
        raise SampleError(
            f"out={out}: {suffix} is not a format this command writes; use a picture (.png), "
            "a tensor (.pt, .npy), an animation (.gif, .mp4) or a folder (out=<dir>/)"
        )
    return "image"


def truncation_psi(cfg: DictConfig) -> float | None:
    """``truncation=`` as a float in (0, 1], or None (no truncation)."""
    psi = cfg.truncation
    if psi is None:
        return None
    if isinstance(psi, bool) or not isinstance(psi, int | float) or not 0 < psi <= 1:
        raise SampleError(
            f"truncation={psi} is out of range: use 0 < truncation <= 1 (the spread of the "
            "latents kept; 1 = BigGAN's truncation at 2 standard deviations), or "
            "truncation=null for none"
        )
    return float(psi)


def check_request(cfg: DictConfig) -> None:
    """Refuse requests that no checkpoint could satisfy, before loading one."""
    kind = output_kind(str(cfg.out))
    truncation_psi(cfg)
    for key in ("num_samples", "batch_size", "steps", "per_class"):
        value = cfg[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SampleError(f"{key}={value} must be a whole number >= 1")
    if cfg.rows is not None and (not isinstance(cfg.rows, int) or cfg.rows < 1):
        raise SampleError(f"rows={cfg.rows} must be a whole number >= 1 (or null)")
    if not isinstance(cfg.fps, int | float) or cfg.fps <= 0:
        raise SampleError(f"fps={cfg.fps} must be positive (frames per second)")
    if cfg.interpolate is not None:
        if cfg.interpolate not in INTERPOLATIONS:
            raise SampleError(
                f"interpolate={cfg.interpolate} is not an interpolation: use interpolate=slerp "
                "(along the sphere, for Gaussian latents) or interpolate=lerp (a straight line)"
            )
        if cfg.steps < 2:
            raise SampleError(
                f"steps={cfg.steps}: an interpolation needs steps >= 2 (its two ends), e.g. steps=10"
            )
        if cfg.traverse is not None:
            raise SampleError("interpolate and traverse make two different grids: use one of them")
        if cfg.rows is not None and (cfg.labels is not None or cfg.class_grid):
            raise SampleError(
                "rows= and labels=/class_grid= both set the rows of an interpolation: with "
                "labels each listed class gets a row; drop one of them"
            )
    elif kind in ("gif", "mp4"):
        raise SampleError(
            f"out={cfg.out} animates an interpolation: add interpolate=slerp (or lerp), or "
            "write a picture (out=<file>.png)"
        )
    elif kind == "folder" and cfg.traverse is not None:
        raise SampleError(
            f"out={cfg.out} (a folder) gets single images (with labels=/class_grid=, a "
            "subfolder per class) or, with interpolate=, animation frames; traverse makes one "
            "grid: use out=<file>.png"
        )
    if kind == "folder":
        check_folder(Path(cfg.out), bool(cfg.overwrite))  # refuse now rather than after generating
    if kind == "mp4":
        video_writer()


def requested_labels(generator: TrainedGenerator, cfg: DictConfig) -> list[int] | None:
    """The classes asked for by ``labels=[...]`` or ``class_grid=true`` (None: neither)."""
    if cfg.labels is None and not cfg.class_grid:
        return None
    if not generator.num_classes:
        raise SampleError(
            "labels/class_grid need a class-conditional generator (model=cgan, acgan, cgan_pd); "
            "this checkpoint's generator is unconditional"
        )
    labels = list(range(generator.num_classes)) if cfg.class_grid else list(cfg.labels)
    bad = [k for k in labels if not 0 <= int(k) < generator.num_classes]
    if bad:
        raise SampleError(f"labels {bad} are not classes: use 0..{generator.num_classes - 1}")
    return [int(k) for k in labels]


# -- writing --------------------------------------------------------------------------------


def save_tensor(samples: Tensor, out: Path) -> None:
    if out.suffix.lower() == ".npy":
        import numpy as np

        with atomic_path(out) as temporary:
            np.save(temporary, samples.numpy())
    else:
        atomic_save(samples, out)


def check_folder(out: Path, overwrite: bool) -> None:
    """A folder export may write to a new or empty folder, or (``overwrite``) replace one
    holding only files this command writes; anything else is refused before any work."""
    if out.exists() and not out.is_dir():
        raise SampleError(f"out={out} is a file: a folder export needs a folder path")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not overwrite:
        raise SampleError(
            f"out={out} is not empty: pass overwrite=true to replace its samples, or name a "
            "new folder"
        )
    foreign = sorted(p.name for p in out.iterdir() if not written_here(p))
    if foreign:
        raise SampleError(
            f"out={out} holds files ganlab.sample did not write ({', '.join(foreign[:3])}): "
            "overwrite=true only replaces folders of samples; name a new folder"
        )


def written_here(path: Path) -> bool:
    """Whether ``path`` (in an export folder) is what a folder export writes: samples, frames,
    or a class folder holding only samples."""
    if path.is_dir():
        return CLASS_FOLDER.fullmatch(path.name) is not None and all(
            p.is_file() and OWN_FILES.fullmatch(p.name) for p in path.iterdir()
        )
    return OWN_FILES.fullmatch(path.name) is not None


@contextlib.contextmanager
def staged_folder(
    out: Path,
    overwrite: bool,
    check: Callable[[Path, bool], None] = check_folder,  # refuses an out it may not replace
) -> Iterator[Path]:
    """A hidden folder next to ``out`` to write into; renamed to ``out`` once complete (the old
    ``out`` moved aside and deleted only then), removed if writing fails: ``out`` is never a
    half-written export."""
    check(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.partial-{os.getpid()}-{time.time_ns()}"
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = None
    if out.is_dir():
        old = out.parent / f".{out.name}.old-{os.getpid()}-{time.time_ns()}"
        out.rename(old)
    staging.rename(out)
    if old is not None:
        shutil.rmtree(old)


def export(
    generator: TrainedGenerator,
    cfg: DictConfig,
    out: Path,
    psi: float | None,
    labels: list[int] | None = None,  # classes to write a subfolder of per_class images each
) -> str:
    """``num_samples`` samples as single 8-bit PNGs ``000000.png, ...`` (for torch-fidelity,
    clean-fid or ``ganlab.evaluate fake=``), quantized as ganlab's FID does
    (:func:`~ganlab.metrics.features.to_uint8`), ``batch_size`` at a time; 2-D points as
    ``samples.npy``. With ``labels`` (a conditional G), ``per_class`` images of each class in
    a subfolder named by the class, zero-padded so that the folders sort as the classes do: a
    labelled synthetic dataset that ``data=image_folder data.labels=true`` reads. Returns what
    was written."""
    if labels is not None:
        return export_classes(generator, cfg, out, psi, labels)
    n = int(cfg.num_samples)
    batches = generator.batches(n, int(cfg.batch_size), int(cfg.seed), psi)
    with staged_folder(out, bool(cfg.overwrite)) as staging:
        if len(generator.shape) != 3:  # 2-D points: a picture per point makes no sense
            import numpy as np

            np.save(staging / "samples.npy", torch.cat(list(batches)).cpu().numpy())
            return (
                f"{n} points in samples.npy (float32 ({n}, {', '.join(map(str, generator.shape))}); "
                "2-D point data makes no images: load it with numpy.load, or use out=<file>.pt)"
            )
        digits = write_pngs(batches, staging, n)
    size = "x".join(map(str, generator.shape[1:]))
    return f"{n} PNGs {0:0{digits}d}.png..{n - 1:0{digits}d}.png ({size}, 8-bit)"


def write_pngs(batches: Iterable[Tensor], folder: Path, n: int) -> int:
    """Write ``n`` images (in batches, [-1, 1]) as ``000000.png, ...`` into ``folder``, quantized
    as ganlab's FID does; returns the digits of the names."""
    from ganlab.metrics.features import to_uint8

    digits = max(6, len(str(n - 1)))
    index = 0
    for batch in batches:
        for image in to_uint8(batch.cpu()).permute(0, 2, 3, 1):
            write_png(image, folder / f"{index:0{digits}d}.png")
            index += 1
    return digits


def export_classes(
    generator: TrainedGenerator, cfg: DictConfig, out: Path, psi: float | None, labels: list[int]
) -> str:
    """:func:`export` with ``labels``: a subfolder of ``per_class`` PNGs for each class, all
    drawn from one seeded stream."""
    if len(generator.shape) != 3:
        raise SampleError("a labelled folder export writes images; 2-D points have none")
    n, size = int(cfg.per_class), int(cfg.batch_size)
    width = len(str(generator.num_classes - 1))
    rng = torch.Generator().manual_seed(int(cfg.seed))
    with staged_folder(out, bool(cfg.overwrite)) as staging:
        for label in labels:
            folder = staging / f"{label:0{width}d}"
            folder.mkdir()
            write_pngs(generator.batches(n, size, rng, psi, label), folder, n)
    first, last = f"{labels[0]:0{width}d}", f"{labels[-1]:0{width}d}"
    return (
        f"{n} PNGs of each of {len(labels)} classes in {first}/..{last}/ (read back with "
        "data=image_folder data.labels=true)"
    )


def write_interpolation(
    samples: Tensor, cfg: DictConfig, out: Path, kind: str
) -> tuple[str, list[Path]]:
    """Write ``(rows, steps, *shape)`` interpolations: a grid with a row per interpolation,
    and for animations one frame per step (a grid of every row at that step)."""
    rows, steps = samples.shape[:2]
    flat = samples.reshape(rows * steps, *samples.shape[2:])
    if kind == "tensor":
        save_tensor(flat, out)
        return "", [out]
    if kind == "image":
        return "", [save_samples(flat, out, steps)]
    nrow = cfg.nrow or math.ceil(math.sqrt(rows))
    frames = [to_pixels(image_grid(samples[:, t], nrow)) for t in range(steps)]
    grid = to_pixels(image_grid(flat, steps))
    if kind == "folder":
        with staged_folder(out, bool(cfg.overwrite)) as staging:
            write_png(grid, staging / "grid.png")
            for t, frame in enumerate(frames):
                write_png(frame, staging / f"frame_{t:04d}.png")
        return f" as {steps} frames frame_0000.png.. and grid.png", [out]
    out.parent.mkdir(parents=True, exist_ok=True)
    grid_path = out.with_suffix(".png")
    write_png(grid, grid_path)
    write_animation(frames, out, float(cfg.fps))
    return f" ({steps} frames at {cfg.fps} fps)", [grid_path, out]


def sample(cfg: DictConfig) -> Path:
    check_request(cfg)
    psi = truncation_psi(cfg)
    kind = output_kind(str(cfg.out))
    out = Path(cfg.out)
    generator = load_generator(cfg.ckpt, ema=cfg.ema, device=cfg.device, trust=cfg.trust)
    labels = requested_labels(generator, cfg)
    nrow = cfg.nrow
    written = [out]
    detail = ""
    if cfg.interpolate is not None:
        rows = len(labels) if labels is not None else (cfg.rows or 8)
        if kind in ("gif", "mp4", "folder") and len(generator.shape) != 3:
            raise SampleError(
                f"out={cfg.out}: 2-D point data has no frames to animate; use out=<file>.pt "
                "(or .npy) for the paths, or out=<file>.png for a scatter plot of them"
            )
        row_labels = torch.tensor(labels) if labels is not None else None
        paths = interpolation(
            generator, str(cfg.interpolate), cfg.steps, rows, cfg.seed, psi, row_labels
        )
        detail, written = write_interpolation(paths, cfg, out, kind)
        what = f"{rows} {cfg.interpolate} interpolations of {cfg.steps} steps"
    elif kind == "folder":
        detail = " as " + export(generator, cfg, out, psi, labels)
        what = f"{cfg.num_samples} samples" if labels is None else f"classes {labels}"
    else:
        if cfg.traverse is not None:
            samples = traversal(
                generator, str(cfg.traverse), cfg.steps, cfg.per_class, cfg.seed, psi
            )
            nrow = nrow or (cfg.steps if samples.shape[0] % cfg.steps == 0 else None)
            what = f"traversal of {cfg.traverse}"
        else:
            classes = None
            if labels is not None:
                classes = torch.tensor(labels).repeat_interleave(cfg.per_class)
                nrow = nrow or cfg.per_class
                what = f"{cfg.per_class} samples of each of classes {labels}"
            else:
                what = f"{cfg.num_samples} samples"
            n = len(classes) if classes is not None else cfg.num_samples
            samples = generator.sample(n, seed=cfg.seed, labels=classes, psi=psi).cpu()
        if kind == "tensor":
            save_tensor(samples, out)
        else:
            save_samples(samples, out, nrow)
    weights = "EMA" if generator.ema else "raw"
    truncated = f", truncation {psi}" if psi is not None else ""
    targets = " + ".join(str(p) for p in written)
    print(
        f"{what} ({weights} generator, {generator.kimg:.1f} kimg{truncated}) -> {targets}{detail}"
    )
    return out


if __name__ == "__main__":  # python -m ganlab.sample runs ganlab.cli.sample
    import importlib  # not a plain import: ganlab.cli.sample imports this module

    importlib.import_module("ganlab.cli.sample").main()
