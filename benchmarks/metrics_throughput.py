"""FID throughput: ganlab's evaluator against torch-fidelity on the same Inception and images.

Both score ``--n`` generated images against ``--n`` real ones (32x32 RGB, uint8-exact) with the
FID Inception; ganlab streams generator batches through :class:`InceptionFeatures` into
torchmetrics' FID, torch-fidelity runs ``calculate_metrics(fid=True)`` on datasets of the same
images. Runs alternate ``--repeats`` times in one process; the table gives medians, the
ganlab/torch-fidelity ratio, and the growth of the process's peak memory with N (FID keeps
running sums only).

    python benchmarks/metrics_throughput.py [--n 256] [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Iterator

import torch
import torch_fidelity
from torch import Tensor
from torch.utils.data import Dataset

from ganlab.metrics import FID, Evaluator, InceptionFeatures
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
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
    memory = {"start": peak_mib()}
    for _ in range(args.repeats):
        for name, run in (("ganlab", ganlab_fid), ("torch-fidelity", fidelity_fid)):
            start = time.perf_counter()
            values[name] = run()
            times[name].append(time.perf_counter() - start)
    memory["end"] = peak_mib()

    images_scored = 2 * args.n
    print(f"FID of {args.n} vs {args.n} 32x32 images, Inception on CPU, {args.threads} threads")
    print("| implementation | FID | seconds (median) | images/s | ratio vs torch-fidelity |")
    print("|---|---|---|---|---|")
    base = statistics.median(times["torch-fidelity"])
    for name, ts in times.items():
        median = statistics.median(ts)
        print(
            f"| {name} | {values[name]:.4f} | {median:.1f} | {images_scored / median:.1f} "
            f"| {base / median:.2f} |"
        )
    print(f"peak memory {memory['start']:.0f} -> {memory['end']:.0f} MiB")


if __name__ == "__main__":
    main()
