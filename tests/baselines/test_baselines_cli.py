"""End-to-end tiny runs of ``python -m metarl.baselines``: every SB3 kind writes a curve that
``metarl.compare`` pairs with a tiny RL² run of the same seed; resume; bad input."""

from __future__ import annotations

import json
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from metarl import cli, compare, evaluate, progress, train
from metarl.baselines import __main__ as baselines
from metarl.baselines import chunked
from metarl.compare import unpaired_reason
from metarl.evaluation import AdaptationCurve

RL2_TINY = ["--num-envs", "4", "--minibatches", "2", "--epochs", "1", "--train-tasks", "8",
            "--hidden-size", "16", "--checkpoint-every", "1", "--episodes-per-trial", "2"]  # fmt: skip
# SB3 at the smallest budget that still learns: rollouts of 128 steps, one epoch.
PPO_TINY = ["--algo-kwargs", "n_steps=128", "batch_size=64", "n_epochs=1"]
TASKS = 3


def load(run: Path) -> AdaptationCurve:
    return AdaptationCurve.load(run)


def run_cli(module, argv: list[str]) -> int:
    try:
        return cli.run_main(module.main, argv)
    except SystemExit as e:
        return int(e.code)


def baseline(out: Path, algo: str, env: str, *extra: str) -> int:
    """A tiny run on 3 held-out tasks in this process (horizon 5 where the family has one)."""
    kwargs = [] if env == "bandit" else ["--env-kwargs", "horizon=5"]
    argv = ["--algo", algo, "--env", env, "--eval-tasks", str(TASKS), "--out", str(out),
            "--threads", "1", *kwargs, *extra]  # fmt: skip
    return run_cli(baselines, argv)


@pytest.fixture(scope="module")
def rl2_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny RL² runs on nav and cheetah-vel (horizon 5, 3 held-out tasks, seed 0)."""
    runs = {}
    for env in ("nav", "cheetah-vel"):
        out = tmp_path_factory.mktemp("rl2") / f"rl2-{env}"
        argv = ["--agent", "rl2", "--env", env, "--steps", "40", "--eval-tasks", str(TASKS),
                "--env-kwargs", "horizon=5", "--out", str(out), *RL2_TINY]  # fmt: skip
        assert run_cli(train, argv) == 0
        runs[env] = out
    return runs


def check_pairs(rl2: Path, run: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The baseline's files are there, its tasks are RL²'s, and compare pairs the two."""
    for name in ("config.json", "tasks.json", "eval/adaptation.json", "eval/adaptation.csv",
                 "eval/adaptation.png"):  # fmt: skip
        assert (run / name).stat().st_size > 0, name
    assert json.loads((run / "tasks.json").read_text()) == json.loads(
        (rl2 / "tasks.json").read_text()
    )
    a, b = load(rl2), load(run)
    assert b.returns.shape[0] == TASKS
    assert unpaired_reason(a, b) in (None, "other points")  # the same tasks: paired
    capsys.readouterr()
    assert run_cli(compare, [str(rl2), str(run), "--out", str(tmp_path / "c.png")]) == 0
    table = capsys.readouterr().out
    assert "other tasks" not in table
    assert (tmp_path / "c.png").stat().st_size > 0


def test_ppo_from_scratch_on_nav(rl2_runs, tmp_path: Path, capsys) -> None:
    out = tmp_path / "ppo"
    assert baseline(out, "ppo", "nav", "--steps", "200", "--eval-episodes", "1", *PPO_TINY) == 0
    curve = load(out)
    assert curve.x_label == "env steps"
    assert curve.x.tolist() == [0, 256]  # --steps 200 rounded up to whole rollouts of 128
    assert curve.env_steps.tolist() == curve.x.tolist()
    assert curve.has_references  # nav's random and oracle returns
    check_pairs(rl2_runs["nav"], out, tmp_path, capsys)


