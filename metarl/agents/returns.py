"""Generalized advantage estimation and discounted returns, batched over envs.

All functions take time-major tensors ``(T, N)`` and loop over time only (``T`` small Python
steps of tensor ops, no host sync), so they run on any device.
"""

from __future__ import annotations

import torch


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    dones: torch.Tensor,
    last_value: torch.Tensor,
    gamma: float,
    lam: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalized advantage estimates (Schulman et al. 2016) and value targets.

    Args:
        rewards: ``(T, N)`` reward of step t.
        values: ``(T, N)`` value estimate V(s_t).
        dones: ``(T, N)`` bool, true where step t ended the sequence (nothing is bootstrapped
            through it: for RL², the end of a trial, not of an episode).
        last_value: ``(N,)`` V(s_T) of the state after the last step (used where not done).
        gamma: discount per step; lam: GAE λ.

    Returns:
        ``(advantages, returns)``, both ``(T, N)``, with ``returns = advantages + values``.
    """
    steps = rewards.shape[0]
    not_done = (~dones).to(values.dtype)
    adv = torch.zeros_like(values)
    running = torch.zeros_like(last_value)
    next_value = last_value
    for t in reversed(range(steps)):
        delta = rewards[t] + gamma * next_value * not_done[t] - values[t]
        running = delta + gamma * lam * not_done[t] * running
        adv[t] = running
        next_value = values[t]
    return adv, adv + values


def discounted_returns(rewards: torch.Tensor, dones: torch.Tensor, gamma: float) -> torch.Tensor:
    """Reward-to-go ``sum_k gamma^k r_{t+k}`` within each sequence, ``(T, N)`` → ``(T, N)``.

    ``dones[t]`` true cuts the sum after step t; nothing is bootstrapped past the last step.
    """
    zeros = torch.zeros_like(rewards)
    ret, _ = gae(rewards, zeros, dones, zeros[0], gamma, 1.0)
    return ret
