"""The trainer's checkpoint plugin (``conf/trainer``): checkpoints written atomically.

Apart from :mod:`ganlab.checkpoints` (reading checkpoints) so that sampling and export do not
import Lightning.
"""

from __future__ import annotations

from typing import Any

from lightning.fabric.utilities.cloud_io import get_filesystem
from lightning.pytorch.plugins.io import TorchCheckpointIO
from typing_extensions import override

from ganlab.io import atomic_save


class AtomicCheckpointIO(TorchCheckpointIO):
    """Local files: :func:`ganlab.io.atomic_save` (temporary file, fsync, rename). Other
    filesystems: Lightning's own writer."""

    @override
    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None or not _is_local(path):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        atomic_save(checkpoint, path)


def _is_local(path: Any) -> bool:
    return type(get_filesystem(path)).__name__ == "LocalFileSystem"
