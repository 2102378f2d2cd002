"""Your own agent on metarl's held-out tasks, paired with metarl's agents in ``metarl.compare``.

Two curves pair task by task when they were measured on the same held-out tasks with the same
env draws. :func:`held_out` gives what ``python -m metarl.train --env ENV --seed S`` evaluates
on: its held-out tasks (the rl2 preset's number of them and family parameters, unless given),
the env seed of each task's trial, and the trial length RL² is scored on. :meth:`HeldOut.save`
writes your returns as a run directory that ``metarl.compare`` reads beside any other run::

    held = held_out("bandit", seed=0)
    env = held.make_env()
    returns = np.zeros((len(held.tasks), held.episodes_per_trial))
    for i, task in enumerate(held.tasks):
        obs, info = env.reset(seed=held.env_seed(i), options={"task": task})
        ...  # play episode 1; each later episode starts with a plain env.reset()
    held.save("runs/mine-bandit-0", held.curve("mine", returns, env_steps))

The env seed of task i is ``seed + i``, as Gymnasium's vector envs seed their sub-envs and as
metarl's agents and baselines run their held-out trials; an unseeded ``reset()`` between the
episodes of a trial continues that stream, so reward noise, transitions and start states are
the very draws the other agents met on the same task. ``examples/explore_then_commit.py`` is a
complete example.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from metarl.agents import preset
from metarl.envs import family_tasks, make_env, make_family, resolve_env_id
from metarl.envs.family import Task
from metarl.evaluation import AdaptationCurve, EvaluationError, build_curve
from metarl.runs import EVAL, RunDir
from metarl.train import short_name

__all__ = ["HeldOut", "HeldOutRun", "held_out"]


@dataclasses.dataclass(frozen=True)
class HeldOutRun:
    """The config.json of a curve saved with :meth:`HeldOut.save` (read by ``metarl.compare``)."""

    agent: str
    env: str
    env_kwargs: dict[str, Any]
    seed: int
    eval_tasks: int
    episodes_per_trial: int


@dataclasses.dataclass(frozen=True)
class HeldOut:
    """The held-out tasks of one (family, parameters, seed), as ``metarl.train`` draws them."""

    env: str
    """The family's short name (``nav``), or the id or ``pkg.module:Id-v0`` that was given."""
    env_id: str
    """Its Gymnasium id."""
    env_kwargs: dict[str, Any]
    """The family parameters, the rl2 preset's updated with those given."""
    seed: int
    """The run seed: it draws the tasks, and task i's trial runs with env seed ``seed + i``."""
    tasks: tuple[Task, ...]
    """The held-out tasks, in the order of every curve's rows."""
    episodes_per_trial: int
    """The episodes of RL²'s evaluation trial on this family (its preset's), for a curve with x
    = episode that pairs with RL²'s point by point."""

    def make_env(self) -> gym.Env:
        """A fresh single env of the family with these parameters (``gymnasium.make``).

        Start each task's trial with ``env.reset(seed=self.env_seed(i), options={"task":
        task})`` and every later episode of the trial with ``env.reset()``.
        """
        return make_env(self.env, **self.env_kwargs)

    def env_seed(self, index: int) -> int:
        """The env seed of the trial on ``self.tasks[index]``: ``seed + index``."""
        if not 0 <= index < len(self.tasks):
            raise IndexError(f"task index {index} out of range: there are {len(self.tasks)} tasks")
        return self.seed + index

    def curve(
        self,
        agent: str,
        returns: np.ndarray,
        env_steps: np.ndarray,
        x: np.ndarray | None = None,
        x_label: str = "episode",
        meta: dict[str, Any] | None = None,
    ) -> AdaptationCurve:
        """The adaptation curve of ``agent`` on these tasks, with the family's references.

        ``returns``: ``(T, P)``, the return of task t at adaptation point p (an episode's return);
        ``env_steps``: the env steps spent on the new task up to and including each point,
        ``(P,)`` or per task ``(T, P)`` (then averaged over tasks); ``x``: the points' labels,
        ``(P,)``, default 1..P (episodes of a trial, as RL² and the classic algorithms); ``meta``:
        anything JSON-serializable to keep with the curve (settings, wall time).
        """
        returns = np.asarray(returns, dtype=np.float64)
        if returns.ndim != 2 or returns.shape[0] != len(self.tasks):
            raise EvaluationError(
                f"returns must have shape (tasks, points) = ({len(self.tasks)}, P), got "
                f"{returns.shape}: one row per held-out task, in the order of .tasks"
            )
        steps = np.asarray(env_steps, dtype=np.float64)
        if steps.ndim == 2:
            if steps.shape != returns.shape:
                raise EvaluationError(
                    f"env_steps per task must have the shape of returns {returns.shape}, got "
                    f"{steps.shape}"
                )
            steps = steps.mean(axis=0)
        points = returns.shape[1]
        family = make_family(self.env, **self.env_kwargs)
        try:
            return build_curve(
                agent=agent, env=self.env, env_id=self.env_id, family=family, seed=self.seed,
                x_label=x_label,
                x=np.arange(1, points + 1, dtype=np.float64) if x is None else np.asarray(x),
                env_steps=steps, returns=returns, tasks=self.tasks, meta=dict(meta or {}),
            )  # fmt: skip
        finally:
            family.close()

    def save(self, out: str | Path, curve: AdaptationCurve) -> Path:
        """Write ``curve`` as the run directory ``out``: config.json, tasks.json and
        ``eval/adaptation.{json,csv,png}``, which ``metarl.compare`` pairs task by task with the
        runs of the same family, parameters and seed. Refuses a folder that holds a run, and a
        curve of other tasks. Returns the path of adaptation.json."""
        if curve.env_id != self.env_id or curve.tasks != [t.to_json() for t in self.tasks]:
            raise EvaluationError(
                f"this curve is not on these held-out tasks ({curve.num_tasks} tasks of "
                f"{curve.env_id}, seed {curve.seed}): build it with HeldOut.curve"
            )
        config = HeldOutRun(
            agent=curve.agent, env=self.env, env_kwargs=dict(self.env_kwargs), seed=self.seed,
            eval_tasks=len(self.tasks), episodes_per_trial=self.episodes_per_trial,
        )  # fmt: skip
        run = RunDir.create(out, config)
        run.save_tasks(self.env_id, self.seed, self.tasks)
        return curve.save(run.path / EVAL)


def held_out(
    env: str = "nav", seed: int | None = None, eval_tasks: int | None = None, **env_kwargs: Any
) -> HeldOut:
    """The held-out tasks of ``python -m metarl.train --env ENV --seed SEED --eval-tasks N
    --env-kwargs K=V ...`` (and of ``metarl.baselines`` with the same flags).

    Unset arguments take the rl2 preset's values for the family, as ``metarl.baselines`` does:
    its seed (0), its number of held-out tasks and its family parameters (``num_arms=5`` for
    bandit), each updated by what is given. Raises :class:`~metarl.envs.family.TaskError` for an
    unknown family or parameter.
    """
    name = short_name(env)
    rl2 = preset("rl2", name)
    kwargs = {**rl2.env_kwargs, **env_kwargs}
    seed = rl2.seed if seed is None else seed
    n = rl2.eval_tasks if eval_tasks is None else eval_tasks
    tasks = family_tasks(name, "test", n, seed, **kwargs)
    return HeldOut(
        env=name, env_id=resolve_env_id(name), env_kwargs=kwargs, seed=seed, tasks=tuple(tasks),
        episodes_per_trial=rl2.episodes_per_trial,
    )  # fmt: skip
