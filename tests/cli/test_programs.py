"""The programs of ganlab.cli: installed as commands, run as ``python -m ganlab.<program>``,
sharing one runner; ``--help`` starts with what ganlab is about."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_cli

from ganlab.cli.runner import discard_unused_run_dir

ROOT = Path(__file__).parents[2]
PROGRAMS = (
    "train",
    "sample",
    "translate",
    "evaluate",
    "export",
    "anomaly",
    "report",
    "fit_classifier",
)


def test_every_program_is_a_console_script() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    expected = {f"ganlab-{name.replace('_', '-')}": f"ganlab.cli.{name}:main" for name in PROGRAMS}
    assert scripts == expected
    for target in scripts.values():
        module, _, function = target.partition(":")
        assert callable(getattr(importlib.import_module(module), function))
    for name in PROGRAMS:  # `python -m ganlab.<program>` keeps working
        assert importlib.util.find_spec(f"ganlab.{name}") is not None


def test_installed_command_runs() -> None:
    """An installed command (``pip install -e .`` writes them next to the interpreter)."""
    command = Path(sys.executable).parent / "ganlab-report"
    if not command.is_file():
        pytest.skip("ganlab is not installed as a package here")
    result = subprocess.run([str(command), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("usage: ganlab-report")
    assert "Summarize a sweep" in result.stdout


def test_train_help_starts_with_the_ganlab_header() -> None:
    out = run_cli("ganlab.train", "--help")
    assert out.startswith("ganlab-train (python -m ganlab.train)"), out[:500]
    header, groups = out.split("== Configuration groups ==", 1)
    examples = [line for line in header.splitlines() if line.startswith("  python -m ganlab.")]
    assert len(examples) == 5, header
    assert "model/arch" in header and "experiment" in header  # what the groups are
    assert "docs/" in header and "make docs-serve" in header
    assert "model: acgan, cgan," in groups  # then Hydra's own list of every group's options


def test_failed_run_leaves_no_empty_run_directory(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    (empty / ".hydra").mkdir(parents=True)
    (empty / "train.log").touch()
    logged = tmp_path / "logged"
    (logged / ".hydra").mkdir(parents=True)
    (logged / "train.log").write_text("trainer built\n")
    written = tmp_path / "written"
    (written / "checkpoints").mkdir(parents=True)
    for run_dir in (empty, logged, written):
        discard_unused_run_dir(run_dir, "train")
    assert not empty.exists()
    assert logged.is_dir() and written.is_dir()  # the run wrote something: kept
