"""InfoGAN's information loss (Chen et al. 2016): a pure function of Q's outputs and the codes.

Maximizing the variational lower bound ``L_I = E[log Q(c | G(z, c))] + H(c)`` on the mutual
information between the codes and the samples is minimizing, up to the constant ``H(c)``,
the negative log-likelihood of the codes under Q: cross-entropy for a categorical code, and
for a continuous code the Gaussian negative log-likelihood with the mean and log standard
deviation Q predicts (the paper's factored Gaussian), or, with ``fixed_std``, with the mean Q
predicts and that standard deviation (the official InfoGAN code fixes it at 1, which makes the
term a squared error that cannot shrink by growing Q's uncertainty).

>>> import torch
>>> q = torch.tensor([[9.0, -9.0, 0.5, 0.0]])  # 2 logits; mean 0.5 and log-std 0 for c2
>>> loss = info_loss(q, [torch.tensor([0]), torch.tensor([0.5])], [2, "uniform"])
>>> round(loss.item(), 4)  # ~0 cross-entropy + the NLL of a perfect unit-std guess, log(2pi)/2
0.9189
>>> q = torch.tensor([[9.0, -9.0, 0.0]])  # with a fixed std Q predicts only the mean of c2
>>> round(info_loss(q, [torch.tensor([0]), torch.tensor([1.0])], [2, "uniform"], fixed_std=1.0).item(), 4)
1.4189
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def _widths(codes: Sequence[int | str], learn_std: bool) -> list[int]:
    return [(2 if learn_std else 1) if code == "uniform" else int(code) for code in codes]


def q_outputs(codes: Sequence[int | str], learn_std: bool = True) -> int:
    """Width of Q's output for these codes: k logits per categorical code, the mean and (with
    ``learn_std``) the log-std per uniform code.

    >>> q_outputs([10, "uniform", "uniform"]), q_outputs([10, "uniform", "uniform"], False)
    (14, 12)
    """
    return sum(_widths(codes, learn_std))


def info_loss(
    q: Tensor,  # Q's outputs (B, q_outputs(codes)): logits, or mean and log-std, per code
    values: Sequence[Tensor],  # each code's values: category indices or continuous values (B,)
    codes: Sequence[int | str],  # the codes: k (categorical) or "uniform" (continuous)
    continuous_weight: float = 1.0,  # weight of continuous codes' terms against categorical
    fixed_std: float | None = None,  # None: Q predicts each continuous code's log-std too
) -> Tensor:
    """Sum over codes of the mean negative log-likelihood of the code values under Q."""
    learn_std = fixed_std is None
    expected = q_outputs(codes, learn_std)
    assert q.shape[1] == expected, (
        f"Q has {q.shape[1]} outputs but codes {list(codes)} need {expected}"
        f"{'' if learn_std else f' with fixed_std={fixed_std}'}: set the discriminator's "
        "aux_outputs to ${q_outputs:${model.generator.codes},${model.fixed_std}}"
    )
    loss = q.new_zeros(())
    for code, out, value in zip(
        codes, q.split(_widths(codes, learn_std), dim=1), values, strict=True
    ):
        if code == "uniform":
            if fixed_std is None:
                mean, log_std = out.unbind(dim=1)
                log_std = log_std.clamp(min=-5.0)  # a vanishing std would make the NLL unbounded
            else:
                mean, log_std = out[:, 0], out.new_full((len(out),), math.log(fixed_std))
            nll = log_std + 0.5 * ((value - mean) * torch.exp(-log_std)) ** 2
            loss = loss + continuous_weight * (nll.mean() + 0.5 * math.log(2 * math.pi))
        else:
            loss = loss + F.cross_entropy(out, value)
    return loss
