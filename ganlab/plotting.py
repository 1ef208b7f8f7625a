"""Turning generated samples into pictures: image grids and 2-D scatter plots (no Lightning)."""

from __future__ import annotations

import math
from pathlib import Path

from torch import Tensor
from torchvision.utils import make_grid


def image_grid(images: Tensor, nrow: int | None = None) -> Tensor:
    """(N, C, H, W) in [-1, 1] -> one (C, H', W') grid in [0, 1], square-ish by default."""
    assert images.ndim == 4, f"expected images (N, C, H, W), got shape {tuple(images.shape)}"
    nrow = nrow or math.ceil(math.sqrt(images.shape[0]))
    grid = make_grid(images.detach().float().cpu(), nrow=nrow, padding=2, pad_value=1.0)
    return (grid * 0.5 + 0.5).clamp(0, 1)


def save_samples(
    samples: Tensor,
    path: str | Path,
    nrow: int | None = None,
    modes: Tensor | None = None,  # (K, 2) mixture means drawn under 2-D samples
) -> Path:
    """Write samples as a PNG: an image grid for (N, C, H, W), a scatter plot for (N, 2)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if samples.ndim == 4:
        from torchvision.utils import save_image

        save_image(image_grid(samples, nrow), path)
    elif samples.ndim == 2 and samples.shape[1] == 2:
        _scatter(samples, path, modes)
    else:
        raise ValueError(
            f"cannot draw samples of shape {tuple(samples.shape)}: expected images (N, C, H, W) "
            "or 2-D points (N, 2); save them as a tensor with out=<file>.pt instead"
        )
    return path


def _scatter(points: Tensor, path: Path, modes: Tensor | None) -> None:
    # a Figure of its own, not pyplot: switching the process's backend (matplotlib.use) would
    # silently turn off a notebook's inline figures
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 5), dpi=100)
    ax = fig.subplots()
    if modes is not None:
        xy_modes = modes.cpu()
        ax.scatter(xy_modes[:, 0], xy_modes[:, 1], s=60, c="tab:red", marker="x", label="modes")
    xy = points.detach().float().cpu()
    ax.scatter(xy[:, 0], xy[:, 1], s=2, alpha=0.5, label=f"{len(xy)} samples")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def load_png(path: str | Path) -> Tensor:
    """A PNG as a float (C, H, W) tensor in [0, 1] (for loggers that take tensors)."""
    from torchvision.io import read_image

    return read_image(str(path)).float() / 255.0
