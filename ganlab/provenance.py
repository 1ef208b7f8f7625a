"""What produced a run: code version, git commit, library versions, host.

Logged with every run's config (W&B config, TensorBoard/CSV ``hparams.yaml``) so a number can
always be traced back to the code that measured it.
"""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path
from typing import Any

import lightning
import torch

import ganlab


def _git(*args: str) -> str | None:
    """``git <args>`` in ganlab's source tree; None outside a git checkout (an installed wheel)
    or without git."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=Path(ganlab.__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def provenance() -> dict[str, Any]:
    """ganlab's version, the git commit of its source (``git_dirty``: uncommitted changes to
    tracked files), the torch / Lightning / CUDA versions and the host.

    >>> info = provenance()
    >>> sorted(info)
    ['cuda', 'ganlab_version', 'git_commit', 'git_dirty', 'host', 'lightning', 'python', 'torch']
    """
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {
        "ganlab_version": ganlab.__version__,
        "git_commit": commit,
        "git_dirty": None if status is None else bool(status),
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "host": platform.node(),
    }
