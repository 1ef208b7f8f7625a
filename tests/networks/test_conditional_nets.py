"""Class conditioning, auxiliary heads and InfoGAN codes of the networks."""

from __future__ import annotations

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
)
from ganlab.networks.base import ConditionalBatchNorm
from ganlab.sampling import draw_latents

LABELS_A, LABELS_B = torch.tensor([0, 1, 2, 3]), torch.tensor([3, 2, 1, 0])

GENERATORS = {
    "mlp-concat": lambda: MLPGenerator(8, (1, 8, 8), hidden=(32,), num_classes=4),
    "mlp-batchnorm": lambda: MLPGenerator(
        8, (2,), hidden=(32,), num_classes=4, conditioning="batchnorm"
    ),
    "dcgan-concat": lambda: DCGANGenerator(8, (1, 28, 28), 8, num_classes=4),
    "dcgan-batchnorm": lambda: DCGANGenerator(
        8, (1, 28, 28), 8, num_classes=4, conditioning="batchnorm"
    ),
    "resnet-batchnorm": lambda: ResNetGenerator(8, (3, 16, 16), 8, num_classes=4),
    "resnet-concat": lambda: ResNetGenerator(
        8, (3, 16, 16), 8, num_classes=4, conditioning="concat"
    ),
}


def _randomize_class_parameters(net: nn.Module) -> None:
    """Conditional BatchNorm starts class-blind (gain 1, bias 0): make the classes differ."""
    for module in net.modules():
        if isinstance(module, ConditionalBatchNorm):
            nn.init.normal_(module.gain.weight, 1.0, 0.5)
            nn.init.normal_(module.bias.weight, 0.0, 0.5)


@pytest.mark.parametrize("name", GENERATORS)
def test_conditional_generators_depend_on_the_label(name: str) -> None:
    torch.manual_seed(0)
    g = GENERATORS[name]()
    _randomize_class_parameters(g)
    z = torch.randn(4, g.latent_dim)
    a, b = g(z, LABELS_A), g(z, LABELS_B)
    assert a.shape == (4, *g.shape)
    assert not torch.allclose(a, b)
    # the same label gives the same sample (in train mode, BatchNorm sees the same batch)
    assert torch.equal(g(z, LABELS_A), a)
    with pytest.raises(AssertionError, match="class-conditional"):
        g(z)


def test_conditional_batchnorm_starts_as_batchnorm() -> None:
    x = torch.randn(6, 4, 3, 3)
    plain = nn.BatchNorm2d(4, affine=False)
    conditional = ConditionalBatchNorm(4, num_classes=3)
    assert torch.allclose(conditional(x, torch.tensor([0, 1, 2, 0, 1, 2])), plain(x))
    vectors = ConditionalBatchNorm(4, num_classes=3, dims=1)
    assert vectors(torch.randn(5, 4), torch.zeros(5, dtype=torch.long)).shape == (5, 4)


DISCRIMINATORS = {
    "mlp": lambda **kw: MLPDiscriminator((1, 8, 8), hidden=(16,), **kw),
    "dcgan": lambda **kw: DCGANDiscriminator((1, 28, 28), 8, **kw),
    "dcgan-stddev": lambda **kw: DCGANDiscriminator((1, 28, 28), 8, minibatch="stddev", **kw),
    "resnet": lambda **kw: ResNetDiscriminator((3, 16, 16), 8, **kw),
}


def _input(d: nn.Module) -> torch.Tensor:
    return torch.randn(4, *d.shape)


@pytest.mark.parametrize("name", DISCRIMINATORS)
@pytest.mark.parametrize("conditioning", ["concat", "projection"])
def test_conditional_discriminators_depend_on_the_label(name: str, conditioning: str) -> None:
    torch.manual_seed(0)
    d = DISCRIMINATORS[name](num_classes=4, conditioning=conditioning).eval()
    x = _input(d)
    a, b = d(x, LABELS_A), d(x, LABELS_B)
    assert a.shape == (4,) and not torch.allclose(a, b)
    with pytest.raises(AssertionError, match="class-conditional"):
        d(x)