def test_eval_at_adds_points_to_the_curve_and_resume_keeps_them(tmp_path: Path) -> None:
    out = tmp_path / "ppo"
    extra = ["--steps", "512", "--eval-at", "300", "128", "--eval-episodes", "1", *PPO_TINY]
    assert baseline(out, "ppo", "nav", *extra) == 0
    curve = load(out)
    assert curve.x.tolist() == [0, 128, 384, 512]  # 300 rounded up to the rollout ending at 384
    assert json.loads((out / "config.json").read_text())["eval_at"] == [128, 300]
    (out / "tasks" / "task-0001.json").unlink()  # one held-out task to redo on --resume
    (out / "eval" / "adaptation.json").unlink()
    assert run_cli(baselines, ["--resume", str(out)]) == 0
    again = load(out)
    assert again.x.tolist() == curve.x.tolist()
    np.testing.assert_array_equal(again.returns, curve.returns)


def test_sac_from_scratch_on_cheetah_vel(rl2_runs, tmp_path: Path, capsys) -> None:
    out = tmp_path / "sac"
    extra = ["--steps", "60", "--eval-episodes", "1", "--eval-tasks", "2",
             "--algo-kwargs", "learning_starts=20", "batch_size=16"]  # fmt: skip
    assert baseline(out, "sac", "cheetah-vel", *extra) == 0
    curve = load(out)
    assert curve.x.tolist() == [0, 60] and curve.num_tasks == 2
    config = json.loads((out / "config.json").read_text())
    assert config["algo_kwargs"] == {"learning_starts": 20, "batch_size": 16}
    assert curve.meta["hyperparameters"] == {"learning_starts": 20, "batch_size": 16}
    # 2 of the rl2 run's 3 tasks: the prefix of its list (cheetah-vel draws one target per task)
    rl2_tasks = json.loads((rl2_runs["cheetah-vel"] / "tasks.json").read_text())["tasks"]
    assert json.loads((out / "tasks.json").read_text())["tasks"] == rl2_tasks[:2]
    capsys.readouterr()
    argv = [str(rl2_runs["cheetah-vel"]), str(out), "--out", str(tmp_path / "c.png")]
    assert run_cli(compare, argv) == 2  # other held-out tasks: refused ...
    assert "other held-out tasks" in capsys.readouterr().err
    assert run_cli(compare, [*argv, "--allow-different-tasks"]) == 0  # ... or overlaid


def test_multitask_on_nav(rl2_runs, tmp_path: Path, capsys) -> None:
    out = tmp_path / "mt"
    extra = ["--steps", "128", "--pretrain-steps", "256", "--train-tasks", "8",
             "--eval-episodes", "1", *PPO_TINY]  # fmt: skip
    assert baseline(out, "multitask", "nav", *extra) == 0
    assert (out / "multitask" / "model.zip").is_file()
    curve = load(out)
    assert curve.x.tolist() == [0, 128] and curve.meta["pretrain_steps"] == 256
    check_pairs(rl2_runs["nav"], out, tmp_path, capsys)


def test_recurrent_ppo_on_nav_pairs_episode_by_episode(rl2_runs, tmp_path: Path, capsys) -> None:
    out = tmp_path / "rppo"
    extra = ["--pretrain-steps", "64", "--train-tasks", "8", "--num-envs", "4",
             "--algo-kwargs", "n_steps=16", "batch_size=32", "n_epochs=1"]  # fmt: skip
    assert baseline(out, "recurrent-ppo", "nav", *extra) == 0
    rl2, curve = load(rl2_runs["nav"]), load(out)
    assert curve.x.tolist() == rl2.x.tolist() == [1.0, 2.0]
    assert curve.x_label == "episode"
    assert np.all(curve.env_steps <= [5, 10]) and np.all(np.diff(curve.env_steps) > 0)
    assert unpaired_reason(rl2, curve) is None
    check_pairs(rl2_runs["nav"], out, tmp_path, capsys)


def test_classic_algorithm_through_the_cli(tmp_path: Path) -> None:
    from metarl.baselines.classic import classic_curve
    from metarl.envs import family_tasks

    out = tmp_path / "ucb1"
    argv = ["--algo", "ucb1", "--env", "bandit", "--eval-tasks", "20", "--out", str(out)]
    assert run_cli(baselines, argv) == 0
    curve = load(out)
    tasks = family_tasks("bandit", "test", 20, 0, num_arms=5)  # the rl2 bandit preset's arms
    direct = classic_curve("ucb1", "bandit", {"num_arms": 5}, tasks, 10, 0)
    assert curve.x.tolist() == list(range(1, 11))  # the rl2 preset's 10 pulls
    assert np.array_equal(curve.returns, direct.returns)


