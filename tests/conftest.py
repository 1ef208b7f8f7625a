"""Shared fixtures. Lightning and torch are slow to import: keep per-test work tiny."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from helpers import adam

from ganlab.models import GAN
from ganlab.networks import MLPDiscriminator, MLPGenerator

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
# 2 intra-op threads (this machine's cores); GANLAB_TEST_THREADS overrides it for calibration
torch.set_num_threads(int(os.environ.get("GANLAB_TEST_THREADS", "2")))


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
def one_thread() -> Iterator[None]:
    """One intra-op thread for the test (tiny tensors: a second thread only adds
    synchronisation, slow on a busy CPU); use with ``pytest.mark.usefixtures("one_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
