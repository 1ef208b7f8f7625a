"""ganlab.io: atomic writes leave the old file or the new one, never a part; JSON-lines logs."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from ganlab.io import (
    append_jsonl,
    atomic_open,
    atomic_path,
    atomic_save,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    read_jsonl,
)

WRITERS: dict[str, tuple[Callable[[Path], None], Callable[[Path], Any], Any]] = {
    # name: (write a new version, read it back, what reads back)
    "bytes": (lambda p: atomic_write_bytes(p, b"new"), Path.read_bytes, b"new"),
    "text": (lambda p: atomic_write_text(p, "néw"), lambda p: p.read_text("utf-8"), "néw"),
    "json": (
        lambda p: atomic_write_json(p, {"a": [1]}),
        lambda p: json.loads(p.read_text()),
        {"a": [1]},
    ),
    "torch": (
        lambda p: atomic_save({"w": torch.ones(2)}, p),
        lambda p: torch.load(p, weights_only=True)["w"].tolist(),
        [1.0, 1.0],
    ),
}


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("kind", WRITERS)
def test_writers_create_and_replace(tmp_path: Path, kind: str) -> None:
    write, read, expected = WRITERS[kind]
    target = tmp_path / "sub" / "file"  # the folder is created
    write(target)
    assert read(target) == expected
    target.write_bytes(b"old")
    write(target)
    assert read(target) == expected
    assert names(target.parent) == ["file"]  # no temporary file left


def test_failure_mid_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "last.ckpt"
    target.write_bytes(b"previous")
    with pytest.raises(RuntimeError, match="disk full"), atomic_open(target) as f:
        f.write(b"half of the new ")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"previous"
    assert names(tmp_path) == ["last.ckpt"]


def test_failure_at_the_rename_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "generator.pt"
    target.write_bytes(b"previous")

    def interrupted(src: Any, dst: Any) -> None:
        raise KeyboardInterrupt  # killed between writing the temporary file and the rename

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"previous"
    assert names(tmp_path) == ["generator.pt"]


def test_atomic_path_for_writers_that_take_a_path(tmp_path: Path) -> None:
    target = tmp_path / "features.pt"
    with atomic_path(target) as temporary:
        assert temporary.parent == tmp_path and temporary.name.startswith(".features.")
        assert temporary.suffix == ".pt"  # for writers that choose the format by it
        torch.save(torch.arange(3), temporary)
        assert not target.exists()  # nothing visible before the block ends
        assert torch.equal(torch.load(temporary, weights_only=True), torch.arange(3))
    assert torch.equal(torch.load(target, weights_only=True), torch.arange(3))
    assert names(tmp_path) == ["features.pt"]


def test_writers_that_choose_the_format_by_the_suffix(tmp_path: Path) -> None:
    target = tmp_path / "samples.npy"
    with atomic_path(target) as temporary:
        np.save(temporary, np.arange(4))  # would append .npy to a name without it
    assert np.load(target).tolist() == [0, 1, 2, 3]
    assert names(tmp_path) == ["samples.npy"]


def test_a_block_that_writes_nothing_fails_and_changes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "best.ckpt"
    target.write_bytes(b"previous")
    with pytest.raises(FileNotFoundError), atomic_path(target):
        pass
    assert target.read_bytes() == b"previous"


def test_concurrent_writers_use_their_own_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "cache.pt"
    with atomic_path(target) as first, atomic_path(target) as second:
        assert first != second
        first.write_bytes(b"first")
        second.write_bytes(b"second")
    assert target.read_bytes() == b"first"  # the outer block finished last
    assert names(tmp_path) == ["cache.pt"]


def test_file_mode_follows_the_umask(tmp_path: Path) -> None:
    """As a plain write would (not 0600 like ``tempfile.mkstemp``)."""
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    atomic_write_bytes(tmp_path / "atomic", b"")
    assert (tmp_path / "atomic").stat().st_mode == plain.stat().st_mode


def test_jsonl_appends_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "run" / "metrics.jsonl"  # the folder is created
    first = [{"metric": "fid5k", "value": 1.5, "kimg": 10}, {"metric": "kid5k", "value": 0.1}]
    append_jsonl(path, first)
    later = {"metric": "fid5k", "value": 1.25, "details": {"n": [1, 2]}}
    append_jsonl(path, [later])
    assert read_jsonl(path) == [*first, later]
    assert path.read_text().count("\n") == 3  # one line per record


def test_a_record_json_cannot_encode_appends_nothing(tmp_path: Path) -> None:
    path = tmp_path / "doctor.jsonl"
    append_jsonl(path, [{"kimg": 1}])
    with pytest.raises(TypeError):
        append_jsonl(path, [{"kimg": 2}, {"kimg": object()}])
    assert read_jsonl(path) == [{"kimg": 1}]
