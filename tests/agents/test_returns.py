"""GAE and discounted returns against values computed by hand."""

import pytest
import torch

from metarl.agents.returns import discounted_returns, gae


def test_gae_matches_hand_computation() -> None:
    r = torch.tensor([[1.0], [2.0], [3.0]])
    v = torch.tensor([[0.5], [1.0], [1.5]])
    dones = torch.tensor([[False], [False], [False]])
    last = torch.tensor([2.0])
    gamma, lam = 0.9, 0.8
    d2 = 3.0 + 0.9 * 2.0 - 1.5  # 3.3
    d1 = 2.0 + 0.9 * 1.5 - 1.0  # 2.35
    d0 = 1.0 + 0.9 * 1.0 - 0.5  # 1.4
    a2 = d2
    a1 = d1 + gamma * lam * a2
    a0 = d0 + gamma * lam * a1
    adv, ret = gae(r, v, dones, last, gamma, lam)
    assert adv[:, 0].tolist() == pytest.approx([a0, a1, a2])
    assert ret[:, 0].tolist() == pytest.approx([a0 + 0.5, a1 + 1.0, a2 + 1.5])


def test_gae_stops_at_done_and_ignores_last_value_there() -> None:
    r = torch.tensor([[1.0, 1.0], [1.0, 1.0]])
    v = torch.zeros(2, 2)
    dones = torch.tensor([[True, False], [True, True]])
    adv, _ = gae(r, v, dones, torch.tensor([100.0, 100.0]), gamma=1.0, lam=1.0)
    assert adv[:, 0].tolist() == [1.0, 1.0]  # each step its own sequence
    assert adv[:, 1].tolist() == [2.0, 1.0]  # done at the end: no bootstrap of 100


def test_discounted_returns() -> None:
    r = torch.tensor([[1.0], [1.0], [1.0], [1.0]])
    dones = torch.tensor([[False], [True], [False], [False]])
    out = discounted_returns(r, dones, gamma=0.5)
    assert out[:, 0].tolist() == pytest.approx([1.5, 1.0, 1.5, 1.0])


def test_lambda_one_equals_monte_carlo_minus_value() -> None:
    g = torch.Generator().manual_seed(0)
    r = torch.randn(7, 3, generator=g)
    v = torch.randn(7, 3, generator=g)
    dones = torch.zeros(7, 3, dtype=torch.bool)
    dones[-1] = True
    adv, _ = gae(r, v, dones, torch.zeros(3), gamma=0.97, lam=1.0)
    mc = discounted_returns(r, dones, gamma=0.97)
    assert torch.allclose(adv, mc - v, atol=1e-5)
