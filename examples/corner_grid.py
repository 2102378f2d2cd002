"""An example discrete family: find the corner of a small grid that pays, then go straight there.

A one-file metarl family (see docs/adding_a_family.md). The agent starts in the centre of a
``size`` x ``size`` grid; one corner, hidden, pays 1 for every step the agent stands on it. The
agent sees only its own cell and the rewards, so in its first episode of a task it has to visit
corners until one pays, and in later episodes go straight there: a small exploration-then-
exploitation problem with a sparse reward (unlike windy-line's dense distance reward)::

    python -m metarl.envs examples.corner_grid:CornerGrid-v0
    python -m metarl.train --agent rl2 --env examples.corner_grid:CornerGrid-v0 --steps 2000000
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from metarl.envs.family import MetaEnv, Task, TaskError, check_positive

ENV_ID = "CornerGrid-v0"
# (row, col) change of each action: stay, up, down, left, right
MOVES = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))


@dataclasses.dataclass(frozen=True)
class CornerGridTask(Task):
    """The cell that pays, as (row, col) in 0..size-1 (tasks drawn by the family are corners)."""

    row: int
    col: int


class CornerGridEnv(MetaEnv[CornerGridTask]):
    """Find the paying corner of a grid from the centre.

    Args:
        size: the grid's side, an odd integer >= 3 (the start is its centre cell).
        horizon: steps per episode; the env truncates by itself.

    Observation: the agent's cell as float32 (2,) ``(row, col)`` in [-1, 1] (centre 0).
    Action: ``Discrete(5)``: 0 stay, 1 up, 2 down, 3 left, 4 right (a move into a wall stays).
    Reward: 1.0 when the cell after the move is the task's, else 0.0. Episodes are
    deterministic given the task (the start is always the centre).
    """

    task_type = CornerGridTask

    def __init__(self, size: int = 3, horizon: int = 10, render_mode: str | None = None) -> None:
        super().__init__()
        check_positive("horizon", horizon, integer=True)
        if isinstance(size, bool) or not isinstance(size, int) or size < 3 or size % 2 == 0:
            raise TaskError(f"size must be an odd integer >= 3, got {size!r}")
        self.size, self.horizon = size, int(horizon)
        self.render_mode = render_mode
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.action_space = spaces.Discrete(len(MOVES))
        self._task = CornerGridTask(0, 0)
        self._cell = (size // 2, size // 2)

    def parameters(self) -> dict[str, Any]:
        """Constructor parameters (shown by ``python -m metarl.envs``, saved in config.json)."""
        return {"size": self.size, "horizon": self.horizon}

    def corners(self) -> list[tuple[int, int]]:
        """The four corner cells, (row, col)."""
        last = self.size - 1
        return [(0, 0), (0, last), (last, 0), (last, last)]

    def sample_tasks(self, n: int, rng: np.random.Generator) -> list[CornerGridTask]:
        """``n`` tasks, each a corner drawn uniformly from ``rng``."""
        corners = self.corners()
        return [CornerGridTask(*corners[i]) for i in rng.integers(0, len(corners), size=n)]

    def validate_task(self, task: CornerGridTask) -> None:
        """The task's cell must lie on the grid (any cell, so hand-made tasks may be inner)."""
        if not all(isinstance(v, int) and 0 <= v < self.size for v in (task.row, task.col)):
            raise TaskError(
                f"row and col must be integers in [0, {self.size - 1}], got {task.row}, {task.col}"
            )

    def oracle_return(self, task: CornerGridTask) -> float:
        """Straight to the cell (Manhattan distance ``d`` steps), then stay: paid from step
        ``max(d, 1)`` to the horizon."""
        mid = self.size // 2
        d = abs(task.row - mid) + abs(task.col - mid)
        return float(max(0, self.horizon - max(d, 1) + 1))

    def random_return(self, task: CornerGridTask) -> float:
        """Exact expected return of uniformly random actions: the chance of standing on the task's
        cell after each step, summed, from the grid's random-walk transition matrix."""
        p = np.zeros((self.size, self.size))
        p[self.size // 2, self.size // 2] = 1.0
        total = 0.0
        for _ in range(self.horizon):
            nxt = np.zeros_like(p)
            for dr, dc in MOVES:
                for r, c in np.ndindex(p.shape):
                    nr, nc = self._moved((r, c), dr, dc)
                    nxt[nr, nc] += p[r, c] / len(MOVES)
            p = nxt
            total += p[task.row, task.col]
        return float(total)

    def _moved(self, cell: tuple[int, int], dr: int, dc: int) -> tuple[int, int]:
        """``cell`` moved by ``(dr, dc)``, kept on the grid."""
        last = self.size - 1
        return min(max(cell[0] + dr, 0), last), min(max(cell[1] + dc, 0), last)

    def _obs(self) -> np.ndarray:
        mid = self.size // 2
        return (np.array(self._cell, dtype=np.float32) - mid) / mid

    def _reset_task_state(self) -> np.ndarray:
        """Start an episode in the centre cell; ``MetaEnv.reset`` calls this."""
        self._cell = (self.size // 2, self.size // 2)
        return self._obs()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Move (or stay): ``(obs, reward, False, timed_out, {})``."""
        if not self.action_space.contains(action):
            raise TaskError(
                f"action {action!r} is not valid: use 0 (stay), 1 up, 2 down, 3 left, 4 right"
            )
        self._cell = self._moved(self._cell, *MOVES[int(action)])
        reward = float(self._cell == (self.task.row, self.task.col))
        self._t += 1
        return self._obs(), reward, False, self._t >= self.horizon, {}


def register() -> str:
    """Register the family with Gymnasium (once) and return its id (importing does it)."""
    if ENV_ID not in gym.registry:
        gym.register(ENV_ID, entry_point=CornerGridEnv)
    return ENV_ID


register()
