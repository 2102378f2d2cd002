"""``TaskVectorEnv``: batched task envs whose arrays are torch tensors on a device.

Every sub-env holds one task. Tasks are set with ``reset(options={"tasks": [...]})`` or
:meth:`TaskVectorEnv.set_tasks`, or drawn on the device from a :class:`TaskBatch` with
:meth:`TaskVectorEnv.assign_tasks` (what the RL² trials wrapper does, without a host round-trip).

All task vector envs autoreset in Gymnasium's ``SAME_STEP`` mode: when a sub-env's episode ends,
``step`` returns the first observation of its next episode, and ``info["final_obs"]`` (a full
``(num_envs, obs_dim)`` tensor, valid where ``info["_final_obs"]`` is true) holds the last one.

Two kinds implement the interface:

- :class:`BatchedMetaEnv`, the base of the native envs (bandit, tabular MDP, nav): the whole step
  is tensor maths on the device, no per-env Python loop, no host sync.
- :class:`GymTaskVectorEnv`, an adapter over Gymnasium's ``SyncVectorEnv``/``AsyncVectorEnv`` of
  any :class:`~metarl.envs.family.MetaEnv` (MuJoCo families, a user's own family).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from metarl.envs import rng as crng
from metarl.envs.family import MetaEnv, Task, TaskError

_BATCH_LIMIT = 16


@dataclasses.dataclass(frozen=True)
class TaskBatch:
    """A set of tasks ready for a vector env: the tasks, and (native envs) their stacked tensors.

    ``tensors[name]`` has shape ``(len(tasks), *field_shape)``, float32, on the env's device.
    """

    tasks: tuple[Task, ...]
    tensors: dict[str, torch.Tensor]

    def __len__(self) -> int:
        return len(self.tasks)


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` → CUDA if available else CPU; :class:`TaskError` for a bad or absent device."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise TaskError(f"unknown device {device!r}: use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise TaskError(
            f"--device {device} was asked for but torch sees no CUDA GPU: use --device cpu"
        )
    return dev


class TaskVectorEnv(VectorEnv):
    """A vector env of one task family, one task per sub-env, torch tensors on ``device``.

    ``reset`` returns ``(obs, info)`` with ``obs`` float32 ``(num_envs, *obs_shape)``. ``step``
    takes actions ``(num_envs,)`` int64 (discrete) or ``(num_envs, act_dim)`` float32 and returns
    ``(obs, reward, terminated, truncated, info)``: reward float32 ``(num_envs,)``, terminated and
    truncated bool ``(num_envs,)``.
    """

    def __init__(self, family: MetaEnv, num_envs: int, device: str | torch.device) -> None:
        if not isinstance(num_envs, int) or num_envs < 1:
            raise TaskError(f"num_envs must be a positive integer, got {num_envs!r}")
        self.family = family
        self.num_envs = num_envs
        self.device = resolve_device(device)
        self.single_observation_space = family.observation_space
        self.single_action_space = family.action_space
        self.observation_space = batch_space(family.observation_space, num_envs)
        self.action_space = batch_space(family.action_space, num_envs)
        self.metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}
        self.horizon = family.horizon
        # Which task each sub-env holds, on the device: batch number and index into that batch.
        default = TaskBatch((family.task,), {})
        self._batches: list[TaskBatch | None] = [default]
        self._batch_of = torch.zeros(num_envs, dtype=torch.int64, device=self.device)
        self._index_of = torch.zeros(num_envs, dtype=torch.int64, device=self.device)

    # --- tasks -----------------------------------------------------------------------------
    def stack_tasks(self, tasks: Sequence[Task]) -> TaskBatch:
        """Check ``tasks`` against the family and put them in a :class:`TaskBatch`."""
        tasks = tuple(tasks)
        if not tasks:
            raise TaskError("a task batch needs at least one task")
        for t in tasks:
            self.family.check_task(t)
        return TaskBatch(tasks, self._task_tensors(tasks))

    def _task_tensors(self, tasks: tuple[Task, ...]) -> dict[str, torch.Tensor]:
        return {}

    def set_tasks(self, tasks: Sequence[Task]) -> None:
        """Give sub-env ``i`` the task ``tasks[i]``; takes effect at the next reset of each."""
        if len(tasks) != self.num_envs:
            raise TaskError(
                f"got {len(tasks)} tasks for {self.num_envs} sub-envs: pass one task per sub-env"
            )
        index = torch.arange(self.num_envs, device=self.device)
        self.assign_tasks(self.stack_tasks(tasks), index)

    def assign_tasks(
        self, batch: TaskBatch, index: torch.Tensor, mask: torch.Tensor | None = None
    ) -> None:
        """Sub-env ``i`` takes ``batch.tasks[index[i]]`` where ``mask[i]`` (all if ``mask`` is None).

        ``index``: int64 ``(num_envs,)``; ``mask``: bool ``(num_envs,)``; both on the device.
        No host sync for native envs.
        """
        self._assign(batch, index, mask)
        number = self._batch_number(batch)
        if mask is None:
            self._batch_of = torch.full_like(self._batch_of, number)
            self._index_of = index.to(self.device, torch.int64)
        else:
            self._batch_of = torch.where(mask, number, self._batch_of)
            self._index_of = torch.where(mask, index, self._index_of)

    def _batch_number(self, batch: TaskBatch) -> int:
        for i, known in enumerate(self._batches):
            if known is batch:
                return i
        if len(self._batches) >= _BATCH_LIMIT:  # forget batches no sub-env holds any more
            used = set(self._batch_of.unique().tolist())
            self._batches = [b if i in used else None for i, b in enumerate(self._batches)]
            free = next((i for i, b in enumerate(self._batches) if b is None), None)
            if free is not None:
                self._batches[free] = batch
                return free
        self._batches.append(batch)
        return len(self._batches) - 1

    def _assign(self, batch: TaskBatch, index: torch.Tensor, mask: torch.Tensor | None) -> None:
        raise NotImplementedError

    @property
    def tasks(self) -> list[Task]:
        """The task of each sub-env (a host sync: for logging and saving, not for rollouts)."""
        pairs = zip(self._batch_of.tolist(), self._index_of.tolist())
        return [self._batches[b].tasks[i] for b, i in pairs]  # type: ignore[union-attr]

    # --- episodes --------------------------------------------------------------------------
    def step_some(
        self, actions: torch.Tensor, active: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, dict[str, Any]]:
        """:meth:`step`, where only the sub-envs with ``active`` (bool ``(num_envs,)``; None:
        all) matter to the caller: the others may be skipped, and then come back unchanged,
        with reward 0 and flags False. What the active sub-envs get is exactly :meth:`step`'s.

        This env steps them all (for the batched envs on the device, skipping would save
        nothing); an env whose every sub-env step costs host time (MuJoCo physics) overrides it
        to skip the inactive ones.
        """
        return self.step(actions)

    # --- helpers ---------------------------------------------------------------------------
    def _reset_mask(self, options: dict[str, Any] | None) -> torch.Tensor | None:
        mask = (options or {}).get("reset_mask")
        if mask is None:
            return None
        mask = torch.as_tensor(mask, device=self.device)
        if mask.shape != (self.num_envs,) or mask.dtype != torch.bool:
            raise TaskError(f"reset_mask must be a bool tensor of shape ({self.num_envs},)")
        return mask

    def _apply_reset_options(self, options: dict[str, Any] | None) -> torch.Tensor | None:
        if options and "tasks" in options:
            self.set_tasks(options["tasks"])
        return self._reset_mask(options)


class BatchedMetaEnv(TaskVectorEnv):
    """Base of the native vector envs: state and task parameters are tensors on the device.

    Subclasses implement :meth:`_reset_state` and :meth:`_step`; the base handles tasks, the
    counter-based random stream (the same draws as the single env for the same seeds), time
    limits and ``SAME_STEP`` autoreset.
    """

    def __init__(
        self,
        family: MetaEnv,
        num_envs: int,
        device: str | torch.device,
        validate_actions: bool = True,
    ) -> None:
        super().__init__(family, num_envs, device)
        self.validate_actions = validate_actions
        n, dev = num_envs, self.device
        self.params = self._task_tensors((family.task,))
        self.params = {k: v.expand(n, *v.shape[1:]).clone() for k, v in self.params.items()}
        self.key = torch.zeros(n, dtype=torch.int64, device=dev)
        self.counter = torch.zeros(n, dtype=torch.int64, device=dev)
        self.t = torch.zeros(n, dtype=torch.int64, device=dev)
        self._seeded = False

    def _task_tensors(self, tasks: tuple[Task, ...]) -> dict[str, torch.Tensor]:
        names = [f.name for f in dataclasses.fields(self.family.task_type)]
        return {
            k: torch.tensor([getattr(t, k) for t in tasks], dtype=torch.float32, device=self.device)
            for k in names
        }

    def _assign(self, batch: TaskBatch, index: torch.Tensor, mask: torch.Tensor | None) -> None:
        for k, value in batch.tensors.items():
            new = value.to(self.device)[index]
            if mask is None:
                self.params[k] = new
            else:
                m = mask.view(-1, *([1] * (new.dim() - 1)))
                self.params[k] = torch.where(m, new, self.params[k])

    def _check_discrete(self, actions: torch.Tensor, n: int) -> torch.Tensor:
        """Actions as int64 ``(num_envs,)``; raises TaskError outside [0, n) if validating.

        The check is a host sync: agents construct their envs with ``validate_actions=False``.
        """
        actions = actions.long().view(self.num_envs)
        if self.validate_actions and bool(((actions < 0) | (actions >= n)).any()):
            bad = actions[(actions < 0) | (actions >= n)].tolist()
            raise TaskError(f"actions must be integers in [0, {n}), got {bad}")
        return actions

    def uniforms(self, j: int) -> torch.Tensor:
        """Draw number ``j`` of this step for every sub-env, float32 ``(num_envs,)``."""
        return crng.uniform_torch(self.key, self.counter + j)

    def uniform_block(self, j: int, k: int) -> torch.Tensor:
        """Draws ``j .. j+k-1`` of this step for every sub-env in one pass, float32 ``(num_envs, k)``.

        Equal to ``stack([uniforms(j), ..., uniforms(j + k - 1)], 1)`` with one hash pass instead
        of ``k``: on a GPU the step is bound by kernel launches, about 25 per hash pass.
        """
        offsets = torch.arange(j, j + k, device=self.device)
        return crng.uniform_torch(self.key[:, None], self.counter[:, None] + offsets)

    def normals(self, j: int) -> torch.Tensor:
        """A standard normal from draws ``j`` and ``j+1`` of this step, float32 ``(num_envs,)``."""
        return crng.normal_torch(self.key, self.counter + j)

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """Reset all sub-envs, or those in ``options["reset_mask"]``; seeds as in SyncVectorEnv."""
        mask = self._apply_reset_options(options)
        if seed is not None or not self._seeded:
            self._seed(seed, mask)
        all_envs = torch.ones(self.num_envs, dtype=torch.bool, device=self.device)
        obs = self._start_episodes(all_envs if mask is None else mask)
        return obs, {}

    def _seed(self, seed: int | list[int] | None, mask: torch.Tensor | None) -> None:
        if seed is None:
            seeds = np.random.SeedSequence().generate_state(self.num_envs, dtype=np.uint32)
            keys = torch.as_tensor(seeds.astype(np.int64), device=self.device)
        elif isinstance(seed, int):
            keys = torch.as_tensor(
                crng.seed_keys(seed, self.num_envs).astype(np.int64), device=self.device
            )
        else:
            if len(seed) != self.num_envs:
                raise TaskError(f"got {len(seed)} seeds for {self.num_envs} sub-envs")
            keys = torch.tensor([crng.seed_key(s) for s in seed], device=self.device)
        if mask is None:
            self.key, self.counter = keys, torch.zeros_like(self.counter)
        else:
            self.key = torch.where(mask, keys, self.key)
            self.counter = torch.where(mask, 0, self.counter)
        self._seeded = True

    def step(
        self, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, dict[str, Any]]:
        """One step of every sub-env, autoreset in ``SAME_STEP`` mode (see the module doc)."""
        actions = torch.as_tensor(actions, device=self.device)
        obs, reward, terminated = self._step(actions)
        self.t = self.t + 1
        truncated = (self.t >= self.horizon) & ~terminated
        done = terminated | truncated
        next_obs = self._start_episodes(done)
        return next_obs, reward, terminated, truncated, {"final_obs": obs, "_final_obs": done}

    def _start_episodes(self, mask: torch.Tensor) -> torch.Tensor:
        """Zero the step count and start a new episode where ``mask``; all observations."""
        self.t = torch.where(mask, 0, self.t)
        return self._reset_state(mask)

    def _reset_state(self, mask: torch.Tensor) -> torch.Tensor:
        """Start a new episode in the sub-envs where ``mask``; return all observations."""
        raise NotImplementedError

    def _step(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Advance every sub-env; return ``(obs, reward, terminated)`` before any autoreset.

        Must advance ``self.counter`` by the number of draws it used.
        """
        raise NotImplementedError


