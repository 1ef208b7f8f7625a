"""SRGAN's networks: SRResNet draws an image `scale` times larger than its input, the VGG-style
discriminator gives one logit per image, both at the paper's sizes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganlab.networks import SRGANDiscriminator, SRResNet


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_the_paper_sizes() -> None:
    # Ledig et al. 2017, figure 4, x4 on 96 px crops: 16 blocks of 64 channels with batch norm,
    # per-channel PReLU (1.55 M, the size reported for SRResNet); D: 64..512 channels, dense
    # 1024 (23.6 M)
    assert count(SRResNet((3, 96, 96), (3, 24, 24))) == 1_548_547
    assert count(SRGANDiscriminator((3, 96, 96))) == 23_563_649


@pytest.mark.parametrize(("scale", "stages"), [(2, 1), (3, 1), (4, 2), (8, 3)])
def test_each_scale_upsamples_in_its_stages(scale: int, stages: int) -> None:
    g = SRResNet((1, 12 * scale, 6 * scale), (1, 12, 6), base_channels=8, n_blocks=1)
    assert g.scale == scale
    shuffles = [m for m in g.upsample if isinstance(m, torch.nn.PixelShuffle)]
    assert len(shuffles) == stages
    assert g(torch.randn(2, 1, 12, 6)).shape == (2, 1, 12 * scale, 6 * scale)


@pytest.mark.parametrize(
    ("shape", "source_shape", "message"),
    [
        ((3, 40, 40), (3, 8, 8), r"scale 5 is neither 3 nor a power of 2"),
        ((3, 32, 32), (1, 8, 8), r"need the same channels"),
        ((3, 32, 30), (3, 8, 8), r"both a whole multiple"),
    ],
)
def test_shapes_that_are_no_sr_pair_are_refused(shape, source_shape, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        SRResNet(shape, source_shape)


def test_the_upsampled_skip_makes_an_untrained_residual_bicubic() -> None:
    g = SRResNet((3, 16, 16), (3, 4, 4), base_channels=8, n_blocks=1, upsampled_skip=True)
    torch.nn.init.zeros_(g.tail.weight)
    torch.nn.init.zeros_(g.tail.bias)
    x = torch.rand(2, 3, 4, 4) * 2 - 1
    expected = F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)
    torch.testing.assert_close(g(x), expected)


def test_srresnet_fits_a_fixed_batch() -> None:
    """Gradients reach every layer: a few Adam steps bring a small SRResNet's MSE to a fixed
    batch of images well below the bicubic upsampling's (measured: 8e-6 with
    ATEN_CPU_CAPABILITY=default, 3e-4 with avx2, against 0.32)."""
    torch.manual_seed(0)
    hr = torch.rand(4, 1, 16, 16) * 2 - 1
    lr = F.interpolate(hr, scale_factor=0.25, mode="bicubic", antialias=True)
    bicubic = F.mse_loss(F.interpolate(lr, scale_factor=4, mode="bicubic"), hr).item()
    g = SRResNet((1, 16, 16), (1, 4, 4), base_channels=16, n_blocks=2, norm="none")
    opt = torch.optim.Adam(g.parameters(), lr=1e-3)
    for _ in range(300):
        loss = F.mse_loss(g(lr), hr)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * bicubic, (loss.item(), bicubic)


def test_the_discriminator_needs_sides_divisible_by_16() -> None:
    with pytest.raises(AssertionError, match=r"multiples of 16, got 24x24 \(the HR crop size\)"):
        SRGANDiscriminator((3, 24, 24))


def test_the_discriminator_takes_the_shared_options() -> None:
    d = SRGANDiscriminator(
        (1, 16, 16),
        base_channels=4,
        hidden=32,
        minibatch="stddev",
        num_classes=10,
        conditioning="projection",
        aux_outputs=3,
        spectral_norm=True,
    )
    logits, aux = d(torch.randn(4, 1, 16, 16), torch.arange(4), aux=True)
    assert logits.shape == (4,) and aux.shape == (4, 3)
