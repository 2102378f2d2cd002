"""Random tabular MDPs, as in the RL² paper (Duan et al. 2016, Sec. 3.2, Table 2).

A task is an MDP with ``num_states`` states and ``num_actions`` actions: mean rewards
μ(s, a) ~ N(reward_mean_mu, reward_mean_sigma²) and transition distributions P(·|s, a) ~ flat
Dirichlet. Each step pays a reward ~ N(μ(s, a), reward_noise²). Paper values: 10 states,
5 actions, μ ~ N(1, 1), unit reward noise, horizon 10. Each episode starts in a uniformly random
state (the paper does not state its start distribution).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from metarl.envs import rng as crng
from metarl.envs.family import MetaEnv, Task, TaskError, check_positive
from metarl.envs.vector import BatchedMetaEnv


@dataclasses.dataclass(frozen=True)
class TabularMDPTask(Task):
    """``reward_means[s][a]`` = μ(s, a); ``transitions[s][a][s']`` = P(s' | s, a)."""

    reward_means: tuple[tuple[float, ...], ...]
    transitions: tuple[tuple[tuple[float, ...], ...], ...]


class TabularMDPEnv(MetaEnv[TabularMDPTask]):
    """A random tabular MDP with a one-hot state observation.

    Args:
        num_states: |S| (RL² paper: 10).
        num_actions: |A| (RL² paper: 5).
        horizon: steps per episode (RL² paper: 10).
        reward_mean_mu, reward_mean_sigma: μ(s, a) ~ N(mu, sigma²) (RL² paper: 1, 1).
        reward_noise: standard deviation of a step's reward around μ(s, a) (RL² paper: 1).

    Observation: one-hot state, float32 (num_states,). Action: ``Discrete(num_actions)``.
    References per episode (exact, by dynamic programming over the horizon, from the uniform start):
    random = the uniform policy's value, oracle = the optimal policy's value for the known MDP.
    """

    task_type = TabularMDPTask

    def __init__(
        self,
        num_states: int = 10,
        num_actions: int = 5,
        horizon: int = 10,
        reward_mean_mu: float = 1.0,
        reward_mean_sigma: float = 1.0,
        reward_noise: float = 1.0,
        render_mode: str | None = None,
    ) -> None:
        super().__init__()
        check_positive("num_states", num_states, integer=True)
        check_positive("num_actions", num_actions, integer=True)
        check_positive("horizon", horizon, integer=True)
        if not (reward_mean_sigma >= 0 and reward_noise >= 0):
            raise TaskError("reward_mean_sigma and reward_noise must be >= 0")
        self.num_states, self.num_actions = int(num_states), int(num_actions)
        self.horizon = int(horizon)
        self.reward_mean_mu, self.reward_mean_sigma = (
            float(reward_mean_mu),
            float(reward_mean_sigma),
        )
        self.reward_noise = float(reward_noise)
        self.render_mode = render_mode
        self.observation_space = spaces.Box(0.0, 1.0, shape=(self.num_states,), dtype=np.float32)
        self.action_space = spaces.Discrete(self.num_actions)
        s, a = self.num_states, self.num_actions
        self._task = TabularMDPTask(
            reward_means=((0.0,) * a,) * s, transitions=(((1.0 / s,) * s,) * a,) * s
        )
        self._state = 0

    def parameters(self) -> dict[str, Any]:
        """Constructor parameters."""
        return {
            "num_states": self.num_states, "num_actions": self.num_actions,
            "horizon": self.horizon, "reward_mean_mu": self.reward_mean_mu,
            "reward_mean_sigma": self.reward_mean_sigma, "reward_noise": self.reward_noise,
        }  # fmt: skip

    def sample_tasks(self, n: int, rng: np.random.Generator) -> list[TabularMDPTask]:
        """``n`` MDPs: Gaussian mean rewards, flat-Dirichlet transitions."""
        s, a = self.num_states, self.num_actions
        mu = rng.normal(self.reward_mean_mu, self.reward_mean_sigma, size=(n, s, a))
        p = rng.dirichlet(np.ones(s), size=(n, s, a))
        return [
            TabularMDPTask(reward_means=_tuples(mu[i]), transitions=_tuples(p[i])) for i in range(n)
        ]

    def validate_task(self, task: TabularMDPTask) -> None:
        """Shapes must match the env; each P(·|s, a) a probability vector."""
        mu, p = np.asarray(task.reward_means), np.asarray(task.transitions)
        s, a = self.num_states, self.num_actions
        if mu.shape != (s, a) or p.shape != (s, a, s):
            raise TaskError(
                f"this MDP needs reward_means of shape {(s, a)} and transitions of shape "
                f"{(s, a, s)}, got {mu.shape} and {p.shape}"
            )
        if not np.all(np.isfinite(mu)) or np.any(p < 0) or not np.allclose(p.sum(-1), 1, atol=1e-5):
            raise TaskError("rewards must be finite and each transitions[s][a] must sum to 1")

    def random_return(self, task: TabularMDPTask) -> float:
        """Expected episode return of the uniform random policy."""
        return self._value(task, optimal=False)

    def oracle_return(self, task: TabularMDPTask) -> float:
        """Expected episode return of the optimal policy that knows the MDP."""
        return self._value(task, optimal=True)

    def _value(self, task: TabularMDPTask, optimal: bool) -> float:
        mu, p = np.asarray(task.reward_means), np.asarray(task.transitions)
        v = np.zeros(self.num_states)
        for _ in range(self.horizon):
            q = mu + p @ v
            v = q.max(axis=1) if optimal else q.mean(axis=1)
        return float(v.mean())

    def _reset_task_state(self) -> np.ndarray:
        u = self._uniforms(1)[0]
        self._state = min(int(u * self.num_states), self.num_states - 1)
        return self._obs()

    def _obs(self) -> np.ndarray:
        obs = np.zeros(self.num_states, dtype=np.float32)
        obs[self._state] = 1.0
        return obs

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Take ``action``: returns ``(one-hot next state, reward, False, timed_out, {})``."""
        if not self.action_space.contains(action):
            raise TaskError(
                f"action {action!r} is not valid: use an integer in [0, {self.num_actions})"
            )
        a = int(action)
        u = self._uniforms(1)[0]
        z = self._normal()
        mu = np.float32(self.task.reward_means[self._state][a])
        reward = float(mu + np.float32(self.reward_noise) * z)
        cdf = np.cumsum(np.asarray(self.task.transitions[self._state][a], dtype=np.float32))
        self._state = int(np.sum(cdf[:-1].astype(np.float64) <= u))
        self._t += 1
        return self._obs(), reward, False, self._t >= self.horizon, {}


