"""Random tabular MDPs: dynamics, value-iteration references vs Monte Carlo, properties, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from metarl.envs import TaskError, family_tasks, make_env, make_vector_env
from metarl.envs.tabular_mdp import TabularMDPEnv, TabularMDPTask, TabularMDPVectorEnv

N = 8192  # sub-envs for Monte Carlo estimates


def task_of(mu: np.ndarray, p: np.ndarray) -> TabularMDPTask:
    return TabularMDPTask(
        reward_means=tuple(tuple(float(x) for x in row) for row in mu),
        transitions=tuple(tuple(tuple(float(x) for x in pa) for pa in ps) for ps in p),
    )


def optimal_policy(task: TabularMDPTask, horizon: int) -> tuple[np.ndarray, float]:
    """Backward induction: the greedy action per (steps left, state) and the mean start value."""
    mu, p = np.asarray(task.reward_means), np.asarray(task.transitions)
    v = np.zeros(mu.shape[0])
    policy = []
    for _ in range(horizon):
        q = mu + p @ v
        policy.append(q.argmax(axis=1))
        v = q.max(axis=1)
    return np.array(policy[::-1]), float(v.mean())


def episode_returns(task: TabularMDPTask, policy: np.ndarray | None, seed: int) -> np.ndarray:
    """One episode in each of N sub-envs on ``task``: ``policy[t, s]``, or uniform if None."""
    env = make_vector_env("tabular-mdp", N)
    env.assign_tasks(env.stack_tasks([task]), torch.zeros(N, dtype=torch.int64))
    obs, _ = env.reset(seed=seed)
    g = torch.Generator().manual_seed(seed)
    total = torch.zeros(N, dtype=torch.float64)
    for t in range(env.horizon):
        if policy is None:
            actions = torch.randint(0, 5, (N,), generator=g)
        else:
            actions = torch.as_tensor(policy[t])[obs.argmax(dim=1)]
        obs, reward, _, truncated, _ = env.step(actions)
        total += reward.double()
    assert bool(truncated.all())
    return total.numpy()


@pytest.mark.parametrize("index", [0, 1, 2])
def test_value_iteration_references_match_monte_carlo(index: int) -> None:
    task = family_tasks("tabular-mdp", "test", 3, seed=0)[index]
    env = TabularMDPEnv()
    policy, value = optimal_policy(task, env.horizon)
    assert env.oracle_return(task) == pytest.approx(value, rel=1e-12)
    for pi, reference in ((None, env.random_return(task)), (policy, env.oracle_return(task))):
        returns = episode_returns(task, pi, seed=index)
        se = returns.std() / np.sqrt(N)
        assert returns.mean() == pytest.approx(reference, abs=4.5 * se)
    assert env.oracle_return(task) > env.random_return(task)


def test_random_reference_matches_the_rl2_paper() -> None:
    # RL² Table 2: a random agent earns 100.1 in 10 episodes of 10 steps, i.e. ≈ 10 per episode
    # (rewards average E[μ] = 1 per step).
    env = TabularMDPEnv()
    tasks = family_tasks("tabular-mdp", "test", 300, seed=0)
    assert np.mean([env.random_return(t) for t in tasks]) == pytest.approx(10.0, abs=0.3)


def test_noiseless_deterministic_mdp_follows_the_formulas() -> None:
    s, a = 4, 3
    mu = np.arange(s * a, dtype=np.float64).reshape(s, a) / 7 - 0.5
    p = np.zeros((s, a, s))
    for i in range(s):
        for j in range(a):
            p[i, j, (i + j + 1) % s] = 1.0
    task = task_of(mu, p)
    kwargs = {"num_states": s, "num_actions": a, "horizon": 6, "reward_noise": 0.0}
    single = make_env("tabular-mdp", **kwargs)
    native = make_vector_env("tabular-mdp", 1, **kwargs)
    obs, _ = single.reset(seed=3, options={"task": task})
    vobs, _ = native.reset(seed=3, options={"tasks": [task]})
    state = int(np.argmax(obs))
    for t, action in enumerate([0, 2, 1, 1, 0, 2]):
        obs, reward, term, trunc, _ = single.step(action)
        vobs, vreward, *_ = native.step(torch.tensor([action]))
        assert reward == np.float32(mu[state, action])
        assert vreward.item() == reward
        state = (state + action + 1) % s
        assert obs.tolist() == np.eye(s)[state].tolist()
        assert not term and trunc == (t == 5)
        if not trunc:
            assert torch.equal(vobs[0], torch.as_tensor(obs))


def test_start_states_transitions_and_reward_noise_have_the_stated_laws() -> None:
    s, a = 5, 2
    p_row = np.array([0.1, 0.4, 0.05, 0.25, 0.2])
    mu = np.full((s, a), 0.7)
    task = task_of(mu, np.broadcast_to(p_row, (s, a, s)))
    env = TabularMDPVectorEnv(N, num_states=s, num_actions=a, reward_noise=2.0)
    env.assign_tasks(env.stack_tasks([task]), torch.zeros(N, dtype=torch.int64))
    obs, _ = env.reset(seed=0)
    start = obs.sum(0).numpy() / N
    assert np.all(np.abs(start - 1 / s) < 4.5 * np.sqrt((1 / s) * (1 - 1 / s) / N))
    obs, reward, *_ = env.step(torch.zeros(N, dtype=torch.int64))
    freq = obs.sum(0).numpy() / N
    assert np.all(np.abs(freq - p_row) < 4.5 * np.sqrt(p_row * (1 - p_row) / N))
    noise = (reward.double() - 0.7) / 2.0
    assert abs(noise.mean().item()) < 4.5 / np.sqrt(N)
    assert noise.std().item() == pytest.approx(1.0, abs=0.04)


@st.composite
def mdps(draw: st.DrawFn) -> tuple[dict, TabularMDPTask, list[int], int]:
    s, a, horizon = draw(st.integers(1, 6)), draw(st.integers(1, 4)), draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    alpha = draw(st.floats(0.05, 5.0))
    mu = np.array(draw(st.lists(st.floats(-10, 10), min_size=s * a, max_size=s * a))).reshape(s, a)
    task = task_of(mu, rng.dirichlet(np.full(s, alpha), size=(s, a)))
    actions = draw(st.lists(st.integers(0, a - 1), min_size=1, max_size=15))
    kwargs = {"num_states": s, "num_actions": a, "horizon": horizon}
    return kwargs, task, actions, draw(st.integers(0, 2**31))


@given(mdps())
def test_random_tasks_and_actions_stay_in_spaces(
    case: tuple[dict, TabularMDPTask, list[int], int],
) -> None:
    kwargs, task, actions, seed = case
    single = TabularMDPEnv(**kwargs)
    native = TabularMDPVectorEnv(1, **kwargs)
    obs, _ = single.reset(seed=seed, options={"task": task})
    vobs, _ = native.reset(seed=seed, options={"tasks": [task]})
    for action in actions:
        assert single.observation_space.contains(obs) and obs.sum() == 1.0
        assert torch.equal(vobs[0], torch.as_tensor(obs))
        obs, reward, term, trunc, _ = single.step(action)
        vobs, vreward, vterm, vtrunc, info = native.step(torch.tensor([action]))
        assert np.isfinite(reward) and vreward.item() == np.float32(reward)
        assert not term and not vterm.item() and vtrunc.item() == trunc
        if trunc:
            assert torch.equal(info["final_obs"][0], torch.as_tensor(obs))
            obs, _ = single.reset()


def test_bad_parameters_tasks_and_actions() -> None:
    with pytest.raises(TaskError, match="num_states must be > 0, got 0"):
        make_env("tabular-mdp", num_states=0)
    with pytest.raises(TaskError, match="horizon must be a positive integer"):
        TabularMDPEnv(horizon=1.5)  # type: ignore[arg-type]
    with pytest.raises(TaskError, match="reward_noise must be >= 0"):
        TabularMDPEnv(reward_noise=-1.0)
    env = TabularMDPEnv(num_states=2, num_actions=2)
    with pytest.raises(
        TaskError, match=r"reward_means of shape \(2, 2\) and transitions of shape \(2, 2, 2\)"
    ):
        env.set_task(task_of(np.zeros((3, 2)), np.full((3, 2, 3), 1 / 3)))
    with pytest.raises(TaskError, match="must sum to 1"):
        env.set_task(task_of(np.zeros((2, 2)), np.full((2, 2, 2), 0.4)))
    env.reset(seed=0)
    with pytest.raises(TaskError, match=r"action 2 is not valid: use an integer in \[0, 2\)"):
        env.step(2)
