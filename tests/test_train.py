"""End-to-end tiny-budget runs of ``python -m metarl.train`` / ``metarl.evaluate``, resume, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from metarl import cli, compare, evaluate, train
from metarl.config import ConfigError
from metarl.envs import family_tasks, tasks_to_json
from metarl.evaluation import AdaptationCurve
from tests.metrics_rows import metrics_rows

TINY = ["--num-envs", "4", "--minibatches", "2", "--epochs", "1", "--eval-tasks", "3",
        "--train-tasks", "8", "--hidden-size", "16", "--checkpoint-every", "1"]  # fmt: skip
RUN_FILES = ("config.json", "tasks.json", "checkpoint.pt", "metrics.csv", "tb")
EVAL_FILES = ("adaptation.json", "adaptation.csv", "adaptation.png")


def run_cli(module, argv: list[str]) -> int:
    try:
        return cli.run_main(module.main, argv)
    except SystemExit as e:
        return int(e.code)


def tiny_train(out: Path, env: str, steps: int, *extra: str) -> int:
    argv = ["--agent", "rl2", "--env", env, "--steps", str(steps), "--out", str(out), *TINY]
    return run_cli(train, [*argv, *extra])


@pytest.mark.parametrize(
    ("env", "extra"),
    [
        ("bandit", ["--episodes-per-trial", "3"]),
        ("tabular-mdp", ["--episodes-per-trial", "2", "--env-kwargs", "horizon=3"]),
        ("nav", ["--episodes-per-trial", "2", "--env-kwargs", "horizon=5"]),
        ("examples.windy_line:WindyLine-v0", ["--episodes-per-trial", "2"]),
        *[
            (name, ["--episodes-per-trial", "2", "--env-kwargs", "horizon=5"])
            for name in ("cheetah-vel", "cheetah-dir", "ant-dir", "ant-goal")
        ],
    ],
)
def test_tiny_run_writes_every_file_and_evaluates(tmp_path: Path, env: str, extra: list) -> None:
    out = tmp_path / "run"
    assert tiny_train(out, env, 40, *extra) == 0
    for name in RUN_FILES:
        assert (out / name).exists(), name
    for name in EVAL_FILES:
        assert (out / "eval" / name).stat().st_size > 0
    first = AdaptationCurve.load(out / "eval")
    assert first.returns.shape == (3, first.x.shape[0])
    (out / "eval" / "adaptation.json").unlink()
    tasks = (out / "tasks.json").read_bytes()
    (out / "tasks.json").unlink()  # a copy without it: drawn again from config.json's seed
    assert run_cli(evaluate, [str(out)]) == 0
    assert (out / "tasks.json").read_bytes() == tasks
    again = AdaptationCurve.load(out / "eval")
    assert (again.returns == first.returns).all()  # same seed, same checkpoint -> same curve
    # the training time up to the checkpoint (written just before the end-of-training evaluation)
    assert 0 < again.meta["train_wall_time_s"] <= first.meta["train_wall_time_s"]


def test_resume_reproduces_uninterrupted_run(tmp_path: Path) -> None:
    args = ["--episodes-per-trial", "2", "--env-kwargs", "horizon=4"]
    assert tiny_train(tmp_path / "full", "nav", 160, *args) == 0
    assert tiny_train(tmp_path / "half", "nav", 80, *args) == 0
    (tmp_path / "half" / "tasks.json").unlink()  # a copy of config, checkpoint and metrics only
    assert run_cli(train, ["--resume", str(tmp_path / "half"), "--steps", "160"]) == 0
    assert metrics_rows(tmp_path / "half" / "metrics.csv") == metrics_rows(
        tmp_path / "full" / "metrics.csv"
    )
    tasks = [(tmp_path / run / "tasks.json").read_bytes() for run in ("half", "full")]
    assert tasks[0] == tasks[1]  # written again from the config's seed
    full = AdaptationCurve.load(tmp_path / "full" / "eval")
    half = AdaptationCurve.load(tmp_path / "half" / "eval")
    assert (full.returns == half.returns).all()


def test_nan_stops_training_and_keeps_last_checkpoint(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert tiny_train(out, "nav", 40, "--env-kwargs", "horizon=5") == 0
    before = (out / "checkpoint.pt").read_bytes()
    config = json.loads((out / "config.json").read_text())
    config["reward_scale"] = 1e38  # value targets overflow to inf
    (out / "config.json").write_text(json.dumps(config))
    assert run_cli(train, ["--resume", str(out), "--steps", "400"]) == 1
    err = capsys.readouterr().err
    assert "NaN/inf" in err and "Traceback" not in err
    assert (out / "checkpoint.pt").read_bytes() == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--agent", "nope"], "unknown agent 'nope'"),
        (["--env", "nope"], "unknown env 'nope': use one of bandit"),
        (["--env", "bandit", "--env-kwargs", "num_arms"], "KEY=VALUE"),
        (["--env", "bandit", "--env-kwargs", "num_arms=0"], "num_arms must be"),
        (["--env", "bandit", "--env-kwargs", "arms=3"], "has no parameter 'arms'"),
        (["--env", "bandit", "--num-envs", "0"], "--num-envs must be a positive integer"),
        (["--env", "bandit", "--steps", "many"], "expected a whole number such as"),
        (["--env", "bandit", "--anneal-lr", "maybe"], "expected true or false, got 'maybe'"),
        (["--env", "bandit", "--init-from", "nope"], "--init-from nope holds no run"),
        (["--env", "bandit", "--seed", "-1"], "expected a seed, a whole number of 0 or more"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path: Path, capsys, argv, message) -> None:
    assert run_cli(train, [*argv, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_preset_minibatches_shrink_to_a_smaller_num_envs() -> None:
    resolve = lambda *a: train.resolve_config(train.build_parser().parse_args(list(a)))  # noqa: E731
    assert resolve("--env", "bandit").minibatches == 16  # the preset's
    assert resolve("--env", "bandit", "--num-envs", "8").minibatches == 8
    with pytest.raises(ConfigError, match="cannot exceed"):  # given explicitly: an error
        resolve("--env", "bandit", "--num-envs", "8", "--minibatches", "16")


def test_cuda_without_cuda_is_a_clear_error(tmp_path: Path, capsys) -> None:
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert (
        run_cli(train, ["--env", "bandit", "--device", "cuda", "--out", str(tmp_path / "r")]) == 2
    )
    assert "no CUDA" in capsys.readouterr().err


def test_existing_run_is_not_overwritten(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert tiny_train(out, "bandit", 20) == 0
    snapshot = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert tiny_train(out, "bandit", 20) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == snapshot


def test_missing_or_corrupt_run_files_are_one_line_errors(tmp_path: Path, capsys) -> None:
    assert run_cli(train, ["--resume", str(tmp_path / "missing")]) == 2
    assert "holds no run" in capsys.readouterr().err
    out = tmp_path / "run"
    assert tiny_train(out, "bandit", 20) == 0
    (out / "tasks.json").write_text("{")
    assert run_cli(evaluate, [str(out)]) == 2
    assert "tasks.json is unreadable" in capsys.readouterr().err
    (out / "tasks.json").unlink()  # as the message says: drawn again from the seed
    assert run_cli(evaluate, [str(out)]) == 0
    (out / "checkpoint.pt").write_bytes(b"not a checkpoint")
    metrics = (out / "metrics.csv").read_bytes()
    assert run_cli(train, ["--resume", str(out)]) == 2
    assert "corrupt" in capsys.readouterr().err
    assert (out / "metrics.csv").read_bytes() == metrics
    (out / "checkpoint.pt").unlink()
    assert run_cli(evaluate, [str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_subprocess_error_has_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "metarl.train", "--env", "nope", "--out", str(tmp_path / "r")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: unknown env") and "Traceback" not in proc.stderr


def test_help_explains_every_flag() -> None:
    text = train.build_parser().format_help()
    for flag in ("--env-kwargs", "--episodes-per-trial", "--steps", "--num-envs", "--seed",
                 "--device", "--out", "--resume", "--eval-tasks"):  # fmt: skip
        assert flag in text
    assert "Parallel trials" in text  # field docstrings are the help text


def test_print_config_shows_the_resolved_preset_and_writes_nothing(tmp_path: Path, capsys) -> None:
    out = tmp_path / "r"
    argv = ["--env", "tabular-mdp", "--seed", "3", "--lr", "5e-4", "--out", str(out)]
    assert run_cli(train, [*argv, "--print-config"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["config"] == "RL2Config" and shown["env"] == "tabular-mdp"
    preset = (shown["hidden_size"], shown["episodes_per_trial"], shown["critic_gru"])
    assert preset == (128, 10, True)  # the preset's
    assert (shown["head_hidden"], shown["transition_input"]) == (256, True)
    assert shown["steps"] == 100_000_000  # one annealed schedule: 153.7 (60M: 149.8, 149.8)
    assert (shown["seed"], shown["lr"]) == (3, 5e-4)  # the flags given
    assert not out.exists()
    # bad input is still caught by the dry run, with the usual one line and exit status 2
    assert run_cli(train, ["--env", "bandit", "--env-kwargs", "num_arms=0", "--print-config"]) == 2
    assert "num_arms must be" in capsys.readouterr().err


def test_print_config_of_a_run_applies_the_resume_overrides(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert tiny_train(out, "bandit", 20) == 0
    saved = (out / "config.json").read_bytes()
    capsys.readouterr()
    assert run_cli(train, ["--resume", str(out), "--steps", "60", "--print-config"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["steps"] == 60 and shown["hidden_size"] == 16
    assert (out / "config.json").read_bytes() == saved  # not rewritten by the dry run
    assert run_cli(train, ["--resume", str(out), "--threads", "2", "--print-config"]) == 0
    assert json.loads(capsys.readouterr().out)["threads"] == 2


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--lr", "5e-4"], "--lr"),
        (["--seed", "3", "--hidden-size", "8"], "--seed, --hidden-size"),
        (["--env", "bandit"], "--env"),
        (["--env-kwargs", "num_arms=3"], "--env-kwargs"),
        (["--out", "elsewhere"], "--out"),
        (["--init-from", "elsewhere"], "--init-from"),
    ],
)
def test_resume_refuses_flags_it_would_ignore(tmp_path: Path, capsys, flags, named) -> None:
    out = tmp_path / "run"
    assert tiny_train(out, "bandit", 20) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    capsys.readouterr()
    assert run_cli(train, ["--resume", str(out), "--steps", "40", *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{named} cannot change on --resume" in err and len(err.splitlines()) == 1
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_evaluate_longer_trials_keeps_the_trained_evaluation(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert tiny_train(out, "bandit", 40, "--episodes-per-trial", "3", "--time-input", "true") == 0
    trained = {p.name: p.read_bytes() for p in (out / "eval").iterdir()}
    assert run_cli(evaluate, [str(out), "--episodes", "5"]) == 0
    longer = AdaptationCurve.load(out / "eval-5-episodes")
    assert longer.returns.shape == (3, 5) and list(longer.x) == [1, 2, 3, 4, 5]
    assert {p.name: p.read_bytes() for p in (out / "eval").iterdir()} == trained
    # same seed, same checkpoint: the first three episodes are the trained evaluation's
    assert (longer.returns[:, :3] == AdaptationCurve.load(out / "eval").returns).all()
    assert run_cli(evaluate, [str(out), "--episodes", "2", "--out", str(tmp_path / "e2")]) == 0
    assert AdaptationCurve.load(tmp_path / "e2").returns.shape == (3, 2)
    capsys.readouterr()
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    for argv, message in (
        (["--episodes", "0"], "--budget (--episodes) must be at least 1 episode"),
        (["--budget", "-1"], "--budget/--episodes: expected a count of 0 or more"),
        (["--episodes", "4", "--out", str(blocker)], "cannot create the folder"),
    ):
        assert run_cli(evaluate, [str(out), *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1
    assert blocker.read_text() == "keep me"
    assert not (out / "eval-4-episodes").exists()


def test_evaluate_deterministic_writes_its_own_folder(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    flags = ("--episodes-per-trial", "2", "--env-kwargs", "horizon=5")
    assert tiny_train(out, "nav", 40, *flags) == 0
    trained = {p.name: p.read_bytes() for p in (out / "eval").iterdir()}
    capsys.readouterr()
    assert run_cli(evaluate, [str(out), "--deterministic"]) == 0
    assert "env steps of training, most likely actions scored" in capsys.readouterr().out
    mean = AdaptationCurve.load(out / "eval-deterministic")
    assert mean.meta["deterministic"] and mean.returns.shape == (3, 2)
    assert {p.name: p.read_bytes() for p in (out / "eval").iterdir()} == trained
    assert run_cli(evaluate, [str(out), "--deterministic", "--budget", "3"]) == 0
    assert AdaptationCurve.load(out / "eval-3-episodes-deterministic").returns.shape == (3, 3)


def test_evaluate_on_another_seeds_tasks_pairs_with_that_seeds_runs(tmp_path: Path, capsys) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    flags = ("--episodes-per-trial", "2", "--env-kwargs", "horizon=5")
    assert tiny_train(ours, "nav", 40, *flags) == 0
    assert tiny_train(theirs, "nav", 40, *flags, "--seed", "7") == 0
    assert run_cli(evaluate, [str(ours), "--seed", "7"]) == 0
    other = AdaptationCurve.load(ours / "eval-seed-7")
    assert other.seed == 7 and other.tasks == AdaptationCurve.load(theirs / "eval").tasks
    assert other.tasks != AdaptationCurve.load(ours / "eval").tasks
    capsys.readouterr()
    assert run_cli(evaluate, [str(ours), "--seed", "-1"]) == 2
    assert "expected a seed" in capsys.readouterr().err and not (ours / "eval-seed--1").exists()
    assert run_cli(evaluate, [str(ours), "--seed", "0", "--out", str(tmp_path / "same")]) == 0
    own = AdaptationCurve.load(ours / "eval").returns  # its own seed: its own evaluation
    assert np.array_equal(AdaptationCurve.load(tmp_path / "same").returns, own)
    capsys.readouterr()
    argv = [
        str(ours / "eval-seed-7" / "adaptation.json"),
        str(theirs),
        "--out",
        str(tmp_path / "c.png"),
    ]
    assert run_cli(compare, argv) == 0
    assert "Δ total vs" in capsys.readouterr().out  # paired task by task with the seed-7 run


def test_evaluate_on_more_tasks_draws_the_first_n_of_the_seed(tmp_path: Path, capsys) -> None:
    ours = tmp_path / "ours"
    flags = ("--episodes-per-trial", "2", "--env-kwargs", "horizon=5")
    assert tiny_train(ours, "nav", 40, *flags) == 0  # 3 held-out tasks
    trained = {p.name: p.read_bytes() for p in (ours / "eval").iterdir()}
    assert run_cli(evaluate, [str(ours), "--tasks", "5"]) == 0
    more = AdaptationCurve.load(ours / "eval-tasks-5")
    own = AdaptationCurve.load(ours / "eval")
    drawn = family_tasks("nav", "test", 5, 0, horizon=5)
    assert more.returns.shape == (5, 2) and more.tasks == tasks_to_json(drawn)
    assert more.tasks[:3] == own.tasks  # the run's tasks are the first three
    assert {p.name: p.read_bytes() for p in (ours / "eval").iterdir()} == trained
    assert run_cli(evaluate, [str(ours), "--tasks", "3", "--out", str(tmp_path / "same")]) == 0
    assert np.array_equal(AdaptationCurve.load(tmp_path / "same").returns, own.returns)
    assert run_cli(evaluate, [str(ours), "--tasks", "4", "--seed", "7", "--budget", "3"]) == 0
    both = AdaptationCurve.load(ours / "eval-3-episodes-seed-7-tasks-4")
    assert both.seed == 7 and both.returns.shape == (4, 3)
    capsys.readouterr()
    assert run_cli(evaluate, [str(ours), "--tasks", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--tasks must be at least 1" in err and len(err.splitlines()) == 1
    assert not (ours / "eval-tasks-0").exists()


def test_init_from_starts_longer_trials_from_a_trained_network(tmp_path: Path) -> None:
    short, long = tmp_path / "short", tmp_path / "long"
    nav = [
        "--env-kwargs",
        "horizon=5",
        "--normalize-obs",
        "false",
    ]  # no statistics that training moves
    assert tiny_train(short, "nav", 40, "--episodes-per-trial", "2", *nav) == 0
    assert run_cli(evaluate, [str(short), "--episodes", "3"]) == 0
    # a rate too small to move a float32 weight: the longer run keeps the lent network exactly
    flags = [*nav, "--episodes-per-trial", "3", "--lr", "1e-15", "--init-from", str(short)]
    assert tiny_train(long, "nav", 60, *flags) == 0
    assert json.loads((long / "config.json").read_text())["init_from"] == str(short)
    assert int(metrics_rows(long / "metrics.csv")[0]["iteration"]) == 1  # its own counters
    lent = AdaptationCurve.load(short / "eval-3-episodes").returns
    assert np.array_equal(AdaptationCurve.load(long / "eval").returns, lent)
    assert tiny_train(tmp_path / "scratch", "nav", 60, *flags[:-2]) == 0
    assert not np.array_equal(AdaptationCurve.load(tmp_path / "scratch" / "eval").returns, lent)


def test_init_from_run_resumes_as_it_would_have_run(tmp_path: Path) -> None:
    source, nav = tmp_path / "source", ["--env-kwargs", "horizon=4"]
    assert tiny_train(source, "nav", 40, "--episodes-per-trial", "2", *nav) == 0
    flags = [*nav, "--episodes-per-trial", "3", "--init-from", str(source)]
    assert tiny_train(tmp_path / "full", "nav", 240, *flags) == 0
    assert tiny_train(tmp_path / "half", "nav", 120, *flags) == 0
    assert run_cli(train, ["--resume", str(tmp_path / "half"), "--steps", "240"]) == 0
    assert metrics_rows(tmp_path / "half" / "metrics.csv") == metrics_rows(
        tmp_path / "full" / "metrics.csv"
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--hidden-size", "8"], "its network does not fit this run's (size mismatch for"),
        (["--agent", "maml"], "holds weights of --agent rl2, which --agent maml cannot use"),
    ],
)
def test_init_from_a_network_that_does_not_fit_writes_nothing(
    tmp_path: Path, capsys, flags, message
) -> None:
    source = tmp_path / "source"
    assert tiny_train(source, "bandit", 20) == 0
    capsys.readouterr()
    argv = ["--env", "bandit", "--init-from", str(source), "--out", str(tmp_path / "r"), *flags]
    assert run_cli(train, argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "r").exists()
