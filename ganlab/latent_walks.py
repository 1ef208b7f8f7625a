"""Walks through a trained generator's latent space, and the frames they make: seeded latents
(with the truncation trick), InfoGAN latent traversals and interpolations, drawn from a
:class:`~ganlab.generator.TrainedGenerator`; and writing frames as PNGs, GIFs and MP4s. Used by
``python -m ganlab.sample`` (:mod:`ganlab.sample`); the tensor maths of paths and truncation is
:mod:`ganlab.latent`.

Every draw is reproducible from its ``torch.Generator`` or seed, on the CPU.
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganlab.generator import TrainedGenerator
from ganlab.latent import interpolation_path, truncated_normal
from ganlab.networks.conditional import sample_inputs

VIDEO_HELP = (
    "pip install 'imageio[ffmpeg]' (or PyAV with a torchvision that has "
    "torchvision.io.write_video); out=<file>.gif or a folder of PNG frames (out=<dir>/) "
    "need neither"
)


class SampleError(ValueError):
    """The sampling request does not fit the checkpoint; the message says what does."""


# -- latents --------------------------------------------------------------------------------


def noise_width(network: torch.nn.Module) -> int:
    """The noise part of a generator's latent (InfoGAN codes follow it)."""
    width: Any = getattr(network, "noise_dim", None)
    return int(network.latent_dim if width is None else width)  # type: ignore[arg-type]


def tracks_average(network: torch.nn.Module) -> bool:
    """Whether the generator keeps an average latent ``w_avg`` (as StyleGAN's mapping network
    does) and truncates towards it itself: ``forward(z, [labels,] truncation_psi=psi)``, the
    convention of NVIDIA's StyleGAN2/3 generators. No ganlab generator does yet; for all of
    them truncation acts on ``z`` (:func:`ganlab.latent.truncated_normal`)."""
    if not isinstance(getattr(network, "w_avg", None), Tensor):
        return False
    return "truncation_psi" in inspect.signature(network.forward).parameters


def draw_latents(
    generator: TrainedGenerator,
    n: int,
    rng: torch.Generator,
    psi: float | None = None,
    labels: Tensor | None = None,  # classes (conditional G); None: uniform from rng
) -> tuple[Tensor, Tensor | None]:
    """``n`` latents from the generator's prior and their labels (for a conditional G), on the
    CPU; with ``psi`` Gaussian noise is :func:`~ganlab.latent.truncated_normal` instead and
    uniform noise is scaled by ``psi`` towards the centre of its cube (InfoGAN codes keep their
    prior), unless the generator truncates towards ``w_avg`` itself. Without ``psi``, the same
    draws as ``generator.sample(n, seed)``."""
    network = generator.network
    latent, labels = sample_inputs(network, n, rng, labels)
    if psi is not None and not tracks_average(network):
        width = noise_width(network)
        if getattr(network, "noise", "normal") == "uniform":
            noise = psi * latent[:, :width]
        else:
            noise = truncated_normal(n, width, psi, generator=rng)
        latent = torch.cat([noise, latent[:, width:]], dim=1)
    return latent, labels


@torch.no_grad()
def generate(
    generator: TrainedGenerator, latent: Tensor, labels: Tensor | None, psi: float | None
) -> Tensor:
    """The generator's samples of these latents (on the CPU)."""
    network = generator.network
    if psi is None or not tracks_average(network):
        return generator.sample(len(latent), z=latent, labels=labels).cpu()
    args = [latent.to(generator.device)]
    if labels is not None:
        args.append(labels.to(generator.device))
    return network(*args, truncation_psi=psi).cpu()


def stream(
    generator: TrainedGenerator,
    n: int,
    batch_size: int,
    rng: torch.Generator,
    psi: float | None,
    label: int | None = None,  # the class of every sample (conditional G); None: uniform
) -> Iterator[Tensor]:
    """``n`` samples in batches drawn from ``rng``: with a fresh ``rng`` seeded with ``seed``
    and no truncation or label, the images ``generator.batches(n, batch_size, seed)`` gives,
    which are the fakes ``python -m ganlab.evaluate`` scores with that seed and batch size."""
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        labels = None if label is None else torch.full((m,), label)
        yield generate(generator, *draw_latents(generator, m, rng, psi, labels), psi)


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
    noise, values = network.split_latent(network.sample_latent(n_rows, rng))  # type: ignore[operator]
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
    return generate(generator, latent, labels, psi)


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
    start, labels = draw_latents(generator, rows, rng, psi, labels)
    end, _ = draw_latents(generator, rows, rng, psi, labels)
    width = noise_width(generator.network)
    path = interpolation_path(start[:, :width], end[:, :width], steps, mode)  # (steps, rows, w)
    fixed = start[:, width:].expand(steps, -1, -1)  # codes stay those of the start
    latent = torch.cat([path, fixed], dim=2).transpose(0, 1).reshape(rows * steps, -1)
    row_labels = labels.repeat_interleave(steps) if labels is not None else None
    samples = generate(generator, latent, row_labels, psi)
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
