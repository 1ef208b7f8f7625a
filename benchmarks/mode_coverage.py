"""Mode coverage of the stabilizers on the 2-D mixtures, next to the published numbers.

Each variant trains from the command line (``python -m ganlab.train ...``) on ``ring8`` and
``grid25`` for several seeds; the score is the final ``val/modes``, ``val/hq`` and ``val/kl`` of
the MixtureCoverageMonitor (2,500 samples of the EMA generator, the VEEGAN / PacGAN protocol).
Runs go ``--jobs`` at a time with one thread each; "CPU min" is each run's own CPU time.
Each finished run is kept in ``--cache`` under a hash of its command line, so an interrupted
benchmark (the full one is hours of CPU here) continues where it stopped, and a changed
variant reruns only its own runs.

    python benchmarks/mode_coverage.py [--seeds 5] [--jobs 2] [--variants gan,pacgan4]
    python benchmarks/mode_coverage.py --cached-only   # the table of the runs finished so far

The published rows (PacGAN Table 1, VEEGAN Table 1) used other networks and ~400k iterations;
compare protocols, not just digits.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from runs import ROOT, cache_path, cached, commits_line, mean_se, run_modules, table_options

from ganlab.config import config_dir

# Each variant is a recipe of conf/experiment/ (its comment says what it is): the naive GAN of
# coverage.yaml (2x128 MLPs, batch 128, Adam 1e-3), and coverage.yaml plus one stabilizer for
# the others, with the same budget of images shown to D.
VARIANTS = {
    "gan": "coverage",
    "gan_minimax": "coverage_gan_minimax",
    "unrolled5": "coverage_unrolled5",
    "pacgan2": "coverage_pacgan2",
    "pacgan4": "coverage_pacgan4",
    "minibatch": "coverage_minibatch",
    "wgan_gp": "coverage_wgan_gp",
    "sngan": "coverage_sngan",
    "best": "coverage_best",
}
COMMON = ["logger=none", "callbacks.sample_grid.every_kimg=100000"]
BUDGET_KIMG = {"ring8": 1500, "grid25": 3000}
# The best combination uses more images, its recipe's max_kimg (the same number of steps costs
# little more at batch 512 on a CPU: the step is dominated by overhead), within 10 CPU minutes.
BEST_KIMG = OmegaConf.load(Path(config_dir(), "experiment", "coverage_best.yaml")).max_kimg
LONGER_KIMG = {"best": dict.fromkeys(BUDGET_KIMG, BEST_KIMG)}

# (modes, % HQ, reverse KL) with standard errors where published; None where not reported.
PUBLISHED: list[tuple[str, dict[str, tuple[str, str, str]]]] = [
    ("GAN (VEEGAN T1)", {"ring8": ("1", "99.3", "-"), "grid25": ("3.3", "0.5", "-")}),
    ("Unrolled GAN (VEEGAN T1)", {"ring8": ("7.6", "35.6", "-"), "grid25": ("23.6", "16", "-")}),
    ("VEEGAN (VEEGAN T1)", {"ring8": ("8", "52.9", "-"), "grid25": ("24.6", "40", "-")}),
    (
        "GAN (PacGAN T1)",
        {
            "ring8": ("6.3±0.5", "98.2±0.2", "0.45±0.09"),
            "grid25": ("17.3±0.8", "94.8±0.7", "0.70±0.07"),
        },
    ),
    (
        "PacGAN2 (PacGAN T1)",
        {
            "ring8": ("7.9±0.1", "95.6±2.0", "0.07±0.03"),
            "grid25": ("23.8±0.7", "91.3±0.8", "0.13±0.04"),
        },
    ),
    (
        "PacGAN4 (PacGAN T1)",
        {
            "ring8": ("7.8±0.1", "95.9±1.4", "0.07±0.02"),
            "grid25": ("24.8±0.2", "93.6±0.6", "0.04±0.01"),
        },
    ),
]


@dataclass
class Run:
    variant: str
    data: str
    seed: int
    modes: float
    hq: float
    kl: float
    cpu_minutes: float
    commit: str | None  # None: cached before commits were recorded
    dirty: bool | None

    @classmethod
    def of(cls, variant: str, data: str, seed: int, record: dict[str, Any]) -> Run:
        modes, hq, kl, cpu = (record[k] for k in ("modes", "hq", "kl", "cpu_minutes"))
        return cls(
            variant, data, seed, modes, hq, kl, cpu, record.get("commit"), record.get("dirty")
        )


def command(variant: str, data: str, seed: int) -> list[str]:
    return [
        "ganlab.train",
        f"experiment={VARIANTS[variant]}",
        *COMMON,
        f"data={data}",
        f"max_kimg={LONGER_KIMG.get(variant, BUDGET_KIMG)[data]}",
        f"seed={seed}",
        f"data.seed={seed}",
        f"paths.root_dir={ROOT}",
        f"hydra.run.dir={ROOT}/run",
    ]


def train(cache: Path, variant: str, data: str, seed: int, run: bool = True) -> Run | None:
    """The run's result, from ``cache`` or trained now (``run=False``: None if not cached)."""
    argv = ["-m", *command(variant, data, seed)]  # the cache key of earlier versions
    stem = f"{variant}-{data}-{seed}"
    if not run:
        path = cache_path(cache, stem, argv)
        if not path.exists():
            return None
        return Run.of(variant, data, seed, json.loads(path.read_text()))

    def compute() -> dict[str, float]:
        final, cpu = run_modules([argv[1:]], f"{variant} on {data}, seed {seed}")
        return {
            "modes": final["val/modes"],
            "hq": final["val/hq"],
            "kl": final["val/kl"],
            "cpu_minutes": cpu,
        }

    return Run.of(variant, data, seed, cached(cache, stem, argv, compute))


