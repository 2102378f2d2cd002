"""The parts of the SB3 baselines: schedule, hyperparameters, the task sampler, the trial VecEnv,
the registry."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from metarl.agents import preset
from metarl.baselines import baseline_spec, fitting
from metarl.baselines.config import BaselineConfig
from metarl.baselines.multitask import TaskSampler
from metarl.baselines.recurrent import trial_vec_env
from metarl.baselines.scratch import hyperparameters, rollout_unit, sb3_kwargs, schedule
from metarl.config import ConfigError
from metarl.envs import family_tasks, make_env


def test_schedule_is_1_2_5_decades_rounded_to_whole_rollouts() -> None:
    assert schedule(100_000) == (0, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000)
    assert schedule(30_000) == (0, 1000, 2000, 5000, 10_000, 20_000, 30_000)
    assert schedule(500) == (0, 500)
    # PPO's default rollout of 2048 steps: 1k and 2k are the same first rollout
    assert schedule(10_000, 2048) == (0, 2048, 6144, 10_240)


def test_schedule_adds_the_eval_at_points_in_order_rounded_to_whole_rollouts() -> None:
    assert schedule(50_000, extra=[40_000, 25_000]) == (
        0, 1000, 2000, 5000, 10_000, 20_000, 25_000, 40_000, 50_000
    )  # fmt: skip
    assert schedule(30_000, extra=[20_000]) == schedule(30_000)  # a point it has: no repeat
    # 3000 → the rollout ending at 4096; 6000 → 6144, PPO's point of 5k already
    assert schedule(10_000, 2048, extra=[3000, 6000]) == (0, 2048, 4096, 6144, 10_240)


def test_rollout_unit_follows_the_algorithm() -> None:
    assert rollout_unit("ppo", {}, 1) == 2048
    assert rollout_unit("ppo", {"n_steps": 512}, 4) == 2048
    assert rollout_unit("a2c", {}, 1) == 5
    assert rollout_unit("sac", {}, 1) == 1
    assert rollout_unit("td3", {"train_freq": [1, "episode"]}, 1) == 1


def test_mujoco_families_take_rl_zoo3_hyperparameters_and_flags_override_them() -> None:
    assert hyperparameters("ppo", "nav", {}) == {}  # SB3's defaults
    cheetah = hyperparameters("ppo", "cheetah-vel", {"learning_rate": 1e-4})
    assert cheetah["n_steps"] == 512 and cheetah["gamma"] == 0.98 and cheetah["normalize"]
    assert cheetah["learning_rate"] == 1e-4
    assert hyperparameters("sac", "ant-goal", {}) == {"learning_starts": 10_000}
    net = hyperparameters("ppo", "cheetah-dir", {"policy_kwargs": {"log_std_init": 0}})
    assert net["policy_kwargs"]["log_std_init"] == 0 and net["policy_kwargs"]["ortho_init"] is False
    td3 = sb3_kwargs(hyperparameters("td3", "cheetah-vel", {}), spaces.Box(-1, 1, (6,)))
    assert "noise_std" not in td3 and td3["action_noise"]._sigma.tolist() == [0.1] * 6
    import torch

    ppo = sb3_kwargs(hyperparameters("ppo", "cheetah-vel", {}), spaces.Box(-1, 1, (6,)))
    assert ppo["policy_kwargs"]["activation_fn"] is torch.nn.ReLU and "normalize" not in ppo


def test_registry_lists_what_fits_each_action_space() -> None:
    box, discrete = spaces.Box(-1, 1, (2,)), spaces.Discrete(5)
    assert {"sac", "td3", "ppo", "multitask", "recurrent-ppo"} <= set(fitting("nav", box))
    assert "sac" not in fitting("bandit", discrete) and "gittins" in fitting("bandit", discrete)
    assert "gittins" not in fitting("nav", box)
    assert baseline_spec("td3", "cheetah-vel", box).box_only
    with pytest.raises(ConfigError, match="psrl"):
        baseline_spec("sac", "tabular-mdp", discrete)


def test_task_sampler_draws_training_tasks_the_policy_cannot_see() -> None:
    tasks = family_tasks("nav", "train", 4, 0)
    env = TaskSampler(make_env("nav"), tasks, np.random.default_rng(1))
    seen = []
    for _ in range(12):
        obs, info = env.reset()
        seen.append(info["task"])
        assert obs.shape == (2,)  # the position only: no goal in the observation
    assert set(seen) <= set(tasks) and len(set(seen)) > 1
    again = TaskSampler(make_env("nav"), tasks, np.random.default_rng(1))
    assert [again.reset()[1]["task"] for _ in range(12)] == seen  # seeded


def test_trial_vec_env_gives_sb3_the_rl2_trial_observation() -> None:
    rl2 = preset("rl2", "bandit")
    config = BaselineConfig(algo="recurrent-ppo", env="bandit", env_kwargs=rl2.env_kwargs,
                            episodes_per_trial=3)  # fmt: skip
    venv = trial_vec_env(config, family_tasks("bandit", "train", 4, 0, num_arms=5), 2, 0)
    venv.seed(7)
    obs = venv.reset()
    assert obs.shape == (2, 1 + 5 + 2)  # obs, one-hot previous arm, reward, done
    assert np.all(obs[:, 1:] == 0)  # nothing before the first pull
    dones = []
    for _ in range(6):
        venv.step_async(np.array([1, 3]))
        obs, reward, done, infos = venv.step_wait()
        dones.append(done.tolist())
        assert obs.shape == (2, 8) and reward.shape == (2,) and len(infos) == 2
    assert dones == [[False, False], [False, False], [True, True]] * 2  # a trial = 3 pulls
    venv.step_async(np.array([1, 3]))
    obs, reward, _, _ = venv.step_wait()
    assert obs[0, 1 + 1] == 1 and obs[1, 1 + 3] == 1  # the arm just pulled, one-hot
    assert np.array_equal(obs[:, 6], reward)  # and its reward
    venv.close()


def test_baseline_config_round_trips_and_rejects_an_agent_config() -> None:
    config = BaselineConfig(algo="sac", env="cheetah-vel", algo_kwargs={"learning_starts": 5})
    assert BaselineConfig.from_json(config.to_json()) == config
    with pytest.raises(ConfigError, match="not a baseline run"):
        BaselineConfig.from_json({"config": "RL2Config", "env": "nav"})
