"""Sparse 2D navigation: the indicator reward, goals on the half circle, references, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from metarl.envs import TaskError, family_tasks, make_env, make_vector_env
from metarl.envs.nav import NavTask
from metarl.envs.sparse_nav import SparseNavEnv


def test_goals_lie_on_the_upper_half_circle() -> None:
    goals = np.array([t.goal for t in family_tasks("sparse-nav", "train", 500, seed=0)])
    assert np.allclose(np.linalg.norm(goals, axis=1), 1.0)
    assert (goals[:, 1] >= 0).all() and goals[:, 0].min() < -0.9 and goals[:, 0].max() > 0.9


def test_reward_is_one_only_within_the_radius_and_never_terminates() -> None:
    env = make_env("sparse-nav", horizon=12)
    env.reset(seed=0, options={"task": NavTask(goal=(0.95, 0.0))})
    rewards, terminated = [], False
    for _ in range(12):
        _, reward, term, trunc, _ = env.step(np.array([0.1, 0.0], dtype=np.float32))
        rewards.append(reward)
        terminated |= term
    # x after step k is 0.1 k: within 0.2 of x = 0.95 at steps 8 to 11 (0.8 to 1.1), not at 1.2
    assert rewards == [0.0] * 7 + [1.0] * 4 + [0.0]
    assert not terminated and trunc


def test_oracle_and_random_references() -> None:
    env = SparseNavEnv()
    east = NavTask(goal=(1.0, 0.0))
    # full speed east reaches x = 0.8 after 8 steps, then stays: 100 - 7 steps paid
    assert env.oracle_return(east) == 93.0
    diagonal = NavTask(goal=(math.cos(math.pi / 4), math.sin(math.pi / 4)))
    # both coordinates move 0.1 per step: within 0.2 once 0.1 k ≥ (1 - 0.2) / √2 ⇒ k = 6
    assert env.oracle_return(diagonal) == 95.0
    assert 0.0 <= env.random_return(east) < 2.0  # a random walk rarely strays 0.8 away


def test_vector_env_matches_the_single_env_step_for_step() -> None:
    tasks = family_tasks("sparse-nav", "test", 6, seed=1)
    vec = make_vector_env("sparse-nav", 6, horizon=30)
    obs, _ = vec.reset(seed=0, options={"tasks": tasks})
    singles = [make_env("sparse-nav", horizon=30) for _ in tasks]
    for env, task in zip(singles, tasks):
        env.reset(seed=0, options={"task": task})
    g = torch.Generator().manual_seed(0)
    for _ in range(30):
        goals = torch.tensor([t.goal for t in tasks], dtype=torch.float32)
        action = ((goals - obs) + 0.05 * torch.randn(6, 2, generator=g)).clamp(-0.1, 0.1)
        obs, reward, term, trunc, info = vec.step(action)
        for i, env in enumerate(singles):
            o, r, t, tr, _ = env.step(action[i].numpy())
            assert np.array_equal(o, info["final_obs"][i].numpy()) and r == reward[i].item()
            assert t == term[i].item() and tr == trunc[i].item()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"goal_radius": 1.5}, "must be below goal_distance"), ({"horizon": 0}, "horizon")],
)
def test_bad_parameters(kwargs: dict, message: str) -> None:
    with pytest.raises(TaskError, match=message):
        make_env("sparse-nav", **kwargs)
