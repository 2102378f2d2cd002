"""An example continuous family: walk as fast as possible in a direction the agent is not told.

A one-file metarl family (see docs/adding_a_family.md), a two-dimensional miniature of the
cheetah-dir and ant-dir benchmarks. A point moves on the plane, each action a move of at most 1
per axis; each task pays for progress along its own heading, which the agent never sees: it has
to find the direction from the rewards of its first moves, then keep walking that way. The hidden
part is the reward (unlike mirrored-controls, whose hidden part is the dynamics)::

    python -m metarl.envs examples.hidden_heading:HiddenHeading-v0
    python -m metarl.train --agent maml --env examples.hidden_heading:HiddenHeading-v0
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from metarl.envs.family import MetaEnv, Task, TaskError, check_positive, check_range

ENV_ID = "HiddenHeading-v0"


@dataclasses.dataclass(frozen=True)
class HiddenHeadingTask(Task):
    """The paying direction, an angle in degrees counter-clockwise from the x axis."""

    heading: float


class HiddenHeadingEnv(MetaEnv[HiddenHeadingTask]):
    """Walk along a hidden heading.

    Args:
        arc: headings are drawn ~ U[arc] (degrees); the default is the whole circle.
        horizon: steps per episode; the env truncates by itself.

    Observation: float32 (4,): the position (starting at the origin) and the last move, each
    (x, y). Action: ``Box(-1, 1, (2,))``, clipped to it, is the move (as a motor's force is
    bounded on each axis). Reward: the move's length along the heading, ``move · (cos, sin)``.
    So the best move is the corner of the square nearest the heading, and the oracle earns
    exactly ``horizon * (|cos| + |sin|)``; uniformly random actions earn exactly 0 in expectation
    (a and -a are equally likely). A policy can push its mean past the corner, so that its
    sampling noise is mostly clipped away (as locomotion policies saturate their torques).
    Nothing here is random, so the env draws nothing from its stream.
    """

    task_type = HiddenHeadingTask

    def __init__(
        self,
        arc: tuple[float, float] = (0.0, 360.0),
        horizon: int = 20,
        render_mode: str | None = None,
    ) -> None:
        super().__init__()
        check_positive("horizon", horizon, integer=True)
        low, high = (float(a) for a in arc)
        check_range("arc", low, high)
        if high - low > 360.0:
            raise TaskError(f"arc must span at most 360 degrees, got {arc}")
        self.arc, self.horizon = (low, high), int(horizon)
        self.render_mode = render_mode
        bound = float(self.horizon)  # no walk of horizon moves of at most 1 per axis gets further
        self.observation_space = spaces.Box(-bound, bound, shape=(4,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self._task = HiddenHeadingTask(low)
        self._pos = np.zeros(2, dtype=np.float32)
        self._move = np.zeros(2, dtype=np.float32)

    def parameters(self) -> dict[str, Any]:
        """Constructor parameters (shown by ``python -m metarl.envs``, saved in config.json)."""
        return {"arc": self.arc, "horizon": self.horizon}

    def sample_tasks(self, n: int, rng: np.random.Generator) -> list[HiddenHeadingTask]:
        """``n`` tasks with headings uniform on ``arc``."""
        return [HiddenHeadingTask(float(h)) for h in rng.uniform(*self.arc, size=n)]

    def validate_task(self, task: HiddenHeadingTask) -> None:
        """The heading must be a finite angle inside ``arc``."""
        low, high = self.arc
        if not (math.isfinite(task.heading) and low <= task.heading <= high):
            raise TaskError(f"heading must lie in [{low}, {high}] degrees, got {task.heading}")

    def oracle_return(self, task: HiddenHeadingTask) -> float:
        """The corner of the action square nearest the heading, every step: exact."""
        cos, sin = self.direction(task)
        return float(self.horizon * (abs(cos) + abs(sin)))

    def random_return(self, task: HiddenHeadingTask) -> float:
        """Uniformly random actions: 0 in expectation, exactly (a and -a are equally likely)."""
        return 0.0

    def direction(self, task: HiddenHeadingTask | None = None) -> np.ndarray:
        """The unit heading vector ``(2,)`` of ``task`` (default: the current task)."""
        angle = math.radians((task or self.task).heading)
        return np.array([math.cos(angle), math.sin(angle)], dtype=np.float32)

    def _obs(self) -> np.ndarray:
        return np.concatenate([self._pos, self._move]).astype(np.float32)

    def _reset_task_state(self) -> np.ndarray:
        """Start at the origin, standing still; ``MetaEnv.reset`` calls this."""
        self._pos = np.zeros(2, dtype=np.float32)
        self._move = np.zeros(2, dtype=np.float32)
        return self._obs()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Move by the action clipped to the square: ``(obs, reward, False, timed_out, {})``."""
        a = np.asarray(action, dtype=np.float32)
        if a.shape != (2,) or not np.all(np.isfinite(a)):
            raise TaskError(f"action must be 2 finite numbers (x, y), got {action!r}")
        move = np.clip(a, -1.0, 1.0)
        self._pos, self._move = (self._pos + move).astype(np.float32), move
        self._t += 1
        reward = float(move @ self.direction())
        return self._obs(), reward, False, self._t >= self.horizon, {}


def register() -> str:
    """Register the family with Gymnasium (once) and return its id (importing does it)."""
    if ENV_ID not in gym.registry:
        gym.register(ENV_ID, entry_point=HiddenHeadingEnv)
    return ENV_ID


register()
