"""The trainer's checkpoint plugin (``conf/trainer``): checkpoints written atomically.

Apart from :mod:`ganlab.checkpoints` so that reading a checkpoint (sampling, export) does not
import Lightning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning.fabric.utilities.cloud_io import get_filesystem
from lightning.pytorch.plugins.io import TorchCheckpointIO
from typing_extensions import override

from ganlab.checkpoints import atomic_save


class AtomicCheckpointIO(TorchCheckpointIO):
    """Local files: temporary file, fsync, rename. Other filesystems: Lightning's own writer."""

    @override
    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None or not _is_local(path):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        atomic_save(checkpoint, Path(path))


def _is_local(path: Any) -> bool:
    return type(get_filesystem(path)).__name__ == "LocalFileSystem"