def test_resume_runs_only_the_missing_task_and_gives_the_same_file(tmp_path: Path) -> None:
    full = tmp_path / "full"
    extra = ["--steps", "128", "--eval-episodes", "1", *PPO_TINY]
    assert baseline(full, "ppo", "nav", *extra, "--threads", "2") == 0  # in a spawn pool
    expected = (full / "eval" / "adaptation.json").read_bytes()
    kept = {i: (full / "tasks" / f"task-{i:04d}.json").read_bytes() for i in (0, 2)}
    (full / "tasks" / "task-0001.json").unlink()  # as if stopped before the second task ended
    (full / "eval" / "adaptation.json").unlink()
    assert run_cli(baselines, ["--resume", str(full), "--threads", "1"]) == 0  # in this process
    assert (full / "eval" / "adaptation.json").read_bytes() == expected
    for i, text in kept.items():  # not run again (their wall times would differ)
        assert (full / "tasks" / f"task-{i:04d}.json").read_bytes() == text


def test_resume_with_more_eval_tasks_adds_them_and_equals_a_run_on_all(tmp_path: Path) -> None:
    extra = ["--steps", "128", "--eval-episodes", "1", *PPO_TINY]
    whole, grown = tmp_path / "whole", tmp_path / "grown"
    assert baseline(whole, "ppo", "nav", *extra) == 0  # 3 tasks
    argv = ["--algo", "ppo", "--env", "nav", "--eval-tasks", "2", "--out", str(grown),
            "--threads", "1", "--env-kwargs", "horizon=5", *extra]  # fmt: skip
    assert run_cli(baselines, argv) == 0
    kept = {i: (grown / "tasks" / f"task-{i:04d}.json").read_bytes() for i in (0, 1)}
    assert run_cli(baselines, ["--resume", str(grown), "--eval-tasks", str(TASKS)]) == 0
    for name in ("eval/adaptation.json", "tasks.json", "config.json"):
        assert (grown / name).read_bytes() == (whole / name).read_bytes(), name
    for i, text in kept.items():  # the finished tasks were not run again
        assert (grown / "tasks" / f"task-{i:04d}.json").read_bytes() == text


