"""What the benchmarks share: command-line runs in a scratch folder, timed in CPU seconds, and
a cache of finished runs so an interrupted benchmark resumes where it stopped.

A cached record is keyed by its command lines, which name folders by placeholders only
(:data:`ROOT`, :data:`CLASSIFIERS`), so the cache hits on any machine; it records the ganlab
version and git commit that produced it, and every table says which commits those were.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ganlab.io import atomic_write_json, read_jsonl

ROOT = Path("ROOT")  # stands for the scratch folder in cached command lines
CLASSIFIERS = Path("CLASSIFIERS")  # stands for --classifiers, the in-domain classifiers' folder


def _absolute_paths(argv: Any) -> list[str]:
    """The arguments of ``argv`` (nested lists/dicts of strings) whose value is an absolute or
    home-relative path."""
    if isinstance(argv, Mapping):
        return [a for value in argv.values() for a in _absolute_paths(value)]
    if isinstance(argv, (list, tuple)):
        return [a for value in argv for a in _absolute_paths(value)]
    value = str(argv).rsplit("=", 1)[-1]
    return [str(argv)] if value.startswith("~/") or Path(value).is_absolute() else []


def cache_path(cache: Path, stem: str, argv: Any) -> Path:
    """Where :func:`cached` keeps the record of these command lines (which must name folders by
    placeholders, not absolute paths, or the cache would miss on every other machine)."""
    absolute = _absolute_paths(argv)
    assert not absolute, f"cache keys must not hold absolute paths (use placeholders): {absolute}"
    key = hashlib.sha256(json.dumps(argv).encode()).hexdigest()[:16]
    return cache / f"{stem}-{key}.json"


def code_version() -> dict[str, Any]:
    """ganlab's version and git commit (``dirty``: with uncommitted changes to tracked files)."""
    from ganlab.provenance import provenance

    info = provenance()
    return {
        "ganlab_version": info["ganlab_version"],
        "commit": info["git_commit"],
        "dirty": info["git_dirty"],
    }


def cached(cache: Path, stem: str, argv: Any, compute: Callable[[], dict[str, Any]]) -> dict:
    """``compute()``'s record, kept in ``cache`` under ``stem`` and a hash of ``argv`` (the
    command lines, with placeholders for folders): a changed command reruns. The record also
    holds ``argv`` and the :func:`code_version` it was computed with."""
    path = cache_path(cache, stem, argv)
    if path.exists():
        return json.loads(path.read_text())
    version = code_version()  # of the code that starts computing
    record = {**compute(), "argv": argv, **version}
    atomic_write_json(path, record)  # a killed benchmark never leaves a half-written result
    return record


def machine() -> dict[str, Any]:
    """What a timing depends on besides the code: the CPU, its cores, torch and its threads."""
    import platform

    import torch

    cpu = platform.processor() or platform.machine()
    try:  # the model name, where Linux says it
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }


def machine_line(record: Mapping[str, Any]) -> str:
    """The line under a timing table saying where it was measured.

    >>> machine_line({"machine": {"cpu": "AMD EPYC", "cores": 2, "torch": "2.9.1", "threads": 2}})
    'measured on AMD EPYC (2 cores), torch 2.9.1, 2 threads'
    """
    m = record.get("machine")
    if not m:
        return "machine not recorded"
    return (
        f"measured on {m['cpu']} ({m['cores']} cores), torch {m['torch']}, {m['threads']} threads"
    )


def measured(
    cache: Path, stem: str, options: Mapping[str, Any], fresh: bool, compute: Callable[[], dict]
) -> dict[str, Any]:
    """A timing benchmark's record for these ``options``: from the cache, or (absent, or
    ``fresh``: a new measurement wanted, e.g. after a change to the code) measured now, with
    the :func:`machine` it ran on."""
    if fresh:
        cache_path(cache, stem, dict(options)).unlink(missing_ok=True)
    return cached(cache, stem, dict(options), lambda: {**compute(), "machine": machine()})


def measured_options(parser: argparse.ArgumentParser, cache: str) -> None:
    """:func:`table_options` and ``--fresh``: measure again instead of reusing the cached record
    of the same options (:func:`measured`)."""
    table_options(parser, cache)
    parser.add_argument("--fresh", action="store_true", help="measure again, replace the cache")


def commit_of(record: Mapping[str, Any]) -> str:
    """The commit that produced a cached record, as the tables name it.

    >>> commit_of({"commit": "0123456789ab", "dirty": True}), commit_of({})
    ('0123456 + uncommitted changes', 'not recorded')
    """
    commit = record.get("commit")
    if not commit:
        return "not recorded"
    return commit[:7] + (" + uncommitted changes" if record.get("dirty") else "")


