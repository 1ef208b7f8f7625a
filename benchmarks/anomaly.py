"""Leave-one-digit-out anomaly detection on ``mnist5k`` (real MNIST digits at 28x28).

For each held-out digit ``d``: ``python -m ganlab.anomaly fit`` trains a small DCGAN (and then
f-AnoGAN's encoder) on the other nine digits' training part (80% of each class, seeded
split), for ``--kimg`` thousand images; ``python -m ganlab.anomaly score`` scores the held-out
20% of every class (1,000 images, 100 of them digit ``d``). Reported: AUROC of each scoring
method (D's logit, AnoGAN latent inversion, the f-AnoGAN encoder, and their robustly
standardized sum) against the pixel-space nearest-neighbour baseline (distance to the closest
normal training image), per held-out digit, with the mean ± standard error over the digits
run, and the CPU minutes per digit.

    python benchmarks/anomaly.py [--digits 0,1] [--kimg 30] [--seed 0] [--out table.md]

Finished digits are kept in ``--cache`` and not rerun (a changed command line reruns).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from runs import ROOT, cached, commits_line, mean_se, run_modules, table_options

# DCGAN-sized nets for a CPU (as benchmarks/conditional.py): 64-d noise, 32 base channels.
MODEL = [
    "model=dcgan",
    "model.generator.latent_dim=64",
    "model.generator.base_channels=32",
    "model.discriminator.base_channels=32",
    "model.ema.half_life_kimg=5",
]
METHODS = ["discriminator", "inversion", "encoder", "combined", "knn"]
LABELS = {
    "discriminator": "D logit",
    "inversion": "inversion (AnoGAN)",
    "encoder": "encoder (f-AnoGAN izi_f)",
    "combined": "D + encoder",
    "knn": "pixel 1-NN (baseline)",
}


def commands(digit: int, seed: int, kimg: float, steps: int, restarts: int) -> list[list[str]]:
    normal = ",".join(str(c) for c in range(10) if c != digit)
    common = [
        "data=mnist5k",
        "data.shape=[1,28,28]",
        f"normal_classes=[{normal}]",
        f"seed={seed}",
        "encoder.steps=1500",
        f"inversion.steps={steps}",
        f"inversion.restarts={restarts}",
        "logger=none",
        f"paths.root_dir={ROOT}",
    ]
    fit = [
        "ganlab.anomaly",
        "fit",
        *MODEL,
        *common,
        f"max_kimg={kimg}",
        "trainer.max_epochs=-1",
        "trainer.enable_progress_bar=false",
        f"hydra.run.dir={ROOT}/run",
    ]
    score = [
        "ganlab.anomaly",
        "score",
        *common,
        f"ckpt={ROOT}/run/checkpoints/last.ckpt",
        "score.methods=[discriminator,inversion,encoder,knn]",
        "score.combine=[discriminator,encoder]",
        f"hydra.run.dir={ROOT}/score",
    ]
    return [fit, score]


def auroc_json(root: Path) -> dict[str, Any]:
    """What the score stage measured (its auroc.json)."""
    return {"score": json.loads((root / "score" / "auroc.json").read_text())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", default="0,1,2,3,4,5,6,7,8,9", help="held-out digits")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kimg", type=float, default=30.0)
    parser.add_argument("--steps", type=int, default=100, help="inversion Adam steps")
    parser.add_argument("--restarts", type=int, default=2, help="inversion restarts")
    table_options(parser, "anomaly")
    args = parser.parse_args()
    digits = [int(d) for d in args.digits.split(",")]
    assert all(0 <= d <= 9 for d in digits), "--digits lists digits 0..9"

    start = time.time()
    runs = []
    for digit in digits:
        argvs = commands(digit, args.seed, args.kimg, args.steps, args.restarts)

        def compute(argvs: list[list[str]] = argvs, digit: int = digit) -> dict[str, Any]:
            final, cpu = run_modules(argvs, f"held-out digit {digit}", inspect=auroc_json)
            result = final["score"]
            return {
                "auroc": result["auroc"],
                "cpu_seconds": result["cpu_seconds"],
                "n_images": result["n_images"],
                "n_anomalous": result["n_anomalous"],
                "cpu_minutes": cpu,
            }

        record = cached(args.cache, f"digit{digit}-s{args.seed}", argvs, compute)
        runs.append({"digit": digit, **record})
        scores = ", ".join(f"{m} {record['auroc'][m]:.3f}" for m in METHODS)
        print(f"held-out {digit}: {scores} ({record['cpu_minutes']:.1f} CPU min)", flush=True)

    header = " | ".join(str(r["digit"]) for r in runs)
    lines = [
        f"| AUROC, held-out digit ({args.kimg:g} kimg, seed {args.seed}) | {header} | mean |",
        "|---" * (len(runs) + 2) + "|",
    ]
    for method in METHODS:
        values = [r["auroc"][method] for r in runs]
        cells = " | ".join(f"{v:.3f}" for v in values)
        lines.append(f"| {LABELS[method]} | {cells} | {mean_se(values, digits=3)} |")
    cpu = " | ".join(f"{r['cpu_minutes']:.1f}" for r in runs)
    mean_cpu = statistics.fmean(r["cpu_minutes"] for r in runs)
    lines.append(f"| CPU minutes (fit + score) | {cpu} | {mean_cpu:.1f} |")
    result = "\n".join([*lines, "", commits_line(runs)])
    print(f"\n{result}\n\n{len(runs)} digits in {(time.time() - start) / 60:.1f} min wall")
    if args.out:
        args.out.write_text(result + "\n")


if __name__ == "__main__":
    main()
