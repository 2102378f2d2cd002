"""Issue 22's defects of a new user's first hour, each one line with exit status 2 (or the note,
message or output the issue asked for), and nothing already written lost."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from metarl import cli, evaluate, train
from metarl.agents.rl2 import RL2
from metarl.envs import MetaEnv, Task, family_parameters, parse_env_kwargs
from metarl.envs.family import TaskError
from metarl.progressbar import ProgressReport, format_count
from metarl.runs import default_run_dir
from tests.test_train import TINY, run_cli, tiny_train


def one_line_error(capsys, argv: list[str], module=train) -> str:
    assert run_cli(module, argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


# --- --env-kwargs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (["num_armz=5"], "no parameter 'num_armz': did you mean num_arms? its parameters are"),
        (["num_arms=five"], "num_arms='five': expected a whole number"),
        (["num_arms=2.5"], "num_arms='2.5': expected a whole number"),
    ],
)
def test_bandit_kwargs_name_the_parameter(tmp_path: Path, capsys, kwargs, message) -> None:
    argv = ["--env", "bandit", "--env-kwargs", *kwargs, "--out", str(tmp_path / "r")]
    assert message in one_line_error(capsys, argv)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("kwarg", "message"),
    [
        ("goal_radius=abc", "goal_radius='abc': expected a number such as 0.5"),
        ("goal_radius=nan", "goal_radius='nan': must be a finite number"),
        ("goal_high=inf", "goal_high='inf': must be a finite number"),
        ("goal_high=-Infinity", "goal_high='-Infinity': must be a finite number"),
    ],
)
def test_float_parameters_refuse_text_and_non_finite(tmp_path: Path, capsys, kwarg, message):
    argv = ["--env", "nav", "--env-kwargs", kwarg, "--out", str(tmp_path / "r")]
    assert message in one_line_error(capsys, argv)


def test_values_are_read_by_the_declared_type() -> None:
    nav = parse_env_kwargs("metarl/Nav2D-v0", {"horizon": "1e2", "goal_high": "1", "distance": "1"})
    assert nav == {"horizon": 100, "goal_high": 1.0, "distance": "1"}  # a str stays a str
    assert isinstance(nav["goal_high"], float)
    cheetah = parse_env_kwargs("metarl/HalfCheetahVel-v0", {"test_velocity_range": "2,3"})
    assert cheetah == {"test_velocity_range": (2.0, 3.0)}
    for text in ("(2, 3)", "[2, 3]", " 2 , 3 "):  # Python's and JSON's spellings read the same
        assert (
            parse_env_kwargs("metarl/HalfCheetahVel-v0", {"test_velocity_range": text}) == cheetah
        )
    with pytest.raises(TaskError, match=r"value 2 of 2 \('x'\): expected a number"):
        parse_env_kwargs("metarl/HalfCheetahVel-v0", {"test_velocity_range": "(2,x)"})
    assert parse_env_kwargs("metarl/HalfCheetahVel-v0", {"test_velocity_range": "none"}) == {
        "test_velocity_range": None
    }
    ant = parse_env_kwargs("metarl/AntGoal-v0", {"terminate_when_unhealthy": "yes"})
    assert ant == {"terminate_when_unhealthy": True}
    with pytest.raises(TaskError, match="expected 2 comma-separated values, got 3"):
        parse_env_kwargs("metarl/HalfCheetahVel-v0", {"test_velocity_range": "1,2,3"})


def test_python_api_refuses_non_finite_parameters_too() -> None:
    from metarl.envs import make_family

    with pytest.raises(TaskError, match="goal_high=inf: must be a finite number"):
        make_family("nav", goal_high=float("inf"))


@dataclasses.dataclass(frozen=True)
class _PointTask(Task):
    target: float


class _PlainValueErrorFamily(MetaEnv[_PointTask]):
    """A user family that checks its parameter with a plain ValueError (not TaskError)."""

    task_type = _PointTask

    def __init__(self, width: float = 1.0, render_mode: str | None = None) -> None:
        super().__init__()
        if width <= 0:
            raise ValueError("width must be positive")
        self.width = width
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)


gym.register("TestPlainValueError-v0", entry_point=_PlainValueErrorFamily)


def test_a_family_constructor_value_error_becomes_one_line(tmp_path: Path, capsys) -> None:
    assert family_parameters("TestPlainValueError-v0")["width"].kind is float
    argv = ["--env", "TestPlainValueError-v0", "--env-kwargs", "width=-1",
            "--out", str(tmp_path / "r")]  # fmt: skip
    err = one_line_error(capsys, argv)
    assert "TestPlainValueError-v0 refused the parameters width=-1.0: width must be" in err


# --- run directories, budgets, resume -------------------------------------------------------


def test_out_naming_a_file_is_refused_and_the_file_kept(tmp_path: Path, capsys) -> None:
    out = tmp_path / "notes.txt"
    out.write_text("my notes")
    err = one_line_error(capsys, ["--env", "bandit", "--out", str(out)])
    assert "is a file, not a directory" in err
    assert out.read_text() == "my notes"


def test_out_naming_a_folder_of_runs_is_refused_and_kept(tmp_path: Path, capsys) -> None:
    runs = tmp_path / "runs"
    assert tiny_train(runs / "rl2-bandit-0", "bandit", 20) == 0
    before = sorted(p.relative_to(runs) for p in runs.rglob("*"))
    err = one_line_error(capsys, ["--env", "bandit", "--out", str(runs)])
    assert "is a folder of runs (rl2-bandit-0)" in err and str(runs / "NAME") in err
    (runs / "sweep.json").write_text("{}")
    err = one_line_error(capsys, ["--env", "bandit", "--out", str(runs)])
    assert "holds a sweep" in err
    assert sorted(p.relative_to(runs) for p in runs.rglob("*")) == [*before, Path("sweep.json")]


def test_out_naming_a_folder_with_other_files_keeps_them(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "README").write_text("notes")
    assert tiny_train(out, "bandit", 20) == 0
    assert (out / "README").read_text() == "notes" and (out / "config.json").is_file()


def test_generated_run_dirs_have_no_colons() -> None:
    assert default_run_dir("rl2", "examples.windy_line:WindyLine-v0", 0) == (
        "runs/rl2-examples.windy_line_WindyLine-v0-0"
    )
    assert default_run_dir("rl2", "metarl/Nav2D-v0", 3) == "runs/rl2-metarl_Nav2D-v0-3"


@pytest.mark.parametrize(("text", "steps"), [("1e5", 100_000), ("3M", 3_000_000),
                                             ("20k", 20_000), ("1_000", 1_000),
                                             ("3.3M", 3_300_000), ("0.1k", 100)])  # fmt: skip
def test_budget_flags_take_one_number_syntax(capsys, text: str, steps: int) -> None:
    assert run_cli(train, ["--env", "bandit", "--steps", text, "--print-config"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"] == steps
    assert cli.count(text) == steps


@pytest.mark.parametrize("text", ["1.5", "3Q", "nan", "inf", ""])
def test_count_refuses_what_is_not_a_whole_number(text: str) -> None:
    with pytest.raises(ValueError, match="expected a whole number"):
        cli.count(text)


@pytest.mark.parametrize("text", ["-5", "-1k", "-2e3"])
def test_count_refuses_a_negative_number_as_such(text: str) -> None:
    with pytest.raises(ValueError, match="expected a count of 0 or more"):
        cli.count(text)


def test_steps_below_one_iteration_is_said_at_the_start(tmp_path: Path, capsys) -> None:
    assert tiny_train(tmp_path / "r", "nav", 20, "--env-kwargs", "horizon=4") == 0
    out = capsys.readouterr().out
    # 4 sub-envs x 2 episodes x horizon 4 = 32 env steps per iteration
    assert "note: an iteration is 32 env steps (at most), so training stops by 32 env" in out
    assert json.loads((tmp_path / "r" / "config.json").read_text())["steps"] == 20


def test_resume_with_fewer_steps_than_trained_is_refused(tmp_path: Path, capsys) -> None:
    run = tmp_path / "r"
    assert tiny_train(run, "nav", 64, "--env-kwargs", "horizon=4") == 0
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    err = one_line_error(capsys, ["--resume", str(run), "--steps", "40"])
    assert "--steps 40 is below the 64 env steps" in err and "python -m metarl.evaluate" in err
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before


def test_interrupt_prints_the_real_command_and_what_is_redone(tmp_path: Path, capsys, monkeypatch):
    """Ctrl-C in the third iteration (the real iteration is wrapped to raise it, as the signal
    would); checkpoints every 2 iterations, so the one at 2 iterations (64 env steps) is kept."""
    real = RL2.train_iteration

    def interrupted_third(self):
        if self.iteration == 2:
            raise KeyboardInterrupt
        return real(self)

    monkeypatch.setattr(RL2, "train_iteration", interrupted_third)
    run = tmp_path / "my run"
    argv = ["--agent", "rl2", "--env", "nav", "--env-kwargs", "horizon=4", "--steps", "320",
            "--out", str(run), *TINY, "--checkpoint-every", "2"]  # fmt: skip
    assert run_cli(train, argv) == 130
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"python -m metarl.train --resume '{run}'" in err
    assert "interrupted at 64 of 320 env steps; the checkpoint at 64 env steps is intact" in err
    monkeypatch.setattr(RL2, "train_iteration", real)
    assert run_cli(train, ["--resume", str(run)]) == 0


# --- progress and evaluation ------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_to_a_file_prints_plain_lines_every_interval() -> None:
    out, clock = io.StringIO(), _Clock()  # StringIO is not a terminal
    with ProgressReport("train", 1000, ["trial_return"], every_s=30, stream=out,
                        clock=clock) as report:  # fmt: skip
        for step in range(1, 11):
            clock.now = 10.0 * step
            report.update(100 * step, 10.0, {"trial_return": -1.0 * step})
    lines = out.getvalue().splitlines()
    assert len(lines) == 4  # at 30, 60 and 90 s, and one at the end
    assert lines[0] == ("train 300/1k env steps (30%), 10 steps/s, trial return -3, "
                        "0:00:30 elapsed, 0:01:10 left")  # fmt: skip
    assert lines[-1].startswith("train 1k/1k env steps (100%)") and "0:00:00 left" in lines[-1]


def test_progress_time_left_follows_the_recent_rate_when_the_rate_falls() -> None:
    out, clock = io.StringIO(), _Clock()
    with ProgressReport("train", 20_000, every_s=30, stream=out, clock=clock,
                        window_s=100) as report:  # fmt: skip
        for second in range(1, 301):  # 100 units/s for 100 s, then 10 units/s for 200 s
            clock.now = float(second)
            report.update(100 * min(second, 100) + 10 * max(0, second - 100), 0.0, {})
        # 8,000 units left at the last 100 s's 10 units/s; the run's average would say 200 s
        assert report.line().endswith("0:05:00 elapsed, 0:13:20 left")


def test_progress_bar_at_80_columns_keeps_counts_rate_return_and_time_left(monkeypatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("COLUMNS", "80")
    out = Terminal()
    with ProgressReport("train", 40_000_000, ["pre_return", "post_return"], stream=out) as r:
        r.update(1_228_800, 12_345.0, {"pre_return": -38.81, "post_return": -12.42})
    last = out.getvalue().replace("\r", "\n").splitlines()[-2]
    for part in ("1.23M/40M steps", "12.3k/s", "pre return -38.8", "post return -12.4", "left"):
        assert part in last, last
    assert format_count(20_480) == "20.5k"


def test_evaluate_says_which_checkpoint_it_scored(tmp_path: Path, capsys) -> None:
    run = tmp_path / "r"
    assert tiny_train(run, "nav", 64, "--env-kwargs", "horizon=4") == 0
    config = json.loads((run / "config.json").read_text())
    config["steps"] = 6400  # as if stopped early: the checkpoint holds 64 of 6400
    (run / "config.json").write_text(json.dumps(config))
    capsys.readouterr()
    assert run_cli(evaluate, [str(run)]) == 0
    assert "checkpoint at 64 of 6,400 planned env steps" in capsys.readouterr().out


def test_a_bad_log_interval_writes_nothing(tmp_path: Path, capsys) -> None:
    err = one_line_error(
        capsys, ["--env", "bandit", "--log-every", "0", "--out", str(tmp_path / "r")]
    )
    assert "--log-every must be a positive number of seconds" in err
    assert not (tmp_path / "r").exists()
