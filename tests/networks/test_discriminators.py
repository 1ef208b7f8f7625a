"""The options every discriminator shares: norm, spectral_norm, minibatch, packed inputs."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from ganlab.networks import (
    DCGANDiscriminator,
    MLPDiscriminator,
    ResNetDiscriminator,
    pack,
    packed_shape,
)

SHAPE = (3, 16, 16)  # small enough for every network; ResNets start at 16 px
MINIBATCH = ("none", "stddev", "discrimination")

# name -> (factory of a tiny D for a sample shape, the norms it supports)
DISCRIMINATORS: dict[str, tuple[Callable[..., nn.Module], tuple[str, ...]]] = {
    "mlp": (lambda shape, **kw: MLPDiscriminator(shape, hidden=(16, 8), **kw), ("none", "layer")),
    "dcgan": (
        lambda shape, **kw: DCGANDiscriminator(shape, base_channels=4, **kw),
        ("batch", "instance", "layer", "none"),
    ),
    "resnet": (
        lambda shape, **kw: ResNetDiscriminator(shape, channels=8, **kw),
        ("none", "batch", "instance", "layer"),
    ),
}

COMBINATIONS = [
    (name, norm, sn, minibatch)
    for name, (_, norms) in DISCRIMINATORS.items()
    for norm, sn, minibatch in itertools.product(norms, (False, True), MINIBATCH)
]


def make(name: str, shape: tuple[int, ...] = SHAPE, **kwargs: Any) -> nn.Module:
    torch.manual_seed(0)
    return DISCRIMINATORS[name][0](shape, **kwargs)


@pytest.mark.parametrize(("name", "norm", "sn", "minibatch"), COMBINATIONS)
def test_every_option_combination(name: str, norm: str, sn: bool, minibatch: str) -> None:
    d = make(name, norm=norm, spectral_norm=sn, minibatch=minibatch)
    assert d.shape == SHAPE
    x = torch.randn(4, *SHAPE, requires_grad=True)
    out = d(x)
    assert out.shape == (4,)
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for param_name, param in d.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), param_name
    assert any(parametrize.is_parametrized(m) for m in d.modules()) == sn


@pytest.mark.parametrize("name", DISCRIMINATORS)
def test_spectral_norm_bounds_every_layer(name: str) -> None:
    d = make(name, spectral_norm=True, minibatch="discrimination")
    for _ in range(10):  # one power iteration per forward pass in train mode
        d(torch.randn(4, *SHAPE))
    d.eval()
    layers = [m for m in d.modules() if isinstance(m, nn.Linear | nn.Conv2d)]
    assert layers and all(parametrize.is_parametrized(m, "weight") for m in layers)
    for layer in layers:
        with torch.no_grad():
            sigma = torch.linalg.matrix_norm(layer.weight.flatten(1), ord=2).item()
        assert abs(sigma - 1) < 0.05, f"{layer}: largest singular value {sigma}"


@pytest.mark.parametrize("minibatch", MINIBATCH)
@pytest.mark.parametrize("name", DISCRIMINATORS)
def test_minibatch_layers_let_samples_interact(name: str, minibatch: str) -> None:
    d = make(name, minibatch=minibatch).eval()  # eval: batch norm uses its running statistics
    x = torch.randn(4, *SHAPE)
    y = x.clone()
    y[1] = torch.randn(SHAPE)  # same group of 4 as sample 0 for "stddev"
    with torch.no_grad():
        out_x, out_y = d(x), d(y)
    if minibatch == "none":
        torch.testing.assert_close(out_x[0], out_y[0], atol=1e-6, rtol=0)
    else:
        assert (out_x[0] - out_y[0]).abs() > 1e-6, "sample 0 should see sample 1"


def test_stddev_group_size_is_passed_through() -> None:
    d = make("mlp", minibatch="stddev", minibatch_group=2).eval()
    x = torch.randn(4, *SHAPE)
    y = x.clone()
    y[1] = torch.randn(SHAPE)  # groups of 2 over 4 samples: (0, 2) and (1, 3)
    with torch.no_grad():
        out_x, out_y = d(x), d(y)
    torch.testing.assert_close(out_x[[0, 2]], out_y[[0, 2]])
    assert not torch.allclose(out_x[3], out_y[3])
    with pytest.raises(AssertionError, match="multiple of its group size 2"):
        d(torch.randn(3, *SHAPE))


@pytest.mark.parametrize("name", DISCRIMINATORS)
def test_packed_inputs(name: str) -> None:
    d = make(name, shape=packed_shape(SHAPE, 2))
    assert d(pack(torch.randn(6, *SHAPE), 2)).shape == (3,)


def test_default_state_dicts_keep_their_layout() -> None:
    """Checkpoints saved before the options existed must still load."""
    mlp = MLPDiscriminator((2,), hidden=(8,))
    assert list(mlp.state_dict()) == ["net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias"]
    dcgan = DCGANDiscriminator((1, 16, 16), base_channels=4)
    assert list(dcgan.state_dict()) == [
        "net.0.weight",
        "net.0.bias",
        "net.2.weight",
        "net.3.weight",
        "net.3.bias",
        "net.3.running_mean",
        "net.3.running_var",
        "net.3.num_batches_tracked",
        "net.5.weight",
        "net.5.bias",
    ]


def test_bad_options_fail_clearly() -> None:
    with pytest.raises(AssertionError, match="MLP norm must be one of"):
        MLPDiscriminator((2,), norm="batch")
    with pytest.raises(AssertionError, match="minibatch must be one of"):
        DCGANDiscriminator((1, 16, 16), minibatch="std")
    with pytest.raises(AssertionError, match="norm must be one of"):
        ResNetDiscriminator((1, 16, 16), norm="group")


@pytest.mark.parametrize("name", sorted(DISCRIMINATORS))
def test_an_unknown_shared_option_is_refused_as_python_would(name: str) -> None:
    make, _ = DISCRIMINATORS[name]
    with pytest.raises(TypeError, match="unexpected keyword argument 'conditoning'"):
        make(SHAPE, conditoning="projection")