def _tuples(x: np.ndarray) -> Any:
    if x.ndim == 1:
        return tuple(float(v) for v in x)
    return tuple(_tuples(row) for row in x)


class TabularMDPVectorEnv(BatchedMetaEnv):
    """Native batched :class:`TabularMDPEnv`: ``(num_envs, S, A[, S])`` parameter tensors."""

    def __init__(
        self,
        num_envs: int,
        device: str | torch.device = "cpu",
        validate_actions: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(TabularMDPEnv(**kwargs), num_envs, device, validate_actions)
        self.state = torch.zeros(num_envs, dtype=torch.int64, device=self.device)
        self._rows = torch.arange(num_envs, device=self.device)

    def _obs(self) -> torch.Tensor:
        # scatter rather than one_hot, which checks the index range (a host sync on CUDA)
        obs = torch.zeros(self.num_envs, self.family.num_states, device=self.device)
        return obs.scatter_(1, self.state[:, None], 1.0)

    def _reset_state(self, mask: torch.Tensor) -> torch.Tensor:
        s = self.family.num_states
        start = (self.uniforms(0) * s).to(torch.int64).clamp(max=s - 1)
        self.state = torch.where(mask, start, self.state)
        self.counter = self.counter + mask.to(torch.int64)
        return self._obs()

    def _step(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        actions = self._check_discrete(actions, self.family.num_actions)
        u, u1, u2 = self.uniform_block(0, 3).unbind(1)  # transition; the reward's normal
        z = crng.box_muller_torch(u1, u2)
        self.counter = self.counter + 3
        # One flat row index per sub-env and index_select: several times faster than indexing
        # [rows, state, actions] with three index tensors.
        s, a = self.family.num_states, self.family.num_actions
        flat = (self._rows * s + self.state) * a + actions
        mu = self.params["reward_means"].reshape(-1).index_select(0, flat)
        reward = mu + np.float32(self.family.reward_noise) * z
        cdf = self.params["transitions"].reshape(-1, s).index_select(0, flat).cumsum(dim=1)
        self.state = (cdf[:, :-1].double() <= u[:, None].double()).sum(dim=1)
        done = torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)
        return self._obs(), reward, done
