"""Bernoulli multi-armed bandits, as in the RL² paper (Duan et al. 2016, Table 1).

A task is the vector of arm means, each ~ U[0, 1]. An episode is one pull, so an RL² trial of
``n`` episodes is ``n`` pulls of the same bandit. The observation carries no information (a
constant zero); everything the agent learns about the task comes from rewards.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from metarl.envs.family import MetaEnv, Task, TaskError, check_positive
from metarl.envs.vector import BatchedMetaEnv


@dataclasses.dataclass(frozen=True)
class BanditTask(Task):
    """One bandit: ``means[i]`` is the probability that arm ``i`` pays 1."""

    means: tuple[float, ...]


class BanditEnv(MetaEnv[BanditTask]):
    """k-armed Bernoulli bandit, one pull per episode.

    Args:
        num_arms: number of arms k (RL² paper: 5, 10, 50).

    Observation: ``[0.0]`` (float32, shape (1,)). Action: the arm, ``Discrete(num_arms)``.
    Reward: 1 with probability ``means[action]``, else 0. The episode terminates after the pull.
    References per episode: random = mean of the arm means, oracle = the best arm's mean.
    """

    task_type = BanditTask

    def __init__(self, num_arms: int = 5, render_mode: str | None = None) -> None:
        super().__init__()
        check_positive("num_arms", num_arms, integer=True)
        self.num_arms = int(num_arms)
        self.horizon = 1
        self.render_mode = render_mode
        self.observation_space = spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Discrete(self.num_arms)
        self._task = BanditTask(means=(0.5,) * self.num_arms)

    def parameters(self) -> dict[str, Any]:
        """Constructor parameters."""
        return {"num_arms": self.num_arms}

    def sample_tasks(self, n: int, rng: np.random.Generator) -> list[BanditTask]:
        """``n`` bandits with arm means ~ U[0, 1]."""
        means = rng.uniform(0.0, 1.0, size=(n, self.num_arms))
        return [BanditTask(means=tuple(float(m) for m in row)) for row in means]

    def validate_task(self, task: BanditTask) -> None:
        """The task must have ``num_arms`` means in [0, 1]."""
        if len(task.means) != self.num_arms:
            raise TaskError(f"this bandit has {self.num_arms} arms, the task {len(task.means)}")
        if not all(0.0 <= m <= 1.0 for m in task.means):
            raise TaskError(f"arm means must lie in [0, 1], got {task.means}")

    def random_return(self, task: BanditTask) -> float:
        """Expected reward of a uniformly random pull."""
        return float(np.mean(task.means))

    def oracle_return(self, task: BanditTask) -> float:
        """Expected reward of pulling the best arm."""
        return float(np.max(task.means))

    def _reset_task_state(self) -> np.ndarray:
        return np.zeros(1, dtype=np.float32)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Pull arm ``action``: returns ``(obs, reward in {0, 1}, True, False, {})``."""
        if not self.action_space.contains(action):
            raise TaskError(
                f"action {action!r} is not an arm: use an integer in [0, {self.num_arms})"
            )
        u = self._uniforms(1)[0]
        reward = float(u < np.float32(self.task.means[int(action)]))
        self._t += 1
        return np.zeros(1, dtype=np.float32), reward, True, False, {}


class BanditVectorEnv(BatchedMetaEnv):
    """Native batched :class:`BanditEnv`: ``num_envs`` bandits stepped as one tensor op."""

    def __init__(
        self,
        num_envs: int,
        device: str | torch.device = "cpu",
        validate_actions: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(BanditEnv(**kwargs), num_envs, device, validate_actions)
        self._obs = torch.zeros(num_envs, 1, device=self.device)

    def _reset_state(self, mask: torch.Tensor) -> torch.Tensor:
        return self._obs.clone()

    def _step(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        actions = self._check_discrete(actions, self.family.num_arms)
        p = self.params["means"].gather(1, actions[:, None]).squeeze(1)
        reward = (self.uniforms(0) < p).to(torch.float32)
        self.counter = self.counter + 1
        done = torch.ones(self.num_envs, dtype=torch.bool, device=self.device)
        return self._obs.clone(), reward, done
