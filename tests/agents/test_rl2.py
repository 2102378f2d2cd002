"""RL² learns (a short run on 2-armed bandits beats the random policy by a clear margin), is
deterministic, resumes exactly, and learns from rewards over a running return std by default."""

from __future__ import annotations

import dataclasses
import io
import json
import math
from pathlib import Path

import pytest
import torch

from metarl.agents import config_from_json, preset
from metarl.agents.rl2 import RL2
from metarl.config import PRESETS, RL2Config, to_json
from metarl.envs import family_tasks, make_vector_env

RESULTS = Path(__file__).resolve().parents[2] / "docs" / "results"


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


WINDY = "examples.windy_line:WindyLine-v0"


def _windy_config(**overrides: object) -> RL2Config:
    return dataclasses.replace(
        preset("rl2", WINDY), env_kwargs={"horizon": 5}, num_envs=8, minibatches=2,
        hidden_size=16, device="cpu", **overrides,
    )  # fmt: skip


def test_a_family_without_a_preset_learns_from_rewards_over_the_running_return_std() -> None:
    config = _windy_config()
    assert config.reward_norm and not preset("rl2", "nav").reward_norm
    agent = RL2(config, family_tasks(WINDY, "train", 16, 0))
    gen = torch.Generator().manual_seed(0)
    rollout, _ = agent.collect(gen, env_seed=0)
    raw = RL2(dataclasses.replace(config, reward_norm=False), family_tasks(WINDY, "train", 16, 0))
    plain, _ = raw.collect(torch.Generator().manual_seed(0), env_seed=0)
    # same trajectories; the learning rewards are the raw ones over the updated return std,
    # while the policy's input (the previous reward inside the observation) stays raw
    assert torch.equal(rollout.obs, plain.obs)
    assert torch.allclose(rollout.rewards * agent.return_scale.std, plain.rewards, rtol=1e-5)
    assert float(agent.return_scale.stats.count) > 1  # statistics took in the rollout
    assert float(raw.return_scale.stats.count) < 1  # off: never touched


def test_presets_keep_the_settings_they_were_measured_with() -> None:
    # the class defaults changed in issue 22 (reward_norm and normalize_obs on, lr, ent_coef,
    # minibatches, init_log_std); every built-in RL² preset names the values its committed
    # results were trained with
    measured = {
        "bandit": (1e-3, 0.01, 1.0, 16), "tabular-mdp": (1e-3, 0.01, 0.1, 16),
        "nav": (1e-3, 0.0, 0.1, 4),
        **{f: (3e-4, 0.0, 0.1, 8) for f in ("cheetah-vel", "cheetah-dir", "ant-dir", "ant-goal")},
    }  # fmt: skip
    assert {env for agent, env in PRESETS if agent == "rl2"} == set(measured)
    for env, settings in measured.items():
        config = preset("rl2", env)
        assert (config.lr, config.ent_coef, config.reward_scale, config.minibatches) == settings
        assert config.reward_norm is False, env
        tabular = env in ("bandit", "tabular-mdp")
        assert config.normalize_obs is not tabular, env
        if not tabular:  # Box actions: a Gaussian policy of std 1, but 0.37 on ant-dir
            assert config.init_log_std == (-1.0 if env == "ant-dir" else 0.0), env


def test_the_ant_dir_preset_is_the_committed_run(preset_differences) -> None:
    """docs/results/rl2-ant-dir-std-1 (15M env steps, resumed at 5M and 10M; no schedule depends
    on --steps there, so it is the run the preset makes) differs from the preset only in device."""
    run, differ = preset_differences("rl2-ant-dir-std-1", "rl2", "ant-dir")
    assert differ == ["device"] and run.steps == 15_000_000 and not run.anneal_lr


def test_a_config_json_from_before_reward_norm_loads_with_it_off() -> None:
    saved = json.loads((RESULTS / "rl2-nav" / "config.json").read_text())
    assert "reward_norm" not in saved and "init_log_std" not in saved  # written before them
    assert config_from_json(saved).reward_norm is False
    assert config_from_json(saved).init_log_std == 0.0
    assert config_from_json(to_json(_windy_config())).reward_norm is True


MIRRORED = "examples.mirrored_controls:MirroredControls-v1"


def test_init_log_std_sets_the_gaussian_policy_and_leaves_discrete_ones_alone() -> None:
    box = dataclasses.replace(_windy_config(), env=MIRRORED, env_kwargs={})
    tasks = family_tasks(MIRRORED, "train", 4, 0)
    for value in (-1.0, 0.0):
        agent = RL2(dataclasses.replace(box, init_log_std=value), tasks)
        assert torch.equal(agent.net.policy.log_std.data, torch.full((2,), value))
    windy = family_tasks(WINDY, "train", 4, 0)
    nets = [RL2(_windy_config(init_log_std=v), windy).net.state_dict() for v in (-1.0, 0.0)]
    assert nets[0].keys() == nets[1].keys() and "policy.log_std" not in nets[0]
    assert all(torch.equal(nets[0][k], nets[1][k]) for k in nets[0])


@pytest.mark.parametrize("reward_norm", [True, False])
def test_resume_from_a_state_dict_reproduces_the_uninterrupted_run(reward_norm: bool) -> None:
    config = _windy_config(reward_norm=reward_norm)
    tasks = family_tasks(WINDY, "train", 16, 0)
    whole = RL2(config, tasks)
    rows = [whole.train_iteration() for _ in range(3)]
    first = RL2(config, tasks)
    first.train_iteration()
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    resumed = RL2(config, tasks)
    resumed.load_state_dict(torch.load(buffer, weights_only=False))
    later = [resumed.train_iteration() for _ in range(2)]
    for a, b in zip(rows[1:], later):
        assert a | {"sps": 0} == b | {"sps": 0}
    for pa, pb in zip(whole.net.parameters(), resumed.net.parameters()):
        assert torch.equal(pa, pb)
    assert torch.equal(whole.return_scale.std, resumed.return_scale.std)
    assert ("return_std" in rows[0]) is reward_norm