@pytest.mark.parametrize(
    ("algo", "env", "eval_tasks", "words"),
    [
        ("random", "bandit", "2", ["--eval-tasks 2", "has 3 held-out tasks", "only add more"]),
        ("random", "tabular-mdp", "4", ["does not begin with the run's 3", "--eval-tasks 4"]),
    ],
    ids=["fewer", "not-a-prefix"],
)
def test_resume_refuses_eval_tasks_it_cannot_grow_to_and_writes_nothing(
    tmp_path: Path, capsys, algo: str, env: str, eval_tasks: str, words: list[str]
) -> None:
    out = tmp_path / "run"
    assert baseline(out, algo, env) == 0
    capsys.readouterr()
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert run_cli(baselines, ["--resume", str(out), "--eval-tasks", eval_tasks]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_print_config_on_resume_shows_the_changes_and_writes_nothing(
    tmp_path: Path, capsys
) -> None:
    out = tmp_path / "run"
    assert baseline(out, "random", "bandit") == 0
    capsys.readouterr()
    before = (out / "config.json").read_bytes()
    argv = ["--resume", str(out), "--threads", "2", "--eval-tasks", "5", "--print-config"]
    assert run_cli(baselines, argv) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["threads"], shown["eval_tasks"]) == (2, 5)
    assert (out / "config.json").read_bytes() == before
    assert not (out / "tasks" / "task-0004.json").exists()


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--algo", "sac", "--env", "bandit"], ["sac needs continuous", "ppo", "gittins"]),
        (["--algo", "td3", "--env", "tabular-mdp"], ["td3 needs continuous", "psrl"]),
        (["--algo", "nope", "--env", "nav"], ["unknown --algo 'nope'", "sac", "recurrent-ppo"]),
        (["--algo", "gittins", "--env", "nav"], ["gittins runs on bandit only", "ppo"]),
        (["--algo", "ucb1", "--env", "bandit", "--steps", "10"], ["--steps has no effect"]),
        (["--algo", "ucb1", "--env", "bandit", "--eval-at", "5"], ["--eval-at has no effect"]),
        (
            ["--algo", "ppo", "--env", "nav", "--steps", "50k", "--eval-at", "50k"],
            ["--eval-at 50000 is not below --steps 50000"],
        ),
        (["--algo", "ppo", "--env", "nav", "--eval-at", "0"], ["--eval-at", "positive"]),
        (["--algo", "ppo", "--env", "nav", "--eval-at", "soon"], ["--eval-at"]),
        (["--algo", "ppo", "--env", "nav", "--steps", "lots"], ["--steps"]),
        (["--algo", "random", "--env", "bandit", "--seed", "-1"], ["--seed", "0 or more"]),
        (["--algo", "ppo", "--env", "nav", "--algo-kwargs", "oops"], ["KEY=VALUE"]),
        (["--algo", "ppo", "--env", "nav", "--env-kwargs", "horizn=5"], ["horizn"]),
        # values SB3 would refuse only mid-training (a worker's traceback) or by an assert
        (
            ["--algo", "sac", "--env", "nav", "--algo-kwargs", "batch_size=abc"],
            ["batch_size='abc'", "whole number", "256"],
        ),
        (["--algo", "ppo", "--env", "nav", "--algo-kwargs", "n_epochs=2.5"], ["n_epochs=2.5"]),
        (
            ["--algo", "ppo", "--env", "nav", "--algo-kwargs", "learning_rate=NaN"],
            ["finite number"],
        ),
        (
            ["--algo", "a2c", "--env", "nav", "--algo-kwargs", "normalize_advantage=1"],
            ["true or false"],
        ),
        (["--algo", "multitask", "--env", "nav", "--algo-kwargs", "n_steps=0"], ["at least 1"]),
        (  # accepted by type, refused by PPO's constructor (an assert): the probe build
            ["--algo", "multitask", "--env", "nav", "--algo-kwargs", "n_steps=2", "batch_size=1"],
            ["ppo refused them", "batch_size"],
        ),
        (
            ["--algo", "recurrent-ppo", "--env", "bandit", "--algo-kwargs", "learning_rate=abc"],
            ["RecurrentPPO expects a finite number"],
        ),
        (  # RecurrentPPO takes n_steps=0, then divided by it on its first rollout
            ["--algo", "recurrent-ppo", "--env", "bandit", "--algo-kwargs", "n_steps=0"],
            ["n_steps=0", "at least 1"],
        ),
        (
            [
                "--algo",
                "recurrent-ppo",
                "--env",
                "bandit",
                "--algo-kwargs",
                'policy_kwargs={"lstm_hidden_size": "x"}',
            ],
            ["RecurrentPPO refused them"],
        ),
        (["--resume", "/nonexistent/run"], ["holds no run"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys, argv, words) -> None:
    out = tmp_path / "run"
    assert run_cli(baselines, [*argv, "--out", str(out)] if "--resume" not in argv else argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err
    assert not out.exists()  # nothing written


def test_resume_refuses_a_changed_flag_and_bad_algo_kwargs_write_nothing_new(
    tmp_path: Path, capsys
) -> None:
    out = tmp_path / "run"
    assert baseline(out, "ucb1", "bandit") == 0
    before = (out / "config.json").read_bytes()
    assert run_cli(baselines, ["--resume", str(out), "--seed", "3"]) == 2
    assert "--seed cannot change on --resume" in capsys.readouterr().err
    assert (out / "config.json").read_bytes() == before
    bad = tmp_path / "bad"
    assert baseline(bad, "ppo", "nav", "--algo-kwargs", "no_such_arg=1", "--steps", "10") == 2
    assert "no_such_arg" in capsys.readouterr().err
    assert not bad.exists()


def test_a_whole_float_for_a_count_becomes_an_int() -> None:
    args = baselines.build_parser().parse_args(
        ["--algo", "ppo", "--env", "nav", "--algo-kwargs", "n_steps=1e3", "learning_rate=1e-3"]
    )
    config, _ = baselines.resolve_config(args)
    assert config.algo_kwargs == {"n_steps": 1000, "learning_rate": 1e-3}
    assert isinstance(config.algo_kwargs["n_steps"], int)


@pytest.mark.parametrize(
    ("module", "argv"),
    [(train, ["--resume"]), (evaluate, []), (progress, [])],
    ids=["train-resume", "evaluate", "progress"],
)
def test_a_baseline_run_given_to_a_meta_learner_cli_says_what_to_use(
    tmp_path: Path, capsys, module, argv
) -> None:
    out = tmp_path / "run"
    assert baseline(out, "ucb1", "bandit") == 0
    capsys.readouterr()
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert run_cli(module, [*argv, str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "is a baseline's run" in err and f"metarl.baselines --resume {out}" in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def _start(out: Path, *argv: str) -> tuple[subprocess.Popen, Path]:
    """``python -m metarl.baselines`` in a subprocess, plain progress lines every second to a
    file (returned with the process)."""
    log = out.parent / f"{out.name}.log"
    command = [sys.executable, "-m", "metarl.baselines", "--env", "nav", "--out", str(out),
               "--log-every", "1", *argv]  # fmt: skip
    with log.open("w") as f:
        proc = subprocess.Popen(command, stdout=f, stderr=subprocess.PIPE, text=True,
                                cwd=Path(__file__).parents[2])  # fmt: skip
    return proc, log


def _wait_for(done, proc: subprocess.Popen, limit_s: float = 120) -> None:
    start = time.monotonic()
    while time.monotonic() - start < limit_s:
        if done():
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    raise AssertionError(f"not there within {limit_s} s")


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads worker processes from /proc")
def test_sigterm_stops_the_workers_and_says_how_to_go_on(tmp_path: Path) -> None:
    out = tmp_path / "ppo"
    proc, log = _start(out, "--algo", "ppo", "--eval-tasks", "2", "--threads", "2",
                       "--steps", "1M", "--eval-episodes", "1")  # fmt: skip
    _wait_for(lambda: "task" in log.read_text() and len(_children(proc.pid)) >= 2, proc)
    time.sleep(2)  # the workers are training
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: terminated (SIGTERM)"), err
    assert f"--resume {out}" in lines[0]
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(p) for p in workers)  # no orphans training on
    assert (out / "config.json").is_file() and (out / "tasks.json").is_file()


def test_a_terminated_pretraining_resumes_from_its_checkpoint(tmp_path: Path, capsys) -> None:
    out = tmp_path / "mt"
    proc, _ = _start(out, "--algo", "multitask", "--eval-tasks", "2", "--threads", "1",
                       "--env-kwargs", "horizon=5", "--steps", "128", "--eval-episodes", "1",
                       "--pretrain-steps", "1M", "--checkpoint-every", "128", "--train-tasks",
                       "8", *PPO_TINY)  # fmt: skip
    checkpoint = out / "multitask" / chunked.CHECKPOINT
    _wait_for(checkpoint.is_file, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143 and "up to its last checkpoint" in err, err
    steps = pickle.loads(checkpoint.read_bytes())["num_timesteps"]
    assert 128 <= steps < 1_000_000
    config = json.loads((out / "config.json").read_text())
    config["pretrain_steps"] = steps + 128  # resume a shorter budget than the run's (test time)
    (out / "config.json").write_text(json.dumps(config))
    assert run_cli(baselines, ["--resume", str(out), "--threads", "1"]) == 0
    assert "multitask pretraining" in capsys.readouterr().out
    assert not checkpoint.exists() and (out / "multitask" / "model.zip").is_file()
    import stable_baselines3 as sb3

    assert sb3.PPO.load(out / "multitask" / "model.zip").num_timesteps == steps + 128
