"""Calibrate the learning tests: run them over seeds x CPU kernel sets x thread counts.

GAN training is chaotic: the last bits of a CPU's kernels change the trajectory, so a threshold
read off one run on one machine fails on the next. This script reruns the default-suite learning
tests (``tests/learning``, ``-m "not slow"``; with ``--slow`` those of ``make test-slow``) once
per combination of

* training seed (``GANLAB_LEARNING_SEED``; the test itself runs seed 0),
* ``ATEN_CPU_CAPABILITY`` (``default``, ``avx2``, and unset = the best this CPU has),
* intra-op threads (``GANLAB_TEST_THREADS``),

collects the figures each test records before asserting (the ``record_learning`` fixture), and
writes ``tests/learning/CALIBRATION.md``: per test, every figure per combination, its minimum
and whether the test's own assertions held. Records are cached in
``benchmarks/results/learning_calibration/`` keyed by the commit that produced them, so an
interrupted calibration resumes and the table always says which commit measured it.

    python benchmarks/calibrate_learning.py                       # everything (about an hour)
    python benchmarks/calibrate_learning.py -k ring8 --seeds 0 1  # one test, two seeds
    python benchmarks/calibrate_learning.py --slow --seeds 0 1 --threads 1  # the slow ones
    python benchmarks/calibrate_learning.py --cached-only         # rewrite the table only
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ganlab.io import append_jsonl, atomic_path, read_jsonl
from ganlab.provenance import provenance

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "benchmarks" / "results" / "learning_calibration"
TABLE = REPO / "tests" / "learning" / "CALIBRATION.md"
UNSET = "unset"  # ATEN_CPU_CAPABILITY not set: the best kernels this CPU has


def run_combination(
    seed: int, capability: str, threads: int, select: str | None, commit: str, marker: str
) -> list[dict[str, Any]]:
    """One pytest run of the learning tests; its records, each marked passed or failed."""
    env = {**os.environ, "GANLAB_LEARNING_SEED": str(seed), "GANLAB_TEST_THREADS": str(threads)}
    # idle OpenMP threads sleep instead of spinning: side-by-side runs on a small machine then
    # do not steal each other's cores (measured 18 -> 3 min a run); results are unchanged
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env.pop("ATEN_CPU_CAPABILITY", None)
    if capability != UNSET:
        env["ATEN_CPU_CAPABILITY"] = capability
    with tempfile.TemporaryDirectory() as scratch:
        record, report = Path(scratch) / "figures.jsonl", Path(scratch) / "report.xml"
        env["GANLAB_LEARNING_RECORD"] = str(record)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        command += ["tests/learning", "-m", marker, f"--junitxml={report}"]
        command += ["-k", select] if select else []
        subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
        rows = read_jsonl(record) if record.exists() else []
        failed = failed_tests(report)
    for row in rows:
        row.update(requested_capability=capability, passed=row["test"] not in failed, commit=commit)
    return rows


def failed_tests(report: Path) -> set[str]:
    """The test names (``name[param]``) that failed or errored, from pytest's JUnit XML."""
    import xml.etree.ElementTree as ET

    if not report.exists():
        return set()
    cases = ET.parse(report).getroot().iter("testcase")
    return {
        c.get("name", "")
        for c in cases
        if c.find("failure") is not None or c.find("error") is not None
    }


def cache_file(
    commit: str, seed: int, capability: str, threads: int, select: str | None, marker: str
) -> Path:
    selection = (select or "all").replace(" ", "_").replace("/", "_")
    selection += "-slow" if marker == "slow" else ""
    return CACHE / f"{commit[:12]}-{selection}-s{seed}-{capability}-t{threads}.jsonl"


def calibrate(args: argparse.Namespace, commit: str) -> None:
    combos = list(itertools.product(args.seeds, args.capabilities, args.threads))
    marker = "slow" if args.slow else "not slow"

    def one(combo: tuple[int, str, int]) -> None:
        path = cache_file(commit, *combo, args.k, marker)
        if path.exists():
            return
        rows = run_combination(*combo, args.k, commit, marker)
        with atomic_path(path) as tmp:  # an interrupted calibration leaves no half record
            append_jsonl(tmp, rows)
        print(f"seed {combo[0]} {combo[1]} {combo[2]} thread(s): {len(rows)} records", flush=True)

    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(one, combos))


def current_tests() -> set[str]:
    """The learning tests as they are now (``name[params]``), slow ones included: records of a
    test whose parameters (thresholds included) have changed since describe a test that is
    gone."""
    command = [sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider"]
    command += ["tests/learning"]
    listing = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
    return {line.split("::")[-1] for line in listing.stdout.splitlines() if "::" in line}


def latest_records(tests: set[str]) -> list[dict[str, Any]]:
    """The cached records of ``tests``, the newest cache file winning per (test, seed,
    capability, threads)."""
    best: dict[tuple, dict[str, Any]] = {}
    for path in sorted(CACHE.glob("*.jsonl"), key=lambda p: p.stat().st_mtime):
        for row in read_jsonl(path):
            if row["test"] in tests:
                best[(row["test"], row["seed"], row["requested_capability"], row["threads"])] = row
    return list(best.values())


def render(records: list[dict[str, Any]]) -> str:
    by_test: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in records:
        by_test[row["test"]].append(row)
    lines = [
        "# Learning-test calibration",
        "",
        "Generated by `python benchmarks/calibrate_learning.py` (do not edit by hand). Each row is",
        "one run of the test's training at that seed, `ATEN_CPU_CAPABILITY` (`unset`: the best",
        "kernels of the CPU) and intra-op thread count; `ok` is whether the test's own",
        "assertions held on it. The test itself runs seed 0; the other seeds show the margin.",
        "",
    ]
    for test in sorted(by_test):
        rows = sorted(
            by_test[test], key=lambda r: (r["seed"], r["requested_capability"], r["threads"])
        )
        names = list(rows[0]["figures"])
        commits = sorted({r["commit"][:10] for r in rows})
        lines += [f"## {test}", "", f"commit(s): {', '.join(commits)}", ""]
        lines.append("| seed | kernels | threads | " + " | ".join(names) + " | ok |")
        lines.append("|---" * (len(names) + 4) + "|")
        for r in rows:
            kernels = r["requested_capability"]
            if kernels == UNSET:
                kernels = f"unset ({r['capability'].lower()})"
            cells = [str(r["figures"].get(n, "-")) for n in names]
            lines.append(
                f"| {r['seed']} | {kernels} | {r['threads']} | "
                + " | ".join(cells)
                + f" | {'yes' if r['passed'] else 'NO'} |"
            )
        worst = [str(min(r["figures"][n] for r in rows if n in r["figures"])) for n in names]
        lines.append("| min | | | " + " | ".join(worst) + " | |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--capabilities", nargs="+", default=["default", "avx2", UNSET])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("-k", default=None, help="pytest -k expression: which learning tests")
    parser.add_argument("--jobs", type=int, default=2, help="combinations run side by side")
    parser.add_argument("--slow", action="store_true", help="the slow tests (make test-slow)")
    parser.add_argument("--cached-only", action="store_true", help="only rewrite the table")
    args = parser.parse_args()
    info = provenance()
    commit = (info["git_commit"] or "unknown") + ("-dirty" if info["git_dirty"] else "")
    if not args.cached_only:
        calibrate(args, commit)
    TABLE.write_text(render(latest_records(current_tests())))
    print(f"wrote {TABLE.relative_to(REPO)}")


if __name__ == "__main__":
    main()
