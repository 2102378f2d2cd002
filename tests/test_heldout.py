"""``metarl.heldout``: one's own agent on metarl's held-out tasks and env draws, saved as a run
that ``metarl.compare`` pairs; and the example ``examples/explore_then_commit.py``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from examples import explore_then_commit as etc
from metarl import compare, evaluate, progress, train
from metarl.baselines import __main__ as baselines
from metarl.envs import family_tasks, make_vector_env
from metarl.envs.bandit import BanditTask
from metarl.envs.family import TaskError
from metarl.evaluation import AdaptationCurve, EvaluationError
from metarl.heldout import HeldOut, held_out
from metarl.runs import HELD_OUT_CONFIG, RunError
from tests.test_train import run_cli, tiny_train

TASKS = 4


def oracle_returns(held: HeldOut, pulls: int) -> np.ndarray:
    """``(T, pulls)`` rewards of always pulling the best arm, played with the documented protocol."""
    env = held.make_env()
    out = np.zeros((len(held.tasks), pulls))
    for i, task in enumerate(held.tasks):
        env.reset(seed=held.env_seed(i), options={"task": task})
        for t in range(pulls):
            if t:
                env.reset()
            out[i, t] = env.step(int(np.argmax(task.means)))[1]
    return out


def test_defaults_are_the_rl2_presets_tasks_and_parameters() -> None:
    held = held_out("bandit")
    assert (held.env_id, held.seed, held.env_kwargs) == ("metarl/Bandit-v0", 0, {"num_arms": 5})
    assert list(held.tasks) == family_tasks("bandit", "test", 1000, 0, num_arms=5)
    assert held.episodes_per_trial == 10
    mine = held_out("metarl/Bandit-v0", seed=7, eval_tasks=3, num_arms=10)
    assert mine.env == "bandit" and len(mine.tasks) == 3 and len(mine.tasks[0].means) == 10
    assert list(mine.tasks) == family_tasks("bandit", "test", 3, 7, num_arms=10)
    assert [mine.env_seed(i) for i in range(3)] == [7, 8, 9]
    with pytest.raises(IndexError):
        mine.env_seed(3)


def test_bad_family_or_parameter_is_a_task_error() -> None:
    with pytest.raises(TaskError, match="unknown env"):
        held_out("bandits")
    with pytest.raises(TaskError, match="num_arms"):
        held_out("bandit", num_armz=5)


def test_the_documented_protocol_meets_the_baselines_draws(tmp_path: Path) -> None:
    """The oracle played on single envs with env_seed(i) earns reward for reward what
    ``metarl.baselines --algo oracle`` earned on the same tasks: the very same draws."""
    out = tmp_path / "oracle"
    argv = ["--algo", "oracle", "--env", "bandit", "--eval-tasks", str(TASKS), "--out", str(out)]
    assert run_cli(baselines, argv) == 0
    theirs = AdaptationCurve.load(out)
    held = held_out("bandit", eval_tasks=TASKS)
    mine = oracle_returns(held, theirs.num_points)
    assert np.array_equal(mine, theirs.returns)
    assert 0 < mine.sum() < mine.size  # Bernoulli draws, neither all 0 nor all 1


def test_single_env_trials_equal_the_native_vector_envs_on_tabular_mdps() -> None:
    """Transitions and reward noise too: a fixed policy gets the native vector env's returns."""
    held = held_out("tabular-mdp", eval_tasks=TASKS, horizon=4)
    episodes, horizon = 3, 4
    policy = lambda s, t: (int(s) + t) % 5  # noqa: E731
    env = held.make_env()
    single = np.zeros((TASKS, episodes))
    for i, task in enumerate(held.tasks):
        for e in range(episodes):
            s, _ = (
                env.reset(seed=held.env_seed(i), options={"task": task}) if e == 0 else env.reset()
            )
            for t in range(horizon):
                s, r, *_ = env.step(policy(np.argmax(s), t))
                single[i, e] += r
    vec = make_vector_env("tabular-mdp", TASKS, horizon=4)
    native = np.zeros((TASKS, episodes))
    obs, _ = vec.reset(seed=held.seed, options={"tasks": list(held.tasks)})
    for e in range(episodes):
        for t in range(horizon):
            actions = torch.tensor([policy(np.argmax(o), t) for o in obs.cpu().numpy()])
            obs, r, *_ = vec.step(actions)
            native[:, e] += r.double().cpu().numpy()  # the last step autoresets (same step)
    np.testing.assert_allclose(single, native, rtol=0, atol=1e-5)