def table(runs: list[Run], datasets: list[str]) -> str:
    header = ["Method"]
    for data in datasets:
        k = 8 if data == "ring8" else 25
        header += [f"{data} modes (/{k})", f"{data} % HQ", f"{data} rev-KL"]
    header.append("CPU min/run")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for variant in dict.fromkeys(r.variant for r in runs):
        seeds = {d: sum(r.variant == variant and r.data == d for r in runs) for d in datasets}
        counts = set(seeds.values())
        cells = [
            f"ganlab {variant} ({counts.pop()} seeds)"
            if len(counts) == 1
            else f"ganlab {variant} (seeds: {', '.join(f'{d} {n}' for d, n in seeds.items())})"
        ]
        cpu: list[float] = []
        for data in datasets:
            group = [r for r in runs if r.variant == variant and r.data == data]
            cells += [
                mean_se([r.modes for r in group]),
                mean_se([r.hq for r in group], scale=100),
                mean_se([r.kl for r in group], digits=2),
            ]
            cpu += [r.cpu_minutes for r in group]
        cells.append(f"{statistics.fmean(cpu):.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    for name, rows in PUBLISHED:
        cells = [name]
        for data in datasets:
            cells += list(rows[data])
        lines.append("| " + " | ".join([*cells, "-"]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--datasets", default="ring8,grid25")
    parser.add_argument(
        "--cached-only", action="store_true", help="train nothing: the table of the cached runs"
    )
    table_options(parser, "mode_coverage")
    args = parser.parse_args()
    variants = args.variants.split(",")
    datasets = args.datasets.split(",")
    unknown = sorted(set(variants) - set(VARIANTS))
    assert not unknown, f"unknown variants {unknown}; choose from {sorted(VARIANTS)}"

    # seed-major: an interrupted benchmark has whole seeds of every variant done
    jobs = [(v, d, s) for s in range(args.seeds) for v in variants for d in datasets]
    start = time.time()
    with ThreadPoolExecutor(args.jobs) as pool:
        runs = []
        for run in pool.map(lambda job: train(args.cache, *job, run=not args.cached_only), jobs):
            if run is None:  # --cached-only, not run yet
                continue
            runs.append(run)
            print(
                f"{run.variant:>10} {run.data:>7} seed {run.seed}: {run.modes:.0f} modes, "
                f"{100 * run.hq:.1f}% HQ, KL {run.kl:.3f}, {run.cpu_minutes:.1f} CPU min",
                flush=True,
            )
    result = f"{table(runs, datasets)}\n\n{commits_line(vars(run) for run in runs)}"
    done = f"{len(runs)} of {len(jobs)} runs cached" if args.cached_only else f"{len(jobs)} runs"
    print(f"\n{result}\n\n{done} in {(time.time() - start) / 60:.1f} min wall")
    if args.out:
        args.out.write_text(result + "\n")


if __name__ == "__main__":
    main()
