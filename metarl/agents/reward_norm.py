"""A running scale of discounted returns that puts any family's rewards on a unit scale.

The idea of Stable-Baselines3's ``VecNormalize`` for rewards, over a whole rollout: each sub-env
accumulates its discounted return ``G_t = r_t + gamma * G_{t-1}`` (zeroed after a step that ends a
trial, and at the start of a rollout, which starts fresh trials), the running variance of those
returns is updated, and the rewards are divided by the running standard deviation (no mean is
subtracted, so a reward's sign and zero keep their meaning) and clipped. Dividing by the std of the
*return* rather than of the reward keeps the value targets near unit scale whatever the discount
and the trial length, which is what the shared value loss and the gradient clip need.

Unlike ``VecNormalize``, which updates its statistics at every step, the statistics here take in
all ``T x N`` returns of a rollout at once and then scale the whole rollout, so one PPO update sees
one consistent scale (and the rollout loop has no extra per-step work).

Only the learning signal is scaled; the reward that RL²'s policy reads as input (the previous
reward in the trial observation) stays raw. The scale moves during training, so a scaled input
would change meaning under the policy (the same reward read as a different number from one
iteration to the next), undoing what the memory has learnt to infer from it; and a raw input is
the same in training, in evaluation and after a resume, with no statistics to carry into them.
Where a family's raw rewards are too large for the network's input, ``--normalize-obs`` scales
the whole input, reward included, with statistics that evaluation uses as they were.
"""

from __future__ import annotations

import torch
from torch import nn

from metarl.agents.networks import RunningNorm

_EPS = 1e-8


class ReturnScale(nn.Module):
    """Divides rewards by the running std of the discounted return (a module for its buffers).

    Args:
        gamma: the discount of the accumulated return (the agent's own).
        clip: scaled rewards are clipped to ``[-clip, clip]``.
    """

    def __init__(self, gamma: float, clip: float = 10.0) -> None:
        super().__init__()
        self.gamma, self.clip = float(gamma), float(clip)
        self.stats = RunningNorm(1)  # mean, var and count of the returns, float32 buffers

    @property
    def std(self) -> torch.Tensor:
        """The current scale: a 0-dim tensor, ``sqrt(var + 1e-8)`` of the returns seen so far."""
        return torch.sqrt(self.stats.var[0] + _EPS)

    @staticmethod
    def discounted_returns(
        rewards: torch.Tensor, dones: torch.Tensor, gamma: float
    ) -> torch.Tensor:
        """``(T, N)`` running discounted returns of ``(T, N)`` rewards, restarted after every step
        where ``dones`` (bool ``(T, N)``, the step ended a trial) is true, and from 0 at ``t = 0``."""
        out = torch.empty_like(rewards)
        acc = torch.zeros_like(rewards[0])
        for t in range(rewards.shape[0]):
            acc = rewards[t] + gamma * acc
            out[t] = acc
            acc = torch.where(dones[t], 0.0, acc)
        return out

    @torch.no_grad()
    def forward(
        self, rewards: torch.Tensor, dones: torch.Tensor, update: bool = True
    ) -> torch.Tensor:
        """Scaled ``(T, N)`` rewards of one rollout; ``update`` first folds its returns into the
        statistics (training does; a check of the scale alone need not)."""
        if update:
            self.stats.update(self.discounted_returns(rewards, dones, self.gamma).reshape(-1, 1))
        return (rewards / self.std).clamp(-self.clip, self.clip)
