"""MuJoCo locomotion families: env checks, batched env against SyncVectorEnv, tasks, errors, render."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import imageio.v3 as iio
import numpy as np
import pytest
import torch
from envtools import assert_same, random_actions, scenario_env
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from metarl.envs import TaskError, family_tasks, make_env, make_family, make_vector_env
from metarl.envs.family import tasks_from_json, tasks_to_json
from metarl.envs.locomotion import (
    AntDirEnv,
    AntGoalEnv,
    DirectionTask,
    GoalTask,
    HalfCheetahDirEnv,
    HalfCheetahVelEnv,
    LocomotionVectorEnv,
    PlanarDirectionTask,
    VelocityTask,
)
from metarl.envs.trials import TrialVectorEnv

FAMILIES = ("cheetah-vel", "cheetah-dir", "ant-dir", "ant-goal")

# (family, short-episode parameters, events the scenario must contain so that it tests them).
# A torso height range just under the ant's start makes random actions topple it within steps.
CONFIGS = [
    ("cheetah-vel", {"horizon": 7}, {"truncated"}),
    ("cheetah-dir", {"horizon": 7}, {"truncated"}),
    ("ant-dir", {"horizon": 9, "healthy_z_range": (0.7, 1.0)}, {"terminated"}),
    ("ant-dir", {"horizon": 9, "directions": "circle"}, {"truncated"}),
    ("ant-goal", {"horizon": 7, "distance": "l1", "region": "square"}, {"truncated"}),
    (
        "ant-goal",
        {"horizon": 30, "terminate_when_unhealthy": True, "healthy_z_range": (0.7, 1.0)},
        {"terminated"},
    ),
]


@pytest.mark.parametrize("name", FAMILIES)
def test_gymnasium_and_sb3_check_env(name: str) -> None:
    gym_check_env(make_env(name, horizon=20).unwrapped, skip_render_check=True)
    sb3_check_env(make_family(name, horizon=20), warn=True)


@pytest.mark.parametrize("name", FAMILIES)
def test_registered_native_vector_env_and_task_round_trip(name: str) -> None:
    env = make_vector_env(name, 3, validate_actions=False)
    assert isinstance(env, LocomotionVectorEnv)
    assert env.single_observation_space == make_family(name).observation_space
    tasks = family_tasks(name, "test", 5, seed=2)
    assert tasks_from_json(type(tasks[0]), tasks_to_json(tasks)) == tasks
    env.close()


def scenario(name: str, mode: str, kwargs: dict[str, Any], n: int = 5, steps: int = 32) -> list:
    """Fixed tasks, seeds and actions; autoresets, masked resets (seeded or not), a task switch.

    The last record holds the physics state ``(qpos, qvel)`` of every sub-env, float64.
    """
    env, record = scenario_env(name, mode, kwargs, n, steps, events_at=(5, 12, 20))
    record.append(_physics_state(env))
    env.close()
    return record


def _physics_state(env: Any) -> list[torch.Tensor]:
    if isinstance(env, LocomotionVectorEnv):
        qpos, qvel = env.batch.bind("qpos"), env.batch.bind("qvel")
    else:
        datas = [e.unwrapped.data for e in env.env.envs]
        qpos, qvel = np.stack([d.qpos for d in datas]), np.stack([d.qvel for d in datas])
    return [torch.from_numpy(qpos.copy()), torch.from_numpy(qvel.copy())]


@pytest.mark.parametrize(("name", "kwargs", "events"), CONFIGS)
def test_batched_env_matches_sync_vector_env_step_for_step(
    name: str, kwargs: dict, events: set
) -> None:
    batched = scenario(name, "native", kwargs)
    sync = scenario(name, "sync", kwargs)
    assert_same(batched, sync)  # observations, rewards, flags, final obs; physics bit for bit
    steps = [r for r in batched if isinstance(r, dict)]
    for event in events:
        assert any(bool(r[event].any()) for r in steps), f"the scenario never had a {event} step"


@pytest.mark.parametrize(
    ("cls", "task_a", "task_b"),
    [
        (HalfCheetahVelEnv, VelocityTask(0.2), VelocityTask(1.7)),
        (HalfCheetahDirEnv, DirectionTask(1.0), DirectionTask(-1.0)),
        (AntDirEnv, PlanarDirectionTask((1.0, 0.0)), PlanarDirectionTask((-1.0, 0.0))),
        (AntGoalEnv, GoalTask((2.0, 1.0)), GoalTask((-1.0, -2.5))),
    ],
)
def test_tasks_change_the_reward_and_nothing_else(cls: type, task_a: Any, task_b: Any) -> None:
    def rollout(task: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        env = cls(horizon=15)
        obs, _ = env.reset(seed=3, options={"task": task})
        observations, rewards, flags = [obs], [], []
        for a in random_actions(env.action_space, (15,), seed=4).numpy():
            obs, r, term, trunc, _ = env.step(a)
            observations.append(obs)
            rewards.append(r)
            flags.append((term, trunc))
        return np.array(observations), np.array(rewards), np.array(flags), env.data.qpos.copy()

    obs_a, rew_a, flags_a, qpos_a = rollout(task_a)
    obs_b, rew_b, flags_b, qpos_b = rollout(task_b)
    assert np.array_equal(obs_a, obs_b) and np.array_equal(qpos_a, qpos_b)
    assert np.array_equal(flags_a, flags_b)
    assert not np.array_equal(rew_a, rew_b)


def test_same_seeds_in_two_sub_envs_give_the_same_physics_under_different_tasks() -> None:
    env = make_vector_env("cheetah-vel", 2)
    obs0, _ = env.reset(seed=[7, 7], options={"tasks": [VelocityTask(0.0), VelocityTask(2.0)]})
    obs, reward, *_ = env.step(random_actions(env.single_action_space, (1,), seed=0).repeat(2, 1))
    assert torch.equal(obs0[0], obs0[1]) and torch.equal(obs[0], obs[1])
    assert reward[0] != reward[1]


def test_cheetah_vel_reward_is_minus_speed_error_minus_control_cost() -> None:
    env = HalfCheetahVelEnv()
    env.reset(seed=0, options={"task": VelocityTask(1.5)})
    x0 = env.data.qpos[0]
    a = np.full(6, 0.5, dtype=np.float32)
    _, reward, *_ = env.step(a)
    v = (env.data.qpos[0] - x0) / env.dt
    assert env.dt == pytest.approx(0.05)
    assert reward == pytest.approx(-abs(v - 1.5) - 0.05 * 6 * 0.25, rel=1e-12)


def test_ant_dir_terminates_like_gymnasium_ant_and_truncates_at_the_horizon() -> None:
    env = AntDirEnv(horizon=5)
    env.reset(seed=0)
    flags = [env.step(np.zeros(8, dtype=np.float32))[2:4] for _ in range(5)]
    assert flags == [(False, False)] * 4 + [(False, True)]
    env = AntDirEnv(healthy_z_range=(0.8, 1.0))  # the ant starts at z = 0.75
    env.reset(seed=0)
    *_, terminated, truncated, _ = env.step(np.zeros(8, dtype=np.float32))
    assert terminated and not truncated


def test_sampled_tasks_follow_the_parameters() -> None:
    rng = np.random.default_rng(0)
    vel = HalfCheetahVelEnv(velocity_low=1.0, velocity_high=3.0, test_velocity_range=(3.0, 4.0))
    assert all(1.0 <= t.velocity <= 3.0 for t in vel.sample_tasks(50, rng))
    assert all(3.0 <= t.velocity <= 4.0 for t in vel.sample_test_tasks(50, rng))
    assert {t.direction for t in HalfCheetahDirEnv().sample_tasks(50, rng)} == {-1.0, 1.0}
    fwd_bwd = AntDirEnv(directions="forward-backward").sample_tasks(50, rng)
    assert {t.direction for t in fwd_bwd} == {(1.0, 0.0), (-1.0, 0.0)}
    circle = AntDirEnv().sample_tasks(50, rng)  # the default
    assert np.allclose([np.hypot(*t.direction) for t in circle], 1.0)
    goals = np.array([t.goal for t in AntGoalEnv(radius=2.0).sample_tasks(200, rng)])
    assert np.all(np.hypot(goals[:, 0], goals[:, 1]) <= 2.0)
    assert np.abs(goals).max() > 1.0


def test_random_return_is_a_cached_seeded_monte_carlo_reference() -> None:
    env = HalfCheetahVelEnv()
    slow, fast = env.random_return(VelocityTask(0.0)), env.random_return(VelocityTask(2.0))
    assert slow == HalfCheetahVelEnv().random_return(VelocityTask(0.0))
    assert fast < -200.0 and slow > fast  # the MAML paper: random scores below -200
    assert env.oracle_return(VelocityTask(1.0)) is None
    far = AntGoalEnv(horizon=20).random_return(GoalTask((3.0, 0.0)))
    assert -20 * 3.5 < far < -20 * 2.5


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        ("cheetah-vel", {"velocity_low": 2.0, "velocity_high": 0.0}, "low <= high"),
        ("cheetah-vel", {"test_velocity_range": (1.0, -1.0)}, "test_velocity_range"),
        ("cheetah-vel", {"horizon": 0}, "horizon"),
        ("cheetah-dir", {"ctrl_cost_weight": -1.0}, "ctrl_cost_weight"),
        ("ant-dir", {"directions": "sideways"}, "unknown directions"),
        ("ant-dir", {"healthy_z_range": (1.0, 0.2)}, "healthy_z_range"),
        ("ant-goal", {"radius": 0.0}, "radius"),
        ("ant-goal", {"radius": -3.0}, "radius"),
        ("ant-goal", {"region": "circle"}, "region"),
        ("ant-goal", {"distance": "l3"}, "distance"),
    ],
)
def test_bad_parameters_raise_one_clear_error(name: str, kwargs: dict, match: str) -> None:
    with pytest.raises(TaskError, match=match):
        make_env(name, **kwargs)
    with pytest.raises(TaskError, match=match):
        make_vector_env(name, 2, **kwargs)


@pytest.mark.parametrize(
    ("cls", "kwargs", "task", "match"),
    [
        (HalfCheetahDirEnv, {}, DirectionTask(0.5), "unknown direction"),
        (
            AntDirEnv,
            {"directions": "forward-backward"},
            PlanarDirectionTask((0.0, 1.0)),
            "unknown direction",
        ),
        (AntDirEnv, {}, PlanarDirectionTask((1.0, 1.0)), "unit vector"),
        (HalfCheetahVelEnv, {}, VelocityTask(float("nan")), "finite"),
        (AntGoalEnv, {}, GoalTask((0.0, float("inf"))), "finite"),
        (HalfCheetahVelEnv, {}, DirectionTask(1.0), "takes a VelocityTask"),
    ],
)
def test_bad_tasks_raise_one_clear_error(cls: type, kwargs: dict, task: Any, match: str) -> None:
    env = cls(**kwargs)
    with pytest.raises(TaskError, match=match):
        env.set_task(task)
    with pytest.raises(TaskError, match=match):
        LocomotionVectorEnv(env, 2).set_tasks([task, task])


def test_bad_actions_raise_one_clear_error() -> None:
    env = HalfCheetahVelEnv()
    env.reset(seed=0)
    with pytest.raises(TaskError, match=r"shape \(6,\)"):
        env.step(np.zeros(8))
    vec = make_vector_env("cheetah-vel", 2)
    with pytest.raises(TaskError, match="reset"):
        vec.step(torch.zeros(2, 6))
    vec.reset(seed=0)
    with pytest.raises(TaskError, match="shape"):
        vec.step(torch.zeros(2, 5))
    with pytest.raises(TaskError, match="finite"):
        vec.step(torch.full((2, 6), float("nan")))


def test_step_some_steps_the_active_sub_envs_as_step_does_and_leaves_the_others() -> None:
    """A twin env stepped by ``step`` gives the active sub-envs' numbers and physics bit for bit,
    through terminations and autoresets; the inactive ones do not move."""
    kwargs = {"horizon": 9, "healthy_z_range": (0.7, 1.0)}  # random actions topple the ant
    some, every = (make_vector_env("ant-dir", 4, **kwargs) for _ in range(2))
    obs_some, _ = some.reset(seed=3)
    every.reset(seed=3)
    active = torch.tensor([True, False, True, True])
    ended = torch.zeros(4, dtype=torch.bool)
    for a in random_actions(some.single_action_space, (8, 4), seed=5):
        before = obs_some.clone(), _physics_state(some)
        obs_some, r_some, term_some, trunc_some, _ = some.step_some(a, active)
        obs_all, r_all, term_all, trunc_all, _ = every.step(a)
        for x_some, x_all in ((obs_some, obs_all), (r_some, r_all), (term_some, term_all),
                              (trunc_some, trunc_all)):  # fmt: skip
            assert torch.equal(x_some[active], x_all[active])
        state_some, state_all = _physics_state(some), _physics_state(every)
        for now, then, full in zip(state_some, before[1], state_all):
            assert torch.equal(now[active], full[active]) and torch.equal(now[1], then[1])
        assert torch.equal(obs_some[1], before[0][1])
        assert r_some[1] == 0 and not term_some[1] and not trunc_some[1]
        ended |= term_all & active
    assert bool(ended.any()), "the scenario never terminated an active sub-env"
    obs_none, reward, *_ = some.step_some(torch.zeros(4, 8), torch.zeros(4, dtype=torch.bool))
    assert torch.equal(obs_none, obs_some) and not bool(reward.any())


def test_rl2_trials_run_over_the_batched_env() -> None:
    env = make_vector_env("cheetah-vel", 4, horizon=3, validate_actions=False)
    trials = TrialVectorEnv(
        env, episodes_per_trial=2, tasks=family_tasks("cheetah-vel", "train", 3, 0)
    )
    obs, _ = trials.reset(seed=0)
    assert obs.shape == (4, 17 + 6 + 2)
    trial_done = []
    for a in random_actions(env.single_action_space, (7, 4), seed=0):
        obs, reward, _, _, info = trials.step(a)
        assert torch.isfinite(obs).all() and torch.isfinite(reward).all()
        trial_done.append(bool(info["trial_done"].all()))
    assert trial_done == [False] * 5 + [True, False]


def _egl_available() -> bool:
    try:
        from mujoco.egl import GLContext

        ctx = GLContext(8, 8)
        ctx.free()
    except Exception:
        return False
    return True


@pytest.mark.skipif(not _egl_available(), reason="no headless OpenGL backend (EGL)")
@pytest.mark.parametrize("cls", [HalfCheetahDirEnv, AntGoalEnv])
def test_render_rgb_array(cls: type, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUJOCO_GL", "egl")
    env = cls(render_mode="rgb_array", width=64, height=48)
    env.reset(seed=0)
    first = env.render()
    for _ in range(10):
        env.step(env.action_space.sample())
    frame = env.render()
    assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
    assert frame.std() > 0 and not np.array_equal(first, frame)
    env.close()
    assert cls().render() is None


@pytest.mark.skipif(not _egl_available(), reason="no headless OpenGL backend (EGL)")
@pytest.mark.parametrize("name", FAMILIES)
def test_gymnasium_check_env_with_its_render_check(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUJOCO_GL", "egl")
    env = make_env(name, horizon=20, render_mode="rgb_array", width=64, height=48)
    gym_check_env(env.unwrapped, skip_render_check=False)
    env.close()


@pytest.mark.skipif(not _egl_available(), reason="no headless OpenGL backend (EGL)")
def test_render_trial_script_writes_a_gif(tmp_path: Path, load_script) -> None:
    script = load_script("render_trial")
    out = tmp_path / "trial.gif"
    argv = ["--env", "ant-goal", "--env-kwargs", "horizon=3", "--width", "32", "--height", "24"]
    assert script.main([*argv, "--every", "1", "--out", str(out)]) == 0
    assert iio.imread(out, index=None).shape == (6, 24, 32, 3)  # 2 episodes of 3 steps
    with pytest.raises(SystemExit) as exc:
        script.main([*argv, "--out", str(tmp_path / "trial.avi")])
    assert exc.value.code == 2


@pytest.mark.skipif(not _egl_available(), reason="no headless OpenGL backend (EGL)")
def test_render_trial_script_plays_a_trained_run(tmp_path: Path, load_script) -> None:
    from metarl import cli, train

    run = tmp_path / "run"
    argv = ["--agent", "rl2", "--env", "cheetah-vel", "--env-kwargs", "horizon=3", "--steps", "24",
            "--num-envs", "4", "--minibatches", "2", "--epochs", "1", "--eval-tasks", "2",
            "--device", "cpu", "--time-input", "true", "--out", str(run)]  # fmt: skip
    assert cli.run_main(train.main, argv) == 0
    out = tmp_path / "trial.gif"
    script = load_script("render_trial")
    argv = ["--run", str(run), "--width", "32", "--height", "24", "--every", "1", "--out", str(out)]
    assert script.main([*argv, "--task-index", "1"]) == 0
    assert iio.imread(out, index=None).shape == (6, 24, 32, 3)  # the run's 2 episodes of 3 steps


def test_render_trial_script_rejects_a_family_that_cannot_render(
    tmp_path: Path, load_script, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_train import run_cli

    out = tmp_path / "trial.gif"
    assert run_cli(load_script("render_trial"), ["--env", "nav", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "metarl/Nav2D-v0 cannot render rgb_array frames" in err
    assert not out.exists()


def _osmesa_works() -> bool:
    code = "from mujoco.osmesa import GLContext; GLContext(8, 8).free()"
    env = {**os.environ, "MUJOCO_GL": "osmesa"}
    return (
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True).returncode == 0
    )


@pytest.mark.skipif(_osmesa_works(), reason="OSMesa works here: nothing to report")
def test_render_trial_script_reports_a_missing_gl_backend_in_one_line(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[2] / "scripts" / "render_trial.py"
    out = tmp_path / "trial.gif"
    result = subprocess.run(
        [sys.executable, str(script), "--env", "cheetah-vel", "--out", str(out)],
        env={**os.environ, "MUJOCO_GL": "osmesa"}, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "MUJOCO_GL=osmesa" in result.stderr
    assert not out.exists()


def test_train_reports_a_mujoco_gl_that_breaks_mujocos_import_in_one_line(tmp_path: Path) -> None:
    run = tmp_path / "run"
    argv = ["-m", "metarl.train", "--agent", "rl2", "--env", "cheetah-vel", "--out", str(run)]
    result = subprocess.run(
        [sys.executable, *argv], env={**os.environ, "MUJOCO_GL": "no-such-backend"},
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "MUJOCO_GL=no-such-backend" in result.stderr and "unset MUJOCO_GL" in result.stderr
    assert not run.exists()


def test_gymnasium_render_mode_is_checked() -> None:
    with pytest.raises(TaskError, match="render_mode"):
        HalfCheetahVelEnv(render_mode="human")
    assert gym.spec("metarl/HalfCheetahVel-v0").max_episode_steps is None
