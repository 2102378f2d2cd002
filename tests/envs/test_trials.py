"""RL² trials: episodes per trial, task draws, feedback in the observation, any vector env."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from envtools import EXAMPLE, assert_same, random_actions

from metarl.envs import TaskError, family_tasks, make_vector_env
from metarl.envs.bandit import BanditTask
from metarl.envs.trials import TrialVectorEnv

INFO_KEYS = ("episode_done", "episode_index", "episode_return", "trial_done")


def trials(
    name: str, mode: str, n: int, episodes: int, steps: int, **kwargs: Any
) -> tuple[list, list]:
    """Run a trial env; return its outputs and the sub-envs' tasks at every step."""
    env = TrialVectorEnv(
        make_vector_env(name, n, mode=mode, **kwargs),
        episodes,
        family_tasks(name, "train", 4, seed=0, **kwargs),
        seed=5,
    )
    actions = random_actions(env.env.single_action_space, (steps, n), seed=3)
    obs, _ = env.reset(seed=9)
    out: list = [obs]
    tasks = [env.env.tasks]
    for t in range(steps):
        obs, reward, terminated, truncated, info = env.step(actions[t])
        out.append([obs, reward, terminated, truncated, *(info[k] for k in INFO_KEYS)])
        tasks.append(env.env.tasks)
    env.close()
    return out, tasks


@pytest.mark.parametrize(
    ("name", "modes", "kwargs"),
    [
        ("bandit", ("native", "sync", "async"), {}),
        ("tabular-mdp", ("native", "sync"), {"horizon": 4}),
        ("nav", ("native", "sync", "async"), {"horizon": 5}),
        (EXAMPLE, ("sync", "async"), {"horizon": 4}),
    ],
)
def test_trials_agree_over_native_sync_and_async(name: str, modes: tuple, kwargs: dict) -> None:
    runs = [trials(name, mode, n=3, episodes=2, steps=30, **kwargs) for mode in modes]
    for other in runs[1:]:
        assert_same(runs[0], other)
    _, tasks = runs[0]
    assert len({tuple(ts) for ts in tasks}) > 2  # tasks did change between trials


@pytest.mark.parametrize("mode", ["native", "sync"])
def test_time_features_count_steps_and_episodes(mode: str) -> None:
    episodes, horizon, n = 2, 8, 3
    pool = family_tasks("nav", "train", 3, seed=0, horizon=horizon)
    vec = make_vector_env("nav", n, mode=mode, horizon=horizon)
    env = TrialVectorEnv(vec, episodes, pool, seed=0, time_features=True)
    plain = TrialVectorEnv(make_vector_env("nav", n, horizon=horizon), episodes, pool, seed=0)
    assert env.single_observation_space.shape[0] == plain.single_observation_space.shape[0] + 2
    obs, _ = env.reset(seed=1)
    step, episode, early = torch.zeros(n), torch.zeros(n), 0
    for _ in range(3 * episodes * horizon):
        assert torch.allclose(obs[:, -2:], torch.stack([step / horizon, episode / episodes], 1))
        goal = torch.tensor([task.goal for task in vec.tasks], dtype=torch.float32)
        obs, _, terminated, _, info = env.step((goal - obs[:, :2]).clamp(-0.1, 0.1))
        early += int((terminated & (step + 1 < horizon)).sum())  # reached the goal before H
        step = torch.where(info["episode_done"], 0.0, step + 1)
        episode = torch.where(info["trial_done"], 0.0, episode + info["episode_done"].float())
    assert early > 0  # the step count restarted after early ends too


def test_episode_scale_keeps_the_trained_trial_length() -> None:
    # an agent trained on 2-episode trials, evaluated on 4: its episode feature reaches 1.5
    pool = family_tasks("bandit", "train", 3, seed=0)
    env = TrialVectorEnv(
        make_vector_env("bandit", 2), 4, pool, seed=0, time_features=True, episode_scale=2
    )
    obs, _ = env.reset(seed=1)
    seen = []
    for _ in range(4):
        seen.append(obs[:, -1].clone())
        obs, *_ = env.step(torch.zeros(2, dtype=torch.int64))
    assert torch.equal(torch.stack(seen), torch.tensor([0.0, 0.5, 1.0, 1.5]).repeat(2, 1).T)


