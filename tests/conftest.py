"""Shared fixtures. Lightning and torch are slow to import: keep per-test work tiny."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from helpers import adam

from ganlab.models import GAN
from ganlab.networks import MLPDiscriminator, MLPGenerator

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
# The machine's cores shared by pytest-xdist's workers (`make test` runs one per core: one
# intra-op thread each; a plain `pytest` gets 2); GANLAB_TEST_THREADS overrides it, as for the
# calibration. Subprocesses started by helpers.run_cli use the same number.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
_THREADS = max(1, (os.cpu_count() or 1) // _WORKERS) if _WORKERS else 2
torch.set_num_threads(int(os.environ.get("GANLAB_TEST_THREADS", _THREADS)))


@pytest.fixture
def tiny_gan() -> Callable[..., GAN]:
    """A 2-D MLP GAN built from objects (no config), for fast mechanics tests."""

    def make(gan_class: type[GAN] = GAN, **kwargs: Any) -> GAN:
        torch.manual_seed(0)
        kwargs.setdefault(
            "generator", MLPGenerator(4, (2,), hidden=(16,), batchnorm=True, output="linear")
        )
        kwargs.setdefault("discriminator", MLPDiscriminator((2,), hidden=(16,)))
        kwargs.setdefault("g_optimizer", adam())
        kwargs.setdefault("d_optimizer", adam())
        return gan_class(**kwargs)

    return make


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No network, deterministically (even on a machine that has one)."""

    def no_dns(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (blocked by test)")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One intra-op thread for the test (tiny tensors: a second thread only adds
    synchronisation, slow on a busy CPU); use with ``pytest.mark.usefixtures("one_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
