"""Feature extractors: the networks whose embeddings FID, KID, IS, precision/recall and
density/coverage compare.

A :class:`FeatureExtractor` takes images as the GANs produce them — float ``(N, C, H, W)`` in
``[-1, 1]`` — and returns a dict with ``"features"`` ``(N, num_features)`` and, when the network
has a classification head, ``"logits"`` ``(N, num_classes)``. Everything that changes the
numbers is an attribute, so every result can say how it was measured:

- ``name``: the network (e.g. ``inception-v3-compat``, the FID Inception);
- ``weights_hash``: the first 12 hex digits of the SHA-256 of its weights;
- ``input_size`` and ``resize``: the resolution the network sees and how images get there;
- ``quantize``: whether images are rounded to 8 bits first, as if saved to PNG (the standard
  for FID, so numbers match those computed from image files).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["FeatureExtractor", "Passthrough", "file_hash", "tensor_hash", "to_uint8"]


def to_uint8(images: Tensor) -> Tensor:
    """Quantize images in ``[-1, 1]`` to ``uint8`` exactly as saving them to PNG would.

    >>> to_uint8(torch.tensor([-1.0, -0.999, 0.0, 1.0, 1.5]))
    tensor([  0,   0, 128, 255, 255], dtype=torch.uint8)
    """
    return ((images.float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


def file_hash(path: str | Path, digits: int = 12) -> str:
    """First ``digits`` hex digits of the SHA-256 of a file (weights provenance)."""
    sha = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()[:digits]


def tensor_hash(module: nn.Module, digits: int = 12) -> str:
    """First ``digits`` hex digits of the SHA-256 of a module's state dict, in key order.

    >>> len(tensor_hash(nn.Linear(2, 2)))
    12
    """
    sha = hashlib.sha256()
    for key, value in sorted(module.state_dict().items()):
        sha.update(key.encode())
        sha.update(value.detach().cpu().contiguous().numpy().tobytes())
    return sha.hexdigest()[:digits]


class FeatureExtractor(nn.Module):
    """Base class: an eval-mode, frozen network with its provenance as attributes."""

    name: str = "unnamed"
    weights_hash: str = "none"
    num_features: int = 0
    num_classes: int = 0  # size of the logits head; 0 when there is none (no IS)
    input_size: tuple[int, int] | None = None  # resolution the network sees; None = as given
    resize: str = "none"
    quantize: bool = False  # round to uint8 first, like images saved to PNG
    no_logits_hint: str = ""  # how to get a head, said when a metric needs logits

    def provenance(self) -> dict[str, Any]:
        """What a metric result must record about the features it was computed on."""
        return {
            "feature_extractor": self.name,
            "weights_hash": self.weights_hash,
            "input_size": list(self.input_size) if self.input_size else None,
            "resize": self.resize,
            "quantize": self.quantize,
        }

    @property
    def has_logits(self) -> bool:
        return self.num_classes > 0

    def train(self, mode: bool = True) -> FeatureExtractor:
        return super().train(False)  # always eval: BatchNorm statistics are part of the weights

    def forward(self, images: Tensor) -> dict[str, Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError


class Passthrough(nn.Module):
    """The ``feature`` module handed to torchmetrics' FID/KID/IS: features are computed once
    by a :class:`FeatureExtractor` and fed to every metric, so this returns its input.

    >>> Passthrough(3)(torch.ones(2, 3)).shape
    torch.Size([2, 3])
    """

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features  # torchmetrics reads the feature dimension from here

    def forward(self, features: Tensor) -> Tensor:
        assert features.dim() == 2 and features.shape[1] == self.num_features, (
            f"expected features (N, {self.num_features}), got {tuple(features.shape)}"
        )
        return features
