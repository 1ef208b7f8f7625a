"""Write the results page, docs/results.md, from the benchmark caches in benchmarks/results/.

One section per benchmark: the command that reproduces it, how it measures (its own
docstring), and its tables, each row naming the commit that produced it, then every cached run
with its command lines. A benchmark with nothing cached says so and how to produce it. Nothing is
trained and nothing depends on the machine or the date, so the page is the same everywhere;
tests/test_results_page.py checks that the committed page is what the caches give.

    python benchmarks/results_page.py        # make results: rewrites docs/results.md
    python benchmarks/results_page.py --out /tmp/results.md --results /tmp/caches
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shlex
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import anomaly
import augmentation
import conditional
import faults
import metrics_throughput
import mode_coverage
import small_data
import stacked_mnist
import train_throughput
import translation
from runs import cache_path, commit_of, mean_se

HERE = Path(__file__).resolve().parent
PAGE = HERE.parent / "docs" / "results.md"

# The benchmarks' default options (argparse defaults, with their types: they are in the cache
# keys). The page shows the runs a plain `python benchmarks/<name>.py` reuses.
CONDITIONAL_KIMG = 100
ANOMALY_KIMG, ANOMALY_STEPS, ANOMALY_RESTARTS = 30.0, 100, 2
AUGMENTATION_KIMG = 50
AUGMENTATION_PROTOCOL = {"synthetic": 500, "steps": 1000, "batch": augmentation.BATCH}
STACKED_KIMG = 200
TRANSLATION_KIMG = 16.0
# the argparse defaults, ints as in the cache keys
SMALL_DATA_KIMG, SMALL_DATA_EVERY, SMALL_DATA_SIDE = 150, 25, 32

Record = dict[str, Any]


@dataclass(frozen=True)
class Benchmark:
    title: str  # the section's heading
    script: str  # its file in benchmarks/
    command: str  # reproduces the section (the script's defaults)
    see: str  # where the numbers are discussed (a docs link, or "")
    cache: str  # its folder in benchmarks/results/
    load: Callable[[Path], tuple[list[Record], list[str]]]  # records, and the stems left out
    tables: Callable[[list[Record]], list[str]]


def cached_runs(folder: Path, argv_of: Callable[[str], Any]) -> tuple[list[Record], list[str]]:
    """The records in ``folder`` that the benchmark reuses at its default options (``argv_of``:
    the command lines of a record's stem; KeyError/ValueError: not one of its runs), each with
    its ``stem``, sorted by file name; and the stems of the others (other options, or command
    lines of an earlier version of the benchmark)."""
    runs, others = [], []
    for path in sorted(folder.glob("*.json")):
        stem = path.stem.rsplit("-", 1)[0]
        try:
            current = cache_path(folder, stem, argv_of(stem)) == path
        except (KeyError, ValueError):
            current = False
        if current:
            runs.append({"stem": stem, **json.loads(path.read_text())})
        else:
            others.append(stem)
    return runs, others


def commits(records: Iterable[Mapping[str, Any]]) -> str:
    return ", ".join(sorted({commit_of(r) for r in records}))


def shell(argv: Sequence[str]) -> str:
    """A cached command line as the shell command it stands for."""
    return "`python " + shlex.join(["-m", *(argv[1:] if argv[0] == "-m" else argv)]) + "`"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def snippet(name: str, lines: Sequence[str]) -> list[str]:
    """``lines`` marked as the section ``name`` of this page, which other pages include with
    ``--8<-- "results.md:<name>"`` (pymdownx.snippets), so no page copies a table by hand."""
    return [f"<!-- --8<-- [start:{name}] -->", *lines, f"<!-- --8<-- [end:{name}] -->"]


def details(title: str, lines: Sequence[str]) -> list[str]:
    """A collapsed box (pymdownx.details)."""
    return [f'??? note "{title}"', "", *(f"    {line}" if line else "" for line in lines)]


def options(overrides: Sequence[str]) -> str:
    return " ".join(f"`{o}`" for o in overrides) or "(none)"


def how_measured(script: str) -> list[str]:
    """The benchmark's docstring as Markdown: reST roles and literals become code spans,
    indented usage lines a shell block."""
    doc = ast.get_docstring(ast.parse((HERE / script).read_text())) or ""
    doc = re.sub(
        r":\w+:`(~?)([\w.]+)`", lambda m: f"`{m[2].rsplit('.', 1)[-1] if m[1] else m[2]}`", doc
    )
    lines: list[str] = []
    code: list[str] = []
    for line in [*doc.replace("``", "`").splitlines(), ""]:
        if line.startswith("    "):
            code.append(line[4:])
            continue
        if code:
            lines += ["```bash", *code, "```"]
            code = []
        lines.append(line)
    return details(f"How it is measured (the docstring of benchmarks/{script})", lines[:-1])


# Mode coverage


def coverage_argv(stem: str) -> list[str]:
    variant, data, seed = stem.split("-")
    return ["-m", *mode_coverage.command(variant, data, int(seed))]


def coverage_tables(records: list[Record]) -> list[str]:
    runs = []
    for record in records:
        variant, data, seed = record["stem"].split("-")
        runs.append((mode_coverage.Run.of(variant, data, int(seed), record), record))
    datasets = [d for d in mode_coverage.BUDGET_KIMG if any(r.data == d for r, _ in runs)]
    order = list(mode_coverage.VARIANTS)
    header = ["variant"]
    for data in datasets:
        header += [f"{data} modes (/{8 if data == 'ring8' else 25})", f"{data} % HQ", "rev-KL"]
    header += ["CPU min/run", "seeds", "kimg", "commit", "options"]
    rows = []
    for variant, experiment in mode_coverage.VARIANTS.items():
        mine = [r for r, _ in runs if r.variant == variant]
        if not mine:
            continue
        cells = [f"`{variant}`"]
        for data in datasets:
            group = [r for r in mine if r.data == data]
            cells += (
                [
                    mean_se([r.modes for r in group]),
                    mean_se([r.hq for r in group], scale=100),
                    mean_se([r.kl for r in group], digits=2),
                ]
                if group
                else ["-"] * 3
            )
        seeds = {d: sum(r.data == d for r in mine) for d in datasets}
        counts = set(seeds.values())
        budget = mode_coverage.LONGER_KIMG.get(variant, mode_coverage.BUDGET_KIMG)
        cells += [
            f"{statistics.fmean(r.cpu_minutes for r in mine):.1f}",
            str(counts.pop())
            if len(counts) == 1
            else ", ".join(f"{d} {n}" for d, n in seeds.items()),
            ", ".join(f"{d} {budget[d]}" for d in datasets),
            commits(vars(r) for r in mine),
            options([f"experiment={experiment}"]),
        ]
        rows.append(cells)
    for name, published in mode_coverage.PUBLISHED:
        cells = [name, *(cell for d in datasets for cell in published[d])]
        rows.append([*cells, "-", "-", "-", "published", "-"])
    every = table(
        ["variant", "data", "seed", "modes", "% HQ", "rev-KL", "CPU min", "commit", "command"],
        (
            [
                f"`{r.variant}`",
                r.data,
                str(r.seed),
                f"{r.modes:.0f}",
                f"{100 * r.hq:.1f}",
                f"{r.kl:.3f}",
                f"{r.cpu_minutes:.1f}",
                commit_of(record),
                shell(record["argv"]),
            ]
            for r, record in sorted(
                runs,
                key=lambda x: (order.index(x[0].variant), datasets.index(x[0].data), x[0].seed),
            )
        ),
    )
    return [
        "Mean ± standard error over seeds; the published rows (PacGAN and VEEGAN, Table 1) used "
        "other networks and ~400k iterations: compare protocols, not just digits. One row: "
        "`python benchmarks/mode_coverage.py --variants <variant>`.",
        "",
        *table(header, rows),
        "",
        *details("Every run and its command line", every),
    ]


# Class control


def conditional_argv(stem: str) -> list[list[str]]:
    variant, data, seed = stem.split("-")
    return conditional.commands(variant, data, int(seed), CONDITIONAL_KIMG)


def percent(values: Sequence[float]) -> str:
    return mean_se(values, scale=100) + "%" if values else "-"


def control_cells(group: Sequence[Record]) -> list[str]:
    """Class agreement, code purity / matched accuracy, classifier FID of these runs."""
    code = "-"
    if any("purity" in r for r in group):
        purity = percent([r["purity"] for r in group if "purity" in r])
        code = f"{purity} / {percent([r['matched'] for r in group if 'matched' in r])}"
    return [
        percent([r["agreement"] for r in group if "agreement" in r]),
        code,
        mean_se([r["fid"] for r in group], digits=2),
    ]


def conditional_tables(records: list[Record]) -> list[str]:
    groups: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for record in records:
        variant, data, _ = record["stem"].split("-")
        groups[variant, data].append(record)
    order = list(conditional.VARIANTS)
    keys = sorted(groups, key=lambda k: (order.index(k[0]), k[1]))
    rows = [
        [
            f"`{variant}`",
            data,
            *control_cells(groups[variant, data]),
            f"{statistics.fmean(r['cpu_minutes'] for r in groups[variant, data]):.1f}",
            str(len(groups[variant, data])),
            commits(groups[variant, data]),
            options(conditional.VARIANTS[variant]),
        ]
        for variant, data in keys
    ]
    header = ["variant", "data", "class agreement", "code purity / matched"]
    header += ["classifier FID 5k", "CPU min/run", "seeds", "commit", "options"]
    every = []
    for variant, data in keys:
        for record in groups[variant, data]:
            seed = record["stem"].split("-")[2]
            every.append(
                [
                    f"`{variant}`",
                    data,
                    seed,
                    *control_cells([record]),
                    f"{record['cpu_minutes']:.1f}",
                    commit_of(record),
                    "; then ".join(shell(argv) for argv in record["argv"]),
                ]
            )
    every_header = ["variant", "data", "seed", "class agreement", "code purity / matched"]
    every_header += ["classifier FID 5k", "CPU min", "commit", "commands"]
    return [
        f"Each variant trained {CONDITIONAL_KIMG} kimg; mean ± standard error over seeds (one "
        "seed: the value). One row: `python benchmarks/conditional.py --variants <variant>`.",
        "",
        *table(header, rows),
        "",
        *details("Every run and its command lines", table(every_header, every)),
    ]


# Translation


def translation_argv(stem: str) -> list[list[str]]:
    variant, seed = stem.rsplit("-", 1)
    return translation.commands(variant, int(seed), TRANSLATION_KIMG)


def translation_tables(records: list[Record]) -> list[str]:
    groups: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        groups[record["stem"].rsplit("-", 1)[0]].append(record)
    order = [v for v in translation.VARIANTS if v in groups]
    rows = [translation.table_row(v, groups[v]) for v in order]
    every = table(
        [
            "variant",
            "seed",
            "L1",
            "PSNR",
            "SSIM",
            "agreement",
            "FID",
            "CPU min",
            "commit",
            "command",
        ],
        (
            [
                f"`{variant}`",
                record["stem"].rsplit("-", 1)[1],
                f"{record['l1']:.4f}",
                f"{record['psnr']:.2f}",
                f"{record['ssim']:.3f}",
                f"{100 * record['agreement']:.1f}%",
                f"{record['fid']:.2f}",
                f"{record['cpu_minutes']:.1f}",
                commit_of(record),
                shell(record["argv"][0]),
            ]
            for variant in order
            for record in groups[variant]
        ),
    )
    # each variant's options beyond the half-width preset every variant shares
    extra = {v: translation.VARIANTS[v][len(translation.HALF_WIDTH) :] for v in order}
    return [
        *snippet(
            "pix2pix-ablation",
            [
                "Mean ± standard error over seeds. One row: `python benchmarks/translation.py "
                "--variants <variant>`. Options beyond the shared ones: "
                + "; ".join(f"`{v}` {options(o)}" for v, o in extra.items())
                + ".",
                "",
                translation.table_header(TRANSLATION_KIMG),
                "|---|---|---|---|---|---|---|",
                *rows,
            ],
        ),
        "",
        *details("Every run and its command line", every),
        *cyclegan_tables(groups),
    ]


def cyclegan_tables(groups: Mapping[str, list[Record]]) -> list[str]:
    """The CycleGAN variants of the translation benchmark, where it has run them."""
    order = [v for v in translation.CYCLEGAN_VARIANTS if v in groups]
    if not order:
        return []
    header = translation.cyclegan_table_header(TRANSLATION_KIMG)
    every = table(
        [
            "variant",
            "seed",
            "A -> B kept",
            "B -> A kept",
            "FID B / A",
            "cycle L1 A / B",
            "CPU min",
            "commit",
            "command",
        ],
        (
            [
                f"`{variant}`",
                record["stem"].rsplit("-", 1)[1],
                f"{100 * record['a2b']:.1f}%",
                f"{100 * record['b2a']:.1f}%",
                f"{record['fid_b']:.2f} / {record['fid_a']:.2f}",
                f"{record['cycle_l1_a']:.3f} / {record['cycle_l1_b']:.3f}",
                f"{record['cpu_minutes']:.1f}",
                commit_of(record),
                shell(record["argv"][0]),
            ]
            for variant in order
            for record in groups[variant]
        ),
    )
    extra = {v: translation.CYCLEGAN_VARIANTS[v][len(translation.CYCLEGAN) :] for v in order}
    return [
        "",
        *snippet(
            "cyclegan-ablation",
            [
                "CycleGAN on mnist2digits (label kept: the target domain's classifier reads the "
                "translation as the source image's digit; in brackets, the same classifier on the "
                "untranslated images and, A -> B, on the MNIST digits rendered as the 8x8 set by "
                "the UCI reduction: what a translator that learned only the rendering would keep). "
                "Options beyond the shared ones: "
                + "; ".join(f"`{v}` {options(o)}" for v, o in extra.items())
                + ".",
                "",
                header,
                "|" + "---|" * (header.count(" | ") + 1),
                *[translation.cyclegan_table_row(v, groups[v]) for v in order],
            ],
        ),
        "",
        *details("Every CycleGAN run and its command line", every),
    ]


# Anomaly detection


def anomaly_argv(stem: str) -> list[list[str]]:
    digit, seed = stem.split("-")
    return anomaly.commands(
        int(digit.removeprefix("digit")),
        int(seed.removeprefix("s")),
        ANOMALY_KIMG,
        ANOMALY_STEPS,
        ANOMALY_RESTARTS,
    )


def anomaly_tables(records: list[Record]) -> list[str]:
    by_seed: dict[int, list[tuple[int, Record]]] = defaultdict(list)
    for record in records:
        digit, seed = record["stem"].split("-")
        by_seed[int(seed.removeprefix("s"))].append((int(digit.removeprefix("digit")), record))
    lines = [
        f"A small DCGAN, {ANOMALY_KIMG:g} kimg; inversion {ANOMALY_STEPS} steps x "
        f"{ANOMALY_RESTARTS} restarts. Mean ± standard error over the held-out "
        "digits. One digit: `python benchmarks/anomaly.py --digits <digit>`.",
        "",
    ]
    every = []
    for seed, runs in sorted(by_seed.items()):
        runs.sort(key=lambda x: x[0])
        header = [f"AUROC, held-out digit (seed {seed})", *(str(d) for d, _ in runs), "mean"]
        rows = []
        for method in anomaly.METHODS:
            values = [r["auroc"][method] for _, r in runs]
            rows.append(
                [
                    anomaly.LABELS[method],
                    *(f"{v:.3f}" for v in values),
                    mean_se(values, digits=3),
                ]
            )
        cpu = [r["cpu_minutes"] for _, r in runs]
        rows += [
            [
                "held-out images (anomalous)",
                *(f"{r['n_images']} ({r['n_anomalous']})" for _, r in runs),
                "",
            ],
            ["CPU min (fit + score)", *(f"{c:.1f}" for c in cpu), f"{statistics.fmean(cpu):.1f}"],
            ["commit", *(commit_of(r) for _, r in runs), ""],
        ]
        lines += [*table(header, rows), ""]
        every += [
            [str(d), str(seed), commit_of(r), "; then ".join(shell(a) for a in r["argv"])]
            for d, r in runs
        ]
    every_table = table(["held-out digit", "seed", "commit", "commands"], every)
    return [*lines, *details("Every run and its command lines", every_table)]


# Synthetic data augmentation


def augmentation_argv(stem: str) -> list[Any]:
    k, seed = stem.split("-")
    argv = augmentation.gan_command(
        int(k.removeprefix("k")), int(seed.removeprefix("s")), AUGMENTATION_KIMG
    )
    return [argv, AUGMENTATION_PROTOCOL]


def augmentation_tables(records: list[Record]) -> list[str]:
    groups: dict[int, list[Record]] = defaultdict(list)
    for record in records:
        groups[int(record["stem"].split("-")[0].removeprefix("k"))].append(record)
    arms = augmentation.ARMS
    rows = [
        [
            str(k),
            *(percent([r[arm] for r in groups[k]]) for arm in arms),
            f"{statistics.fmean(r['cpu_minutes'] for r in groups[k]):.1f}",
            str(len(groups[k])),
            commits(groups[k]),
        ]
        for k in sorted(groups)
    ]
    header = ["real per class", "real only", "real + CGAN (1:1)", "CGAN only"]
    header += ["CPU min/run", "seeds", "commit"]
    every = [
        [
            record["stem"].split("-")[0].removeprefix("k"),
            record["stem"].split("-")[1].removeprefix("s"),
            *(f"{100 * record[arm]:.1f}%" for arm in arms),
            f"{record['cpu_minutes']:.1f}",
            commit_of(record),
            shell(record["argv"][0]),
        ]
        for k in sorted(groups)
        for record in groups[k]
    ]
    every_header = ["real per class", "seed", *header[1:4], "CPU min", "commit", "GAN command"]
    protocol = AUGMENTATION_PROTOCOL
    return [
        f"The CGAN trained {AUGMENTATION_KIMG} kimg and drew {protocol['synthetic']} images per "
        f"class; each classifier trained {protocol['steps']} steps of {protocol['batch']}. "
        "Accuracy on the held-out real digits, mean ± standard error over seeds; CPU minutes of "
        "the CGAN and the three classifiers. One row: "
        "`python benchmarks/augmentation.py --per-class <k>`.",
        "",
        *table(header, rows),
        "",
        *details("Every run and its GAN's command line", table(every_header, every)),
    ]


# Small data


def small_data_run(stem: str) -> tuple[int, str, int]:
    """(images per class, arm, seed) of a record's stem, e.g. ``k50-unprotected-s0``."""
    k, arm, seed = stem.split("-")
    if arm not in small_data.ARMS:
        raise KeyError(arm)
    return int(k.removeprefix("k")), arm, int(seed.removeprefix("s"))


def small_data_argv(stem: str) -> list[list[str]]:
    k, arm, seed = small_data_run(stem)
    return [
        small_data.gan_command(k, arm, seed, SMALL_DATA_KIMG, SMALL_DATA_EVERY, SMALL_DATA_SIDE, [])
    ]


def small_data_tables(records: list[Record]) -> list[str]:
    runs = [
        dict(zip(("k", "arm", "seed"), small_data_run(r["stem"]), strict=True)) for r in records
    ]
    runs = [{**run, **record} for run, record in zip(runs, records, strict=True)]
    return [
        f"Each run {SMALL_DATA_KIMG:g} kimg; a cell: the share of 500 samples the mnist5k "
        "classifier labels with confidence >= 0.9 (digits among them).",
        "",
        small_data.table(runs),
    ]


# Timings and fault injection: one record each at the scripts' default options

# the memory table's documented command (metrics_throughput.py's docstring)
METRICS_MEMORY = ["--memory", "1000,10000,50000", "--extractor", "classifier"]


def throughput_argv(stem: str) -> dict[str, Any]:
    if stem != "throughput":
        raise KeyError(stem)
    return train_throughput.options(train_throughput.parser().parse_args([]))


def metrics_argv(stem: str) -> dict[str, Any]:
    if stem == "fid":
        return metrics_throughput.fid_options(metrics_throughput.parser().parse_args([]))
    if stem == "memory":
        return metrics_throughput.memory_options(
            metrics_throughput.parser().parse_args(METRICS_MEMORY)
        )
    raise KeyError(stem)


def metrics_tables(records: list[Record]) -> list[str]:
    tables = {"fid": metrics_throughput.fid_table, "memory": metrics_throughput.memory_table}
    lines = []
    for record in records:
        if record["stem"] == "memory":
            lines += [f"`python benchmarks/metrics_throughput.py {' '.join(METRICS_MEMORY)}`:", ""]
        lines += [tables[record["stem"]](record), ""]
    return lines[:-1]


def faults_argv(stem: str) -> dict[str, Any]:
    if stem != "faults":
        raise KeyError(stem)
    return faults.options()


# Stacked MNIST


def stacked_argv(stem: str) -> list[list[str]]:
    variant, seed = stem.split("-")
    return stacked_mnist.commands(variant, int(seed), STACKED_KIMG)


def stacked_tables(records: list[Record]) -> list[str]:
    groups: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        groups[record["stem"].split("-")[0]].append(record)
    rows = [
        [
            f"`{variant}`",
            mean_se([r["modes"] for r in groups[variant]]),
            mean_se([r["kl"] for r in groups[variant]], digits=2),
            f"{statistics.fmean(r['cpu_minutes'] for r in groups[variant]):.1f}",
            str(len(groups[variant])),
            commits(groups[variant]),
            options(overrides),
        ]
        for variant, overrides in stacked_mnist.VARIANTS.items()
        if variant in groups
    ]
    rows += [
        [name, modes, kl, "-", "-", "published", setup or "-"]
        for name, modes, kl, setup in stacked_mnist.PUBLISHED
    ]
    header = ["method", "modes (/1000)", "KL", "CPU min/run", "seeds", "commit", "options / setup"]
    every = [
        [
            f"`{variant}`",
            record["stem"].split("-")[1],
            f"{record['modes']:.0f}",
            f"{record['kl']:.2f}",
            f"{record['cpu_minutes']:.1f}",
            commit_of(record),
            "; then ".join(shell(argv) for argv in record["argv"]),
        ]
        for variant in stacked_mnist.VARIANTS
        for record in groups.get(variant, [])
    ]
    every_header = ["variant", "seed", "modes", "KL", "CPU min", "commit", "commands"]
    return [
        f"DCGAN nets, {STACKED_KIMG} kimg on the CPU; mean ± standard error over seeds. The "
        "published rows used ~100k-500k iterations on a GPU.",
        "",
        *table(header, rows),
        "",
        *details("Every run and its command lines", table(every_header, every)),
    ]


# Learning-test calibration


def calibration_records(folder: Path) -> tuple[list[Record], list[str]]:
    """Every record of benchmarks/calibrate_learning.py, its commit split into ``commit`` and
    ``dirty`` as the other benchmarks record them."""
    records = []
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            commit = row.get("commit") or ""
            row["dirty"] = commit.endswith("-dirty")
            row["commit"] = commit.removesuffix("-dirty").replace("unknown", "")
            records.append(row)
    return records, []


def calibration_tables(records: list[Record]) -> list[str]:
    groups: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for row in records:
        groups[row["test"], commit_of(row)].append(row)
    rows = []
    for (test, commit), group in sorted(groups.items()):
        figures = dict.fromkeys(name for r in group for name in r["figures"])
        ranges = []
        for name in figures:
            values = [r["figures"][name] for r in group if name in r["figures"]]
            low, high = min(values), max(values)
            ranges.append(f"{name} {low:g}" + (f"-{high:g}" if high != low else ""))
        kernels = sorted(
            {
                f"unset ({r['capability'].lower()})"
                if r["requested_capability"] == "unset"
                else r["requested_capability"]
                for r in group
            }
        )
        rows.append(
            [
                f"`{test}`",
                f"{sum(r['passed'] for r in group)} / {len(group)}",
                ", ".join(str(s) for s in sorted({r["seed"] for r in group})),
                ", ".join(kernels),
                ", ".join(str(t) for t in sorted({r["threads"] for r in group})),
                "; ".join(ranges),
                commit,
            ]
        )
    header = ["test", "runs passing", "seeds", "kernels", "threads", "figures (min-max)", "commit"]
    return [
        "Each run is one training of the test at a seed, `ATEN_CPU_CAPABILITY` (`unset`: the "
        "CPU's best kernels) and intra-op thread count; the test itself runs seed 0. Every run "
        "is in `tests/learning/CALIBRATION.md` (`python benchmarks/calibrate_learning.py "
        "--cached-only` rewrites it); one test: "
        "`python benchmarks/calibrate_learning.py -k '<test>'`.",
        "",
        *table(header, rows),
    ]


BENCHMARKS = [
    Benchmark(
        "Mode coverage",
        "mode_coverage.py",
        "python benchmarks/mode_coverage.py",
        "[Stabilizers](stabilizers.md#watching-mode-coverage)",
        "mode_coverage",
        partial(cached_runs, argv_of=coverage_argv),
        coverage_tables,
    ),
    Benchmark(
        "Class control",
        "conditional.py",
        "python benchmarks/conditional.py",
        "[Conditional models](conditional.md)",
        "conditional",
        partial(cached_runs, argv_of=conditional_argv),
        conditional_tables,
    ),
    Benchmark(
        "Image-to-image translation",
        "translation.py",
        "python benchmarks/translation.py",
        "[Image-to-image translation](translation.md)",
        "translation",
        partial(cached_runs, argv_of=translation_argv),
        translation_tables,
    ),
    Benchmark(
        "Anomaly detection",
        "anomaly.py",
        "python benchmarks/anomaly.py",
        "[Applications](applications.md#anomaly-detection)",
        "anomaly",
        partial(cached_runs, argv_of=anomaly_argv),
        anomaly_tables,
    ),
    Benchmark(
        "Synthetic data augmentation",
        "augmentation.py",
        "python benchmarks/augmentation.py",
        "[Applications](applications.md#synthetic-data-augmentation)",
        "augmentation",
        partial(cached_runs, argv_of=augmentation_argv),
        augmentation_tables,
    ),
    Benchmark(
        "Small data",
        "small_data.py",
        "python benchmarks/small_data.py",
        "[Reliability](reliability.md#small-datasets)",
        "small_data",
        partial(cached_runs, argv_of=small_data_argv),
        small_data_tables,
    ),
    Benchmark(
        "Stacked MNIST",
        "stacked_mnist.py",
        "python benchmarks/stacked_mnist.py",
        "[Evaluation](evaluation.md#stacked-mnist)",
        "stacked_mnist",
        partial(cached_runs, argv_of=stacked_argv),
        stacked_tables,
    ),
    Benchmark(
        "Training throughput",
        "train_throughput.py",
        "python benchmarks/train_throughput.py",
        "",
        "train_throughput",
        partial(cached_runs, argv_of=throughput_argv),
        lambda records: [train_throughput.table(records[0])],
    ),
    Benchmark(
        "Metrics",
        "metrics_throughput.py",
        "python benchmarks/metrics_throughput.py",
        "[Evaluation](evaluation.md)",
        "metrics_throughput",
        partial(cached_runs, argv_of=metrics_argv),
        metrics_tables,
    ),
    Benchmark(
        "Fault injection",
        "faults.py",
        "python benchmarks/faults.py",
        "[Reliability](reliability.md#fault-injection)",
        "faults",
        partial(cached_runs, argv_of=faults_argv),
        lambda records: [faults.table(records[0])],
    ),
    Benchmark(
        "Learning-test calibration",
        "calibrate_learning.py",
        "make calibrate",
        "[Tests](tests.md)",
        "learning_calibration",
        calibration_records,
        calibration_tables,
    ),
]

INTRO = """\
# Results

Generated by `make results` (`python benchmarks/results_page.py`) from the benchmark caches in
`benchmarks/results/`: do not edit it by hand (`tests/test_results_page.py` fails when this page
is not what the caches give). A benchmark keeps every finished run there with its command lines
and the ganlab commit that produced it (`benchmarks/runs.py`); rerunning it reuses those runs and
trains only what is missing, and `make results` then updates this page. Commit "not recorded":
the run was cached before the benchmarks recorded commits. In the command lines, `ROOT` stands
for the benchmark's scratch folder and `CLASSIFIERS` for its in-domain classifiers' folder
(`--classifiers`). CPU minutes are each run's own CPU time on the machine that ran it.
"""


def section(benchmark: Benchmark, results: Path) -> list[str]:
    lines = [f"## {benchmark.title}", "", f"Reproduce: `{benchmark.command}`."]
    if benchmark.see:
        lines[-1] += f" What the numbers mean: {benchmark.see}."
    lines += ["", *how_measured(benchmark.script), ""]
    folder = results / benchmark.cache
    records, others = benchmark.load(folder) if folder.is_dir() else ([], [])
    if records:
        lines += benchmark.tables(records)
    else:
        lines.append(
            f"No cached results yet: `{benchmark.command}` produces them (kept in "
            f"`benchmarks/results/{benchmark.cache}/`)."
        )
    if others:
        lines += [
            "",
            f"Left out: {len(others)} cached run(s) made with other options or an earlier "
            f"version of the benchmark's command lines ({', '.join(f'`{s}`' for s in others)}).",
        ]
    return lines


def render(results: Path) -> str:
    lines = [INTRO]
    for benchmark in BENCHMARKS:
        lines += [*section(benchmark, results), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PAGE, help="the page to write")
    parser.add_argument(
        "--results", type=Path, default=HERE / "results", help="the benchmark caches"
    )
    args = parser.parse_args()
    args.out.write_text(render(args.results))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
