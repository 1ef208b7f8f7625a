"""ganlab.sampling: a generator's inputs drawn from its prior, by seed, in batches, truncated."""

from __future__ import annotations

import subprocess
import sys

import torch
from torch import Tensor, nn

from ganlab.networks import MLPGenerator
from ganlab.sampling import Inputs, draw_batches, draw_inputs, draw_latents, generate


def test_conditional_generators_get_uniform_classes_unless_given() -> None:
    g = MLPGenerator(4, (2,), hidden=(8,), num_classes=3).eval()
    z, labels = draw_inputs(g, 3000, seed=0)
    assert z.shape == (3000, 4) and labels is not None
    assert torch.bincount(labels, minlength=3).min() > 900
    fixed = torch.tensor([2, 2, 0])
    with torch.no_grad():
        assert torch.equal(
            generate(g, draw_inputs(g, 3, seed=1, labels=fixed)),
            g(torch.randn(3, 4, generator=torch.Generator().manual_seed(1)), fixed),
        )
    unconditional = MLPGenerator(4, (2,), hidden=(8,))
    assert draw_inputs(unconditional, 5).labels is None


def same(a: Inputs, b: Inputs) -> bool:
    """Whether two batches of a conditional generator's inputs are identical."""
    assert a.labels is not None and b.labels is not None
    return torch.equal(a.latent, b.latent) and torch.equal(a.labels, b.labels)


def test_a_seed_is_a_fresh_generator_and_a_generator_continues_its_stream() -> None:
    g = MLPGenerator(3, (2,), hidden=(8,), num_classes=4, codes=[5, "uniform"])
    rng = torch.Generator().manual_seed(7)
    first, second = draw_inputs(g, 6, rng), draw_inputs(g, 6, rng)
    assert same(draw_inputs(g, 6, seed=7), first) and not same(first, second)
    rng = torch.Generator().manual_seed(7)
    expected = [draw_inputs(g, m, rng) for m in (4, 4, 2)]
    batches = list(draw_batches(g, 10, 4, seed=7))
    assert all(same(batch, want) for batch, want in zip(batches, expected, strict=True))
    (labelled,) = draw_batches(g, 3, 8, seed=0, label=2)
    assert labelled.labels is not None and labelled.labels.tolist() == [2, 2, 2]


def test_truncation_acts_on_the_noise_and_keeps_the_codes() -> None:
    normal = MLPGenerator(6, (2,), hidden=(8,), codes=[4])
    plain, truncated = draw_inputs(normal, 500, seed=0), draw_inputs(normal, 500, 0, psi=0.5)
    assert truncated.latent[:, :6].abs().max() <= 2 * 0.5 < plain.latent[:, :6].abs().max()
    assert torch.equal(truncated.latent[:, 6:], plain.latent[:, 6:])  # the code as drawn
    uniform = MLPGenerator(6, (2,), hidden=(8,), noise="uniform")
    half = draw_inputs(uniform, 50, seed=0, psi=0.5).latent
    assert torch.equal(half, 0.5 * draw_latents(uniform, 50, seed=0))


class AverageTracking(nn.Module):
    """A network that truncates towards its own average latent (StyleGAN's convention)."""

    latent_dim = 4
    w_avg: Tensor

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("w_avg", torch.full((4,), 3.0))

    def forward(self, z: Tensor, truncation_psi: float = 1.0) -> Tensor:
        return self.w_avg + truncation_psi * (z - self.w_avg)


def test_a_network_that_truncates_itself_gets_the_psi_and_plain_latents() -> None:
    network = AverageTracking()
    inputs = draw_inputs(network, 8, seed=0, psi=0.5)
    assert torch.equal(inputs.latent, draw_latents(network, 8, seed=0))
    assert torch.allclose(generate(network, inputs, psi=0.5), 3.0 + 0.5 * (inputs.latent - 3.0))
    assert torch.allclose(generate(network, Inputs(inputs.latent)), inputs.latent)


def test_sampling_does_not_import_lightning() -> None:
    code = "import sys, ganlab.sampling; print(any(m.startswith('lightning') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
