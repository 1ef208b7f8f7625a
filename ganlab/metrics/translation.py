"""Scores of a translation: how close each output is to its target (paired data), and how
well images come back through a pair of inverse translators (unpaired data, CycleGAN).

Images are in ganlab's range [-1, 1] (``data_range`` 2). ``l1`` is the mean absolute error
per pixel (Pix2Pix's training term), ``psnr`` the peak signal-to-noise ratio in dB over the
whole set, ``ssim`` the mean structural similarity (Gaussian 11x11 window, sigma 1.5: Wang
et al. 2004's), all from torchmetrics' functional forms.

>>> import torch
>>> target = torch.rand(4, 1, 16, 16) * 2 - 1
>>> scores = paired_scores(target, target)
>>> scores["l1"], scores["psnr"], round(scores["ssim"], 4)
(0.0, inf, 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable

from torch import Tensor
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

__all__ = ["DATA_RANGE", "cycle_scores", "paired_scores"]

DATA_RANGE = 2.0  # images in [-1, 1]


def paired_scores(output: Tensor, target: Tensor) -> dict[str, float]:
    """``l1``, ``psnr`` (dB; inf for identical sets) and ``ssim`` of outputs to their targets,
    both ``(N, C, H, W)`` in [-1, 1]."""
    assert output.shape == target.shape and output.dim() == 4, (
        f"outputs {tuple(output.shape)} and targets {tuple(target.shape)} must be image "
        "batches (N, C, H, W) of one shape"
    )
    output, target = output.float().cpu(), target.float().cpu()
    l1 = float((output - target).abs().mean())
    psnr = math.inf if l1 == 0 else float(peak_signal_noise_ratio(output, target, DATA_RANGE))
    ssim = structural_similarity_index_measure(output, target, data_range=DATA_RANGE)
    assert isinstance(ssim, Tensor)
    return {"l1": l1, "psnr": psnr, "ssim": float(ssim)}


def cycle_scores(translate: Callable[..., Tensor], a: Tensor, b: Tensor) -> dict[str, float]:
    """``cycle_l1_a``, the mean absolute error of ``F(G(a))`` to images ``a`` of the source
    domain, and ``cycle_l1_b``, of ``G(F(b))`` to ``b``; ``translate(x)`` is G and
    ``translate(x, reverse=True)`` F (as :meth:`ganlab.models.Translation.translate`).

    >>> import torch
    >>> flip = lambda x, reverse=False: -x  # its own inverse
    >>> cycle_scores(flip, torch.ones(2, 1, 4, 4), torch.zeros(2, 1, 4, 4))
    {'cycle_l1_a': 0.0, 'cycle_l1_b': 0.0}
    """
    rec_a = translate(translate(a), reverse=True)
    rec_b = translate(translate(b, reverse=True))
    return {
        "cycle_l1_a": float((rec_a.float().cpu() - a.float().cpu()).abs().mean()),
        "cycle_l1_b": float((rec_b.float().cpu() - b.float().cpu()).abs().mean()),
    }
