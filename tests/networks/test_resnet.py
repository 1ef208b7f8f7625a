"""SNGAN ResNet generator and discriminator."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from ganlab.networks import ResNetDiscriminator, ResNetGenerator


@pytest.mark.parametrize("resolution", [32, 64])
def test_generator_shapes_and_gradients(resolution: int) -> None:
    torch.manual_seed(0)
    g = ResNetGenerator(latent_dim=6, shape=(3, resolution, resolution), channels=8)
    assert g.latent_dim == 6 and g.shape == (3, resolution, resolution)
    z = torch.randn(2, 6, requires_grad=True)
    x = g(z)
    assert x.shape == (2, 3, resolution, resolution)
    assert x.abs().max() <= 1, "tanh output"
    x.sum().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
    assert all(p.grad is not None for p in g.parameters())


@pytest.mark.parametrize("resolution", [32, 64])
def test_discriminator_shapes_and_gradients(resolution: int) -> None:
    torch.manual_seed(0)
    d = ResNetDiscriminator(shape=(1, resolution, resolution), channels=8)
    assert d.shape == (1, resolution, resolution)
    x = torch.randn(3, 1, resolution, resolution, requires_grad=True)
    out = d(x)
    assert out.shape == (3,)
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in d.parameters())


@pytest.mark.parametrize(("resolution", "up_blocks", "down_blocks"), [(32, 3, 2), (64, 4, 3)])
def test_block_counts(resolution: int, up_blocks: int, down_blocks: int) -> None:
    shape = (3, resolution, resolution)
    g = ResNetGenerator(4, shape, channels=4)
    assert sum(isinstance(m, nn.Upsample) for m in g.modules()) == 2 * up_blocks
    d = ResNetDiscriminator(shape, channels=4)
    pools = [m for m in d.modules() if isinstance(m, nn.AvgPool2d)]
    assert len(pools) == 2 * down_blocks  # residual branch + shortcut of each down block
    features: list[torch.Tensor] = []
    d.net[-3].register_forward_hook(lambda module, args, out: features.append(out))
    d(torch.randn(2, *shape))
    assert features[0].shape == (2, 4, 8, 8), "D ends at 8x8 before the global sum pooling"


def test_sngan_defaults() -> None:
    g = ResNetGenerator(128, (3, 32, 32))
    d = ResNetDiscriminator((3, 32, 32))
    assert g.linear.out_features == 256 * 4 * 4
    assert d.net[0].residual[0].out_channels == 128
    assert all(
        parametrize.is_parametrized(m, "weight")
        for m in d.modules()
        if isinstance(m, nn.Linear | nn.Conv2d)
    ), "spectral norm is on by default in the ResNet D"
    assert not any(parametrize.is_parametrized(m) for m in g.modules())


def test_unsupported_shapes() -> None:
    with pytest.raises(AssertionError, match="28 px data"):
        ResNetGenerator(8, (1, 28, 28))
    with pytest.raises(AssertionError, match="use model/arch=dcgan"):
        ResNetDiscriminator((1, 28, 28))
    with pytest.raises(AssertionError, match="square image data"):
        ResNetDiscriminator((2,))
