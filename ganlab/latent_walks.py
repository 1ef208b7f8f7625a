"""Walks through a trained generator's latent space, and the frames they make: InfoGAN latent
traversals and interpolations (with the truncation trick) of a
:class:`~ganlab.generator.TrainedGenerator`; and writing frames as PNGs, GIFs and MP4s. Used by
``python -m ganlab.sample`` (:mod:`ganlab.sample`); the latents are drawn by
:mod:`ganlab.sampling`, and the tensor maths of paths and truncation is :mod:`ganlab.latent`.

Every walk is reproducible from its seed, on the CPU.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

from ganlab.generator import TrainedGenerator
from ganlab.latent import interpolation_path, truncated_normal
from ganlab.sampling import draw_inputs, draw_latents, noise_width, tracks_average

VIDEO_HELP = (
    "pip install 'imageio[ffmpeg]' (or PyAV with a torchvision that has "
    "torchvision.io.write_video); out=<file>.gif or a folder of PNG frames (out=<dir>/) "
    "need neither"
)


class SampleError(ValueError):
    """The sampling request does not fit the checkpoint; the message says what does."""


# -- traversals and interpolations ----------------------------------------------------------


def traversal(
    generator: TrainedGenerator,
    code: str,
    steps: int,
    rows: int,
    seed: int,
    psi: float | None = None,
) -> Tensor:
    """InfoGAN latent traversal: a grid whose columns vary ``code`` and whose rows are the
    values of the first categorical code, all with the same noise (or ``rows`` noise draws
    when that is the code varied). A continuous code runs from -2 to 2 (beyond its training
    range [-1, 1], as in the paper); other continuous codes stay at 0. With ``psi`` the noise
    is truncated."""
    network = generator.network
    names: list[str] = list(getattr(network, "code_names", []))
    if code not in names:
        raise SampleError(
            f"traverse={code} is not a latent code of this generator (its codes: "
            f"{names or 'none; train model=infogan'})"
        )
    codes = list(network.codes)  # type: ignore[arg-type]
    index = names.index(code)
    categorical = [i for i, c in enumerate(codes) if c != "uniform"]
    if codes[index] == "uniform":
        columns = torch.linspace(-2, 2, steps)
        row_code = categorical[0] if categorical else None
    else:
        columns = torch.arange(int(codes[index]))
        row_code = None
    n_rows = int(codes[row_code]) if row_code is not None else rows
    rng = torch.Generator().manual_seed(seed)
    noise, values = network.split_latent(draw_latents(network, n_rows, rng))  # type: ignore[operator]
    if psi is not None and not tracks_average(network):
        noise = truncated_normal(n_rows, noise.shape[1], psi, generator=rng)
    if row_code is not None:  # rows differ only in their category: one noise for the grid
        noise = noise[:1].expand(n_rows, -1)
    noise = noise.repeat_interleave(len(columns), dim=0)  # one noise vector per row
    grid = []
    for i, c in enumerate(codes):
        if i == index:
            grid.append(columns.repeat(n_rows))
        elif i == row_code:
            grid.append(torch.arange(n_rows).repeat_interleave(len(columns)))
        elif c == "uniform":
            grid.append(torch.zeros(len(noise)))
        else:
            grid.append(values[i].repeat_interleave(len(columns)))
    latent = network.join_latent(noise, grid)  # type: ignore[operator]
    labels = None
    if generator.num_classes:  # a class per row, from the seed
        labels = torch.randint(generator.num_classes, (n_rows,), generator=rng)
        labels = labels.repeat_interleave(len(columns))
    return generator.sample(len(latent), z=latent, labels=labels, psi=psi).cpu()


def interpolation(
    generator: TrainedGenerator,
    mode: str,
    steps: int,
    rows: int,
    seed: int,
    psi: float | None = None,
    labels: Tensor | None = None,  # one class per row (conditional G); None: uniform
) -> Tensor:
    """``rows`` interpolations of ``steps`` samples, ``(rows, steps, *shape)``: each row goes
    from one seeded latent to another (``mode``: "slerp" or "lerp"). Only the Gaussian noise
    moves: a row keeps its class (conditional G) and its InfoGAN codes. With ``psi`` the ends
    are truncated latents."""
    rng = torch.Generator().manual_seed(seed)
    start, labels = draw_inputs(generator.network, rows, rng, labels, psi)
    end, _ = draw_inputs(generator.network, rows, rng, labels, psi)
    width = noise_width(generator.network)
    path = interpolation_path(start[:, :width], end[:, :width], steps, mode)  # (steps, rows, w)
    fixed = start[:, width:].expand(steps, -1, -1)  # codes stay those of the start
    latent = torch.cat([path, fixed], dim=2).transpose(0, 1).reshape(rows * steps, -1)
    row_labels = labels.repeat_interleave(steps) if labels is not None else None
    samples = generator.sample(len(latent), z=latent, labels=row_labels, psi=psi).cpu()
    return samples.view(rows, steps, *samples.shape[1:])


# -- frames ---------------------------------------------------------------------------------


def to_pixels(grid: Tensor) -> Tensor:
    """A (C, H, W) grid in [0, 1] -> (H, W, C) uint8, as ``torchvision.utils.save_image``."""
    return grid.mul(255).add(0.5).clamp(0, 255).permute(1, 2, 0).to(torch.uint8)


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    return importlib.util.find_spec(module) is not None


def video_writer() -> Callable[[Path, list[Tensor], float], None]:
    """A function writing (H, W, 3) uint8 frames to an MP4, from imageio's ffmpeg plugin or
    torchvision's writer (PyAV); a :class:`SampleError` saying what to install otherwise."""
    if installed("imageio") and installed("imageio_ffmpeg"):

        def imageio_writer(out: Path, frames: list[Tensor], fps: float) -> None:
            import imageio.v2 as imageio

            arrays = [frame.numpy() for frame in frames]
            imageio.mimwrite(out, arrays, fps=fps, macro_block_size=1)

        return imageio_writer
    import torchvision.io

    write_video = getattr(torchvision.io, "write_video", None)
    if write_video is not None and installed("av"):

        def torchvision_writer(out: Path, frames: list[Tensor], fps: float) -> None:
            write_video(str(out), torch.stack(frames), fps=fps)

        return torchvision_writer
    raise SampleError(f"out=<file>.mp4 needs a video encoder: {VIDEO_HELP}")


def even(frame: Tensor) -> Tensor:
    """Pad an (H, W, C) frame with white to even sides (H.264's 4:2:0 needs them)."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    padded = torch.full((h + h % 2, w + w % 2, frame.shape[2]), 255, dtype=frame.dtype)
    padded[:h, :w] = frame
    return padded


def write_png(pixels: Tensor, path: Path) -> None:
    """(H, W, C) uint8 -> PNG (grayscale for one channel), as ``save_image`` encodes it."""
    from PIL import Image

    array = pixels.numpy()
    Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array).save(path)


def write_animation(frames: list[Tensor], out: Path, fps: float) -> None:
    """(H, W, C) uint8 frames as a looping GIF (``out`` ends with .gif) or else an MP4
    (:func:`video_writer`, each frame padded to even sides)."""
    if out.suffix.lower() == ".gif":
        from PIL import Image

        pictures = [Image.fromarray(frame.numpy()) for frame in frames]
        duration = round(1000 / fps)  # milliseconds per frame
        pictures[0].save(out, save_all=True, append_images=pictures[1:], duration=duration, loop=0)
    else:
        video_writer()(out, [even(frame) for frame in frames], fps)
