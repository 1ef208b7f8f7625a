"""Building blocks shared by the discriminators: minibatch layers, spectral norm, packing, norms.

Minibatch layers let D compare the samples of a batch, so a collapsed generator (every sample
alike) is easy to spot:

- :class:`MinibatchStdDev` (Karras et al. 2018, StyleGAN2): appends the mean standard deviation
  over a group of samples as extra channels.
- :class:`MinibatchDiscrimination` (Salimans et al. 2016, sec. 3.2): appends, per learned kernel,
  how close each sample is to the others.

:func:`pack` implements PacGAN (Lin et al. 2018): D judges ``m`` samples at once, concatenated
along the channel dimension, so it is built for :func:`packed_shape` instead of the sample shape.

>>> import torch
>>> MinibatchStdDev(group_size=4)(torch.randn(8, 3, 5, 5)).shape
torch.Size([8, 4, 5, 5])
>>> MinibatchDiscrimination(16, num_kernels=10)(torch.randn(8, 16)).shape
torch.Size([8, 26])
>>> pack(torch.randn(8, 3, 5, 5), 2).shape
torch.Size([4, 6, 5, 5])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from einops import rearrange, repeat
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

MINIBATCH_KINDS = ("none", "stddev", "discrimination")

_NORMS_2D: dict[str, Callable[[int], nn.Module]] = {
    "batch": nn.BatchNorm2d,
    "instance": lambda channels: nn.InstanceNorm2d(channels, affine=True),
    "layer": lambda channels: nn.GroupNorm(1, channels),  # normalizes over (C, H, W) per sample
    "none": lambda channels: nn.Identity(),
}


def check_source(source: Tensor, source_shape: tuple[int, ...]) -> None:
    """A translator's input must be images of its ``source_shape``."""
    assert tuple(source.shape[1:]) == source_shape, (
        f"expected input images of shape {list(source_shape)}, got {list(source.shape[1:])}"
    )


def norm2d(kind: str, channels: int) -> nn.Module:
    """A normalization layer for ``(B, channels, H, W)`` feature maps.

    "layer" is ``GroupNorm(1, C)``, with per-sample statistics over C, H and W. It and
    "instance" and "none" suit gradient penalties; "batch" mixes the samples of a batch.

    >>> [type(norm2d(kind, 8)).__name__ for kind in ("batch", "layer", "none")]
    ['BatchNorm2d', 'GroupNorm', 'Identity']
    """
    assert kind in _NORMS_2D, f"norm must be one of {sorted(_NORMS_2D)}, got {kind!r}"
    return _NORMS_2D[kind](channels)


class MinibatchStdDev(nn.Module):
    """Appends ``num_features`` channels with the mean std over groups of samples (StyleGAN2).

    The batch is split into ``G = min(group_size, B)`` interleaved slices: sample ``i`` is grouped
    with samples ``i + k * B/G`` (StyleGAN2's layout), so ``B`` must be a multiple of ``G``. The
    channels are split into ``num_features`` chunks; for each chunk, the std over the group is
    averaged over the chunk's channels and all positions, and broadcast as one constant channel
    to every sample of the group. Vector features ``(B, F)`` give ``(B, F + num_features)``.

    >>> import torch
    >>> x = torch.tensor([[0.0], [1.0], [2.0], [5.0]])  # groups of 2: samples (0, 2) and (1, 3)
    >>> MinibatchStdDev(group_size=2)(x)[:, 1]
    tensor([1., 2., 1., 2.])
    """

    def __init__(
        self,
        group_size: int = 4,  # samples per group; smaller batches use one group of the whole batch
        num_features: int = 1,  # channels appended; the input channels must be a multiple
        eps: float = 1e-8,  # added to the variance before the square root
    ) -> None:
        super().__init__()
        assert group_size >= 1, f"group_size must be positive, got {group_size}"
        assert num_features >= 1, f"num_features must be positive, got {num_features}"
        self.group_size = group_size
        self.num_features = num_features
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        assert x.dim() in (2, 4), f"expected (B, F) or (B, C, H, W) input, got {tuple(x.shape)}"
        maps = x[:, :, None, None] if x.dim() == 2 else x
        batch, channels, height, width = maps.shape
        group = min(self.group_size, batch)
        assert batch % group == 0, (
            f"MinibatchStdDev needs a batch size that is a multiple of its group size {group}, "
            f"got {batch}: change the batch size or minibatch_group"
        )
        assert channels % self.num_features == 0, (
            f"{channels} channels cannot be split into num_features={self.num_features} chunks"
        )
        y = rearrange(maps, "(g n) (f c) h w -> g n f c h w", g=group, f=self.num_features)
        std = torch.sqrt(y.float().var(dim=0, correction=0) + self.eps)  # (n, f, c, h, w)
        stat = repeat(std.mean(dim=(2, 3, 4)), "n f -> (g n) f h w", g=group, h=height, w=width)
        out = torch.cat([maps, stat.to(maps.dtype)], dim=1)
        return out.flatten(1) if x.dim() == 2 else out

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}, num_features={self.num_features}"


