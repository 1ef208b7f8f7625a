"""Weight initialization schemes (``init=``) and the networks that take them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from ganlab.networks import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    ResNetDiscriminator,
    ResNetGenerator,
    apply_spectral_norm,
    initialize,
)


def weight_of(layer: nn.Module) -> torch.Tensor:
    """A layer's weight parameter: under spectral norm, the one before normalization."""
    source: Any = layer
    if parametrize.is_parametrized(layer, "weight"):
        return source.parametrizations.weight.original
    return source.weight


def test_dcgan_init_statistics() -> None:
    torch.manual_seed(0)
    conv, norm = nn.Conv2d(256, 256, 4), nn.BatchNorm2d(4096)
    initialize(nn.Sequential(conv, norm), "dcgan")
    assert conv.weight.std().item() == pytest.approx(0.02, rel=0.01)
    assert abs(conv.weight.mean().item()) < 1e-3
    assert conv.bias is not None and not conv.bias.any()
    assert norm.weight.mean().item() == pytest.approx(1.0, abs=2e-3)
    assert norm.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert not norm.bias.any()


def test_orthogonal_and_xavier_init() -> None:
    torch.manual_seed(0)
    linear = initialize(nn.Linear(64, 64), "orthogonal")
    assert isinstance(linear, nn.Linear)
    assert torch.allclose(linear.weight @ linear.weight.T, torch.eye(64), atol=1e-5)
    conv = initialize(nn.Conv2d(128, 128, 3), "xavier")
    assert isinstance(conv, nn.Conv2d)
    fan = 128 * 9
    assert conv.weight.std().item() == pytest.approx((2 / (fan + fan)) ** 0.5, rel=0.02)


def test_default_init_leaves_the_layers_as_built() -> None:
    torch.manual_seed(0)
    built = nn.Linear(8, 8)
    before = built.weight.detach().clone()
    initialize(built, "default")
    assert torch.equal(built.weight, before)
    with pytest.raises(AssertionError, match="init must be one of"):
        initialize(built, "kaiming")


def test_spectral_norm_layers_are_initialized_before_normalization() -> None:
    torch.manual_seed(0)
    layer = apply_spectral_norm(nn.Linear(64, 16))
    initialize(layer, "dcgan")
    assert weight_of(layer).std().item() == pytest.approx(0.02, rel=0.1)
    # the power iteration follows the new weight: the normalized weight has spectral norm 1
    normalized: Any = layer.weight
    assert torch.linalg.matrix_norm(normalized.detach(), ord=2).item() == pytest.approx(
        1.0, abs=0.02
    )


NETWORKS: dict[str, Callable[..., nn.Module]] = {
    "dcgan_g": lambda **kw: DCGANGenerator(8, (1, 16, 16), 64, **kw),
    "dcgan_d": lambda **kw: DCGANDiscriminator((1, 16, 16), 64, spectral_norm=True, **kw),
    "resnet_g": lambda **kw: ResNetGenerator(8, (3, 16, 16), 64, **kw),
    "resnet_d": lambda **kw: ResNetDiscriminator((3, 16, 16), 64, **kw),  # spectral norm
    "mlp_g": lambda **kw: MLPGenerator(8, (2,), hidden=(256, 256), batchnorm=True, **kw),
    "mlp_d": lambda **kw: MLPDiscriminator((2,), hidden=(256, 256), **kw),
}


@pytest.mark.parametrize("name", NETWORKS)
def test_every_network_takes_an_init_scheme(name: str) -> None:
    torch.manual_seed(0)
    net = NETWORKS[name](init="dcgan")
    weights = [
        weight_of(layer)
        for layer in net.modules()
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))
    ]
    largest = max(weights, key=lambda w: w.numel())
    assert largest.numel() >= 16_000
    assert largest.std().item() == pytest.approx(0.02, rel=0.05)
    gains = [weight_of(m) for m in net.modules() if isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d)]
    assert all(abs(g.mean().item() - 1.0) < 0.02 for g in gains)
