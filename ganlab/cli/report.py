"""``ganlab-report`` / ``python -m ganlab.report``: summarize a sweep, its runs side by side
(:mod:`ganlab.report`). Not a Hydra program: it reads the runs other programs wrote."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganlab import report


def main(argv: list[str] | None = None) -> None:
    """``ganlab-report <dir> [--metrics a,b] [--sort metric]`` (``argv``: the arguments;
    None: the command line's)."""
    summary = (report.__doc__ or "").split("\n")[0]
    parser = argparse.ArgumentParser(description=summary)
    parser.add_argument("root", type=Path, help="a multirun directory (or any folder of runs)")
    parser.add_argument("--metrics", help="comma-separated metrics to show (default: all)")
    parser.add_argument("--sort", help="sort rows by this metric (ascending)")
    args = parser.parse_args(argv)
    runs = report.collect(args.root)
    if not runs:
        raise SystemExit(f"no runs below {args.root} (looked for */.hydra/overrides.yaml)")
    if args.sort:
        runs.sort(key=lambda r: (r.final(args.sort) is None, r.final(args.sort) or 0.0))
    text, written = report.write_report(
        args.root, runs, args.metrics.split(",") if args.metrics else None
    )
    print(text)
    print(f"\nwritten: {', '.join(map(str, written))}")
