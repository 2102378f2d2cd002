"""The example families in examples/: valid families (the checks of docs/adding_a_family.md),
exact or seeded reference returns, bad input, and a tiny bare-defaults training run of each."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from examples.corner_grid import CornerGridEnv, CornerGridTask
from examples.hidden_heading import HiddenHeadingEnv, HiddenHeadingTask
from examples.mirrored_controls import MirroredControlsEnv, MirroredControlsTask
from examples.windy_line import WindyLineEnv, WindyLineTask
from metarl import cli, train
from metarl.envs import family_tasks, make_env, make_family, make_vector_env
from metarl.envs.family import TaskError, tasks_from_json, tasks_to_json
from metarl.evaluation import AdaptationCurve

CORNER = "examples.corner_grid:CornerGrid-v0"
MIRROR = "examples.mirrored_controls:MirroredControls-v1"
WINDY = "examples.windy_line:WindyLine-v0"
HEADING = "examples.hidden_heading:HiddenHeading-v0"
NEW = (CORNER, MIRROR, HEADING)


@pytest.mark.parametrize("name", NEW)
def test_family_passes_the_gymnasium_and_sb3_checks_and_round_trips_tasks(name: str) -> None:
    check_env(make_family(name), skip_render_check=True)
    sb3_check_env(make_env(name))
    tasks = family_tasks(name, "train", 6, seed=0)
    env = make_family(name)
    again = tasks_from_json(env.task_type, json.loads(json.dumps(tasks_to_json(tasks))))
    assert again == tasks
    assert family_tasks(name, "test", 6, seed=0) != tasks  # independent splits


@pytest.mark.parametrize("name", NEW)
def test_the_same_seed_gives_the_same_vector_trajectory(name: str) -> None:
    def run() -> list[torch.Tensor]:
        env = make_vector_env(name, 3)
        obs, _ = env.reset(seed=7, options={"tasks": family_tasks(name, "train", 3, seed=0)})
        space = make_family(name).action_space
        space.seed(0)
        out = [obs]
        for _ in range(25):  # past the horizon: automatic resets draw from the stream too
            actions = torch.as_tensor(np.stack([space.sample() for _ in range(3)]))
            obs, reward, *_ = env.step(actions)
            out += [obs, reward]
        return out

    for a, b in zip(run(), run()):
        assert torch.equal(a, b)


def _walk_return(env: CornerGridEnv, task: CornerGridTask, seed: int, episodes: int) -> float:
    rng = np.random.default_rng(seed)
    total = 0.0
    env.set_task(task)
    for _ in range(episodes):
        env.reset(seed=int(rng.integers(2**31)))
        done = False
        while not done:
            _, r, term, trunc, _ = env.step(int(rng.integers(5)))
            total += r
            done = term or trunc
    return total / episodes


def test_corner_grid_references_match_rollouts() -> None:
    env = CornerGridEnv()
    task = CornerGridTask(0, 2)
    assert env.oracle_return(task) == 9.0  # two moves to the corner, then paid 9 of 10 steps
    env.set_task(task)
    env.reset(seed=0)
    rewards = [env.step(a)[1] for a in (1, 4, *[0] * 8)]  # up, right, stay
    assert sum(rewards) == 9.0
    # the exact random-walk expectation against a Monte-Carlo estimate (SE about 0.02)
    assert _walk_return(env, task, 0, 4000) == pytest.approx(env.random_return(task), abs=0.08)
    for size in (4, 1, 3.0):
        with pytest.raises(TaskError, match="size must be an odd integer"):
            CornerGridEnv(size=size)  # type: ignore[arg-type]
    with pytest.raises(TaskError, match="row and col"):
        env.set_task(CornerGridTask(3, 0))
    with pytest.raises(TaskError, match="not valid"):
        env.step(5)


def test_mirrored_controls_moves_by_the_hidden_signs_and_gain() -> None:
    env = MirroredControlsEnv()
    env.set_task(MirroredControlsTask(-1.0, 1.0, 0.5))
    obs, _ = env.reset(seed=0)
    obs, reward, *_ = env.step(np.array([1.0, 1.0], dtype=np.float32))
    assert obs[:2] == pytest.approx([-0.1, 0.1])  # x mirrored, both at half of max_step 0.2
    assert obs[2:4] == pytest.approx([-0.1, 0.1])  # the last move, seen
    assert reward == pytest.approx(-np.linalg.norm(obs[:2] - obs[4:]))
    task = MirroredControlsTask(1.0, -1.0, 1.2)
    assert env.oracle_return(task) > -2.0 > -10.0 > env.random_return(task)
    assert env.oracle_return(task) == env.oracle_return(task)  # seeded: a fixed reference
    with pytest.raises(TaskError, match="gain must lie"):
        env.set_task(MirroredControlsTask(1.0, 1.0, 2.0))
    with pytest.raises(TaskError, match="signs"):
        env.set_task(MirroredControlsTask(0.5, 1.0, 1.0))
    with pytest.raises(TaskError, match="finite"):
        env.step(np.array([np.nan, 0.0]))
    with pytest.raises(TaskError, match="gain_range"):
        MirroredControlsEnv(gain_range=(1.0, 0.5))


def test_hidden_heading_pays_progress_along_the_hidden_heading() -> None:
    env = HiddenHeadingEnv(horizon=3)
    env.set_task(HiddenHeadingTask(90.0))  # straight up
    env.reset(seed=0)
    obs, reward, term, trunc, _ = env.step(np.array([0.5, 3.0], dtype=np.float32))
    assert obs == pytest.approx([0.5, 1.0, 0.5, 1.0])  # clipped to the square: the move, seen
    assert reward == pytest.approx(1.0) and not term and not trunc
    assert env.step(np.array([1.0, -1.0]))[1] == pytest.approx(-1.0)
    assert env.step(np.array([-1.0, 0.0]))[3]  # truncated at the horizon
    # the oracle's exact return is what walking to the nearest corner earns
    task = HiddenHeadingTask(30.0)
    env.set_task(task)
    env.reset(seed=0)
    corner = np.array([1.0, 1.0], dtype=np.float32)
    assert sum(env.step(corner)[1] for _ in range(3)) == pytest.approx(env.oracle_return(task))
    assert env.oracle_return(task) == pytest.approx(3 * (np.cos(np.pi / 6) + 0.5))
    # uniformly random actions: 0 in expectation (Monte Carlo, SE about 0.01)
    rng = np.random.default_rng(0)
    moves = rng.uniform(-1.0, 1.0, size=(20000, 3, 2))
    random_total = (moves @ env.direction(task)).sum(1).mean()
    assert random_total == pytest.approx(env.random_return(task), abs=0.05)
    with pytest.raises(TaskError, match="heading must lie"):
        HiddenHeadingEnv(arc=(0.0, 90.0)).set_task(HiddenHeadingTask(120.0))
    with pytest.raises(TaskError, match="heading must lie"):
        env.set_task(HiddenHeadingTask(float("nan")))
    with pytest.raises(TaskError, match="at most 360"):
        HiddenHeadingEnv(arc=(-360.0, 360.0))
    with pytest.raises(TaskError, match="finite"):
        env.step(np.array([np.inf, 0.0]))


def test_windy_line_random_return_matches_a_monte_carlo_estimate() -> None:
    env = WindyLineEnv()
    task = WindyLineTask(target=0.7, wind=0.03)
    rng = np.random.default_rng(0)
    pos, total = np.zeros(20000), 0.0
    for _ in range(env.horizon):
        pos = np.clip(pos + (rng.integers(0, 3, pos.size) - 1) * env.step_size + task.wind, -2, 2)
        total -= np.abs(pos - task.target).mean()
    assert env.random_return(task) == pytest.approx(total, abs=0.05)  # SE about 0.02
    assert env.random_return(task) < env.oracle_return(task)


@pytest.mark.parametrize("name", [*NEW, WINDY])
def test_bare_defaults_train_and_score_normalized(tmp_path: Path, name: str) -> None:
    out = tmp_path / "run"
    argv = ["--agent", "rl2", "--env", name, "--steps", "2000", "--num-envs", "8",
            "--eval-tasks", "4", "--train-tasks", "16", "--hidden-size", "16", "--epochs", "1",
            "--minibatches", "2", "--out", str(out)]  # fmt: skip
    assert cli.run_main(train.main, argv) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["reward_norm"] is True  # no preset: the robust default
    curve = AdaptationCurve.load(out / "eval")
    norm = curve.normalized_mean
    assert norm is not None and norm.shape == (2,) and np.all(np.isfinite(norm))
