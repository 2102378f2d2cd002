"""2D point navigation, as in the MAML paper (Finn et al. 2017, Sec. 5.3).

The point starts at the origin; the task is a goal position. Each action is a velocity, clipped
per coordinate to ``[-max_step, max_step]``. Paper values: goals ~ U[-0.5, 0.5]², max_step 0.1,
horizon 100, the episode ends when both coordinates are within 0.01 of the goal (as in the
reference code). The paper's text says the reward is the negative *squared* distance; its code and
the reproductions (pytorch-maml-rl, learn2learn) use the negative L2 distance, our default
(``distance="l2"``; ``"squared"`` is the text's variant). garage's PointEnv uses goals in
[-2, 2]² (``goal_low=-2, goal_high=2``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces

from metarl.envs.family import MetaEnv, Task, TaskError, check_positive, check_range
from metarl.envs.vector import BatchedMetaEnv

DISTANCES = ("l2", "squared")
_RANDOM_EPISODES = 512


@dataclasses.dataclass(frozen=True)
class NavTask(Task):
    """A goal position ``(x, y)``."""

    goal: tuple[float, float]


def check_goal(task: NavTask, family: str) -> None:
    """Raise :class:`TaskError` unless the goal of ``task`` is two finite numbers."""
    if len(task.goal) != 2 or not np.all(np.isfinite(task.goal)):
        raise TaskError(f"a {family} goal is two finite numbers, got {task.goal}")


def clipped_move(pos: np.ndarray, action: Any, max_step: float, family: str) -> np.ndarray:
    """``pos`` (2,) float32 moved by ``action`` clipped per coordinate to ``±max_step``."""
    a = np.clip(np.asarray(action, dtype=np.float32), -max_step, max_step)
    if a.shape != (2,):
        raise TaskError(f"a {family} action is a 2-vector, got shape {a.shape}")
    return (pos + a).astype(np.float32)


class NavEnv(MetaEnv[NavTask]):
    """Point navigation to a goal.

    Args:
        goal_low, goal_high: goals are drawn ~ U[goal_low, goal_high]² (MAML: -0.5, 0.5).
        max_step: actions are clipped per coordinate to [-max_step, max_step] (MAML: 0.1).
        horizon: steps per episode (MAML: 100).
        goal_radius: the episode terminates when |x - gx| and |y - gy| are both below it (0.01).
        distance: ``"l2"`` (reward -‖p - g‖, MAML code) or ``"squared"`` (-‖p - g‖², MAML text).

    Observation: the position, float32 (2,). Reward: after the move.
    References: oracle = moving at full speed straight toward the goal (clipped greedy, optimal
    under the per-coordinate clip); random = uniform actions, a Monte Carlo mean of 512 episodes.
    """

    task_type = NavTask

    def __init__(
        self,
        goal_low: float = -0.5,
        goal_high: float = 0.5,
        max_step: float = 0.1,
        horizon: int = 100,
        goal_radius: float = 0.01,
        distance: str = "l2",
        render_mode: str | None = None,
    ) -> None:
        super().__init__()
        check_range("goal range (goal_low, goal_high)", goal_low, goal_high)
        check_positive("max_step", max_step)
        check_positive("horizon", horizon, integer=True)
        check_positive("goal_radius", goal_radius)
        if distance not in DISTANCES:
            raise TaskError(f"distance must be one of {DISTANCES}, got {distance!r}")
        self.goal_low, self.goal_high = float(goal_low), float(goal_high)
        self.max_step, self.horizon = float(max_step), int(horizon)
        self.goal_radius, self.distance = float(goal_radius), distance
        self.render_mode = render_mode
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float32)
        self.action_space = spaces.Box(-self.max_step, self.max_step, shape=(2,), dtype=np.float32)
        self._task = NavTask(goal=(0.0, 0.0))
        self._pos = np.zeros(2, dtype=np.float32)

    def parameters(self) -> dict[str, Any]:
        """Constructor parameters."""
        return {
            "goal_low": self.goal_low, "goal_high": self.goal_high, "max_step": self.max_step,
            "horizon": self.horizon, "goal_radius": self.goal_radius, "distance": self.distance,
        }  # fmt: skip

    def sample_tasks(self, n: int, rng: np.random.Generator) -> list[NavTask]:
        """``n`` goals ~ U[goal_low, goal_high]²."""
        goals = rng.uniform(self.goal_low, self.goal_high, size=(n, 2))
        return [NavTask(goal=(float(x), float(y))) for x, y in goals]

    def validate_task(self, task: NavTask) -> None:
        """The goal must be two finite numbers."""
        check_goal(task, "nav")

    def _reset_task_state(self) -> np.ndarray:
        self._pos = np.zeros(2, dtype=np.float32)
        return self._pos.copy()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Move by the clipped action; returns ``(position, reward, reached, timed_out, {})``."""
        self._pos = clipped_move(self._pos, action, self.max_step, "nav")
        d = self._pos - np.asarray(self.task.goal, dtype=np.float32)
        sq = np.float32(d[0] * d[0] + d[1] * d[1])
        reward = float(-sq if self.distance == "squared" else -np.sqrt(sq))
        terminated = bool(abs(d[0]) < self.goal_radius and abs(d[1]) < self.goal_radius)
        self._t += 1
        truncated = self._t >= self.horizon and not terminated
        return self._pos.copy(), reward, terminated, truncated, {}

    def oracle_return(self, task: NavTask) -> float:
        """Return of moving at full speed toward the goal."""
        return self._rollout(task, lambda pos, goal, _: goal - pos)

    def random_return(self, task: NavTask) -> float:
        """Mean return of uniformly random actions (512 episodes, a fixed seed)."""
        rng = np.random.default_rng(0)
        lim = self.max_step

        def policy(pos: np.ndarray, goal: np.ndarray, t: int) -> np.ndarray:
            return rng.uniform(-lim, lim, size=pos.shape)

        return self._rollout(task, policy, episodes=_RANDOM_EPISODES)

    def _rollout(self, task: NavTask, policy: Any, episodes: int = 1) -> float:
        """Mean return of ``policy(pos (E, 2), goal (2,), t) -> actions (E, 2)`` over episodes."""
        goal = np.asarray(task.goal, dtype=np.float64)
        pos = np.zeros((episodes, 2))
        alive = np.ones(episodes, dtype=bool)
        total = np.zeros(episodes)
        for t in range(self.horizon):
            pos = (
                pos + np.clip(policy(pos, goal, t), -self.max_step, self.max_step) * alive[:, None]
            )
            d = pos - goal
            sq = (d**2).sum(axis=1)
            total += np.where(alive, -sq if self.distance == "squared" else -np.sqrt(sq), 0.0)
            alive &= ~np.all(np.abs(d) < self.goal_radius, axis=1)
        return float(total.mean())


