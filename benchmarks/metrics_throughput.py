"""FID throughput: ganlab's evaluator against torch-fidelity on the same Inception and images.

Both score ``--n`` generated images against ``--n`` real ones (32x32 RGB, uint8-exact) with the
FID Inception; ganlab streams generator batches through :class:`InceptionFeatures` into
torchmetrics' FID, torch-fidelity runs ``calculate_metrics(fid=True)`` on datasets of the same
images. Runs alternate ``--repeats`` times in one process; the table gives medians and the
ganlab/torch-fidelity ratio.

``--memory 1000,10000,50000`` instead measures the peak memory of ganlab's FID as the number
of generated images grows: each N runs in its own process (peak RSS is per process), scores N
images made batch by batch on the fly against a fixed reference, and reports the peak against
the smallest N (FID keeps running sums of the fake features, not the features).
``--extractor classifier`` (the mnist5k classifier of ``python -m ganlab.fit_classifier``)
reaches large N on a CPU; the pipeline is the same with ``inception``.

    python benchmarks/metrics_throughput.py [--n 256] [--repeats 3] [--threads 2] [--fresh]
    python benchmarks/metrics_throughput.py --memory 1000,10000,50000 --extractor classifier

Each result is kept in ``benchmarks/results/metrics_throughput/`` with the machine and commit
that measured it; the same options reuse it unless ``--fresh``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch_fidelity
from runs import commit_of, ensure_classifier, machine_line, measured, measured_options
from torch import Tensor
from torch.utils.data import Dataset

from ganlab.metrics import FID, ClassifierFeatures, Evaluator, FeatureExtractor, InceptionFeatures
from ganlab.metrics.inception import inception_weights


class Images(Dataset[Tensor]):
    """uint8 images as torch-fidelity reads them."""

    def __init__(self, images: Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> Tensor:
        return self.images[i]


def images(n: int, seed: int) -> Tensor:
    """Smooth random colour images (uint8), different per seed."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 4, 4, generator=g)
    x = torch.nn.functional.interpolate(low, size=(32, 32), mode="bilinear", align_corners=False)
    return (x * 255).round().to(torch.uint8)


def batches(x: Tensor, size: int) -> Iterator[Tensor]:
    for part in x.split(size):
        yield part.float() / 127.5 - 1  # what a generator hands over: floats in [-1, 1]


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def classifiers() -> Path:
    return Path(os.environ.get("GANLAB_CACHE", "~/.cache/ganlab")).expanduser() / "classifiers"


def extractor_named(name: str, batch_size: int) -> FeatureExtractor:
    if name == "inception":
        return InceptionFeatures(inception_weights(), batch_size=batch_size)
    return ClassifierFeatures(directory=str(classifiers()), data="mnist5k")


def memory_child(n: int, extractor_name: str, batch_size: int) -> None:
    """Score ``n`` generated images (made batch by batch) against 256 fixed real ones; print
    the process's peak memory before and after, as JSON."""
    extractor = extractor_named(extractor_name, batch_size)
    evaluator = Evaluator(extractor, {"fid": FID})
    features, _ = evaluator.real_features(batches(images(256, 0), batch_size))
    evaluator.set_real(features)
    before = peak_mib()
    fakes = (
        images(min(batch_size, n - start), seed=1 + start).float() / 127.5 - 1
        for start in range(0, n, batch_size)
    )
    value = evaluator.score(fakes)[0].value
    print(json.dumps({"n": n, "before": before, "peak": peak_mib(), "fid": value}))


def measure_memory(sizes: list[int], extractor: str, batch_size: int, threads: int) -> dict:
    """Each N scored in its own process (peak RSS is per process)."""
    if extractor == "classifier":  # trained once, before any process measures
        ensure_classifier(classifiers(), "mnist5k")
    rows = []
    for n in sizes:
        command = [sys.executable, __file__, "--child", str(n), "--extractor", extractor]
        command += ["--batch-size", str(batch_size), "--threads", str(threads)]
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(f"N={n}: peak {rows[-1]['peak']:.0f} MiB", flush=True)
    return {"rows": rows}


