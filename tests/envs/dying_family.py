"""A user family whose env kills its own process at a given step (a crash in native code, the
OOM killer): what an async vector env's worker dying looks like, for tests/envs/test_vector_faults.py."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from metarl.envs.family import MetaEnv, Task


@dataclasses.dataclass(frozen=True)
class DyingTask(Task):
    """Nothing to learn: the task only exists for the family's contract."""

    x: float


class DyingEnv(MetaEnv[DyingTask]):
    """Exits its process (status 3) at step ``die_at`` of an episode."""

    task_type = DyingTask

    def __init__(self, die_at: int = 3, render_mode: str | None = None) -> None:
        super().__init__()
        self.die_at, self.horizon = die_at, 10
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self._task = DyingTask(x=0.0)

    def sample_tasks(self, n: int, rng: np.random.Generator) -> list[DyingTask]:
        """``n`` meaningless tasks."""
        return [DyingTask(x=float(v)) for v in rng.uniform(size=n)]

    def _reset_task_state(self) -> np.ndarray:
        return np.zeros(1, dtype=np.float32)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Zero observation and reward, until the process dies at ``die_at``."""
        self._t += 1
        if self._t >= self.die_at:
            os._exit(3)
        return np.zeros(1, dtype=np.float32), 0.0, False, self._t >= self.horizon, {}


gym.register("DyingFamily-v0", entry_point=DyingEnv)
