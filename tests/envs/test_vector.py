"""Native vector envs against Gymnasium's SyncVectorEnv of the single env, and vector-env errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from envtools import (
    EXAMPLE,
    NATIVE_FAMILIES,
    assert_same,
    random_actions,
    scenario_env,
    step_record,
)

from metarl.envs import TaskError, family_tasks, make_env, make_vector_env
from metarl.envs.bandit import BanditTask
from metarl.envs.nav import NavTask
from metarl.envs.vector import BatchedMetaEnv, GymTaskVectorEnv

# (family, constructor parameters, events the scenario must contain so that it tests them)
CONFIGS = [
    ("bandit", {}, {"terminated"}),
    ("bandit", {"num_arms": 10}, {"terminated"}),
    ("tabular-mdp", {}, {"truncated"}),
    (
        "tabular-mdp",
        {"num_states": 4, "num_actions": 3, "horizon": 3, "reward_noise": 0.5},
        {"truncated"},
    ),
    ("nav", {}, set()),
    (
        "nav",
        {"horizon": 6, "goal_radius": 0.15, "distance": "squared"},
        {"terminated", "truncated"},
    ),
]


def scenario(name: str, mode: str, kwargs: dict[str, Any], n: int = 6, steps: int = 40) -> list:
    """Tasks, seeds and actions fixed; autoresets, masked resets (seeded or not) and a task switch."""
    env, record = scenario_env(name, mode, kwargs, n, steps, events_at=(9, 17, 25))
    env.close()
    return record


@pytest.mark.parametrize(("name", "kwargs", "events"), CONFIGS)
def test_native_matches_sync_vector_env_step_for_step(name: str, kwargs: dict, events: set) -> None:
    native = scenario(name, "native", kwargs)
    sync = scenario(name, "sync", kwargs)
    assert_same(native, sync)
    steps = [r for r in native if isinstance(r, dict)]
    for event in events:
        assert any(bool(r[event].any()) for r in steps), f"the scenario never had a {event} step"
        assert any(bool(r["_final_obs"].any()) for r in steps)


def test_native_envs_are_batched_meta_envs_and_sync_is_the_adapter() -> None:
    for name in NATIVE_FAMILIES:
        assert isinstance(make_vector_env(name, 2), BatchedMetaEnv)
        sync = make_vector_env(name, 2, mode="sync")
        assert isinstance(sync, GymTaskVectorEnv)
        sync.close()


@pytest.mark.parametrize("name", ["bandit", "tabular-mdp"])
def test_same_seed_same_trajectory_other_seed_other_trajectory(name: str) -> None:
    def rewards(seed: int | None) -> torch.Tensor:
        env = make_vector_env(name, 32)
        env.reset(seed=seed, options={"tasks": family_tasks(name, "train", 32, seed=0)})
        actions = random_actions(env.single_action_space, (20, 32), seed=2)
        return torch.stack([env.step(a)[1] for a in actions])

    assert torch.equal(rewards(3), rewards(3))
    assert not torch.equal(rewards(3), rewards(4))
    assert not torch.equal(rewards(None), rewards(None))


def test_example_family_sync_vector_env_matches_its_single_envs() -> None:
    n, steps = 3, 45
    env = make_vector_env(EXAMPLE, n, mode="sync")
    tasks = family_tasks(EXAMPLE, "train", n, seed=0)
    actions = random_actions(env.single_action_space, (steps, n), seed=0)
    obs, _ = env.reset(seed=7, options={"tasks": tasks})
    singles = [make_env(EXAMPLE) for _ in range(n)]
    expect = [
        s.reset(seed=7 + i, options={"task": t})[0] for i, (s, t) in enumerate(zip(singles, tasks))
    ]
    assert torch.equal(obs, torch.tensor(np.array(expect)))
    for t in range(steps):
        rec = step_record(env, actions[t])
        for i, single in enumerate(singles):
            o, r, term, trunc, _ = single.step(int(actions[t, i]))
            assert float(rec["reward"][i]) == pytest.approx(r, abs=1e-6)
            assert bool(rec["truncated"][i]) == trunc and not term
            if trunc:
                assert torch.equal(rec["final_obs"][i], torch.tensor(o))
                o, _ = single.reset()
            assert torch.equal(rec["obs"][i], torch.tensor(o))
    env.close()


# --- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["native", "sync"])
def test_task_list_of_the_wrong_length(mode: str) -> None:
    env = make_vector_env("nav", 4, mode=mode)
    tasks = family_tasks("nav", "train", 3, seed=0)
    with pytest.raises(TaskError, match="got 3 tasks for 4 sub-envs"):
        env.reset(options={"tasks": tasks})
    env.close()


@pytest.mark.parametrize("mode", ["native", "sync"])
def test_task_of_the_wrong_family(mode: str) -> None:
    env = make_vector_env("nav", 2, mode=mode)
    with pytest.raises(TaskError, match="NavEnv takes a NavTask, got a BanditTask"):
        env.reset(options={"tasks": [BanditTask(means=(0.5,) * 5)] * 2})
    env.close()


@pytest.mark.parametrize(("name", "n_actions"), [("bandit", 5), ("tabular-mdp", 5)])
def test_native_discrete_action_out_of_range(name: str, n_actions: int) -> None:
    env = make_vector_env(name, 3)
    env.reset(seed=0)
    with pytest.raises(
        TaskError, match=rf"actions must be integers in \[0, {n_actions}\), got \[{n_actions}\]"
    ):
        env.step(torch.tensor([0, n_actions, 1]))
    with pytest.raises(TaskError, match=r"got \[-1\]"):
        env.step(torch.tensor([-1, 0, 0]))


def test_bad_reset_mask_seeds_and_sizes() -> None:
    env = make_vector_env("bandit", 4)
    with pytest.raises(TaskError, match="reset_mask must be a bool tensor of shape"):
        env.reset(options={"reset_mask": torch.ones(3, dtype=torch.bool)})
    with pytest.raises(TaskError, match="got 2 seeds for 4 sub-envs"):
        env.reset(seed=[1, 2])
    with pytest.raises(TaskError, match="num_envs must be a positive integer"):
        make_vector_env("bandit", 0)


def test_vector_mode_errors() -> None:
    with pytest.raises(TaskError, match="unknown vector mode 'threads'"):
        make_vector_env("nav", 2, mode="threads")
    with pytest.raises(TaskError, match="has no native vector env"):
        make_vector_env(EXAMPLE, 2, mode="native")
    with pytest.raises(TaskError, match="num_arms must be > 0"):
        make_vector_env("bandit", 2, num_arms=0)
    with pytest.raises(TaskError, match="num_arms must be > 0"):
        make_vector_env("bandit", 2, mode="sync", num_arms=0)


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks the message on a machine without CUDA"
)
def test_cuda_without_cuda_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="torch sees no CUDA GPU"):
        make_vector_env("nav", 2, device="cuda")


def test_tasks_property_tracks_assignments() -> None:
    env = make_vector_env("nav", 3)
    tasks = [NavTask(goal=(0.1 * i, 0.0)) for i in range(3)]
    env.reset(seed=0, options={"tasks": tasks})
    assert env.tasks == tasks
    batch = env.stack_tasks([NavTask(goal=(0.4, 0.4)), NavTask(goal=(-0.4, 0.4))])
    env.assign_tasks(batch, torch.tensor([1, 0, 1]), torch.tensor([True, False, True]))
    assert env.tasks == [NavTask(goal=(-0.4, 0.4)), tasks[1], NavTask(goal=(-0.4, 0.4))]
    assert torch.equal(env.params["goal"][1], torch.tensor([0.1, 0.0]))
