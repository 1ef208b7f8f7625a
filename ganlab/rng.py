"""The global random-number generators' state, as plain tensors and numbers.

Checkpoints carry it (one entry per process) so a resumed run draws the same latents, noise
and augmentations as the uninterrupted run would have. Everything is stored as tensors, ints
and floats, so checkpoints still load with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

__all__ = ["capture", "gather", "mix_seed", "restore", "seeded"]

_MASK64 = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def mix_seed(*parts: int) -> int:
    """Hash integers into one well-mixed 63-bit seed (order-sensitive).

    >>> mix_seed(0, 1) == mix_seed(0, 1) != mix_seed(1, 0)
    True
    """
    h = 0x6A09E667F3BCC908
    for p in parts:
        h = _splitmix64(h ^ (int(p) & _MASK64))
    return h >> 1


def capture() -> dict[str, Any]:
    """The state of torch's CPU (and current CUDA device's) RNG, NumPy's and Python's.

    >>> state = capture(); a = torch.rand(2); restore(state); torch.equal(a, torch.rand(2))
    True
    """
    _, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, python_gauss = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
        "python": {
            "version": int(version),
            "internal": torch.tensor(internal, dtype=torch.int64),
            "gauss": python_gauss,
        },
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def restore(state: dict[str, Any]) -> None:
    """Set the generators to a state from :func:`capture`."""
    torch.set_rng_state(state["torch"])
    numpy = state["numpy"]
    keys = numpy["keys"].numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, numpy["pos"], numpy["has_gauss"], numpy["gauss"]))
    python = state["python"]
    random.setstate((python["version"], tuple(python["internal"].tolist()), python["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


@contextmanager
def seeded(seed: int | None, device: torch.device | str = "cpu") -> Iterator[None]:
    """torch's draws inside seeded with ``seed`` (on the CPU and on ``device`` if a GPU), the
    global random state as it was afterwards; ``None``: draws as usual, nothing put back.

    >>> with seeded(3): a = torch.rand(2)
    >>> before = torch.get_rng_state()
    >>> with seeded(3): b = torch.rand(2)
    >>> torch.equal(a, b), torch.equal(before, torch.get_rng_state())
    (True, True)
    """
    device = torch.device(device)
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        yield


def gather(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Every process's ``state``, in rank order (a one-element list without a process group).

    A collective: under DDP every process must call it.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return [state]
    states: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(states, {k: _to_cpu(v) for k, v in state.items()})
    return states


def _to_cpu(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    return value
