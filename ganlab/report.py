"""Summarize a sweep: what each run changed, how it ended, and its metrics side by side.

    python -m ganlab.report outputs/train/multirun/2026-11-26_08-00-00
    python -m ganlab.report <dir> --sort val/kl --metrics val/modes,val/kl

Every run directory below ``<dir>`` (one with ``.hydra/overrides.yaml``) is a row. Its columns
are the overrides that differ between runs (those shared by all are printed once above the
table), the last value of every metric in its ``metrics.jsonl`` (with the kimg it was measured
at), the kimg its ``last.ckpt`` reached and whether it finished. The table is printed and
written to ``<dir>/report.md`` and ``report.csv``; ``report.png`` plots each metric over kimg,
one line per run.

It builds nothing from the runs it reads: overrides are read as plain text (an interpolation in
one is shown, never resolved), checkpoints with ``weights_only=True`` for their kimg only.
The command line (also installed as ``ganlab-report``) is :mod:`ganlab.cli.report`.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf

from ganlab.checkpoints import CheckpointError, read_checkpoint
from ganlab.io import atomic_path, atomic_write_text, read_jsonl

__all__ = ["Run", "Table", "collect", "table", "write_report"]


@dataclass
class Run:
    path: Path
    overrides: dict[str, str]
    metrics: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # name: (kimg, v)
    kimg: float | None = None  # reached by last.ckpt
    status: str = "no checkpoint"

    def final(self, metric: str) -> float | None:
        history = self.metrics.get(metric)
        return history[-1][1] if history else None


def _overrides(path: Path) -> dict[str, str]:
    pairs: dict[str, str] = {}
    items = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    for item in items if isinstance(items, list) else []:
        key, _, value = str(item).partition("=")
        key = key.lstrip("+~")
        if not key.startswith("hydra") and not key.startswith("paths."):
            pairs[key] = value
    return pairs


def collect(root: Path) -> list[Run]:
    """Every run below ``root``, in job order."""
    runs = []
    for overrides in sorted(root.glob("**/.hydra/overrides.yaml")):
        directory = overrides.parent.parent
        run = Run(directory, _overrides(overrides))
        jsonl = directory / "metrics.jsonl"
        if jsonl.is_file():
            for record in read_jsonl(jsonl):
                value = record.get("value")
                if isinstance(value, (int, float)):
                    run.metrics.setdefault(record["metric"], []).append(
                        (float(record.get("kimg", math.nan)), float(value))
                    )
        last = directory / "checkpoints" / "last.ckpt"
        if last.is_file():
            try:
                run.kimg = read_checkpoint(last)["ganlab"]["images_seen"] / 1000
                run.status = "finished"
            except CheckpointError as error:
                run.status = f"unreadable checkpoint ({str(error)[:40]})"
        runs.append(run)

    def job_order(run: Run) -> tuple[int, str]:
        name = run.path.name
        return (int(name), "") if name.isdigit() else (1 << 30, str(run.path))

    return sorted(runs, key=job_order)


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    varying: list[str]  # overrides that differ between runs: the columns after "run"
    shared: dict[str, str]  # overrides every run has alike
    metrics: list[str]


def table(runs: list[Run], metrics: list[str] | None = None) -> Table:
    """The report table of ``runs`` (all their metrics unless ``metrics`` is given)."""
    keys = sorted({k for run in runs for k in run.overrides})
    varying = [k for k in keys if len({run.overrides.get(k) for run in runs}) > 1]
    shared = {k: runs[0].overrides[k] for k in keys if k not in varying and runs}
    names = metrics or sorted({m for run in runs for m in run.metrics})
    rows = []
    for run in runs:
        values = [_number(run.final(m)) for m in names]
        kimg = "" if run.kimg is None else f"{run.kimg:g}"
        changed = [run.overrides.get(k, "") for k in varying]
        rows.append([run.path.name, *changed, *values, kimg, run.status])
    return Table(["run", *varying, *names, "kimg", "status"], rows, varying, shared, names)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def plot(runs: list[Run], metrics: list[str], varying: list[str], out: Path) -> Path | None:
    """Each metric over kimg, one line per run (labelled by what it changed)."""
    metrics = [m for m in metrics if any(len(run.metrics.get(m, [])) for run in runs)]
    if not metrics:
        return None
    from matplotlib.figure import Figure  # not pyplot: no backend switch (see plotting.py)

    fig = Figure(figsize=(4.5 * len(metrics), 3.5))
    axes = fig.subplots(1, len(metrics), squeeze=False)
    for axis, metric in zip(axes[0], metrics, strict=True):
        for run in runs:
            history = run.metrics.get(metric)
            if history:
                label = (
                    " ".join(f"{k}={run.overrides.get(k, '')}" for k in varying) or run.path.name
                )
                axis.plot(*zip(*history, strict=True), marker="o", markersize=3, label=label)
        axis.set_xlabel("kimg")
        axis.set_title(metric)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(out) as temporary:
        fig.savefig(temporary, dpi=110)
    return out


def write_report(
    root: Path, runs: list[Run], metrics: list[str] | None = None
) -> tuple[str, list[Path]]:
    """Write the report of ``runs`` (all their metrics unless ``metrics`` is given) into
    ``root``: ``report.md``, ``report.csv`` and, where a metric was measured, ``report.png``.
    Returns the report's text and the files written."""
    result = table(runs, metrics)
    text = markdown(result.header, result.rows)
    if result.shared:
        shared = " ".join(f"{k}={v}" for k, v in result.shared.items())
        text = f"shared: {shared}\n\n{text}"
    atomic_write_text(root / "report.md", text + "\n")
    with atomic_path(root / "report.csv") as temporary, open(temporary, "w", newline="") as f:
        csv.writer(f).writerows([result.header, *result.rows])
    figure = plot(runs, result.metrics, result.varying, root / "report.png")
    written = [root / "report.md", root / "report.csv"]
    return text, [*written, figure] if figure else written


if __name__ == "__main__":  # python -m ganlab.report runs ganlab.cli.report
    import importlib  # not a plain import: ganlab.cli.report imports this module

    importlib.import_module("ganlab.cli.report").main()
