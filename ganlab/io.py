"""Files that are never half-written: atomic writes and JSON-lines logs.

An atomic write goes to a temporary file beside the target, is fsynced and renamed over the
target (``os.replace``, atomic on POSIX and Windows): a writer that raises or is killed leaves
the previous file (or none), never a truncated one. One that raises also removes its temporary
file; a killed one may leave it (hidden, ``.<stem>.<random>.tmp<suffix>``: the target's suffix
is kept for writers that choose the format by it, e.g. ``numpy.save``, ``savefig``).

* :func:`atomic_path` for writers that take a path (``trainer.save_checkpoint``), and
  :func:`atomic_open` for writers that take a binary file (``torch.save``);
* :func:`atomic_write_bytes`, :func:`atomic_write_text`, :func:`atomic_write_json` and
  :func:`atomic_save` (``torch.save``) for a whole file at once;
* :func:`append_jsonl` and :func:`read_jsonl`: one JSON object per line (``metrics.jsonl``).

>>> folder = getfixture("tmp_path")  # a fresh folder (pytest's doctest namespace)
>>> atomic_write_json(folder / "run.json", {"kimg": 5})
>>> (folder / "run.json").read_text()
'{\\n "kimg": 5\\n}'
>>> append_jsonl(folder / "log" / "metrics.jsonl", [{"metric": "fid", "value": 9.5}])
>>> read_jsonl(folder / "log" / "metrics.jsonl")
[{'metric': 'fid', 'value': 9.5}]
>>> sorted(p.name for p in folder.iterdir())  # no temporary file left
['log', 'run.json']
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import torch

__all__ = [
    "append_jsonl",
    "atomic_open",
    "atomic_path",
    "atomic_save",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "read_jsonl",
]


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """A temporary path beside ``target`` (its folder is created) for the block to write; when
    the block ends without error the file there is fsynced and renamed over ``target``. On an
    error ``target`` is untouched and the temporary file removed. The block must create the
    file (``FileNotFoundError`` otherwise)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # unique per call: concurrent writers of one target (threads, processes) never share it
    temporary = target.with_name(f".{target.stem}.{uuid.uuid4().hex[:12]}.tmp{target.suffix}")
    try:
        yield temporary
        _fsync(temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_directory(target.parent)


@contextmanager
def atomic_open(target: str | Path) -> Iterator[BinaryIO]:
    """A binary file to write ``target`` through (:func:`atomic_path`)."""
    with atomic_path(target) as temporary, temporary.open("wb") as f:
        yield f


def atomic_write_bytes(target: str | Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_open(target) as f:
        f.write(data)


def atomic_write_text(target: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    atomic_write_bytes(target, text.encode())


def atomic_write_json(target: str | Path, obj: Any, indent: int | None = 1) -> None:
    """Write ``obj`` as JSON to ``target`` atomically."""
    atomic_write_text(target, json.dumps(obj, indent=indent))


def atomic_save(obj: object, target: str | Path) -> None:
    """``torch.save(obj)`` to ``target`` atomically; the same ``obj`` gives the same bytes
    (saved through a file object, the archive inside is not named after the temporary file)."""
    with atomic_open(target) as f:
        torch.save(obj, f)


def append_jsonl(path: str | Path, records: Iterable[Mapping[str, Any]]) -> None:
    """Append one JSON line per record to ``path`` (created with its folder if needed), then
    flush. Every record is serialized first: one that JSON cannot encode appends nothing."""
    path = Path(path)
    lines = "".join(json.dumps(dict(record)) + "\n" for record in records)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:  # flushed on closing
        f.write(lines)


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The records of a JSON-lines file, in order."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDWR)  # Windows flushes only a file opened for writing
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
