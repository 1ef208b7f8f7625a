"""Checkpoint files: written atomically, read safely, refused with a clear message.

* :func:`atomic_write` (used by the trainer's checkpoint plugin,
  :class:`ganlab.checkpoint_io.AtomicCheckpointIO`, and by exports) writes to a temporary file
  in the same folder, fsyncs it and renames it over the target: a process killed while saving
  leaves the previous ``last.ckpt`` intact, never a truncated one.
* :func:`read_checkpoint` loads with ``weights_only=True`` (no code in the file is executed)
  and turns every way a file can be unusable into one :class:`CheckpointError` naming the fix.
  The configs stored in a checkpoint are built only through :mod:`ganlab.stored`, which
  refuses any ``_target_`` outside ganlab's allow-list (also a :class:`CheckpointError`).
"""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import torch

__all__ = [
    "CheckpointError",
    "atomic_save",
    "atomic_write",
    "read_checkpoint",
]


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be used (missing, truncated, or not a ganlab checkpoint),
    or a stored config that ganlab refuses to build (:mod:`ganlab.stored`)."""


def read_checkpoint(path: str | Path, for_resume: bool = False) -> dict[str, Any]:
    """Load a ganlab checkpoint on the CPU with ``weights_only=True``.

    ``for_resume`` also requires the training state (optimizers, loops) that resuming needs.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint {path} does not exist; pass a checkpoint file such as "
            "<run dir>/checkpoints/last.ckpt"
        )
    if path.stat().st_size == 0 or not zipfile.is_zipfile(path):
        raise CheckpointError(
            f"cannot read checkpoint {path}: the file is truncated, corrupt or not a PyTorch "
            "checkpoint. Use another one, e.g. a periodic checkpoints/epochXXXX.ckpt of the "
            "same run."
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, ValueError, OSError) as error:
        raise CheckpointError(
            f"cannot read checkpoint {path} ({type(error).__name__}): the file is truncated, "
            "corrupt or not a PyTorch checkpoint. Use another one, e.g. a periodic "
            "checkpoints/epochXXXX.ckpt of the same run."
        ) from error
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path} is not a Lightning checkpoint (no state_dict)")
    if "ganlab" not in checkpoint:
        raise CheckpointError(
            f"{path} is a Lightning checkpoint but not one written by ganlab training (it has "
            "no 'ganlab' entry); ganlab resumes and samples from its own checkpoints only"
        )
    missing = [k for k in ("optimizer_states", "loops") if k not in checkpoint]
    if for_resume and missing:
        raise CheckpointError(
            f"{path} holds weights only (no {' or '.join(missing)}), so training cannot resume "
            "from it; resume from a checkpoint written during training (checkpoints/last.ckpt)"
        )
    return checkpoint


def atomic_write(target: Path, write: Callable[[BinaryIO], object]) -> None:
    """``write(file)`` into a temporary file beside ``target``, fsync, rename over ``target``:
    an interrupted writer leaves the previous file (or none), never a truncated one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, target)  # atomic on POSIX and Windows
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_directory(target.parent)


def atomic_save(obj: object, target: Path) -> None:
    """``torch.save`` atomically (:func:`atomic_write`)."""
    atomic_write(target, lambda f: torch.save(obj, f))


def _fsync_directory(folder: Path) -> None:
    """Make the rename itself durable (where the platform allows opening a directory)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
