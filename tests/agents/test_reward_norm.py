"""The running return scale: analytic statistics, trial resets, clipping and its state dict."""

from __future__ import annotations

import pytest
import torch

from metarl.agents.reward_norm import ReturnScale

GAMMA = 0.9


def test_constant_rewards_are_divided_by_the_std_of_their_discounted_returns() -> None:
    steps, envs = 30, 4
    rewards = torch.ones(steps, envs)
    scale = ReturnScale(GAMMA)
    scaled = scale(rewards, torch.zeros(steps, envs, dtype=torch.bool))
    # G_t = (1 - gamma^(t+1)) / (1 - gamma); the population variance over t (the env columns
    # are identical); the initial statistics weigh 1e-4 of one sample
    g = [(1 - GAMMA ** (t + 1)) / (1 - GAMMA) for t in range(steps)]
    mean = sum(g) / steps
    var = sum((x - mean) ** 2 for x in g) / steps
    assert float(scale.stats.var[0]) == pytest.approx(var, rel=1e-4)
    assert float(scale.stats.mean[0]) == pytest.approx(mean, rel=1e-4)
    assert torch.allclose(scaled, torch.full_like(rewards, 1 / var**0.5), rtol=1e-4)


def test_returns_restart_after_a_trial_ends_and_no_mean_is_subtracted() -> None:
    rewards = torch.tensor([[1.0], [2.0], [3.0], [4.0], [5.0]])
    dones = torch.tensor([[False], [True], [False], [False], [True]])
    g = ReturnScale.discounted_returns(rewards, dones, GAMMA)
    expected = [1.0, 2.0 + GAMMA, 3.0, 4.0 + 3.0 * GAMMA, 5.0 + GAMMA * (4.0 + 3.0 * GAMMA)]
    assert g[:, 0].tolist() == pytest.approx(expected)
    scale = ReturnScale(GAMMA)
    scaled = scale(-rewards, dones)  # negative rewards stay negative: divided, not centred
    assert torch.all(scaled < 0)
    assert torch.allclose(scaled * scale.std, -rewards, rtol=1e-5)


def test_statistics_accumulate_over_rollouts_like_one_batch() -> None:
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(8, 3, generator=gen), torch.randn(8, 3, generator=gen) * 3 + 1
    dones = torch.zeros(8, 3, dtype=torch.bool)
    dones[3] = True
    two = ReturnScale(GAMMA)
    two(a, dones)
    two(b, dones)
    returns = torch.cat(
        [ReturnScale.discounted_returns(x, dones, GAMMA).reshape(-1) for x in (a, b)]
    )
    assert float(two.stats.var[0]) == pytest.approx(float(returns.var(unbiased=False)), rel=1e-3)


def test_scaled_rewards_are_clipped() -> None:
    scale = ReturnScale(GAMMA, clip=10.0)
    scale(torch.full((4, 2), 0.01), torch.ones(4, 2, dtype=torch.bool))  # tiny return spread
    out = scale(torch.tensor([[1e3, -1e3]]), torch.ones(1, 2, dtype=torch.bool), update=False)
    assert out.tolist() == [[10.0, -10.0]]


def test_state_dict_round_trip_gives_the_same_scale() -> None:
    gen = torch.Generator().manual_seed(1)
    rewards, dones = torch.randn(6, 5, generator=gen), torch.zeros(6, 5, dtype=torch.bool)
    a = ReturnScale(GAMMA)
    a(rewards, dones)
    b = ReturnScale(GAMMA)
    b.load_state_dict(a.state_dict())
    more = torch.randn(6, 5, generator=gen)
    assert torch.equal(a(more, dones), b(more, dones))
    assert torch.equal(a.std, b.std)