def test_save_writes_a_run_that_compare_pairs_with_rl2(tmp_path: Path, capsys) -> None:
    rl2 = tmp_path / "rl2"
    assert (
        tiny_train(rl2, "bandit", 40, "--eval-tasks", str(TASKS), "--episodes-per-trial", "3") == 0
    )
    held = held_out("bandit", eval_tasks=TASKS)
    returns = oracle_returns(held, 3)
    out = tmp_path / "mine"
    path = held.save(out, held.curve("oracle-by-hand", returns, env_steps=[1, 2, 3]))
    assert path == out / "eval" / "adaptation.json"
    config = json.loads((out / "config.json").read_text())
    assert config["config"] == HELD_OUT_CONFIG
    assert (config["agent"], config["env"], config["eval_tasks"]) == ("oracle-by-hand", "bandit", 4)
    assert json.loads((out / "tasks.json").read_text()) == json.loads(
        (rl2 / "tasks.json").read_text()
    )
    curve = AdaptationCurve.load(path)
    assert curve.has_references and np.array_equal(curve.env_steps, [1, 2, 3])
    assert compare.unpaired_reason(AdaptationCurve.load(rl2 / "eval"), curve) is None
    capsys.readouterr()
    assert run_cli(compare, [str(rl2), str(out), "--out", str(tmp_path / "c.png")]) == 0
    table = capsys.readouterr().out
    assert "Δ total vs rl2" in table and "other" not in table
    assert run_cli(compare, [str(out), "--steps-to", "0.5", "--out", str(tmp_path / "d.png")]) == 0


def test_save_refuses_a_run_folder_and_a_curve_of_other_tasks(tmp_path: Path) -> None:
    held = held_out("bandit", eval_tasks=TASKS)
    curve = held.curve("x", np.zeros((TASKS, 2)), env_steps=np.ones((TASKS, 2)) * [1, 2])
    assert np.array_equal(curve.env_steps, [1, 2])
    held.save(tmp_path / "a", curve)
    before = (tmp_path / "a" / "eval" / "adaptation.json").read_bytes()
    with pytest.raises(RunError, match="already holds a run"):
        held.save(tmp_path / "a", curve)
    assert (tmp_path / "a" / "eval" / "adaptation.json").read_bytes() == before
    other = held_out("bandit", seed=1, eval_tasks=TASKS)
    with pytest.raises(EvaluationError, match="not on these held-out tasks"):
        other.save(tmp_path / "b", curve)
    assert not (tmp_path / "b").exists()
    with pytest.raises(EvaluationError, match=r"shape \(tasks, points\)"):
        held.curve("x", np.zeros((TASKS + 1, 2)), env_steps=[1, 2])
    with pytest.raises(EvaluationError, match="env_steps per task"):
        held.curve("x", np.zeros((TASKS, 2)), env_steps=np.zeros((TASKS, 3)))


@pytest.mark.parametrize("module", [train, evaluate, progress])
def test_meta_learner_clis_point_a_saved_curve_to_compare(tmp_path: Path, module, capsys) -> None:
    held = held_out("bandit", eval_tasks=TASKS)
    held.save(tmp_path / "mine", held.curve("x", np.zeros((TASKS, 2)), env_steps=[1, 2]))
    argv = ["--resume", str(tmp_path / "mine")] if module is train else [str(tmp_path / "mine")]
    capsys.readouterr()
    assert run_cli(module, argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "saved with metarl.heldout" in err and "metarl.compare" in err


def test_explore_then_commit_explores_each_arm_then_commits() -> None:
    """Means 0 and 1 make every draw certain: arms 0..4 once, then arm 2 (the only winner)."""
    held = held_out("bandit", eval_tasks=1)
    env = held.make_env()
    task = BanditTask(means=(0.0, 0.0, 1.0, 0.0, 0.0))
    rewards = etc.play_trial(env, task, seed=0, pulls=10, explore=1)
    assert rewards.tolist() == [0, 0, 1, 0, 0, 1, 1, 1, 1, 1]
    assert etc.play_trial(env, task, seed=0, pulls=4, explore=0).tolist() == [0, 0, 0, 0]


def test_explore_then_commit_script_writes_its_run(tmp_path: Path, capsys) -> None:
    out = tmp_path / "etc"
    assert run_cli(etc, ["--eval-tasks", str(TASKS), "--out", str(out), "--explore", "2"]) == 0
    curve = AdaptationCurve.load(out / "eval")
    assert curve.returns.shape == (TASKS, 10) and curve.agent == "etc"
    assert f"total {curve.returns.sum(axis=1).mean():.2f}" in capsys.readouterr().out
    assert run_cli(etc, ["--eval-tasks", "2", "--out", str(out)]) == 2  # a run is there
    assert "already holds a run" in capsys.readouterr().err
    assert run_cli(etc, ["--pulls", "0"]) == 2
