"""The task-family contract: task dataclasses, the ``MetaEnv`` base class and seeded task splits.

A *task* is a frozen dataclass of plain numbers (tuples for sequences) that round-trips through
JSON. A *family* is a :class:`MetaEnv`, a ``gymnasium.Env`` whose current task is set with
``set_task(task)`` or ``reset(options={"task": task})`` and survives later resets, so an RL² trial
can span several episodes of one task.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

import gymnasium as gym
import numpy as np

from metarl.envs import rng as crng

SPLITS = ("train", "test")
_SPLIT_SALT = 0x6D65746172  # "metar"


class TaskError(ValueError):
    """A task or a family parameter is invalid (wrong family, wrong shape, out of range)."""


@dataclasses.dataclass(frozen=True)
class Task:
    """Base class of every task: a frozen dataclass of numbers and (nested) tuples of numbers."""

    def to_json(self) -> dict[str, Any]:
        """The task's fields as a JSON-ready dict (tuples become lists)."""
        return {f.name: _to_lists(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Task:
        """Rebuild a task from :meth:`to_json` output; raises :class:`TaskError` on wrong keys."""
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(data, dict) or set(data) != names:
            got = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise TaskError(f"a {cls.__name__} needs the fields {sorted(names)}, got {got}")
        hints = typing.get_type_hints(cls)
        return cls(**{k: _from_json_value(v, hints[k]) for k, v in data.items()})


def _to_lists(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_to_lists(v) for v in value]
    return value


def _from_json_value(value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_from_json_value(v, args[0]) for v in value)
        return tuple(_from_json_value(v, a) for v, a in zip(value, args, strict=True))
    if hint is float:
        return float(value)
    if hint is int:
        return int(value)
    if origin in (typing.Union, types.UnionType):
        return value
    return value


TaskT = TypeVar("TaskT", bound=Task)


class MetaEnv(gym.Env[np.ndarray, Any], Generic[TaskT]):
    """A task family as a Gymnasium env.

    Subclasses set ``task_type``, build their spaces and a default task in ``__init__`` (assigning
    ``self._task`` directly) and implement :meth:`sample_tasks`, :meth:`validate_task`,
    :meth:`_reset_task_state` and ``step``. Episode length is ``self.horizon`` steps; the env
    truncates by itself (the registered ``max_episode_steps`` equals the default horizon).

    Randomness inside episodes (rewards, transitions, start states) comes from
    :meth:`_uniforms`, a counter-based stream keyed by the reset seed, so the native batched vector
    env reproduces it exactly.
    """

    task_type: ClassVar[type[Task]] = Task
    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}
    horizon: int

    def __init__(self) -> None:
        self._task: TaskT | None = None
        self._key: int | None = None
        self._counter = 0
        self._t = 0

    # --- tasks -----------------------------------------------------------------------------
    @property
    def task(self) -> TaskT:
        """The current task."""
        assert self._task is not None, "MetaEnv subclasses set a default task in __init__"
        return self._task

    @task.setter
    def task(self, task: TaskT) -> None:
        self.set_task(task)

    def set_task(self, task: TaskT) -> None:
        """Switch to ``task``; it stays in force across ``reset()`` until set again."""
        self.check_task(task)
        self._task = task

    def check_task(self, task: Task) -> None:
        """Raise :class:`TaskError` unless ``task`` is a task of this family that fits its parameters."""
        if not isinstance(task, self.task_type):
            raise TaskError(
                f"{type(self).__name__} takes a {self.task_type.__name__}, "
                f"got a {type(task).__name__}"
            )
        self.validate_task(task)

    def validate_task(self, task: TaskT) -> None:
        """Raise :class:`TaskError` if ``task`` does not fit this env's parameters."""

    def sample_tasks(self, n: int, rng: np.random.Generator) -> list[TaskT]:
        """Draw ``n`` training tasks from ``rng``."""
        raise NotImplementedError

    def sample_test_tasks(self, n: int, rng: np.random.Generator) -> list[TaskT]:
        """Draw ``n`` held-out tasks; the same distribution as training unless a family says so."""
        return self.sample_tasks(n, rng)

    def random_return(self, task: TaskT) -> float | None:
        """Expected return of one episode under uniformly random actions, if the family states it."""
        return None

    def oracle_return(self, task: TaskT) -> float | None:
        """Expected return of one episode of a policy that knows the task, if the family states it."""
        return None

    def parameters(self) -> dict[str, Any]:
        """The family's constructor parameters, for listings and ``config.json``."""
        return {}

    # --- episodes --------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode of the current task (``options={"task": t}`` switches task first).

        Returns ``(obs, info)``; ``info["task"]`` is the task in force.
        """
        super().reset(seed=seed)
        if options and "task" in options:
            self.set_task(options["task"])
        if seed is not None:
            self._key, self._counter = crng.seed_key(seed), 0
        elif self._key is None:
            self._key, self._counter = int(self.np_random.integers(2**32)), 0
        self._t = 0
        return self._reset_task_state(), {"task": self.task}

    def _reset_task_state(self) -> np.ndarray:
        """Put the env at the start of an episode and return the first observation."""
        raise NotImplementedError

    def _uniforms(self, n: int) -> np.ndarray:
        """The next ``n`` uniform float32 draws of this env's counter-based stream."""
        assert self._key is not None, "call reset() before step()"
        out = crng.uniform_np(self._key, np.arange(self._counter, self._counter + n))
        self._counter += n
        return out

    def _normal(self) -> np.float32:
        """The next standard normal draw (uses two uniforms)."""
        assert self._key is not None, "call reset() before step()"
        z = crng.normal_np(self._key, self._counter)
        self._counter += 2
        return z


def split_rng(seed: int, split: str) -> np.random.Generator:
    """An independent generator for ``split`` ("train" or "test") of ``seed``."""
    if split not in SPLITS:
        raise TaskError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
    # The salt keeps the split streams apart from np.random.default_rng(seed) and
    # default_rng([seed, k]), which a user's own code may well seed with the same number.
    return np.random.default_rng(np.random.SeedSequence([_SPLIT_SALT, seed, SPLITS.index(split)]))


def draw_tasks(env: MetaEnv, split: str, n: int, seed: int) -> list[Task]:
    """``n`` tasks of ``env``'s family from the seeded ``split`` stream."""
    if n < 1:
        raise TaskError(f"the number of tasks must be at least 1, got {n}")
    rng = split_rng(seed, split)
    return env.sample_tasks(n, rng) if split == "train" else env.sample_test_tasks(n, rng)


def tasks_to_json(tasks: Sequence[Task]) -> list[dict[str, Any]]:
    """JSON-ready list of tasks."""
    return [t.to_json() for t in tasks]


def tasks_from_json(task_type: type[Task], data: Sequence[dict[str, Any]]) -> list[Task]:
    """Tasks of ``task_type`` from :func:`tasks_to_json` output."""
    return [task_type.from_json(d) for d in data]


def check_positive(name: str, value: float, *, integer: bool = False) -> None:
    """Raise :class:`TaskError` unless ``value`` is > 0 (and an int if ``integer``)."""
    if integer and (isinstance(value, bool) or not isinstance(value, int | np.integer)):
        raise TaskError(f"{name} must be a positive integer, got {value!r}")
    if not value > 0:
        raise TaskError(f"{name} must be > 0, got {value!r}")


def check_range(name: str, low: float, high: float) -> None:
    """Raise :class:`TaskError` unless ``low <= high`` are finite numbers."""
    if not (np.isfinite(low) and np.isfinite(high)) or low > high:
        raise TaskError(f"{name} needs finite low <= high, got ({low}, {high})")
