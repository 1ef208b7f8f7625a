"""Fixtures of the learning tests: the digit classifier that judges generated digits, and the
seed and recorder that ``benchmarks/calibrate_learning.py`` drives.

A learning test trains at ``learning_seed`` (0 unless ``GANLAB_LEARNING_SEED`` says otherwise)
and hands its figures to ``record_learning`` *before* asserting, so a calibration run collects
them for every seed x CPU kernel set x thread count whether or not the thresholds hold. The
tables live in ``tests/learning/CALIBRATION.md`` (generated; see that script).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from ganlab.data import MNIST2Digits, MNIST5k
from ganlab.io import append_jsonl
from ganlab.metrics.classifier import load_or_train_digit_classifier


def cached_classifier(name: str, x: torch.Tensor, y: torch.Tensor) -> torch.nn.Module:
    """The small digit CNN trained once (one thread, seed 0) on ``(x, y)``, cached in the
    repository's ``.cache/<name>.pt``."""
    cache = Path(__file__).parents[2] / ".cache" / f"{name}.pt"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return load_or_train_digit_classifier(cache, x, y, epochs=8, seed=0)
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def digit_classifier() -> torch.nn.Module:
    """Trained on mnist5k at 28 px."""
    datamodule = MNIST5k(shape=(1, 28, 28), batch_size=64)
    datamodule.setup("fit")
    return cached_classifier("digit_classifier_mnist5k_28px", *datamodule.tensors)


@pytest.fixture(scope="session")
def framed_digits_classifier() -> torch.nn.Module:
    """Trained on the training images of mnist2digits' domain B, scikit-learn's 8x8 digits
    framed as MNIST (``data.digit_box=20``), at 28 px."""
    images, labels = MNIST2Digits(shape=(1, 28, 28)).domain("B", "train")
    return cached_classifier("digit_classifier_digits_box20_28px", images, labels)


@pytest.fixture
def learning_seed() -> int:
    """The training seed of a learning test: 0, or ``GANLAB_LEARNING_SEED`` when calibrating."""
    return int(os.environ.get("GANLAB_LEARNING_SEED", "0"))


@pytest.fixture
def record_learning(request: pytest.FixtureRequest, learning_seed: int) -> Callable[..., None]:
    """``record_learning(name=value, ...)``: the figures a learning test asserts on, appended as
    one JSON line to ``$GANLAB_LEARNING_RECORD`` (a no-op when unset)."""

    def record(**figures: float) -> None:
        target = os.environ.get("GANLAB_LEARNING_RECORD")
        if not target:
            return
        row = {
            "test": request.node.nodeid.split("::", 1)[1],
            "seed": learning_seed,
            "capability": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads(),
            "figures": {k: round(float(v), 4) for k, v in figures.items()},
        }
        append_jsonl(target, [row])

    return record
