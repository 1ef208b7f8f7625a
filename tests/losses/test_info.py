"""InfoGAN's information loss against closed forms."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal

from ganlab.losses import info_loss, q_outputs


def test_categorical_term_is_the_cross_entropy() -> None:
    values = torch.tensor([0, 3, 1])
    confident = torch.nn.functional.one_hot(values, 4).float() * 50
    assert info_loss(confident, [values], [4]).item() == pytest.approx(0.0, abs=1e-6)
    uniform = torch.zeros(3, 4)  # Q knows nothing: log K nats
    assert info_loss(uniform, [values], [4]).item() == pytest.approx(math.log(4))


def test_continuous_term_is_the_gaussian_negative_log_likelihood() -> None:
    torch.manual_seed(0)
    mean, log_std, value = torch.randn(5), torch.randn(5) * 0.5, torch.rand(5) * 2 - 1
    q = torch.stack([mean, log_std], dim=1)
    expected = -Normal(mean, log_std.exp()).log_prob(value).mean()
    assert info_loss(q, [value], ["uniform"]).item() == pytest.approx(expected.item(), rel=1e-5)
    weighted = info_loss(q, [value], ["uniform"], continuous_weight=0.1)
    assert weighted.item() == pytest.approx(0.1 * expected.item(), rel=1e-5)


def test_codes_sum_and_q_width_is_checked() -> None:
    codes = [2, "uniform"]
    assert q_outputs(codes) == 4
    q = torch.zeros(3, 4)
    values = [torch.tensor([0, 1, 1]), torch.zeros(3)]
    total = info_loss(q, values, codes)
    parts = info_loss(q[:, :2], values[:1], [2]) + info_loss(q[:, 2:], values[1:], ["uniform"])
    assert total.item() == pytest.approx(parts.item())
    with pytest.raises(AssertionError, match="aux_outputs"):
        info_loss(torch.zeros(3, 3), values, codes)


def test_fixed_std_makes_q_predict_only_the_means() -> None:
    torch.manual_seed(0)
    mean, value = torch.randn(5), torch.rand(5) * 2 - 1
    for std in (1.0, 0.5):
        expected = -Normal(mean, torch.full((5,), std)).log_prob(value).mean()
        loss = info_loss(mean[:, None], [value], ["uniform"], fixed_std=std)
        assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert q_outputs([3, "uniform", "uniform"], learn_std=False) == 5
    with pytest.raises(AssertionError, match=r"fixed_std=1\.0"):
        info_loss(torch.zeros(5, 2), [value], ["uniform"], fixed_std=1.0)