class GymTaskVectorEnv(TaskVectorEnv):
    """Any :class:`MetaEnv` through Gymnasium's Sync or Async vector env, as a ``TaskVectorEnv``.

    Arrays cross to and from numpy on the host each step; tasks are set per sub-env.
    """

    def __init__(
        self,
        env_fns: Sequence[Any],
        device: str | torch.device = "cpu",
        asynchronous: bool = False,
    ) -> None:
        cls = gym.vector.AsyncVectorEnv if asynchronous else gym.vector.SyncVectorEnv
        self.env = cls(list(env_fns), autoreset_mode=AutoresetMode.SAME_STEP)
        family = env_fns[0]()
        if not isinstance(family.unwrapped, MetaEnv):
            raise TaskError(f"{type(family.unwrapped).__name__} is not a metarl MetaEnv")
        super().__init__(family.unwrapped, len(env_fns), device)

    def _assign(self, batch: TaskBatch, index: torch.Tensor, mask: torch.Tensor | None) -> None:
        current = self.tasks
        idx = index.tolist()
        keep = [True] * self.num_envs if mask is None else mask.tolist()
        new = [batch.tasks[idx[i]] if keep[i] else current[i] for i in range(self.num_envs)]
        self.env.set_attr("task", new)

    def _to_tensor(self, x: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x), dtype=dtype, device=self.device)

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """Reset all sub-envs, or those in ``options["reset_mask"]``."""
        mask = self._apply_reset_options(options)
        gym_options = {} if mask is None else {"reset_mask": mask.cpu().numpy()}
        with self._worker_deaths():
            obs, info = self.env.reset(seed=seed, options=gym_options)
        return self._to_tensor(obs, torch.float32), info

    @contextlib.contextmanager
    def _worker_deaths(self) -> Iterator[None]:
        """A worker of the async env that died (the family crashed its process: a segfault, an
        ``os._exit``, the OOM killer) becomes a :class:`TaskError` at once, never a hang; the
        other workers are stopped."""
        try:
            yield
        except (EOFError, BrokenPipeError, ConnectionError) as e:
            with contextlib.suppress(Exception):
                self.env.close(terminate=True)
            raise TaskError(
                f"a worker process of the async vector env of {type(self.family).__name__} died "
                f"({type(e).__name__}): the family crashed its process; run it with mode='sync' "
                "to see the family's own error"
            ) from None

    def step(
        self, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, dict[str, Any]]:
        """One step of every sub-env; ``info["final_obs"]`` as in the native envs."""
        acts = torch.as_tensor(actions).cpu().numpy()
        with self._worker_deaths():
            obs, reward, terminated, truncated, info = self.env.step(acts)
        obs_t = self._to_tensor(obs, torch.float32)
        done = np.logical_or(terminated, truncated)
        final = obs_t.clone()
        for i in np.flatnonzero(done):
            final[i] = self._to_tensor(info["final_obs"][i], torch.float32)
        out_info = {"final_obs": final, "_final_obs": self._to_tensor(done, torch.bool)}
        return (
            obs_t,
            self._to_tensor(reward, torch.float32),
            self._to_tensor(terminated, torch.bool),
            self._to_tensor(truncated, torch.bool),
            out_info,
        )

    def close_extras(self, **kwargs: Any) -> None:
        """Close the wrapped Gymnasium vector env."""
        self.env.close()