def test_bandit_trial_structure_and_feedback() -> None:
    n, k, episodes, steps = 8, 5, 4, 40
    pool = family_tasks("bandit", "train", 5, seed=0)
    env = TrialVectorEnv(make_vector_env("bandit", n), episodes, pool, seed=0)
    assert env.single_observation_space.shape == (1 + k + 2,)
    obs, _ = env.reset(seed=0)
    assert torch.equal(obs, torch.zeros(n, 1 + k + 2))  # nothing to report at a trial's start
    actions = random_actions(env.env.single_action_space, (steps, n), seed=0)
    seen: set[BanditTask] = set()
    trial_tasks = env.env.tasks
    for t in range(steps):
        obs, reward, terminated, _, info = env.step(actions[t])
        assert terminated.all() and info["episode_done"].all()  # a pull is an episode
        assert (info["episode_index"] == t % episodes).all()
        assert (info["episode_return"] == reward).all()
        trial_end = t % episodes == episodes - 1
        assert (info["trial_done"] == trial_end).all()
        if trial_end:
            assert torch.equal(obs, torch.zeros(n, 1 + k + 2))
            trial_tasks = env.env.tasks
            assert set(trial_tasks) <= set(pool)
            seen |= set(trial_tasks)
        else:
            assert env.env.tasks == trial_tasks  # the task holds for the whole trial
            one_hot = torch.nn.functional.one_hot(actions[t], k).float()
            assert torch.equal(obs[:, 1 : 1 + k], one_hot)
            assert torch.equal(obs[:, 1 + k], reward)
            assert (obs[:, -1] == 1.0).all()
    assert len(seen) == len(pool)  # 10 trials × 8 sub-envs drew every pool task


def test_multi_step_episodes_returns_and_done_flags() -> None:
    n, horizon, episodes, steps = 2, 4, 3, 30
    env = TrialVectorEnv(
        make_vector_env("tabular-mdp", n, horizon=horizon),
        episodes,
        family_tasks("tabular-mdp", "train", 3, seed=0, horizon=horizon),
    )
    obs, _ = env.reset(seed=1)
    running = torch.zeros(n)
    actions = random_actions(env.env.single_action_space, (steps, n), seed=1)
    for t in range(steps):
        obs, reward, _, truncated, info = env.step(actions[t])
        running += reward
        episode_end = t % horizon == horizon - 1
        trial_end = t % (horizon * episodes) == horizon * episodes - 1
        assert (truncated == episode_end).all() and (info["episode_done"] == episode_end).all()
        assert (info["episode_index"] == (t // horizon) % episodes).all()
        assert (info["trial_done"] == trial_end).all()
        assert (obs[:, -1] == float(episode_end and not trial_end)).all()
        assert (obs[:, 10:15].sum(1) == float(not trial_end)).all()
        assert obs[:, :10].sum(1).eq(1.0).all()  # the one-hot state of the (next) episode
        if episode_end:
            assert torch.allclose(info["episode_return"], running)
            running.zero_()


def test_continuous_actions_are_reported_as_sent() -> None:
    env = TrialVectorEnv(make_vector_env("nav", 3), 2, family_tasks("nav", "train", 3, seed=0))
    env.reset(seed=0)
    action = torch.tensor([[0.5, -0.05], [0.01, 0.02], [-0.2, 0.3]])
    obs, reward, *_ = env.step(action)
    assert torch.equal(obs[:, 2:4], action)
    assert torch.equal(obs[:, 4], reward)
    assert obs.shape == (3, 2 + 2 + 2)


def test_reset_with_given_tasks() -> None:
    tasks = family_tasks("nav", "test", 3, seed=0)
    env = TrialVectorEnv(make_vector_env("nav", 3), 2, family_tasks("nav", "train", 5, seed=0))
    env.reset(seed=0, options={"tasks": tasks})
    assert env.env.tasks == tasks


def test_bad_trial_settings() -> None:
    env = make_vector_env("bandit", 2)
    pool = family_tasks("bandit", "train", 2, seed=0)
    with pytest.raises(TaskError, match="episodes_per_trial must be a positive integer, got 0"):
        TrialVectorEnv(env, 0, pool)
    with pytest.raises(TaskError, match="a task batch needs at least one task"):
        TrialVectorEnv(env, 2, [])
    with pytest.raises(TaskError, match="BanditEnv takes a BanditTask, got a NavTask"):
        TrialVectorEnv(env, 2, family_tasks("nav", "train", 2, seed=0))
    trial_env = TrialVectorEnv(env, 2, pool)
    with pytest.raises(TaskError, match="got 1 tasks for 2 sub-envs"):
        trial_env.reset(options={"tasks": pool[:1]})
    assert np.prod(trial_env.single_observation_space.shape) == 1 + 5 + 2
