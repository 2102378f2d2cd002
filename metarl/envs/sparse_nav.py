"""Sparse 2D navigation: a goal on a half circle that pays only when the point is near it.

Dense nav (``metarl.envs.nav``) states the distance to the goal in every reward, so one episode
holds all there is to learn about the task. Here the reward is 1 per step within
``goal_radius`` of the goal and 0 elsewhere, and the goals lie on a half circle of radius
``goal_distance`` around the start: an agent that has not found the goal yet learns nothing from
its rewards but *where the goal is not*. A good meta-learner therefore sweeps the half circle in
its first episode and, remembering where the reward came, goes straight there in the next: the
return of episode 2 above episode 1 is the measure of exploration across episodes that dense nav
and the dense cheetahs cannot give.

This follows the sparse point robot of HyperX (Zintgraf et al. 2021, "Exploration in
Approximate Hyper-State Space for Meta Reinforcement Learning", ``SparsePointEnv``: goals on a
half circle of radius 1, reward only within 0.2 of the goal, 100 steps); the reward there is a
shifted dense one inside the radius, here it is the indicator, so that every step within reach
counts alike and the return counts the steps spent at the goal. The motion is dense nav's: the
action is a velocity clipped per coordinate to ``[-max_step, max_step]``, the observation is the
position, and the episode never terminates early (staying at the goal keeps paying).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from metarl.envs.family import MetaEnv, TaskError, check_positive
from metarl.envs.nav import NavTask, NavVectorEnv, check_goal, clipped_move

_RANDOM_EPISODES = 512


class SparseNavEnv(MetaEnv[NavTask]):
    """Find a goal on a half circle from a reward paid only near it.

    Args:
        goal_distance: goals lie on the half circle of this radius around the start, at an angle
            ~ U[0, π] (the upper half plane; HyperX: 1.0).
        goal_radius: the reward is 1 per step within this distance of the goal (HyperX: 0.2).
        max_step: actions are clipped per coordinate to [-max_step, max_step] (as nav: 0.1).
        horizon: steps per episode (HyperX: 100).

    Observation: the position, float32 (2,). Reward: after the move, 1.0 within ``goal_radius``
    of the goal, else 0.0. Never terminates; truncates after ``horizon`` steps.
    References: oracle = full speed straight to the goal, then staying (it knows the goal);
    random = uniform actions, a Monte Carlo mean of 512 episodes (about 0: a random walk rarely
    strays 0.8 from the start). An explorer that does not know the goal scores between the two
    in its first episode and can reach the oracle from its second.
    """

    task_type = NavTask

    def __init__(
        self,
        goal_distance: float = 1.0,
        goal_radius: float = 0.2,
        max_step: float = 0.1,
        horizon: int = 100,
        render_mode: str | None = None,
    ) -> None:
        super().__init__()
        check_positive("goal_distance", goal_distance)
        check_positive("goal_radius", goal_radius)
        check_positive("max_step", max_step)
        check_positive("horizon", horizon, integer=True)
        if goal_radius >= goal_distance:
            raise TaskError(
                f"goal_radius {goal_radius} must be below goal_distance {goal_distance}: "
                "otherwise the start already pays and there is nothing to find"
            )
        self.goal_distance, self.goal_radius = float(goal_distance), float(goal_radius)
        self.max_step, self.horizon = float(max_step), int(horizon)
        self.render_mode = render_mode
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float32)
        self.action_space = spaces.Box(-self.max_step, self.max_step, shape=(2,), dtype=np.float32)
        self._task = NavTask(goal=(self.goal_distance, 0.0))
        self._pos = np.zeros(2, dtype=np.float32)

    def parameters(self) -> dict[str, Any]:
        """Constructor parameters."""
        return {
            "goal_distance": self.goal_distance, "goal_radius": self.goal_radius,
            "max_step": self.max_step, "horizon": self.horizon,
        }  # fmt: skip

    def sample_tasks(self, n: int, rng: np.random.Generator) -> list[NavTask]:
        """``n`` goals at ``goal_distance`` from the start, at angles ~ U[0, π]."""
        angle = rng.uniform(0.0, math.pi, size=n)
        x, y = self.goal_distance * np.cos(angle), self.goal_distance * np.sin(angle)
        return [NavTask(goal=(float(a), float(b))) for a, b in zip(x, y)]

    def validate_task(self, task: NavTask) -> None:
        """The goal must be two finite numbers (goals off the half circle are allowed)."""
        check_goal(task, "sparse-nav")

    def _reset_task_state(self) -> np.ndarray:
        self._pos = np.zeros(2, dtype=np.float32)
        return self._pos.copy()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Move by the clipped action; returns ``(position, reward, False, timed_out, {})``."""
        self._pos = clipped_move(self._pos, action, self.max_step, "sparse-nav")
        d = self._pos - np.asarray(self.task.goal, dtype=np.float32)
        reward = float(np.float32(d[0] * d[0] + d[1] * d[1]) <= np.float32(self.goal_radius**2))
        self._t += 1
        return self._pos.copy(), reward, False, self._t >= self.horizon, {}

    def oracle_return(self, task: NavTask) -> float:
        """Return of moving at full speed toward the goal, then staying on it."""
        return self._rollout(task, lambda pos, goal: goal - pos)

    def random_return(self, task: NavTask) -> float:
        """Mean return of uniformly random actions (512 episodes, a fixed seed)."""
        rng = np.random.default_rng(0)
        return self._rollout(
            task,
            lambda pos, goal: rng.uniform(-self.max_step, self.max_step, size=pos.shape),
            episodes=_RANDOM_EPISODES,
        )

    def _rollout(self, task: NavTask, policy: Any, episodes: int = 1) -> float:
        """Mean return of ``policy(pos (E, 2), goal (2,)) -> actions (E, 2)`` over episodes,
        in float32 as :meth:`step` computes it."""
        goal = np.asarray(task.goal, dtype=np.float32)
        pos = np.zeros((episodes, 2), dtype=np.float32)
        total = np.zeros(episodes)
        lim = np.float32(self.max_step)
        for _ in range(self.horizon):
            pos = (pos + np.clip(policy(pos, goal).astype(np.float32), -lim, lim)).astype(
                np.float32
            )
            d = pos - goal
            total += (d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1]) <= np.float32(self.goal_radius**2)
        return float(total.mean())


class SparseNavVectorEnv(NavVectorEnv):
    """Native batched :class:`SparseNavEnv`: nav's batched motion with the indicator reward."""

    family_cls = SparseNavEnv

    def _outcome(self, d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """1.0 within ``goal_radius`` of the goal, else 0.0; never terminates."""
        near = d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] <= self.family.goal_radius**2
        return near.to(torch.float32), torch.zeros_like(near)
