"""Pix2Pix's U-Net generator, CycleGAN's ResNet generator and the PatchGAN discriminator match
the papers and their official code."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganlab.networks.patchgan import PatchGANDiscriminator, receptive_field
from ganlab.networks.resnet_translator import ResNetTranslator
from ganlab.networks.unet import UNetGenerator


def parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_the_papers_networks_have_the_official_sizes() -> None:
    """junyanz/pytorch-CycleGAN-and-pix2pix prints "[Network G] Total number of parameters :
    54.414 M" for unet_256 and "[Network D] ... 2.769 M" for the basic 70x70 PatchGAN on
    facades (3 + 3 channels, ngf = ndf = 64, BatchNorm)."""
    g = UNetGenerator(shape=(3, 256, 256), source_shape=(3, 256, 256))
    d = PatchGANDiscriminator(shape=(6, 256, 256))
    assert round(parameters(g) / 1e6, 3) == 54.414
    assert round(parameters(d) / 1e6, 3) == 2.769
    assert d(torch.zeros(1, 6, 256, 256)).shape == (1, 30 * 30)  # the official 30x30 map


@pytest.mark.parametrize("n_layers", [0, 1, 2, 3])
def test_each_logit_sees_a_patch_of_the_receptive_field(n_layers: int) -> None:
    d = PatchGANDiscriminator(shape=(1, 96, 96), base_channels=4, n_layers=n_layers, norm="none")
    x = torch.zeros(1, 1, 96, 96, requires_grad=True)
    logits = d(x)
    side = int(logits.shape[1] ** 0.5)
    logits[0, (side // 2) * side + side // 2].backward()  # a logit away from the borders
    rows, cols = (x.grad[0, 0].abs() > 0).nonzero(as_tuple=True)
    seen = (int(rows.max() - rows.min()) + 1, int(cols.max() - cols.min()) + 1)
    assert seen == (receptive_field(n_layers),) * 2  # 1, 16, 34, 70 pixels


def test_unet_maps_each_image_alone_and_drops_out_only_at_depth() -> None:
    torch.manual_seed(0)
    g = UNetGenerator(shape=(1, 32, 32), source_shape=(1, 32, 32), base_channels=8, norm="none")
    x = torch.randn(2, 1, 32, 32, requires_grad=True)
    g(x)[0, 0, 5, 5].backward()
    assert x.grad[0, 0, 5, 5] != 0 and not x.grad[1].any()  # without BatchNorm: per image
    assert torch.equal(g.eval()(x), g(x))  # 5 levels: no dropout, so no noise at all
    big = UNetGenerator(shape=(3, 128, 128), source_shape=(1, 128, 128), base_channels=4)
    assert sum(isinstance(m, nn.Dropout) for m in big.modules()) == 2  # 7 levels: 7 - 5
    assert not hasattr(big, "latent_dim")  # driven by its input, not by latents


@pytest.mark.parametrize(
    ("shape", "source_shape", "message"),
    [
        ((1, 32, 32), (1, 16, 16), "same size"),
        ((1, 48, 48), (1, 48, 48), "power-of-two side"),
        ((1, 32, 16), (1, 32, 16), "must be square"),
    ],
)
def test_unet_refuses_sizes_it_cannot_map(
    shape: tuple[int, ...], source_shape: tuple[int, ...], message: str
) -> None:
    with pytest.raises(AssertionError, match=message):
        UNetGenerator(shape=shape, source_shape=source_shape)


def test_the_resnet_translator_has_the_official_size_and_keeps_the_image_size() -> None:
    """The official code prints "11.378 M" for resnet_9blocks (3 -> 3 channels, ngf 64,
    instance norm without affine parameters); ganlab's instance norm learns 2 per channel."""
    g = ResNetTranslator(shape=(3, 256, 256), source_shape=(3, 256, 256))
    norms = [m for m in g.modules() if isinstance(m, nn.InstanceNorm2d)]
    affine = sum(parameters(m) for m in norms)
    assert len(norms) == 1 + 2 + 2 * 9 + 2 and affine == 10_496
    assert round((parameters(g) - affine) / 1e6, 3) == 11.378
    small = ResNetTranslator(
        shape=(1, 28, 28), source_shape=(3, 28, 28), base_channels=4, n_blocks=1
    )
    assert small(torch.zeros(2, 3, 28, 28)).shape == (2, 1, 28, 28)
    with pytest.raises(AssertionError, match=r"multiples of 4, got \[30, 30\]"):
        ResNetTranslator(shape=(1, 30, 30), source_shape=(1, 30, 30))
