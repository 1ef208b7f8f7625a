"""The digit classifier the learning tests judge generated digits with."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ganlab.data import MNIST5k
from ganlab.metrics.classifier import load_or_train_digit_classifier


@pytest.fixture(scope="session")
def digit_classifier(tmp_path_factory: pytest.TempPathFactory) -> torch.nn.Module:
    """A small CNN trained once per session on mnist5k at 28 px (cached in the pytest cache)."""
    datamodule = MNIST5k(shape=(1, 28, 28), batch_size=64)
    datamodule.setup("fit")
    x, y = datamodule.tensors
    cache = Path(__file__).parents[2] / ".cache" / "digit_classifier_mnist5k_28px.pt"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return load_or_train_digit_classifier(cache, x, y, epochs=8, seed=0)
    finally:
        torch.set_num_threads(threads)
