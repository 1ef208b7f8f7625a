"""What the benchmarks share: command-line runs in a scratch folder, timed in CPU seconds, and
a cache of finished runs so an interrupted benchmark resumes where it stopped."""

from __future__ import annotations

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


def cached(cache: Path, stem: str, argv: Any, compute: Callable[[], dict[str, Any]]) -> dict:
    """``compute()``'s record, kept in ``cache`` under ``stem`` and a hash of ``argv`` (the
    command lines, with :data:`ROOT` for the scratch folder): a changed command reruns."""
    key = hashlib.sha256(json.dumps(argv).encode()).hexdigest()[:16]
    path = cache / f"{stem}-{key}.json"
    if path.exists():
        return json.loads(path.read_text())
    record = {**compute(), "argv": argv}
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(path)  # atomic: a killed benchmark never leaves a half-written result
    return record


def run_modules(argvs: Sequence[Sequence[str]], what: str) -> tuple[dict[str, float], float]:
    """Run ``python -m <argv>`` for each command line (:data:`ROOT` -> a scratch folder) one
    thread each; return the last value of every metric in ``ROOT/run/metrics.jsonl`` and the
    CPU minutes all commands took."""
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
        final: dict[str, float] = {}
        for line in (root / "run" / "metrics.jsonl").read_text().splitlines():
            record = json.loads(line)
            final[record["metric"]] = record["value"]  # the last record of each metric
    return final, cpu


def mean_se(values: Sequence[float], scale: float = 1.0, digits: int = 1) -> str:
    """``mean±standard error`` (just the mean for one value)."""
    mean = statistics.fmean(values) * scale
    if len(values) < 2:
        return f"{mean:.{digits}f}"
    se = statistics.stdev(values) / math.sqrt(len(values)) * scale
    return f"{mean:.{digits}f}±{se:.{digits}f}"
