"""An example task family in one file: reach a hidden target on a windy line.

This is the whole recipe for a new metarl family: a task dataclass, a ``MetaEnv`` subclass and a
``gymnasium.register`` call. Run from the repository root, with no change to metarl::

    python -m metarl.envs examples.windy_line:WindyLine-v0
    python -m metarl.train --agent rl2 --env examples.windy_line:WindyLine-v0

or from Python::

    from metarl.envs import family_tasks, make_vector_env

    env = make_vector_env("examples.windy_line:WindyLine-v0", 8, mode="sync")
    tasks = family_tasks("examples.windy_line:WindyLine-v0", "train", 8, seed=0)
    obs, info = env.reset(seed=0, options={"tasks": tasks})

To ship it in a package of your own, expose :func:`register` in the entry-point group
``metarl.families`` (see docs/adding_a_family.md); then ``--env windy-line`` finds it.

The family: an agent on the line [-2, 2] starts near the origin and moves left, stays or moves
right each step, while a constant wind pushes it. A task is a target position and the wind; the
agent sees only its position, so it must find the target from the rewards (-|x - target|) and
learn to lean against the wind.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from metarl.envs.family import MetaEnv, Task, TaskError, check_positive

ENV_ID = "WindyLine-v0"
BOUND = 2.0


@dataclasses.dataclass(frozen=True)
class WindyLineTask(Task):
    """A task is plain numbers: where the target is and how hard the wind blows (+ = rightward)."""

    target: float
    wind: float

    def distance(self, position: float) -> float:
        """How far ``position`` is from the target (tasks may have methods, not extra state)."""
        return abs(position - self.target)


class WindyLineEnv(MetaEnv[WindyLineTask]):
    """Find a hidden target on a line against a constant wind.

    Args:
        target_range: targets are drawn ~ U[-target_range, target_range].
        max_wind: winds are drawn ~ U[-max_wind, max_wind] (must stay below ``step_size``).
        step_size: how far one left/right action moves the agent.
        horizon: steps per episode; the env truncates by itself.

    Observation: the position, float32 (1,), in [-2, 2]. Action: ``Discrete(3)``: 0 left, 1 stay,
    2 right. Reward: ``-|position - target|`` after the move. The start position is uniform in
    [-0.1, 0.1], drawn from the env's counter-based stream (:meth:`MetaEnv._uniforms`), never from
    a global RNG, so a seed fixes every episode.
    """

    task_type = WindyLineTask

    def __init__(
        self,
        target_range: float = 1.0,
        max_wind: float = 0.05,
        step_size: float = 0.1,
        horizon: int = 20,
        render_mode: str | None = None,
    ) -> None:
        super().__init__()
        check_positive("target_range", target_range)
        check_positive("step_size", step_size)
        check_positive("horizon", horizon, integer=True)
        if not 0.0 <= max_wind < step_size:
            raise TaskError(f"max_wind must lie in [0, step_size={step_size}), got {max_wind}")
        if target_range > BOUND:
            raise TaskError(f"target_range must be at most {BOUND}, got {target_range}")
        self.target_range, self.max_wind = float(target_range), float(max_wind)
        self.step_size, self.horizon = float(step_size), int(horizon)
        self.render_mode = render_mode
        self.observation_space = spaces.Box(-BOUND, BOUND, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Discrete(3)
        self._task = WindyLineTask(target=0.0, wind=0.0)  # a default task, set directly
        self._pos = np.float32(0.0)

    def parameters(self) -> dict[str, Any]:
        """Constructor parameters (shown by ``python -m metarl.envs``, saved in config.json)."""
        return {
            "target_range": self.target_range,
            "max_wind": self.max_wind,
            "step_size": self.step_size,
            "horizon": self.horizon,
        }

    def sample_tasks(self, n: int, rng: np.random.Generator) -> list[WindyLineTask]:
        """``n`` tasks drawn from ``rng`` (metarl passes a seeded generator per split)."""
        targets = rng.uniform(-self.target_range, self.target_range, size=n)
        winds = rng.uniform(-self.max_wind, self.max_wind, size=n)
        return [WindyLineTask(float(t), float(w)) for t, w in zip(targets, winds)]

    def validate_task(self, task: WindyLineTask) -> None:
        """Reject tasks this env cannot run (called by ``set_task``)."""
        if not (np.isfinite(task.target) and abs(task.target) <= BOUND):
            raise TaskError(f"target must lie in [-{BOUND}, {BOUND}], got {task.target}")
        if not abs(task.wind) <= self.max_wind:
            raise TaskError(
                f"wind must lie in [-{self.max_wind}, {self.max_wind}], got {task.wind}"
            )

    def oracle_return(self, task: WindyLineTask) -> float:
        """Optional (it enables normalized scores): the return of a greedy agent that knows the
        task, started at 0 (the mean start). ``random_return`` below is the other reference."""
        pos, total = 0.0, 0.0
        for _ in range(self.horizon):
            moves = [pos + a * self.step_size + task.wind for a in (-1, 0, 1)]
            pos = min((float(np.clip(m, -BOUND, BOUND)) for m in moves), key=task.distance)
            total -= task.distance(pos)
        return total

    def random_return(self, task: WindyLineTask) -> float:
        """Optional (with ``oracle_return`` it enables normalized scores): the exact expected
        return of uniformly random actions from 0, by dynamic programming over the positions the
        walk can reach (a dict of position -> probability; a few hundred entries)."""
        dist, total = {0.0: 1.0}, 0.0
        for _ in range(self.horizon):
            nxt: dict[float, float] = {}
            for pos, p in dist.items():
                for a in (-1, 0, 1):
                    new = round(
                        float(np.clip(pos + a * self.step_size + task.wind, -BOUND, BOUND)), 9
                    )
                    nxt[new] = nxt.get(new, 0.0) + p / 3
            dist = nxt
            total -= sum(p * task.distance(pos) for pos, p in dist.items())
        return total

    def _reset_task_state(self) -> np.ndarray:
        """Start an episode of the current task; ``MetaEnv.reset`` calls this."""
        self._pos = np.float32(0.2 * self._uniforms(1)[0] - 0.1)
        return np.array([self._pos], dtype=np.float32)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Move left/stay/right, then drift with the wind: ``(obs, reward, False, timed_out, {})``."""
        if not self.action_space.contains(action):
            raise TaskError(f"action {action!r} is not valid: use 0 (left), 1 (stay) or 2 (right)")
        move = (int(action) - 1) * self.step_size + self.task.wind
        self._pos = np.float32(np.clip(self._pos + move, -BOUND, BOUND))
        reward = -self.task.distance(float(self._pos))
        self._t += 1
        return np.array([self._pos], dtype=np.float32), reward, False, self._t >= self.horizon, {}


def register() -> str:
    """Register the family with Gymnasium (once) and return its id.

    Importing this module registers it, which is all ``--env examples.windy_line:WindyLine-v0``
    needs; this function is what an entry point in the group ``metarl.families`` points at.
    """
    if ENV_ID not in gym.registry:
        gym.register(ENV_ID, entry_point=WindyLineEnv)
    return ENV_ID


register()