class MinibatchDiscrimination(nn.Module):
    """Appends how close each sample is to the rest of the batch (Salimans et al. 2016, 3.2).

    Features ``x`` of shape ``(B, in_features)`` are projected by a learned tensor ``T`` to
    ``M`` of shape ``(B, num_kernels, kernel_dim)``; with ``c_k(i, j) = exp(-|M_i,k - M_j,k|_1)``
    the output is ``cat([x, o])`` with ``o_k(i) = sum_{j != i} c_k(i, j)``. The sample itself is
    excluded (its term, ``exp(0) = 1``, is subtracted), so a batch of one gets ``o = 0``.

    >>> import torch
    >>> layer = MinibatchDiscrimination(3, num_kernels=2)
    >>> layer(torch.ones(1, 3))  # a lone sample has no neighbours
    tensor([[1., 1., 1., 0., 0.]], grad_fn=<CatBackward0>)
    >>> layer(torch.ones(2, 3))[:, 3:]  # identical samples: one neighbour at distance 0 each
    tensor([[1., 1.],
            [1., 1.]], grad_fn=<SliceBackward0>)
    """

    def __init__(
        self,
        in_features: int,
        num_kernels: int = 50,  # B in the paper: similarity features appended
        kernel_dim: int = 5,  # C in the paper: dimension each kernel measures L1 distances in
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.num_kernels = num_kernels
        self.kernel_dim = kernel_dim
        self.out_features = in_features + num_kernels
        # The paper's tensor T, flattened to (A, B*C). The init scale makes the initial L1
        # distances O(1) for unit-scale features, so exp(-distance) neither vanishes nor saturates.
        self.weight = nn.Parameter(torch.empty(in_features, num_kernels * kernel_dim))
        nn.init.normal_(self.weight, std=1 / (kernel_dim * math.sqrt(in_features)))

    def forward(self, x: Tensor) -> Tensor:
        assert x.dim() == 2 and x.shape[1] == self.in_features, (
            f"MinibatchDiscrimination expects (B, {self.in_features}) features, got "
            f"{tuple(x.shape)}: flatten the input first"
        )
        m = rearrange(x @ self.weight, "b (k d) -> k b d", k=self.num_kernels)
        closeness = torch.exp(-torch.cdist(m, m, p=1)).sum(dim=2) - 1  # (k, b), self excluded
        return torch.cat([x, closeness.T], dim=1)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, num_kernels={self.num_kernels}, "
            f"kernel_dim={self.kernel_dim}"
        )


def minibatch_layer(
    kind: str,  # one of MINIBATCH_KINDS: "none", "stddev" or "discrimination"
    features: int,  # input features for "discrimination" (flattened); unused otherwise
    group_size: int = 4,  # group size for "stddev"
    num_kernels: int = 50,  # kernels for "discrimination"
    kernel_dim: int = 5,  # kernel dimension for "discrimination"
) -> tuple[nn.Module | None, int]:
    """The minibatch layer a discriminator inserts before its final layer, and how many
    features (channels for ``"stddev"`` on feature maps) it appends; ``(None, 0)`` for "none".

    >>> minibatch_layer("stddev", 64)
    (MinibatchStdDev(group_size=4, num_features=1), 1)
    >>> minibatch_layer("none", 64)
    (None, 0)
    """
    assert kind in MINIBATCH_KINDS, f"minibatch must be one of {MINIBATCH_KINDS}, got {kind!r}"
    if kind == "stddev":
        return MinibatchStdDev(group_size), 1
    if kind == "discrimination":
        return MinibatchDiscrimination(features, num_kernels, kernel_dim), num_kernels
    return None, 0


WEIGHTED_LAYERS = (  # the layers with a weight matrix or kernel
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
)
_SPECTRAL_NORM_TYPES = (
    *WEIGHTED_LAYERS,
    nn.Embedding,  # the projection discriminator's class embedding (Miyato & Koyama 2018)
)


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral normalization (Miyato et al. 2018) on every linear, (transposed) conv and embedding layer of
    ``module``, in place; returns ``module``. Layers already parametrized are left alone.

    Other parameters (e.g. :class:`MinibatchDiscrimination`'s tensor) are not normalized. The
    weights move to ``parametrizations.weight.original`` in the state dict.

    >>> net = apply_spectral_norm(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)))
    >>> [parametrize.is_parametrized(layer, "weight") for layer in net]
    [True, False, True]
    """
    for layer in list(module.modules()):
        if isinstance(layer, _SPECTRAL_NORM_TYPES) and not parametrize.is_parametrized(
            layer, "weight"
        ):
            spectral_norm(layer)
    return module


def pack(x: Tensor, m: int) -> Tensor:
    """PacGAN packing: ``(B, C, ...)`` -> ``(B/m, m*C, ...)``, joining consecutive groups of ``m``
    samples along dimension 1 (sample ``k*m + j`` fills channels ``j*C`` to ``(j+1)*C - 1`` of
    packed sample ``k``).

    >>> pack(torch.arange(4.0)[:, None], 2)
    tensor([[0., 1.],
            [2., 3.]])
    """
    assert m >= 1, f"pack size must be positive, got {m}"
    if m == 1:
        return x
    assert x.dim() >= 2, f"pack needs (B, C, ...) input, got shape {tuple(x.shape)}"
    assert x.shape[0] % m == 0, (
        f"the batch size must be a multiple of the pack size {m}, got a batch of {x.shape[0]}"
    )
    return rearrange(x, "(b m) c ... -> b (m c) ...", m=m)


def packed_shape(shape: Sequence[int], m: int) -> tuple[int, ...]:
    """The shape of one packed D input, given the shape of one sample.

    >>> packed_shape((3, 32, 32), 2), packed_shape([2], 4)
    ((6, 32, 32), (8,))
    """
    assert m >= 1, f"pack size must be positive, got {m}"
    first, *rest = shape
    return (first * m, *rest)
