from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ganlab import load_generator
from ganlab.checkpoints import CheckpointError


def test_missing_truncated_and_foreign_checkpoints_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_generator(tmp_path / "nope.ckpt")
    truncated = tmp_path / "truncated.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(1000)}}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="truncated, corrupt"):
        load_generator(truncated)
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"model": {}}, foreign)
    with pytest.raises(CheckpointError, match="not a Lightning checkpoint"):
        load_generator(foreign)
    lightning = tmp_path / "lightning.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {}}, lightning)
    with pytest.raises(CheckpointError, match="not one written by ganlab"):
        load_generator(lightning)
    objects = tmp_path / "objects.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {}, "ganlab": {}}, objects)
    with pytest.raises(CheckpointError, match="generator passed as an object"):
        load_generator(objects)
