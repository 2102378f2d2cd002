"""Helpers shared by the env tests: family lists, seeded random actions and rollouts."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch

from metarl.envs import family_tasks, make_vector_env
from metarl.envs.vector import TaskVectorEnv

NATIVE_FAMILIES = ("bandit", "tabular-mdp", "nav")
EXAMPLE = "examples.windy_line:WindyLine-v0"
ALL_FAMILIES = (*NATIVE_FAMILIES, EXAMPLE)


def random_actions(space: gym.Space, shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """Seeded random actions of ``shape`` (+ the action shape) for a single-env ``space``.

    Box actions range over 1.5× the box, so the envs' clipping is exercised too.
    """
    g = torch.Generator().manual_seed(seed)
    if isinstance(space, gym.spaces.Discrete):
        return torch.randint(int(space.start), int(space.start + space.n), shape, generator=g)
    assert isinstance(space, gym.spaces.Box)
    low = torch.as_tensor(space.low, dtype=torch.float32)
    high = torch.as_tensor(space.high, dtype=torch.float32)
    u = torch.rand(*shape, *space.shape, generator=g)
    mid, half = (low + high) / 2, (high - low) / 2
    return mid + 1.5 * half * (2 * u - 1)


def step_record(env: TaskVectorEnv, action: torch.Tensor) -> dict[str, torch.Tensor]:
    """One step, as a dict of tensors; ``final_obs`` zeroed where it is not valid."""
    obs, reward, terminated, truncated, info = env.step(action)
    valid = info["_final_obs"]
    final = torch.where(valid.view(-1, *[1] * (obs.dim() - 1)), info["final_obs"], 0.0)
    return {
        "obs": obs,
        "reward": reward,
        "terminated": terminated,
        "truncated": truncated,
        "_final_obs": valid,
        "final_obs": final,
    }


def assert_same(a: Any, b: Any, where: str = "") -> None:
    """Exact equality (values, dtypes, shapes) of two nested lists/dicts of tensors."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape, (
            f"{where}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
        )
        assert torch.equal(a, b), f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def scenario_env(
    name: str,
    mode: str,
    kwargs: dict[str, Any],
    n: int,
    steps: int,
    events_at: tuple[int, int, int],
) -> tuple[TaskVectorEnv, list]:
    """Run a fixed script on a fresh vector env; return the env (still open) and its records.

    Tasks, seeds and actions are fixed. At the steps ``events_at`` it resets a mask of sub-envs
    unseeded, resets the others with a new seed, and switches every sub-env to new tasks.
    """
    env = make_vector_env(name, n, mode=mode, **kwargs)
    tasks = family_tasks(name, "train", n, seed=0, **kwargs)
    new_tasks = family_tasks(name, "test", n, seed=0, **kwargs)
    actions = random_actions(env.single_action_space, (steps, n), seed=1)
    mask = torch.arange(n) % 3 == 0
    masked, reseeded, switched = events_at
    obs, _ = env.reset(seed=11, options={"tasks": tasks})
    record: list = [obs]
    for t in range(steps):
        if t == masked:
            record.append(env.reset(options={"reset_mask": mask})[0])
        if t == reseeded:
            record.append(env.reset(seed=500, options={"reset_mask": ~mask})[0])
        if t == switched:
            record.append(env.reset(options={"tasks": new_tasks})[0])
        record.append(step_record(env, actions[t]))
    assert env.tasks == new_tasks
    return env, record
