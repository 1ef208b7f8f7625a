"""A small convolutional classifier used to judge generated images of its domain (digits).

Plain ``nn.Module`` (no Lightning / Hydra): input ``(B, C, H, W)`` in ``[-1, 1]`` (digits:
background at ``-1``); works for any ``H, W >= 8`` (28 and 32 in practice) thanks to an
adaptive pooling layer in front of the head. Its penultimate layer (:meth:`embed`) is the
feature space of classifier-feature FID and precision/recall.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["DigitClassifier"]


def _conv_block(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size=3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class DigitClassifier(nn.Module):
    """Three conv-BN-ReLU blocks, adaptive 4x4 average pooling and a 2-layer MLP head.

    The first conv has stride 2 and a 2x max-pool follows the second, so a 32x32 input is
    seen at 16x16 and 8x8 (28x28: 14x14 and 7x7). ``width`` scales the channel counts
    (``width, 2 width, 4 width``); the default has about 156k parameters and trains on 4.5k
    digits on a CPU in one to a few seconds per epoch.

    >>> import torch
    >>> net = DigitClassifier()
    >>> net(torch.zeros(2, 1, 28, 28)).shape, net(torch.zeros(3, 1, 32, 32)).shape
    (torch.Size([2, 10]), torch.Size([3, 10]))
    """

    embed_dim = 128  # size of the penultimate layer

    def __init__(self, num_classes: int = 10, width: int = 16, channels: int = 1) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.channels = channels
        self.width = width
        self.features = nn.Sequential(
            _conv_block(channels, width, stride=2),
            _conv_block(width, 2 * width),
            nn.MaxPool2d(2),
            _conv_block(2 * width, 4 * width),
            nn.AdaptiveAvgPool2d(4),
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(4 * width * 16, self.embed_dim),
            nn.ReLU(inplace=True),
        )
        self.classify = nn.Sequential(nn.Dropout(0.25), nn.Linear(self.embed_dim, num_classes))

    def embed(self, x: Tensor) -> Tensor:
        """Penultimate features ``(B, embed_dim)`` of images ``(B, channels, H, W)``."""
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(
                f"expected images of shape (B, {self.channels}, H, W), got {tuple(x.shape)}"
            )
        return self.head(self.features(x))

    def forward(self, x: Tensor) -> Tensor:
        """Return ``(B, num_classes)`` logits for images ``(B, channels, H, W)`` in [-1, 1]."""
        return self.classify(self.embed(x))
