"""docs/results.md is generated from the benchmark caches by benchmarks/results_page.py (`make
results`): every section is there, and the committed page is what the caches give, so nobody
edits it by hand."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
BENCHMARKS = ROOT / "benchmarks"
PAGE = ROOT / "docs" / "results.md"
# heading -> the benchmark's cache folder in benchmarks/results/
SECTIONS = {
    "Mode coverage": "mode_coverage",
    "Class control": "conditional",
    "Image-to-image translation": "translation",
    "Anomaly detection": "anomaly",
    "Synthetic data augmentation": "augmentation",
    "Small data": "small_data",
    "Stacked MNIST": "stacked_mnist",
    "Training throughput": "train_throughput",
    "Metrics": "metrics_throughput",
    "Fault injection": "faults",
    "Learning-test calibration": "learning_calibration",
}


def generate(out: Path, *args: str) -> str:
    command = [sys.executable, str(BENCHMARKS / "results_page.py"), "--out", str(out), *args]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True, timeout=120)
    return out.read_text()


def sections(page: str) -> dict[str, str]:
    """Each ``## `` section's text by heading."""
    parts = re.split(r"^## (.+)$", page, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    return generate(tmp_path_factory.mktemp("page") / "results.md")


def test_committed_page_is_what_the_caches_give(page: str) -> None:
    assert PAGE.read_text() == page, (
        "docs/results.md is not what benchmarks/results/ gives: run `make results` (and do not "
        "edit the page by hand)"
    )


def test_every_benchmark_has_its_section(page: str) -> None:
    found = sections(page)
    assert list(found) == list(SECTIONS)
    for title, cache in SECTIONS.items():
        text = found[title]
        assert "Reproduce: `" in text and "How it is measured" in text, title
        cached = any((BENCHMARKS / "results" / cache).glob("*.json*"))
        if cached:  # a table whose rows (or, for one measurement, its last line) name commits
            assert "No cached results" not in text, title
            assert "| commit |" in text or re.search(r"commit [0-9a-f]{7}", text), title
        else:
            assert "No cached results yet" in text, title


def test_without_caches_every_benchmark_says_so(tmp_path: Path) -> None:
    empty = generate(tmp_path / "results.md", "--results", str(tmp_path / "none"))
    for title, text in sections(empty).items():
        assert "No cached results yet" in text, title
        assert not re.search(r"^\|", text, flags=re.MULTILINE), f"{title}: a table from nothing"


def test_a_new_run_shows_and_a_stale_one_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run cached under the benchmark's command lines joins its table with its commit; one
    cached under other command lines is named as left out, not averaged in."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import stacked_mnist
    from runs import cache_path

    cache = tmp_path / "results" / "stacked_mnist"
    cache.mkdir(parents=True)
    argv = stacked_mnist.commands("pacdcgan2", 0, 200)
    record = {"modes": 812.0, "kl": 0.4321, "cpu_minutes": 12.5, "argv": argv}
    record |= {"commit": "0123456789abcdef", "dirty": False}
    cache_path(cache, "pacdcgan2-0", argv).write_text(json.dumps(record))
    stale = stacked_mnist.commands("dcgan", 0, 50)  # another --kimg
    cache_path(cache, "dcgan-0", stale).write_text(json.dumps({**record, "argv": stale}))

    text = sections(generate(tmp_path / "results.md", "--results", str(tmp_path / "results")))
    stacked = text["Stacked MNIST"]
    row = next(line for line in stacked.splitlines() if line.startswith("| `pacdcgan2` |"))
    assert "812.0" in row and "0.43" in row and "0123456" in row
    assert "Left out: 1 cached run(s)" in stacked and "`dcgan-0`" in stacked
    assert not any(line.startswith("| `dcgan` |") for line in stacked.splitlines())
    assert "No cached results yet" in text["Mode coverage"]