def commits_line(records: Iterable[Mapping[str, Any]]) -> str:
    """The line under a table saying which commits produced its records.

    >>> commits_line([{"commit": "0123456789ab", "dirty": True}, {"argv": []}])
    'results from commit(s): 0123456+uncommitted changes, before commit recording (1 run)'
    """
    commits: set[str] = set()
    unrecorded = 0
    for record in records:
        if record.get("commit"):
            commits.add(
                record["commit"][:7] + ("+uncommitted changes" if record.get("dirty") else "")
            )
        else:
            unrecorded += 1
    parts = sorted(commits)
    if unrecorded:
        parts.append(f"before commit recording ({unrecorded} run{'s' * (unrecorded > 1)})")
    return f"results from commit(s): {', '.join(parts) or 'none'}"


def run_modules(
    argvs: Sequence[Sequence[str]],
    what: str,
    inspect: Callable[[Path], dict[str, Any]] | None = None,  # more values, from the folder
    places: Mapping[Path, Path] | None = None,  # placeholder in argv -> the folder it stands for
) -> tuple[dict[str, Any], float]:
    """Run ``python -m <argv>`` for each command line (:data:`ROOT` -> a scratch folder, other
    placeholders as ``places`` says) one thread each; return the last value of every metric in
    ``ROOT/run/metrics.jsonl`` if there is one (plus what ``inspect`` finds in the scratch
    folder, e.g. in a checkpoint) and the CPU minutes all commands took."""
    cpu = 0.0
    with tempfile.TemporaryDirectory(prefix="ganlab-bench-") as tmp:
        root = Path(tmp)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        folders = {str(ROOT): tmp, **{str(k): str(v) for k, v in (places or {}).items()}}
        for argv in argvs:
            command = [sys.executable, "-m", *(_expand(a, folders) for a in argv)]
            with (root / "log.txt").open("a") as log:
                process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
                _, status, usage = os.wait4(process.pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                tail = (root / "log.txt").read_text()[-3000:]
                raise RuntimeError(f"{what} failed:\n{tail}")
            cpu += (usage.ru_utime + usage.ru_stime) / 60
        final: dict[str, Any] = {}
        metrics = root / "run" / "metrics.jsonl"
        for record in read_jsonl(metrics) if metrics.is_file() else []:
            final[record["metric"]] = record["value"]  # the last record of each metric
        if inspect is not None:
            final.update(inspect(root))
    return final, cpu


def _expand(arg: str, folders: Mapping[str, str]) -> str:
    for placeholder, folder in folders.items():
        arg = arg.replace(placeholder, folder)
    return arg


def mean_se(values: Sequence[float], scale: float = 1.0, digits: int = 1) -> str:
    """``mean±standard error`` (just the mean for one value)."""
    mean = statistics.fmean(values) * scale
    if len(values) < 2:
        return f"{mean:.{digits}f}"
    se = statistics.stdev(values) / math.sqrt(len(values)) * scale
    return f"{mean:.{digits}f}±{se:.{digits}f}"


def table_options(parser: argparse.ArgumentParser, cache: str) -> None:
    """``--out`` (the table as markdown) and ``--cache`` (``results/<cache>``: finished runs)."""
    parser.add_argument("--out", type=Path, help="also write the table (markdown) here")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(__file__).parent / "results" / cache,
        help="finished runs are kept here and not rerun",
    )


def classifier_options(parser: argparse.ArgumentParser, cache: str) -> None:
    """The options of a benchmark that judges samples with an in-domain classifier."""
    table_options(parser, cache)
    cache_dir = Path(os.environ.get("GANLAB_CACHE", "~/.cache/ganlab")).expanduser()
    parser.add_argument("--classifiers", type=Path, default=cache_dir / "classifiers")


def ensure_classifier(directory: Path, data: str, *overrides: str, name: str | None = None) -> Path:
    """The in-domain classifier of ``data`` (with ``overrides``) in ``directory``, as
    ``<name or data>.pt``, trained now if missing."""
    path = directory / f"{name or data}.pt"
    if not path.is_file():
        fit = ["ganlab.fit_classifier", f"data={data}", *overrides, f"directory={directory}"]
        fit += [f"out={path}"] if name else []
        subprocess.run([sys.executable, "-m", *fit], check=True)
    return path


def train_command(*overrides: str, seed: int, kimg: float) -> list[str]:
    """``ganlab.train`` for ``kimg`` thousand images into ``ROOT/run``, without a logger."""
    return [
        "ganlab.train",
        *overrides,
        "logger=none",
        f"max_kimg={kimg}",
        "trainer.max_epochs=-1",
        f"seed={seed}",
        f"paths.root_dir={ROOT}",
        f"hydra.run.dir={ROOT}/run",
    ]


def evaluate_command(*overrides: str, seed: int) -> list[str]:
    """``ganlab.evaluate`` of the checkpoint :func:`train_command` wrote, into ``ROOT/eval``
    (its records also join ``ROOT/run/metrics.jsonl``)."""
    return [
        "ganlab.evaluate",
        f"ckpt={ROOT}/run/checkpoints/last.ckpt",
        *overrides,
        f"seed={seed}",
        f"paths.root_dir={ROOT}",
        f"hydra.run.dir={ROOT}/eval",
    ]
