"""Reading checkpoint files: safely, and refused with a clear message.

:func:`read_checkpoint` loads with ``weights_only=True`` (no code in the file is executed) and
turns every way a file can be unusable into one :class:`CheckpointError` naming the fix. The
configs stored in a checkpoint are built only through :mod:`ganlab.stored`, which refuses any
``_target_`` outside ganlab's allow-list (also a :class:`CheckpointError`).

Writing them is elsewhere: the trainer saves through :mod:`ganlab.checkpoint_plugin`,
atomically (:mod:`ganlab.io`); ``last.ckpt`` is scheduled by
:class:`ganlab.callbacks.LastCheckpoint`.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

__all__ = ["CheckpointError", "read_checkpoint"]


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
