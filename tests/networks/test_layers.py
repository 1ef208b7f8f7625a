"""Minibatch layers, spectral norm, PacGAN packing and the norm factory."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from ganlab.networks import (
    MinibatchDiscrimination,
    MinibatchStdDev,
    apply_spectral_norm,
    minibatch_layer,
    pack,
    packed_shape,
)
from ganlab.networks.layers import norm2d


def spectral_norms(module: nn.Module) -> list[float]:
    """Largest singular value of every spectrally normalized weight, as the layer uses it."""
    values = []
    for layer in module.modules():
        if parametrize.is_parametrized(layer, "weight"):
            weight = layer.weight
            if isinstance(layer, nn.ConvTranspose1d | nn.ConvTranspose2d | nn.ConvTranspose3d):
                weight = weight.transpose(0, 1)  # output channels are dim 1
            with torch.no_grad():
                values.append(torch.linalg.matrix_norm(weight.flatten(1), ord=2).item())
    return values


# --- MinibatchStdDev -----------------------------------------------------------------------


def test_stddev_shapes() -> None:
    assert MinibatchStdDev()(torch.randn(8, 3, 4, 4)).shape == (8, 4, 4, 4)
    assert MinibatchStdDev(num_features=3)(torch.randn(8, 6, 4, 4)).shape == (8, 9, 4, 4)
    assert MinibatchStdDev()(torch.randn(8, 5)).shape == (8, 6)
    assert MinibatchStdDev(group_size=4)(torch.randn(2, 5)).shape == (2, 6)  # group = batch


def test_stddev_values_and_strided_groups() -> None:
    torch.manual_seed(0)
    x = torch.randn(6, 4, 3, 3)
    out = MinibatchStdDev(group_size=3, num_features=2)(x)
    assert torch.equal(out[:, :4], x), "the input channels pass through unchanged"
    for i in range(2):  # 6 samples, groups of 3: sample i is grouped with i + 2 and i + 4
        group = x[i::2]
        for f, chunk in enumerate((slice(0, 2), slice(2, 4))):
            expected = (group[:, chunk].var(dim=0, correction=0) + 1e-8).sqrt().mean()
            for member in (i, i + 2, i + 4):
                torch.testing.assert_close(out[member, 4 + f], expected.expand(3, 3))


def test_stddev_of_identical_samples_is_zero() -> None:
    out = MinibatchStdDev()(torch.ones(4, 2, 3, 3))
    assert out[:, 2].abs().max() < 1e-3


def test_stddev_indivisible_batch() -> None:
    with pytest.raises(AssertionError, match="multiple of its group size 4"):
        MinibatchStdDev(group_size=4)(torch.randn(6, 3, 2, 2))
    with pytest.raises(AssertionError, match="num_features"):
        MinibatchStdDev(num_features=2)(torch.randn(4, 3, 2, 2))


# --- MinibatchDiscrimination ---------------------------------------------------------------


def test_discrimination_matches_the_paper_formula() -> None:
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(6, num_kernels=4, kernel_dim=3)
    assert layer.out_features == 10
    x = torch.randn(5, 6)
    out = layer(x)
    assert out.shape == (5, 10)
    assert torch.equal(out[:, :6], x)
    m = (x @ layer.weight).view(5, 4, 3)
    for i in range(5):
        expected = sum(torch.exp(-(m[i] - m[j]).abs().sum(-1)) for j in range(5) if j != i)
        torch.testing.assert_close(out[i, 6:], expected)


def test_discrimination_gradients() -> None:
    layer = MinibatchDiscrimination(4, num_kernels=3)
    x = torch.randn(3, 4, requires_grad=True)
    layer(x).sum().backward()
    assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_discrimination_rejects_unflattened_input() -> None:
    with pytest.raises(AssertionError, match="flatten"):
        MinibatchDiscrimination(12)(torch.randn(2, 3, 2, 2))


# --- factory, norms ------------------------------------------------------------------------


def test_minibatch_layer_factory() -> None:
    assert minibatch_layer("none", 8) == (None, 0)
    layer, added = minibatch_layer("stddev", 8, group_size=2)
    assert isinstance(layer, MinibatchStdDev) and layer.group_size == 2 and added == 1
    layer, added = minibatch_layer("discrimination", 8, num_kernels=7)
    assert isinstance(layer, MinibatchDiscrimination) and layer.in_features == 8 and added == 7
    with pytest.raises(AssertionError, match="'none', 'stddev', 'discrimination'"):
        minibatch_layer("std", 8)


def test_norm2d_options() -> None:
    x = torch.randn(2, 4, 3, 3)
    for kind in ("batch", "instance", "layer", "none"):
        assert norm2d(kind, 4)(x).shape == x.shape
    with pytest.raises(AssertionError, match="norm must be one of"):
        norm2d("group", 4)


# --- spectral norm -------------------------------------------------------------------------


def test_apply_spectral_norm_normalizes_every_weight_layer() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 6, 3),
        nn.BatchNorm2d(6),
        nn.ConvTranspose2d(6, 4, 3),
        nn.Flatten(),
        nn.Linear(4 * 5 * 5, 2),
    )
    assert apply_spectral_norm(net) is net
    apply_spectral_norm(net)  # idempotent: no second parametrization
    assert [len(net[i].parametrizations.weight) for i in (0, 2, 4)] == [1, 1, 1]
    assert not parametrize.is_parametrized(net[1])
    for _ in range(5):  # power iterations run in train mode
        net(torch.randn(2, 3, 5, 5))
    net.eval()
    norms = spectral_norms(net)
    assert len(norms) == 3
    assert norms == pytest.approx([1.0] * 3, abs=0.05)


# --- PacGAN --------------------------------------------------------------------------------


def test_pack_shapes_and_order() -> None:
    x = torch.arange(6 * 2 * 3 * 3, dtype=torch.float).view(6, 2, 3, 3)
    packed = pack(x, 3)
    assert packed.shape == (2, 6, 3, 3)
    for k in range(2):
        for j in range(3):  # sample k*m + j lands in channels j*C ... (j+1)*C - 1 of sample k
            assert torch.equal(packed[k, 2 * j : 2 * j + 2], x[3 * k + j])
    vectors = torch.arange(8.0).view(4, 2)
    assert torch.equal(pack(vectors, 2), torch.tensor([[0.0, 1, 2, 3], [4, 5, 6, 7]]))
    assert pack(x, 1) is x


def test_pack_indivisible_batch() -> None:
    with pytest.raises(AssertionError, match="batch size must be a multiple of the pack size 4"):
        pack(torch.randn(6, 2), 4)


def test_packed_shape() -> None:
    assert packed_shape((3, 32, 32), 2) == (6, 32, 32)
    assert packed_shape([2], 3) == (6,)
    assert packed_shape((1, 8, 8), 1) == (1, 8, 8)
    assert pack(torch.randn(4, 1, 8, 8), 2).shape[1:] == packed_shape((1, 8, 8), 2)
