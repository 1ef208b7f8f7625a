"""InfoGAN's information loss (Chen et al. 2016): a pure function of Q's outputs and the codes.

Maximizing the variational lower bound ``L_I = E[log Q(c | G(z, c))] + H(c)`` on the mutual
information between the codes and the samples is minimizing, up to the constant ``H(c)``,
the negative log-likelihood of the codes under Q: cross-entropy for a categorical code, and
for a continuous code the Gaussian negative log-likelihood with the mean and log standard
deviation Q predicts (the paper's factored Gaussian).

>>> import torch
>>> q = torch.tensor([[9.0, -9.0, 0.5, 0.0]])  # 2 logits; mean 0.5 and log-std 0 for c2
>>> loss = info_loss(q, [torch.tensor([0]), torch.tensor([0.5])], [2, "uniform"])
>>> round(loss.item(), 4)  # ~0 cross-entropy + the NLL of a perfect unit-std guess, log(2pi)/2
0.9189
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def q_outputs(codes: Sequence[int | str]) -> int:
    """Width of Q's output for these codes: k logits per categorical code, mean and log-std
    per uniform code.

    >>> q_outputs([10, "uniform", "uniform"])
    14
    """
    return sum(2 if code == "uniform" else int(code) for code in codes)


def info_loss(
    q: Tensor,  # Q's outputs (B, q_outputs(codes)): logits, or mean and log-std, per code
    values: Sequence[Tensor],  # each code's values: category indices or continuous values (B,)
    codes: Sequence[int | str],  # the codes: k (categorical) or "uniform" (continuous)
    continuous_weight: float = 1.0,  # weight of continuous codes' terms against categorical
) -> Tensor:
    """Sum over codes of the mean negative log-likelihood of the code values under Q."""
    assert q.shape[1] == q_outputs(codes), (
        f"Q has {q.shape[1]} outputs but codes {list(codes)} need {q_outputs(codes)}: set "
        "the discriminator's aux_outputs to ${q_outputs:${model.generator.codes}}"
    )
    widths = [2 if code == "uniform" else int(code) for code in codes]
    loss = q.new_zeros(())
    for code, out, value in zip(codes, q.split(widths, dim=1), values, strict=True):
        if code == "uniform":
            mean, log_std = out.unbind(dim=1)
            log_std = log_std.clamp(min=-5.0)  # a vanishing std would make the NLL unbounded
            nll = log_std + 0.5 * ((value - mean) * torch.exp(-log_std)) ** 2
            loss = loss + continuous_weight * (nll.mean() + 0.5 * math.log(2 * math.pi))
        else:
            loss = loss + F.cross_entropy(out, value)
    return loss
