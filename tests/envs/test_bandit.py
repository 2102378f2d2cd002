"""Bernoulli bandits: reward law, references (RL² paper Table 1), properties and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from metarl.envs import TaskError, family_tasks, make_env, make_vector_env
from metarl.envs.bandit import BanditEnv, BanditTask, BanditVectorEnv


def test_each_arm_pays_one_with_its_mean() -> None:
    means = (0.05, 0.3, 0.5, 0.8, 0.97)
    n, pulls = 5000, 4
    env = make_vector_env("bandit", n)
    env.reset(seed=0, options={"tasks": [BanditTask(means=means)] * n})
    arms = torch.arange(n) % 5
    rewards = torch.stack([env.step(arms)[1] for _ in range(pulls)])
    assert set(rewards.unique().tolist()) <= {0.0, 1.0}
    for arm, p in enumerate(means):
        r = rewards[:, arms == arm].double()
        se = np.sqrt(p * (1 - p) / r.numel())
        assert abs(r.mean().item() - p) < 4.5 * se, (arm, r.mean().item(), p)


def test_random_and_oracle_references() -> None:
    env = BanditEnv(num_arms=5)
    task = BanditTask(means=(0.1, 0.9, 0.4, 0.2, 0.6))
    assert env.random_return(task) == pytest.approx(0.44)
    assert env.oracle_return(task) == pytest.approx(0.9)
    # Over arm means ~ U[0, 1]: random 0.5 per pull (RL² Table 1: 5.0 for 10 pulls), oracle
    # E[max of k uniforms] = k / (k + 1).
    for k in (5, 10, 50):
        env = BanditEnv(num_arms=k)
        tasks = family_tasks("bandit", "test", 2000, seed=0, num_arms=k)
        assert np.mean([env.random_return(t) for t in tasks]) == pytest.approx(0.5, abs=0.01)
        assert np.mean([env.oracle_return(t) for t in tasks]) == pytest.approx(
            k / (k + 1), abs=0.01
        )


def test_random_and_oracle_policies_earn_the_references() -> None:
    n, pulls = 4096, 10
    tasks = family_tasks("bandit", "test", n, seed=1)
    single = BanditEnv()
    env = make_vector_env("bandit", n)
    env.reset(seed=0, options={"tasks": tasks})
    g = torch.Generator().manual_seed(0)
    random_total = sum(env.step(torch.randint(0, 5, (n,), generator=g))[1] for _ in range(pulls))
    best = env.params["means"].argmax(dim=1)
    oracle_total = sum(env.step(best)[1] for _ in range(pulls))
    random_ref = pulls * np.mean([single.random_return(t) for t in tasks])
    oracle_ref = pulls * np.mean([single.oracle_return(t) for t in tasks])
    se = np.sqrt(pulls * 0.25 / n)
    assert random_total.mean().item() == pytest.approx(random_ref, abs=4.5 * se)
    assert oracle_total.mean().item() == pytest.approx(oracle_ref, abs=4.5 * se)


@given(
    means=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=8),
    pulls=st.lists(st.integers(0, 7), min_size=1, max_size=12),
    seed=st.integers(0, 2**31),
)
def test_random_tasks_and_actions_stay_in_spaces(
    means: list[float], pulls: list[int], seed: int
) -> None:
    k = len(means)
    task = BanditTask(means=tuple(means))
    single = BanditEnv(num_arms=k)
    native = BanditVectorEnv(1, num_arms=k)
    obs, _ = single.reset(seed=seed, options={"task": task})
    vobs, _ = native.reset(seed=seed, options={"tasks": [task]})
    assert single.observation_space.contains(obs) and native.observation_space.contains(
        vobs.numpy()
    )
    for arm in (a % k for a in pulls):
        obs, r, term, trunc, _ = single.step(arm)
        vobs, vr, vterm, vtrunc, _ = native.step(torch.tensor([arm]))
        assert single.observation_space.contains(obs) and native.observation_space.contains(
            vobs.numpy()
        )
        assert r in (0.0, 1.0) and term and not trunc
        assert (r, term, trunc) == (vr.item(), vterm.item(), vtrunc.item())  # the same pulls
        single.reset()
        if means[arm] in (0.0, 1.0):
            assert r == means[arm]


def test_bad_parameters_tasks_and_actions() -> None:
    with pytest.raises(TaskError, match="num_arms must be > 0, got 0"):
        make_env("bandit", num_arms=0)
    with pytest.raises(TaskError, match=r"num_arms must be a positive integer, got 2\.5"):
        BanditEnv(num_arms=2.5)  # type: ignore[arg-type]
    env = BanditEnv(num_arms=3)
    with pytest.raises(TaskError, match="this bandit has 3 arms, the task 2"):
        env.set_task(BanditTask(means=(0.1, 0.2)))
    with pytest.raises(TaskError, match=r"arm means must lie in \[0, 1\]"):
        env.set_task(BanditTask(means=(0.1, 0.2, 1.5)))
    env.reset(seed=0)
    with pytest.raises(TaskError, match=r"action 3 is not an arm: use an integer in \[0, 3\)"):
        env.step(3)
    with pytest.raises(TaskError, match="is not an arm"):
        env.step(-1)