class NavVectorEnv(BatchedMetaEnv):
    """Native batched :class:`NavEnv`: positions and goals are ``(num_envs, 2)`` tensors.

    Families with nav's motion and another reward subclass it with their own ``family_cls`` and
    :meth:`_outcome`."""

    family_cls: ClassVar[type[MetaEnv]] = NavEnv

    def __init__(
        self,
        num_envs: int,
        device: str | torch.device = "cpu",
        validate_actions: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(self.family_cls(**kwargs), num_envs, device, validate_actions)
        self.pos = torch.zeros(num_envs, 2, device=self.device)

    def _reset_state(self, mask: torch.Tensor) -> torch.Tensor:
        self.pos = torch.where(mask[:, None], 0.0, self.pos)
        return self.pos.clone()

    def _step(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        lim = self.family.max_step
        a = actions.to(torch.float32).view(self.num_envs, 2).clamp(-lim, lim)
        self.pos = self.pos + a
        reward, terminated = self._outcome(self.pos - self.params["goal"])
        return self.pos.clone(), reward, terminated

    def _outcome(self, d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Reward ``(num_envs,)`` float32 and termination ``(num_envs,)`` bool of the offsets
        ``d = position - goal`` ``(num_envs, 2)`` after a move."""
        sq = d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1]
        if self.family.distance == "squared":
            reward = -sq
        else:  # float64 sqrt: torch's vectorised float32 sqrt is not always correctly rounded
            reward = -torch.sqrt(sq.double()).to(torch.float32)  # (numpy's is): match bit for bit
        terminated = (d.abs() < self.family.goal_radius).all(dim=1)
        return reward, terminated