@pytest.mark.parametrize("name", DISCRIMINATORS)
def test_projection_adds_the_inner_product_of_embedding_and_features(name: str) -> None:
    torch.manual_seed(0)
    d = DISCRIMINATORS[name](num_classes=4, conditioning="projection").eval()
    x = _input(d)
    trunk = d.net[:-1](x.flatten(1) if d.flatten_input else x)
    expected = d.net[-1](trunk).flatten() + (d.projection(LABELS_A) * trunk.flatten(1)).sum(1)
    assert torch.allclose(d(x, LABELS_A), expected, atol=1e-5)


@pytest.mark.parametrize("name", DISCRIMINATORS)
def test_auxiliary_head_reads_the_same_features(name: str) -> None:
    torch.manual_seed(0)
    d = DISCRIMINATORS[name](aux_outputs=5, aux_hidden=7).eval()
    x = _input(d)
    logits, aux = d(x, aux=True)
    assert torch.equal(logits, d(x)) and aux.shape == (4, 5)
    trunk = d.net[:-1](x.flatten(1) if d.flatten_input else x)
    assert torch.allclose(aux, d.aux_head(trunk.flatten(1)))
    plain = DISCRIMINATORS[name]()
    with pytest.raises(AssertionError, match="no auxiliary head"):
        plain(x, aux=True)


def test_unconditional_discriminator_refuses_labels_and_acgan_style_d_is_unconditional() -> None:
    d = MLPDiscriminator((2,), hidden=(8,), num_classes=4, conditioning="none", aux_outputs=4)
    assert d.num_classes == 0
    with pytest.raises(AssertionError, match="unconditional"):
        d(torch.randn(4, 2), LABELS_A)


def test_spectral_norm_covers_the_projection_embedding() -> None:
    d = DCGANDiscriminator(
        (1, 28, 28), 8, spectral_norm=True, num_classes=4, conditioning="projection"
    )
    assert parametrize.is_parametrized(d.projection, "weight")


def test_latent_codes_are_drawn_from_their_prior_and_round_trip() -> None:
    g = MLPGenerator(5, (2,), hidden=(8,), codes=[10, "uniform", 3])
    assert g.latent_dim == 5 + 10 + 1 + 3 and g.code_names == ["c1", "c2", "c3"]
    latent = draw_latents(g, 2000, seed=0)
    noise, (digit, value, three) = g.split_latent(latent)
    assert noise.shape == (2000, 5)
    assert set(digit.tolist()) == set(range(10)) and set(three.tolist()) == {0, 1, 2}
    assert value.min() >= -1 and value.max() <= 1 and value.std() > 0.5  # uniform on [-1, 1]
    assert torch.equal(g.join_latent(noise, [digit, value, three]), latent)
    assert g(latent).shape == (2000, 2)


@pytest.mark.parametrize(
    "make",
    [
        lambda noise: MLPGenerator(6, (2,), hidden=(8,), noise=noise),
        lambda noise: DCGANGenerator(6, (1, 28, 28), 8, noise=noise),
        lambda noise: ResNetGenerator(6, (3, 16, 16), 8, noise=noise),
    ],
)
def test_noise_prior_is_normal_or_uniform(make) -> None:  # type: ignore[no-untyped-def]
    rng = torch.Generator().manual_seed(0)
    normal, uniform = (
        draw_latents(make("normal"), 4000, rng),
        draw_latents(make("uniform"), 4000, rng),
    )
    assert normal.abs().max() > 2.5 and abs(normal.std().item() - 1) < 0.05
    assert uniform.abs().max() <= 1 and abs(uniform.var().item() - 1 / 3) < 0.02  # U[-1, 1]
    with pytest.raises(AssertionError, match=r"model\.generator\.noise"):
        make("gaussian")
