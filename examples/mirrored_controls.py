"""An example continuous family: reach a visible goal with controls of hidden sign and strength.

A one-file metarl family (see docs/adding_a_family.md). A point on the plane must reach a goal
it can see (a new one every episode), but each task mirrors the controls along each axis and
scales them by a gain, none of which the agent is told: it has to work out from its first moves
how its actions move it, then steer. The hidden part is the dynamics, not the goal (unlike
windy-line, whose target is hidden)::

    python -m metarl.envs examples.mirrored_controls:MirroredControls-v1
    python -m metarl.train --agent rl2 --env examples.mirrored_controls:MirroredControls-v1
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from metarl.envs.family import MetaEnv, Task, TaskError, check_positive, check_range

ENV_ID = "MirroredControls-v1"  # v0 had no last move in the observation
BOUND = 2.0  # positions stay in [-BOUND, BOUND]^2
_REFERENCE_EPISODES = 512  # episodes (goals) behind each reference return


@dataclasses.dataclass(frozen=True)
class MirroredControlsTask(Task):
    """How an action moves the point: ``move = (sign_x, sign_y) * gain * max_step * action``."""

    sign_x: float  # +1.0 or -1.0
    sign_y: float  # +1.0 or -1.0
    gain: float


class MirroredControlsEnv(MetaEnv[MirroredControlsTask]):
    """Reach a visible goal with mirrored, scaled controls.

    Args:
        max_step: the move of a full action at gain 1, per axis.
        gain_range: gains are drawn ~ U[gain_range].
        horizon: steps per episode; the env truncates by itself.

    Observation: float32 (6,): the position, the last move (zero at the start: the point's
    velocity, which shows how the last action came out) and the episode's goal, each (x, y).
    The start is the origin; the goal is uniform in [-1, 1]^2, drawn from the env's counter-based
    stream (two draws per reset). Action: ``Box(-1, 1, (2,))`` (clipped to it). Reward: minus the Euclidean
    distance to the goal after the move.
    """

    task_type = MirroredControlsTask

    def __init__(
        self,
        max_step: float = 0.2,
        gain_range: tuple[float, float] = (0.5, 1.5),
        horizon: int = 20,
        render_mode: str | None = None,
    ) -> None:
        super().__init__()
        check_positive("max_step", max_step)
        check_positive("horizon", horizon, integer=True)
        low, high = (float(g) for g in gain_range)
        check_range("gain_range", low, high)
        check_positive("gain_range low", low)
        self.max_step, self.gain_range, self.horizon = float(max_step), (low, high), int(horizon)
        self.render_mode = render_mode
        self.observation_space = spaces.Box(-BOUND, BOUND, shape=(6,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self._task = MirroredControlsTask(1.0, 1.0, 1.0)
        self._pos = np.zeros(2, dtype=np.float32)
        self._move = np.zeros(2, dtype=np.float32)
        self._goal = np.zeros(2, dtype=np.float32)

    def parameters(self) -> dict[str, Any]:
        """Constructor parameters (shown by ``python -m metarl.envs``, saved in config.json)."""
        return {"max_step": self.max_step, "gain_range": self.gain_range, "horizon": self.horizon}

    def sample_tasks(self, n: int, rng: np.random.Generator) -> list[MirroredControlsTask]:
        """``n`` tasks: each axis mirrored with probability 1/2, the gain uniform."""
        signs = rng.choice([-1.0, 1.0], size=(n, 2))
        gains = rng.uniform(*self.gain_range, size=n)
        return [
            MirroredControlsTask(float(sx), float(sy), float(g))
            for (sx, sy), g in zip(signs, gains)
        ]

    def validate_task(self, task: MirroredControlsTask) -> None:
        """Signs must be +-1 and the gain inside ``gain_range``."""
        if task.sign_x not in (-1.0, 1.0) or task.sign_y not in (-1.0, 1.0):
            raise TaskError(f"signs must be +1 or -1, got {task.sign_x}, {task.sign_y}")
        low, high = self.gain_range
        if not low <= task.gain <= high:
            raise TaskError(f"gain must lie in [{low}, {high}], got {task.gain}")

    def oracle_return(self, task: MirroredControlsTask) -> float:
        """Mean return, over 512 goals of a fixed seed, of moving each axis straight at the goal
        as far as the task's gain allows (greedy is optimal: each axis's distance only shrinks)."""
        reach = task.gain * self.max_step

        def policy(pos: np.ndarray, goal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
            return np.clip(goal - pos, -reach, reach)

        return self._mean_return(policy)

    def random_return(self, task: MirroredControlsTask) -> float:
        """Mean return, over 512 goals of a fixed seed, of uniformly random actions."""
        reach = task.gain * self.max_step

        def policy(pos: np.ndarray, goal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
            return rng.uniform(-reach, reach, size=pos.shape)

        return self._mean_return(policy)

    def _mean_return(self, policy: Any) -> float:
        """Mean return of ``policy(pos (E, 2), goal (E, 2), rng) -> moves (E, 2)`` (moves in
        world units, already mirrored and scaled) over the reference goals."""
        rng = np.random.default_rng(0)
        goal = rng.uniform(-1.0, 1.0, size=(_REFERENCE_EPISODES, 2))
        pos = np.zeros_like(goal)
        total = np.zeros(len(goal))
        for _ in range(self.horizon):
            pos = np.clip(pos + policy(pos, goal, rng), -BOUND, BOUND)
            total -= np.linalg.norm(pos - goal, axis=1)
        return float(total.mean())

    def _obs(self) -> np.ndarray:
        return np.concatenate([self._pos, self._move, self._goal]).astype(np.float32)

    def _reset_task_state(self) -> np.ndarray:
        """Start at the origin with a new goal; ``MetaEnv.reset`` calls this."""
        self._pos = np.zeros(2, dtype=np.float32)
        self._move = np.zeros(2, dtype=np.float32)
        self._goal = (2.0 * self._uniforms(2) - 1.0).astype(np.float32)
        return self._obs()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Move by the mirrored, scaled action: ``(obs, reward, False, timed_out, {})``."""
        a = np.asarray(action, dtype=np.float32)
        if a.shape != (2,) or not np.all(np.isfinite(a)):
            raise TaskError(f"action must be 2 finite numbers (x, y), got {action!r}")
        task = self.task
        scale = np.array([task.sign_x, task.sign_y], dtype=np.float32) * task.gain * self.max_step
        pos = np.clip(self._pos + scale * np.clip(a, -1.0, 1.0), -BOUND, BOUND).astype(np.float32)
        self._pos, self._move = pos, pos - self._pos
        reward = -float(np.linalg.norm(self._pos - self._goal))
        self._t += 1
        return self._obs(), reward, False, self._t >= self.horizon, {}


def register() -> str:
    """Register the family with Gymnasium (once) and return its id (importing does it)."""
    if ENV_ID not in gym.registry:
        gym.register(ENV_ID, entry_point=MirroredControlsEnv)
    return ENV_ID


register()
