"""Weight initialization schemes, an option of every generator and discriminator (``init``).

- ``"default"``: the layers as the network builds them (PyTorch's initialization; the ResNets'
  SNGAN Xavier-uniform init);
- ``"dcgan"`` (Radford et al. 2016): conv and linear weights N(0, 0.02), normalization gains
  N(1, 0.02), biases 0;
- ``"orthogonal"`` (BigGAN): orthogonal conv and linear weights, biases 0;
- ``"xavier"``: Xavier-uniform conv and linear weights, biases 0.

Spectral-norm-wrapped layers are initialized on their unnormalized weight (the state dict's
``parametrizations.weight.original``). Embeddings (class embeddings, conditional-BatchNorm gains)
keep the initialization their layer gives them.

>>> net = initialize(nn.Sequential(nn.Linear(400, 400), nn.BatchNorm1d(400)), "dcgan")
>>> round(net[0].weight.std().item(), 2), net[0].bias.abs().max().item()
(0.02, 0.0)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from ganlab.networks.layers import WEIGHTED_LAYERS

_WEIGHT_INITS: dict[str, Callable[[Tensor], Any]] = {
    "dcgan": lambda weight: nn.init.normal_(weight, 0.0, 0.02),
    "orthogonal": nn.init.orthogonal_,
    "xavier": nn.init.xavier_uniform_,
}
INIT_SCHEMES = ("default", *_WEIGHT_INITS)
_NORM_GAIN_STD = {"dcgan": 0.02}  # std of the normalization gains around 1 (0: exactly 1)

_NORMS = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.GroupNorm,
    nn.InstanceNorm1d,
    nn.InstanceNorm2d,
    nn.InstanceNorm3d,
    nn.LayerNorm,
)
_POWER_ITERATIONS = 15  # as torch's spectral_norm runs when it wraps a layer


@torch.no_grad()
def initialize(module: nn.Module, scheme: str) -> nn.Module:
    """Initialize every conv, linear and affine normalization layer of ``module`` in place with
    ``scheme`` (one of :data:`INIT_SCHEMES`); returns ``module``."""
    assert scheme in INIT_SCHEMES, f"init must be one of {INIT_SCHEMES}, got {scheme!r}"
    if scheme == "default":
        return module
    for layer in module.modules():
        if isinstance(layer, WEIGHTED_LAYERS):
            _WEIGHT_INITS[scheme](_unnormalized_weight(layer))
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
            if parametrize.is_parametrized(layer, "weight"):
                _reestimate_spectral_norm(layer)
        elif isinstance(layer, _NORMS) and layer.weight is not None:  # affine layers only
            nn.init.normal_(layer.weight, 1.0, _NORM_GAIN_STD.get(scheme, 0.0))
            nn.init.zeros_(layer.bias)
    return module


def _unnormalized_weight(layer: nn.Module) -> Tensor:
    """The weight parameter itself: under spectral norm, the one before normalization."""
    if parametrize.is_parametrized(layer, "weight"):
        parametrizations: Any = layer.parametrizations
        return parametrizations.weight.original
    weight: Any = layer.weight
    return weight


def _reestimate_spectral_norm(layer: nn.Module) -> None:
    """Re-run spectral norm's power iteration for the new weight: each read of the weight in
    training mode runs one iteration, so its singular vectors do not describe the old weight."""
    training = layer.training
    layer.train()
    for _ in range(_POWER_ITERATIONS):
        _ = layer.weight
    layer.train(training)