def memory_table(record: dict[str, Any]) -> str:
    o, rows = record["argv"], record["rows"]
    lines = [
        f"Peak memory of ganlab's FID ({o['extractor']} features, batches of {o['batch_size']})",
        "",
        f"| generated images N | peak RSS (MiB) | growth vs N={rows[0]['n']:,} "
        "| during scoring (MiB) |",
        "|---|---|---|---|",
    ]
    for row in rows:
        growth = row["peak"] - rows[0]["peak"]
        scoring = row["peak"] - row["before"]
        lines.append(f"| {row['n']:,} | {row['peak']:.0f} | {growth:+.0f} | {scoring:+.0f} |")
    lines += ["", f"{machine_line(record)}; commit {commit_of(record)}"]
    return "\n".join(lines)


def measure_fid(args: argparse.Namespace) -> dict[str, Any]:
    """Both implementations' FID and seconds, alternating ``--repeats`` times."""
    weights = inception_weights()
    extractor = InceptionFeatures(weights, batch_size=args.batch_size)
    real, fake = images(args.n, 0), images(args.n, 1)

    def ganlab_fid() -> float:
        evaluator = Evaluator(extractor, {"fid": FID})
        features, _ = evaluator.real_features(batches(real, args.batch_size))
        evaluator.set_real(features)
        return evaluator.score(batches(fake, args.batch_size))[0].value

    def fidelity_fid() -> float:
        result = torch_fidelity.calculate_metrics(
            input1=Images(fake),
            input2=Images(real),
            fid=True,
            feature_extractor_weights_path=str(weights.path),
            batch_size=args.batch_size,
            cache=False,
            verbose=False,
            cuda=False,
        )
        return float(result["frechet_inception_distance"])

    times: dict[str, list[float]] = {"ganlab": [], "torch-fidelity": []}
    values: dict[str, float] = {}
    start_mib = peak_mib()
    for _ in range(args.repeats):
        for name, run in (("ganlab", ganlab_fid), ("torch-fidelity", fidelity_fid)):
            start = time.perf_counter()
            values[name] = run()
            times[name].append(time.perf_counter() - start)
    return {
        "fid": values,
        "seconds": {name: statistics.median(ts) for name, ts in times.items()},
        "peak_mib": {"start": start_mib, "end": peak_mib()},
        "weights": str(weights.source),
    }


def fid_table(record: dict[str, Any]) -> str:
    o, seconds = record["argv"], record["seconds"]
    lines = [
        f"FID of {o['n']} vs {o['n']} 32x32 images, Inception ({record['weights']} weights) on "
        f"CPU, median of {o['repeats']} runs",
        "",
        "| implementation | FID | seconds (median) | images/s | speed vs torch-fidelity |",
        "|---|---|---|---|---|",
    ]
    for name, median in seconds.items():
        lines.append(
            f"| {name} | {record['fid'][name]:.4f} | {median:.1f} | {2 * o['n'] / median:.1f} "
            f"| {seconds['torch-fidelity'] / median:.2f} |"
        )
    peak = record["peak_mib"]
    lines += [
        "",
        f"peak memory {peak['start']:.0f} -> {peak['end']:.0f} MiB; {machine_line(record)}; "
        f"commit {commit_of(record)}",
    ]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory", help="comma-separated N: peak memory per N instead")
    parser.add_argument("--extractor", default="inception", choices=["inception", "classifier"])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    measured_options(parser, "metrics_throughput")
    return parser


def fid_options(args: argparse.Namespace) -> dict[str, int]:
    """The FID timing's cache key."""
    return {k: getattr(args, k) for k in ("n", "repeats", "batch_size", "threads")}


def memory_options(args: argparse.Namespace) -> dict[str, Any]:
    """The memory measurement's cache key."""
    sizes = [int(n) for n in args.memory.split(",")]
    return {
        "sizes": sizes,
        "extractor": args.extractor,
        "batch_size": args.batch_size,
        "threads": args.threads,
    }


def main() -> None:
    args = parser().parse_args()
    torch.set_num_threads(args.threads)
    if args.child is not None:
        return memory_child(args.child, args.extractor, args.batch_size)
    if args.memory:
        o = memory_options(args)
        record = measured(
            args.cache,
            "memory",
            o,
            args.fresh,
            partial(measure_memory, o["sizes"], args.extractor, args.batch_size, args.threads),
        )
        result = memory_table(record)
    else:
        record = measured(
            args.cache, "fid", fid_options(args), args.fresh, partial(measure_fid, args)
        )
        result = fid_table(record)
    print(f"\n{result}")
    if args.out:
        args.out.write_text(result + "\n")


if __name__ == "__main__":
    main()
