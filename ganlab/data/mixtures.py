"""2-D Gaussian mixtures (ring of 8, grid of 25): the classic mode-collapse benchmarks.

Samples are generated on the fly, a whole batch at a time (a 2-D GAN step is ~5 ms on a CPU, so
per-sample ``__getitem__`` + collate would dominate). An epoch is a fixed number of batches.

Determinism: batch ``i`` of an epoch is drawn from a ``torch.Generator`` seeded with a hash of
``(seed, epoch, rank, i)``. The stream therefore depends only on (seed, epoch, distributed rank)
- not on ``num_workers`` - and every DDP rank gets different samples. The epoch is read from
``trainer.current_epoch`` each time the loader is iterated (Lightning creates the train loader
once and iterates it once per epoch); without a trainer use :meth:`GaussianMixture.set_epoch`.

Samples are NOT rescaled to [-1, 1]: the mixtures live in their usual coordinates (the grid spans
[-4, 4]), and :attr:`GaussianMixture.means` / :attr:`GaussianMixture.std` are in the same space,
so the mode-coverage metric can use them directly.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, get_worker_info
from typing_extensions import Unpack

from ganlab.data.base import DataError, DataOptions, GANDataModule
from ganlab.data.resumable import ResumableLoader, SkippableStream
from ganlab.rng import mix_seed

# MixtureStream splits its batches over DataLoader workers itself, so its __len__ is exact.
warnings.filterwarnings("ignore", message=r"Your `IterableDataset` has `__len__` defined")

__all__ = ["GaussianMixture", "GridMixture", "MixtureStream", "RingMixture"]


class MixtureStream(SkippableStream):
    """Yields ``num_batches`` whole batches ``(x (B, D) float32, y (B,) int64)`` per iteration.

    Batch ``i`` only depends on ``(seed, epoch, rank, i)``; with DataLoader workers, worker ``w``
    of ``W`` produces batches ``s + w, s + w + W, ...`` (``s``: :attr:`first_batch`, non-zero
    in a resumed epoch), so the stream does not depend on ``W``.
    """

    def __init__(
        self,
        means: Tensor,
        std: float,
        batch_size: int,
        num_batches: int,
        seed: int = 0,
        rank: int = 0,
    ) -> None:
        super().__init__()
        self.means = means.detach().to(torch.float32).cpu()
        self.std = float(std)
        self.batch_size = int(batch_size)
        self.num_batches = int(num_batches)
        self.seed = int(seed)
        self.rank = int(rank)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.num_batches

    def batch(self, index: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """Batch ``index`` of the current (seed, epoch, rank) stream."""
        g = generator if generator is not None else torch.Generator()
        g.manual_seed(mix_seed(self.seed, self.epoch, self.rank, index))
        return sample_mixture(self.means, self.std, self.batch_size, g)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        info = get_worker_info()
        offset, step = (0, 1) if info is None else (info.id, info.num_workers)
        g = torch.Generator()
        for i in range(self.first_batch + offset, self.num_batches, step):
            yield self.batch(i, g)


def sample_mixture(
    means: Tensor, std: float, n: int, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """``n`` samples of the equal-weight isotropic mixture; returns (x (n, D), component (n,))."""
    y = torch.randint(means.shape[0], (n,), generator=generator, dtype=torch.int64)
    x = means[y] + std * torch.randn(n, means.shape[1], generator=generator)
    return x, y


class GaussianMixture(GANDataModule):
    """Equal-weight mixture of isotropic Gaussians with the given ``means``.

    Batches are ``(x, y)`` with ``x`` of shape ``(batch_size, D)`` and ``y`` the index of the
    component each sample was drawn from (so :attr:`num_classes` is the number of modes). The
    stream depends only on ``(seed, epoch, rank)``; ``num_workers`` stays 0 by default, the
    fastest, as generating a batch takes microseconds.
    """

    default_shape = (2,)
    default_batch_size = 512

    def __init__(
        self,
        means: Sequence[Sequence[float]],  # (K, D) component centres
        std: float,  # standard deviation of every component (isotropic)
        samples_per_epoch: int = 100_000,  # total over all DDP ranks; epoch = floor(.. / batch)
        **options: Unpack[DataOptions],
    ) -> None:
        super().__init__(**options)
        m = torch.as_tensor([list(map(float, row)) for row in means], dtype=torch.float32)
        if m.ndim != 2 or m.shape[0] < 1:
            raise DataError(
                f"GaussianMixture: means must be a non-empty (K, D) list; got {means!r}"
            )
        if self.shape != (m.shape[1],):
            raise DataError(
                f"GaussianMixture: data.shape={list(self.shape)} does not match the {m.shape[1]}-D "
                f"means; set data.shape=[{m.shape[1]}]"
            )
        if not (isinstance(std, (int, float)) and math.isfinite(std) and std > 0):
            raise DataError(f"GaussianMixture: std must be a positive number; got {std!r}")
        if int(samples_per_epoch) < self.batch_size:
            raise DataError(
                f"GaussianMixture: samples_per_epoch={samples_per_epoch} is smaller than "
                f"batch_size={self.batch_size}; an epoch would be empty. "
                f"Set data.samples_per_epoch>={self.batch_size}."
            )
        self._means = m
        self._std = float(std)
        self.samples_per_epoch = int(samples_per_epoch)

    # ----------------------------------------------------------------- contract
    @property
    def means(self) -> Tensor:
        """Component centres, ``(K, D)`` float32 (a copy)."""
        return self._means.clone()

    @property
    def std(self) -> float:
        return self._std

    @property
    def num_modes(self) -> int:
        return int(self._means.shape[0])

    @property
    def num_classes(self) -> int | None:
        return self.num_modes

    @property
    def num_samples(self) -> int:
        return self.samples_per_epoch

    # ----------------------------------------------------------------- epochs and ranks
    def num_batches(self) -> int:
        """Batches per epoch for each rank: floor(samples_per_epoch / (batch_size * world))."""
        _, world = self._rank_and_world()
        n = self.samples_per_epoch // (self.batch_size * world)
        if n < 1:
            raise DataError(
                f"GaussianMixture: samples_per_epoch={self.samples_per_epoch} gives no full batch "
                f"of {self.batch_size} for each of {world} processes; raise data.samples_per_epoch "
                f"to >= {self.batch_size * world}."
            )
        return n

    # ----------------------------------------------------------------- data
    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """``n`` fresh samples ``(x, component)`` (e.g. real data for plots and metrics)."""
        return sample_mixture(self._means, self._std, n, generator)

    def stream(self) -> MixtureStream:
        """The iterable dataset behind :meth:`train_dataloader` (for this rank)."""
        rank, _ = self._rank_and_world()
        ds = MixtureStream(
            self._means, self._std, self.batch_size, self.num_batches(), self.seed, rank
        )
        ds.set_epoch(self.current_epoch())
        return ds

    def setup(self, stage: str | None = None) -> None:
        self._check_num_classes()
        self.num_batches()  # fail early on an impossible epoch size

    def train_dataloader(self) -> DataLoader[Any]:
        return ResumableLoader(
            self.stream(),
            seed=self.seed,
            epoch_fn=self.current_epoch,
            batch_size=None,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=False,
        )


class RingMixture(GaussianMixture):
    """``num_modes`` Gaussians evenly spaced on a circle: mode k at radius * (cos, sin)(2 pi k/K).

    The defaults give the classic "ring8": 8 modes on the unit circle, std 0.01.
    """

    def __init__(
        self,
        num_modes: int = 8,
        radius: float = 1.0,
        std: float = 0.01,
        samples_per_epoch: int = 100_000,
        **options: Unpack[DataOptions],
    ) -> None:
        if int(num_modes) < 1:
            raise DataError(f"RingMixture: num_modes must be >= 1; got {num_modes!r}")
        angles = [2.0 * math.pi * k / int(num_modes) for k in range(int(num_modes))]
        means = [[radius * math.cos(a), radius * math.sin(a)] for a in angles]
        super().__init__(means, std, samples_per_epoch, **options)


class GridMixture(GaussianMixture):
    """``grid_size`` x ``grid_size`` Gaussians on a square grid centred at the origin.

    The defaults give the classic "grid25": modes at {-4, -2, 0, 2, 4}^2, std 0.05. Mode index is
    ``i * grid_size + j`` for x-coordinate index i and y-coordinate index j.
    """

    def __init__(
        self,
        grid_size: int = 5,
        spacing: float = 2.0,  # distance between neighbouring modes
        std: float = 0.05,
        samples_per_epoch: int = 100_000,
        **options: Unpack[DataOptions],
    ) -> None:
        if int(grid_size) < 1:
            raise DataError(f"GridMixture: grid_size must be >= 1; got {grid_size!r}")
        coords = [(i - (int(grid_size) - 1) / 2.0) * spacing for i in range(int(grid_size))]
        means = [[a, b] for a, b in itertools.product(coords, coords)]
        super().__init__(means, std, samples_per_epoch, **options)
