"""``python -m metarl.progress``: values at env-step marks, the table, the plot, bad input."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from metarl import progress
from metarl.runs import MetricsLog
from tests.test_evaluation import PNG_MAGIC
from tests.test_train import run_cli, tiny_train


def write_run(
    root: Path, name: str, iterations: int, per_iteration: int = 100, returns: str = "trial_return"
) -> Path:
    """A run folder whose metrics.csv has ``returns`` (RL²'s trial_return unless given) =
    iteration and entropy = 1 / iteration."""
    run = root / name
    run.mkdir()
    log = MetricsLog(run / "metrics.csv")
    for i in range(1, iterations + 1):
        log.append({"iteration": i, "env_steps": i * per_iteration, returns: float(i),
                    "entropy": 1.0 / i})  # fmt: skip
    return run


def test_value_at_averages_the_window_ending_at_the_mark(tmp_path: Path) -> None:
    metrics = progress.load_metrics(str(write_run(tmp_path, "a", 10)))
    assert progress.value_at(metrics, "trial_return", 450, window=3) == 3.0  # iterations 2, 3, 4
    assert progress.value_at(metrics, "trial_return", 1000, window=1) == 10.0
    assert progress.value_at(metrics, "trial_return", 200, window=10) == 1.5  # only 2 rows yet
    assert math.isnan(progress.value_at(metrics, "trial_return", 1001, window=3))  # not reached
    assert math.isnan(progress.value_at(metrics, "trial_return", 50, window=3))  # before the first


@pytest.mark.parametrize(
    ("text", "steps"),
    [("3M", 3_000_000), ("500k", 500_000), ("1e6", 1_000_000), ("2.5m", 2_500_000), ("7", 7)],
)
def test_parse_steps(text: str, steps: int) -> None:
    assert progress.parse_steps(text) == steps


def test_table_compares_runs_at_the_same_env_steps(tmp_path: Path, capsys) -> None:
    short, long = write_run(tmp_path, "short", 5), write_run(tmp_path, "long", 20, 50)
    out = tmp_path / "p.png"
    argv = [str(short), str(long / "metrics.csv"), "--at", "250", "1000", "--window", "2"]
    assert run_cli(progress, [*argv, "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["run", "env", "steps", "@250", "@1k", "last"]
    assert lines[2].split() == ["short", "500", "1.50", "-", "4.50"]  # 1000 not reached
    assert lines[3].split() == ["long", "1k", "4.50", "19.50", "19.50"]  # 50 env steps an iter.
    assert out.read_bytes().startswith(PNG_MAGIC)


def test_markdown_table_and_nothing_else_on_stdout(tmp_path: Path, capsys) -> None:
    short, long = write_run(tmp_path, "short", 5), write_run(tmp_path, "long", 20, 50)
    out = tmp_path / "p.png"
    argv = [str(short), str(long), "--at", "250", "1000", "--window", "2", "--markdown"]
    assert run_cli(progress, [*argv, "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        "| run | env steps | @250 | @1k | last |",
        "| :--- | ---: | ---: | ---: | ---: |",
        "| short | 500 | 1.50 | - | 4.50 |",
        "| long | 1k | 4.50 | 19.50 | 19.50 |",
    ]
    assert f"plot: {out}" in captured.err


def test_maml_and_pretrained_runs_compare_each_by_its_own_training_return(
    tmp_path: Path, capsys
) -> None:
    maml = write_run(tmp_path, "maml", 4, returns="post_return")
    pretrained = write_run(tmp_path, "pretrained", 8, 50, returns="return")
    out = tmp_path / "p.png"
    argv = [str(maml), str(pretrained), "--at", "200", "--window", "1", "--out", str(out)]
    assert run_cli(progress, argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].split() == ["maml", "(post_return)", "400", "2.000", "4.000"]
    assert lines[3].split() == ["pretrained", "(return)", "400", "4.000", "8.000"]
    assert out.read_bytes().startswith(PNG_MAGIC)
    same = [str(maml), str(write_run(tmp_path, "maml2", 2, returns="post_return"))]
    assert run_cli(progress, [*same, "--out", str(out)]) == 0
    assert "(post_return)" not in capsys.readouterr().out  # one column: the plain names


def test_another_column_and_the_default_marks(tmp_path: Path, capsys) -> None:
    run = write_run(tmp_path, "a", 8)
    assert run_cli(progress, [str(run), "--column", "entropy", "--window", "1",
                              "--out", str(tmp_path / "e.png")]) == 0  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[3:] == ["@200", "@400", "@600", "@800", "last"]  # quarters of 800
    assert lines[2].split()[2:] == ["0.5000", "0.2500", "0.1667", "0.1250", "0.1250"]


def test_default_marks_are_where_every_run_has_a_value(tmp_path: Path, capsys) -> None:
    in_flight, finished = write_run(tmp_path, "in_flight", 4), write_run(tmp_path, "done", 40)
    argv = [str(in_flight), str(finished), "--window", "1", "--out", str(tmp_path / "p.png")]
    assert run_cli(progress, argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[3:] == ["@100", "@200", "@300", "@400", "last"]  # quarters of 400
    assert lines[2].split()[2:] == ["1.00", "2.00", "3.00", "4.00", "4.00"]
    assert lines[3].split()[2:] == ["1.00", "2.00", "3.00", "4.00", "40.00"]


def test_steps_read_as_k_and_m_in_the_table_and_the_plot() -> None:
    labels = [progress._fmt_steps(v) for v in (0, 750, 1500, 2e6, 7.25e7, 71_940_000, -1e7)]
    assert labels == ["0", "750", "1.5k", "2M", "72.5M", "71.94M", "-10M"]


def test_a_real_runs_metrics_read_back(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    assert tiny_train(run, "bandit", 40) == 0
    assert run_cli(progress, [str(run), "--out", str(tmp_path / "p.png")]) == 0
    assert "run" in capsys.readouterr().out
    assert (tmp_path / "p.png").read_bytes().startswith(PNG_MAGIC)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--column", "nope"], "has no column 'nope': use one of iteration, env_steps"),
        (["--at", "3X"], "--at takes env steps such as 3M"),
        (["--at", "-5"], "--at takes env steps such as 3M"),
        (["--window", "0"], "--window must be a positive"),
        (["--labels", "a", "b"], "--labels names 2 runs, but 1 RUNs given"),
        (["--out", "p.pdf"], "--out must name a .png"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, capsys, extra: list, message: str) -> None:
    run = write_run(tmp_path, "a", 3)
    before = (run / "metrics.csv").read_bytes()
    assert run_cli(progress, [str(run), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert (run / "metrics.csv").read_bytes() == before


def test_a_missing_or_empty_run_is_one_line(tmp_path: Path, capsys) -> None:
    assert run_cli(progress, [str(tmp_path / "nope")]) == 2
    assert "missing or unreadable" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "metrics.csv").write_text("")
    assert run_cli(progress, [str(tmp_path / "empty")]) == 2
    assert "no training iterations yet" in capsys.readouterr().err


def test_an_unwritable_plot_is_one_line(tmp_path: Path, capsys) -> None:
    run = write_run(tmp_path, "a", 3)
    (tmp_path / "file").write_text("")
    assert run_cli(progress, [str(run), "--out", str(tmp_path / "file" / "p.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot write the plot" in err and "pick --out" in err and len(err.splitlines()) == 1
