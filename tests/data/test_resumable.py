"""Training loaders: the order follows (seed, epoch) only, and a loader resumes mid-epoch."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
import torch

from ganlab.data import Digits, GANDataModule, GridMixture
from ganlab.data.resumable import EpochSampler

Batches = list[tuple[torch.Tensor, torch.Tensor]]


def digits(seed: int = 0, workers: int = 0) -> GANDataModule:
    return Digits(batch_size=64, seed=seed, num_workers=workers)


def grid(seed: int = 0, workers: int = 0) -> GANDataModule:
    return GridMixture(batch_size=64, samples_per_epoch=64 * 10, seed=seed, num_workers=workers)


def epoch(make: Callable[..., GANDataModule], number: int, **kwargs: int) -> Batches:
    dm = make(**kwargs)
    dm.setup("fit")
    dm.set_epoch(number)
    return list(dm.train_dataloader())


def same(a: Batches, b: Batches) -> bool:
    return len(a) == len(b) and all(
        torch.equal(x1, x2) and torch.equal(y1, y2) for (x1, y1), (x2, y2) in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("make", [digits, grid], ids=["map-style", "stream"])
def test_order_depends_only_on_seed_and_epoch(make: Callable[..., GANDataModule]) -> None:
    reference = epoch(make, 1)
    assert same(reference, epoch(make, 1))
    assert same(reference, epoch(make, 1, workers=2))  # worker processes change nothing
    assert not same(reference, epoch(make, 2))
    assert not same(reference, epoch(make, 1, seed=1))
    torch.manual_seed(123)  # the global RNG (the model's) plays no part
    assert same(reference, epoch(make, 1))


@pytest.mark.parametrize("make", [digits, grid], ids=["map-style", "stream"])
@pytest.mark.parametrize("workers", [0, 2])
def test_loader_resumes_mid_epoch(make: Callable[..., GANDataModule], workers: int) -> None:
    dm = make(workers=workers)
    dm.setup("fit")
    dm.set_epoch(3)
    loader = dm.train_dataloader()
    iterator = iter(loader)
    head = [next(iterator) for _ in range(5)]
    state = loader.state_dict()
    assert state == {"epoch": 3, "batches": 5, "seed": 0}
    tail = list(iterator)

    fresh = make(workers=workers)
    fresh.setup("fit")
    fresh.set_epoch(3)
    resumed = fresh.train_dataloader()
    resumed.load_state_dict(state)
    assert same(list(resumed), tail)
    assert resumed.state_dict()["batches"] == len(head) + len(tail) == len(loader)
    assert len(list(resumed)) == len(loader)  # the next epoch is whole again


def test_processes_get_disjoint_shares_of_each_epoch() -> None:
    dataset = list(range(101))
    shares = [list(EpochSampler(dataset, seed=0, num_replicas=2, rank=r)) for r in (0, 1)]  # type: ignore[arg-type]
    assert len(shares[0]) == len(shares[1]) == 50
    assert not set(shares[0]) & set(shares[1])


def test_map_style_share_follows_the_trainer() -> None:
    dm = digits()
    dm.setup("fit")
    dm.trainer = SimpleNamespace(global_rank=1, world_size=2, current_epoch=0)  # type: ignore[assignment]
    loader = dm.train_dataloader()
    assert isinstance(loader.sampler, EpochSampler)
    assert (loader.sampler.rank, loader.sampler.num_replicas) == (1, 2)
    assert len(loader) == (1797 // 2) // 64
