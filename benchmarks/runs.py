"""What the benchmarks share: command-line runs in a scratch folder, timed in CPU seconds, and
a cache of finished runs so an interrupted benchmark resumes where it stopped."""

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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path("ROOT")  # stands for the scratch folder in cached command lines


def cache_path(cache: Path, stem: str, argv: Any) -> Path:
    """Where :func:`cached` keeps the record of these command lines."""
    key = hashlib.sha256(json.dumps(argv).encode()).hexdigest()[:16]
    return cache / f"{stem}-{key}.json"


def cached(cache: Path, stem: str, argv: Any, compute: Callable[[], dict[str, Any]]) -> dict:
    """``compute()``'s record, kept in ``cache`` under ``stem`` and a hash of ``argv`` (the
    command lines, with :data:`ROOT` for the scratch folder): a changed command reruns."""
    path = cache_path(cache, stem, argv)
    if path.exists():
        return json.loads(path.read_text())
    record = {**compute(), "argv": argv}
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(path)  # atomic: a killed benchmark never leaves a half-written result
    return record


def run_modules(
    argvs: Sequence[Sequence[str]],
    what: str,
    inspect: Callable[[Path], dict[str, Any]] | None = None,  # more values, from the folder
) -> tuple[dict[str, Any], float]:
    """Run ``python -m <argv>`` for each command line (:data:`ROOT` -> a scratch folder) one
    thread each; return the last value of every metric in ``ROOT/run/metrics.jsonl`` if there
    is one (plus what ``inspect`` finds in the scratch folder, e.g. in a checkpoint) and the CPU
    minutes all commands took."""
    cpu = 0.0
    with tempfile.TemporaryDirectory(prefix="ganlab-bench-") as tmp:
        root = Path(tmp)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        for argv in argvs:
            command = [sys.executable, "-m", *(a.replace(str(ROOT), tmp) for a in argv)]
            with (root / "log.txt").open("a") as log:
                process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
                _, status, usage = os.wait4(process.pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                tail = (root / "log.txt").read_text()[-3000:]
                raise RuntimeError(f"{what} failed:\n{tail}")
            cpu += (usage.ru_utime + usage.ru_stime) / 60
        final: dict[str, Any] = {}
        metrics = root / "run" / "metrics.jsonl"
        for line in metrics.read_text().splitlines() if metrics.is_file() else []:
            record = json.loads(line)
            final[record["metric"]] = record["value"]  # the last record of each metric
        if inspect is not None:
            final.update(inspect(root))
    return final, cpu


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


def ensure_classifier(directory: Path, data: str) -> Path:
    """The in-domain classifier of ``data`` in ``directory``, trained now if missing."""
    path = directory / f"{data}.pt"
    if not path.is_file():
        fit = ["ganlab.fit_classifier", f"data={data}", f"directory={directory}"]
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
