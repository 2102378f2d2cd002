"""RL² learns: a short run on 2-armed bandits beats the random policy by a clear margin."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from metarl.agents import preset
from metarl.agents.rl2 import RL2
from metarl.envs import family_tasks, make_vector_env


def test_rl2_beats_random_on_two_armed_bandits() -> None:
    torch.set_num_threads(1)
    config = dataclasses.replace(
        preset("rl2", "bandit"), env_kwargs={"num_arms": 2}, episodes_per_trial=10,
        num_envs=128, hidden_size=32, steps=300_000, device="cpu", seed=0,
    )  # fmt: skip
    agent = RL2(config, family_tasks("bandit", "train", 2000, 0, num_arms=2))
    while agent.env_steps < config.steps:
        metrics = agent.train_iteration()
    assert all(math.isfinite(v) for v in metrics.values())
    test = family_tasks("bandit", "test", 500, 0, num_arms=2)
    curve = agent.adaptation_curve(test)
    random = curve.random_returns.sum() * 10 / len(test)  # expected total of random pulls
    total = curve.total_return().mean()
    # random: 5.0 in expectation; always the better arm: 6.67; the CI half-width is about 0.2
    assert total > random + 0.6, (total, random)
    # adaptation: the last pull pays more than the first
    assert curve.mean[-1] > curve.mean[0] + 0.05


def test_iteration_is_deterministic_given_the_seed() -> None:
    config = dataclasses.replace(
        preset("rl2", "nav"), env_kwargs={"horizon": 5}, num_envs=8, minibatches=2,
        hidden_size=16, device="cpu",
    )  # fmt: skip
    tasks = family_tasks("nav", "train", 16, 0)
    a, b = RL2(config, tasks), RL2(config, tasks)
    assert a.train_iteration() | {"sps": 0} == b.train_iteration() | {"sps": 0}
    for pa, pb in zip(a.net.parameters(), b.net.parameters()):
        assert torch.equal(pa, pb)


def test_anneal_lr_decays_linearly_to_zero_over_the_budget() -> None:
    config = dataclasses.replace(
        preset("rl2", "nav"), env_kwargs={"horizon": 5}, num_envs=8, minibatches=2,
        hidden_size=16, device="cpu", lr=1e-3, anneal_lr=True, steps=240,
    )  # fmt: skip
    agent = RL2(config, family_tasks("nav", "train", 16, 0))
    # each iteration is one 10-step trial on 8 envs: 80 env steps
    rates = [agent.train_iteration()["lr"] for _ in range(3)]
    assert rates == pytest.approx([1e-3, 1e-3 * 2 / 3, 1e-3 / 3])
    assert agent.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 / 3)
    constant = RL2(
        dataclasses.replace(config, anneal_lr=False), family_tasks("nav", "train", 16, 0)
    )
    assert constant.train_iteration()["lr"] == 1e-3


def test_longer_evaluation_trials_keep_the_trained_episode_share() -> None:
    config = dataclasses.replace(
        preset("rl2", "bandit"), num_envs=4, minibatches=2, hidden_size=16, device="cpu",
        episodes_per_trial=3, time_input=True,
    )  # fmt: skip
    tasks = family_tasks("bandit", "test", 2, 0, num_arms=5)
    agent = RL2(config, family_tasks("bandit", "train", 8, 0, num_arms=5))
    trials = agent.trial_env(make_vector_env("bandit", 2, num_arms=5), 6, tasks)
    obs, _ = trials.reset(seed=0)
    shares = []
    for _ in range(6):
        shares.append(float(obs[0, -1]))
        obs, *_ = trials.step(torch.zeros(2, dtype=torch.int64))
    # episode k of a 6-episode evaluation reads k / 3, as the agent counted in training
    assert shares == pytest.approx([0, 1 / 3, 2 / 3, 1, 4 / 3, 5 / 3])
    assert agent.adaptation_curve(tasks, 6).returns.shape == (2, 6)
