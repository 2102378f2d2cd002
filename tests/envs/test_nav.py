"""2D navigation: reward formulas, MAML-paper references (docs/references.md), properties, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from metarl.envs import TaskError, family_tasks, make_env, make_vector_env
from metarl.envs.nav import NavEnv, NavTask, NavVectorEnv

GOALS = 2000  # docs/references.md states the nav references on 2000 goals


def mean_return(policy: str, n: int = GOALS, seed: int = 0) -> tuple[float, torch.Tensor]:
    """Mean first-episode return over ``n`` test goals of a policy: oracle, zero or random."""
    tasks = family_tasks("nav", "test", n, seed=seed)
    env = make_vector_env("nav", n)
    obs, _ = env.reset(seed=0, options={"tasks": tasks})
    goal = env.params["goal"]
    g = torch.Generator().manual_seed(seed)
    total = torch.zeros(n, dtype=torch.float64)
    alive = torch.ones(n, dtype=torch.bool)
    for _ in range(env.horizon):
        if policy == "oracle":
            action = (goal - obs).clamp(-0.1, 0.1)
        elif policy == "zero":
            action = torch.zeros(n, 2)
        else:
            action = torch.rand(n, 2, generator=g) * 0.2 - 0.1
        obs, reward, terminated, truncated, _ = env.step(action)
        total += torch.where(alive, reward.double(), 0.0)
        alive &= ~(terminated | truncated)
    assert not alive.any()
    return total.mean().item(), total


def test_oracle_reference_matches_references_md() -> None:
    mean, per_task = mean_return("oracle")
    assert mean == pytest.approx(-0.53, abs=0.02)
    env = NavEnv()
    tasks = family_tasks("nav", "test", GOALS, seed=0)
    for i in range(0, GOALS, 250):  # the env's own oracle_return agrees with the rollout
        assert env.oracle_return(tasks[i]) == pytest.approx(per_task[i].item(), abs=1e-5)


def test_zero_and_random_action_references_match_references_md() -> None:
    zero, per_task = mean_return("zero")
    assert zero == pytest.approx(-38.2, abs=0.5)
    goals = np.array([t.goal for t in family_tasks("nav", "test", GOALS, seed=0)])
    far = np.abs(goals).max(axis=1) >= 0.01  # staying at the origin pays -|goal| for 100 steps
    expected = -100 * np.linalg.norm(goals, axis=1)
    assert np.allclose(per_task.numpy()[far], expected[far], rtol=1e-5)
    random, _ = mean_return("random")
    assert random == pytest.approx(-62.3, abs=1.5)
    env = NavEnv()
    task = NavTask(goal=(0.3, -0.2))
    assert env.random_return(task) < env.oracle_return(task)


@pytest.mark.parametrize("distance", ["l2", "squared"])
def test_reward_clipping_termination_and_truncation(distance: str) -> None:
    env = make_env("nav", distance=distance, horizon=3)
    env.reset(seed=0, options={"task": NavTask(goal=(0.2, 0.1))})
    obs, reward, term, trunc, _ = env.step(np.array([0.3, -0.05], dtype=np.float32))
    assert obs.tolist() == [np.float32(0.1), np.float32(-0.05)]  # x clipped to max_step
    sq = 0.1**2 + 0.15**2
    assert reward == pytest.approx(-sq if distance == "squared" else -np.sqrt(sq), rel=1e-6)
    assert not term and not trunc
    env.step(np.array([0.0, 0.0], dtype=np.float32))
    _, _, term, trunc, _ = env.step(np.array([0.0, 0.0], dtype=np.float32))
    assert not term and trunc  # the horizon of 3 steps
    env.reset(options={"task": NavTask(goal=(0.1, 0.095))})
    _, reward, term, trunc, _ = env.step(np.array([0.1, 0.1], dtype=np.float32))
    assert term and not trunc  # both coordinates within goal_radius = 0.01
    assert reward == pytest.approx(-0.005 if distance == "l2" else -(0.005**2), rel=1e-4)


@given(
    goal=st.tuples(st.floats(-3, 3), st.floats(-3, 3)),
    actions=st.lists(st.tuples(st.floats(-1, 1), st.floats(-1, 1)), min_size=1, max_size=20),
    max_step=st.floats(0.01, 1.0),
    distance=st.sampled_from(["l2", "squared"]),
    horizon=st.integers(1, 10),
)
def test_random_tasks_and_actions_stay_in_spaces(
    goal: tuple[float, float], actions: list, max_step: float, distance: str, horizon: int
) -> None:
    kwargs = {"max_step": max_step, "distance": distance, "horizon": horizon}
    single, native = NavEnv(**kwargs), NavVectorEnv(1, **kwargs)
    task = NavTask(goal=goal)
    obs, _ = single.reset(seed=0, options={"task": task})
    vobs, _ = native.reset(seed=0, options={"tasks": [task]})
    for action in np.array(actions, dtype=np.float32):
        assert single.observation_space.contains(obs) and np.all(np.isfinite(obs))
        assert torch.equal(vobs[0], torch.as_tensor(obs))
        obs, reward, term, trunc, _ = single.step(action)
        vobs, vreward, vterm, vtrunc, info = native.step(torch.as_tensor(action)[None])
        assert np.isfinite(reward) and reward <= 0.0
        assert (vreward.item(), vterm.item(), vtrunc.item()) == (np.float32(reward), term, trunc)
        assert np.all(np.abs(obs) <= max_step * horizon * (1 + 1e-6))
        if term or trunc:
            assert torch.equal(info["final_obs"][0], torch.as_tensor(obs))
            obs, _ = single.reset()


def test_bad_parameters_tasks_and_actions() -> None:
    with pytest.raises(
        TaskError, match=r"goal range \(goal_low, goal_high\) needs finite low <= high"
    ):
        make_env("nav", goal_low=1.0, goal_high=-1.0)
    with pytest.raises(TaskError, match="distance must be one of"):
        NavEnv(distance="manhattan")
    with pytest.raises(TaskError, match="max_step must be > 0"):
        NavEnv(max_step=0.0)
    env = NavEnv()
    with pytest.raises(TaskError, match="a nav goal is two finite numbers"):
        env.set_task(NavTask(goal=(0.1, float("nan"))))
    env.reset(seed=0)
    with pytest.raises(TaskError, match=r"a nav action is a 2-vector, got shape \(3,\)"):
        env.step(np.zeros(3, dtype=np.float32))
