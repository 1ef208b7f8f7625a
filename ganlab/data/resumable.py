"""Training loaders that resume mid-epoch exactly.

A run stopped inside an epoch (preemption, ``max_kimg``) must continue with the very batches
the uninterrupted run would have drawn. Two things make that possible:

* Every random choice of the loader comes from its own ``torch.Generator``, re-seeded from
  ``(seed, epoch)`` at the start of each epoch: the shuffle order (:class:`EpochSampler`) and
  the seeds of worker processes. A dataset whose items draw random numbers (crops, flips, a
  partner image: :class:`RandomItems`) draws each item's from a generator seeded with
  ``(seed, epoch, index)`` (:class:`SeededItems`), so an item is the same in any worker
  process, persistent or not, and after a resume that skipped the items before it. The
  global RNG, which the model uses for latents and noise, is never touched, so the model's
  stream does not depend on where epochs begin.
* :class:`ResumableLoader` has ``state_dict`` / ``load_state_dict``, which Lightning stores in
  the checkpoint (``loops.fit_loop.state_dict.combined_loader``) and restores on resume: the
  epoch, the batches already served, and the seed. The first iteration after a resume starts
  at that batch.

Under DDP each process gets its own ``1/world`` of every epoch (``EpochSampler`` is a
``DistributedSampler``, so Lightning leaves it in place).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol, runtime_checkable

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, IterableDataset

from ganlab.rng import mix_seed

__all__ = ["EpochSampler", "RandomItems", "ResumableLoader", "SeededItems", "SkippableStream"]


@runtime_checkable
class RandomItems(Protocol):
    """A map-style dataset whose items draw random numbers, all from ``generator``."""

    def item(self, index: int, generator: torch.Generator) -> Any: ...

    def __len__(self) -> int: ...


class SeededItems(Dataset[Any]):
    """A :class:`RandomItems` dataset served at keys ``(index, seed)`` (what an
    :class:`EpochSampler` with ``item_seeds`` yields): item ``index`` drawn from a generator
    seeded with ``seed``.

    >>> class Noisy:
    ...     def item(self, index, generator):
    ...         return index + float(torch.rand((), generator=generator))
    ...     def __len__(self):
    ...         return 3
    >>> items = SeededItems(Noisy())
    >>> items[(1, 7)] == items[(1, 7)] != items[(1, 8)]
    True
    """

    def __init__(self, dataset: RandomItems) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]) -> Any:
        index, seed = key
        return self.dataset.item(index, torch.Generator().manual_seed(seed))


class EpochSampler(DistributedSampler[int]):
    """This process's share of a shuffled epoch: a permutation of ``(seed, epoch)``.

    ``first_index`` (set by :class:`ResumableLoader`) makes the next iteration skip that many
    indices of the share, once. With ``item_seeds`` it yields ``(index, seed)`` keys for
    :class:`SeededItems`, the seed mixed from ``(seed, epoch, index)``.
    """

    def __init__(
        self,
        dataset: Dataset[Any],
        seed: int,
        num_replicas: int = 1,
        rank: int = 0,
        item_seeds: bool = False,  # yield (index, seed of its draws) instead of indices
    ) -> None:
        # drop_last: every process gets floor(n / world) distinct samples, none repeated
        super().__init__(
            dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=True
        )
        self.first_index = 0
        self.item_seeds = item_seeds

    def __iter__(self) -> Iterator[Any]:
        start, self.first_index = self.first_index, 0
        indices = list(super().__iter__())[start:]
        if self.item_seeds:
            return iter([(i, mix_seed(self.seed, self.epoch, i)) for i in indices])
        return iter(indices)


class SkippableStream(IterableDataset[Any]):
    """An iterable dataset of whole batches that can begin at batch ``first_batch`` (once)."""

    first_batch: int = 0

    def set_epoch(self, epoch: int) -> None:
        raise NotImplementedError


class ResumableLoader(DataLoader[Any]):
    """A DataLoader whose position in the epoch is part of the checkpoint.

    ``epoch_fn`` gives the trainer's current epoch when an iteration starts. The dataset is
    either map-style, served through ``sampler`` (an :class:`EpochSampler`), or a
    :class:`SkippableStream` that yields whole batches.
    """

    def __init__(
        self,
        dataset: Dataset[Any],
        seed: int,  # shuffle order and worker seeds follow (seed, epoch)
        epoch_fn: Callable[[], int],
        **kwargs: Any,
    ) -> None:
        assert isinstance(dataset, SkippableStream) or isinstance(
            kwargs.get("sampler"), EpochSampler
        ), "ResumableLoader needs a SkippableStream or a map-style dataset with an EpochSampler"
        super().__init__(dataset, generator=torch.Generator(), **kwargs)
        self.seed = int(seed)
        self.epoch_fn = epoch_fn
        self._epoch = 0
        self._served = 0  # batches of the current epoch handed out so far
        self._resume: dict[str, int] | None = None

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        # A generator: nothing runs until the first batch is requested, by which time the
        # trainer has set the epoch (Lightning creates the iterator earlier, at setup).
        epoch = int(self.epoch_fn())
        start = 0
        if self._resume is not None and self._resume["epoch"] == epoch:
            start = self._resume["batches"]
        self._resume = None
        if start >= len(self):
            start = 0
        self._epoch, self._served = epoch, start
        assert self.generator is not None
        self.generator.manual_seed(mix_seed(self.seed, epoch))
        if isinstance(self.dataset, SkippableStream):
            self.dataset.set_epoch(epoch)
            self.dataset.first_batch = start
        else:
            assert isinstance(self.sampler, EpochSampler)
            self.sampler.set_epoch(epoch)
            self.sampler.first_index = start * int(self.batch_size or 1)
        for batch in super().__iter__():
            self._served += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self._epoch, "batches": self._served, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.seed = int(state["seed"])
        if isinstance(self.sampler, EpochSampler):
            self.sampler.seed = self.seed
        self._resume = {"epoch": int(state["epoch"]), "batches": int(state["batches"])}
