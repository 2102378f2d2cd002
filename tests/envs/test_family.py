"""The task-family contract: Gymnasium/SB3 checks, tasks, splits, JSON and seeding."""

from __future__ import annotations

import json
import warnings

import gymnasium as gym
import numpy as np
import pytest
from envtools import ALL_FAMILIES, EXAMPLE, random_actions
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from metarl.envs import TaskError, family_tasks, make_env, make_family
from metarl.envs.bandit import BanditTask
from metarl.envs.family import MetaEnv, draw_tasks, split_rng, tasks_from_json, tasks_to_json
from metarl.envs.nav import NavTask


@pytest.mark.parametrize("name", ALL_FAMILIES)
def test_gymnasium_check_env(name: str) -> None:
    env = make_family(name)
    env.set_task(family_tasks(name, "train", 1, seed=0)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # nav's unbounded Box is a deliberate choice
        gym_check_env(env, skip_render_check=True)


@pytest.mark.parametrize("name", ALL_FAMILIES)
def test_stable_baselines3_check_env(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # SB3 advises symmetric [-1, 1] action boxes
        sb3_check_env(make_env(name), warn=True)


@pytest.mark.parametrize("name", ALL_FAMILIES)
def test_every_family_is_a_meta_env_with_a_default_task(name: str) -> None:
    env = make_family(name)
    assert isinstance(env, MetaEnv)
    assert isinstance(env.task, env.task_type)
    env.check_task(env.task)


@pytest.mark.parametrize("name", ALL_FAMILIES)
def test_task_json_round_trip(name: str) -> None:
    tasks = family_tasks(name, "test", 5, seed=3)
    text = json.dumps(tasks_to_json(tasks))
    back = tasks_from_json(type(tasks[0]), json.loads(text))
    assert back == tasks
    assert all(type(t) is type(tasks[0]) for t in back)
    hash(back[0])  # frozen dataclasses of tuples stay hashable after the round trip


def test_task_from_json_names_missing_and_extra_fields() -> None:
    with pytest.raises(TaskError, match=r"a NavTask needs the fields \['goal'\], got \['target'\]"):
        NavTask.from_json({"target": [0.1, 0.2]})
    with pytest.raises(TaskError, match="got list"):
        NavTask.from_json([0.1, 0.2])  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ALL_FAMILIES)
def test_splits_are_seeded_and_independent(name: str) -> None:
    train = family_tasks(name, "train", 8, seed=0)
    assert train == family_tasks(name, "train", 8, seed=0)
    assert train != family_tasks(name, "train", 8, seed=1)
    test = family_tasks(name, "test", 8, seed=0)
    assert not set(train) & set(test)


def test_split_and_count_errors() -> None:
    with pytest.raises(TaskError, match="unknown split 'valid': use one of train, test"):
        split_rng(0, "valid")
    with pytest.raises(TaskError, match="at least 1, got 0"):
        draw_tasks(make_family("nav"), "train", 0, seed=0)


@pytest.mark.parametrize("name", ALL_FAMILIES)
def test_task_survives_reset_and_reset_option_switches_it(name: str) -> None:
    env = make_family(name)
    a, b = family_tasks(name, "train", 2, seed=0)
    env.set_task(a)
    for _ in range(3):
        _, info = env.reset()
        assert env.task == a and info["task"] == a
    _, info = env.reset(options={"task": b})
    assert env.task == b and info["task"] == b
    env.reset(seed=1)
    assert env.task == b
    env.task = a  # the property setter checks and sets
    assert env.task == a


@pytest.mark.parametrize("name", ALL_FAMILIES)
def test_same_seed_same_single_env_trajectory(name: str) -> None:
    def run(seed: int) -> list[tuple]:
        env = make_family(name)
        task = family_tasks(name, "train", 1, seed=0)[0]
        obs, _ = env.reset(seed=seed, options={"task": task})
        out = [tuple(obs)]
        for a in random_actions(env.action_space, (30,), seed=5).numpy():
            obs, r, term, trunc, _ = env.step(a)
            out.append((*obs, r, term, trunc))
            if term or trunc:
                out.append(tuple(env.reset()[0]))
        return out

    assert run(1) == run(1)
    if name in ("bandit", "tabular-mdp", EXAMPLE):  # nav has no randomness inside episodes
        assert run(1) != run(2)


@pytest.mark.parametrize("name", ALL_FAMILIES)
def test_a_task_of_the_wrong_family_is_rejected(name: str) -> None:
    env = make_family(name)
    wrong = NavTask(goal=(0.0, 0.0)) if name == "bandit" else BanditTask(means=(0.5,))
    with pytest.raises(
        TaskError, match=f"takes a {env.task_type.__name__}, got a {type(wrong).__name__}"
    ):
        env.set_task(wrong)
    with pytest.raises(TaskError, match="takes a"):
        env.reset(options={"task": wrong})


def test_gym_make_gives_the_same_family() -> None:
    import metarl.envs  # noqa: F401  (registers the families)

    env = gym.make("metarl/Nav2D-v0", horizon=5)
    assert env.unwrapped.horizon == 5
    assert isinstance(env.unwrapped, MetaEnv)
    assert np.array_equal(env.reset(seed=0)[0], np.zeros(2, dtype=np.float32))


def test_example_family_rejects_bad_input() -> None:
    from examples.windy_line import WindyLineTask

    with pytest.raises(TaskError, match=r"max_wind must lie in \[0, step_size=0.1\), got 0.5"):
        make_env(EXAMPLE, max_wind=0.5)
    env = make_family(EXAMPLE)
    with pytest.raises(TaskError, match=r"wind must lie in \[-0.05, 0.05\], got 0.2"):
        env.set_task(WindyLineTask(target=0.0, wind=0.2))
    env.reset(seed=0)
    with pytest.raises(
        TaskError, match=r"action 3 is not valid: use 0 \(left\), 1 \(stay\) or 2 \(right\)"
    ):
        env.step(3)
    assert env.oracle_return(WindyLineTask(target=0.5, wind=0.02)) > -5.0  # reaches it in 5 steps
