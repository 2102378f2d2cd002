"""Tests of ``python -m metarl.compare``: the table, paired differences, the plot, bad input."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from metarl import compare, evaluate
from metarl.evaluation import AdaptationCurve
from tests.test_evaluation import PNG_MAGIC, make_curve
from tests.test_train import run_cli, tiny_train


def shifted(curve: AdaptationCurve, by: float, **changes) -> AdaptationCurve:
    """The same curve with every return raised by ``by`` (and other fields changed)."""
    return dataclasses.replace(curve, returns=curve.returns + by, **changes)


def save_run(root: Path, name: str, curve: AdaptationCurve) -> Path:
    run = root / name
    curve.save(run / "eval")
    return run


def rows(table: str) -> dict[str, str]:
    """Each row of the table by its first cell."""
    return {line.split()[0]: line for line in table.splitlines()[2:]}


def test_paired_difference_of_a_shifted_curve_is_exact() -> None:
    base = make_curve(num_tasks=50, num_points=3)
    table = compare.comparison_table([base, shifted(base, 0.5)], ["base", "better"])
    line = rows(table)["better"]
    # Every task gains 0.5 per point: the last point +0.5, the total +1.5, with no spread.
    assert "+0.500 ± 0.000" in line and "+1.500 ± 0.000" in line
    assert "(reference)" in rows(table)["base"]


def test_curves_on_other_tasks_are_not_paired() -> None:
    base = make_curve(num_tasks=10)
    other = shifted(make_curve(num_tasks=10), 1.0, tasks=[{"goal": [9.0, 9.0]}] * 10)
    fewer_points = make_curve(num_tasks=10, num_points=2)
    table = compare.comparison_table([base, other, fewer_points], ["a", "b", "c"])
    assert rows(table)["b"].endswith("other tasks") and rows(table)["c"].endswith("other points")


def test_reference_can_be_any_curve() -> None:
    base = make_curve(num_tasks=20)
    table = compare.comparison_table([base, shifted(base, 1.0)], ["a", "b"], reference=1)
    assert "Δ total vs b" in table and "-3.000 ± 0.000" in rows(table)["a"]


def test_cli_reads_run_dirs_and_files_and_writes_the_plot(tmp_path: Path, capsys) -> None:
    base = make_curve(num_tasks=12)
    run_a = save_run(tmp_path, "run-a", base)
    run_b = save_run(tmp_path, "run-b", shifted(base, 1.0))
    out = tmp_path / "plots" / "cmp.png"
    argv = [str(run_a), str(run_b / "eval" / "adaptation.json"), "--out", str(out)]
    assert run_cli(compare, argv) == 0
    text = capsys.readouterr().out
    assert "+3.000 ± 0.000" in rows(text)["run-b"] and f"plot: {out}" in text
    assert out.read_bytes().startswith(PNG_MAGIC)


def test_cli_compares_real_runs_of_the_same_seed(tmp_path: Path, capsys) -> None:
    for name, hidden in (("small", "8"), ("large", "32")):
        assert tiny_train(tmp_path / name, "bandit", 400, "--hidden-size", hidden) == 0
    capsys.readouterr()
    argv = [str(tmp_path / "small"), str(tmp_path / "large"), "--out", str(tmp_path / "c.png")]
    assert run_cli(compare, argv) == 0
    line = rows(capsys.readouterr().out)["large"]
    # Same seed, so the same held-out bandits: the last two cells are paired differences.
    assert re.search(r"[+-]\d+\.\d+ ± \d+\.\d+ +[+-]\d+\.\d+ ± \d+\.\d+$", line), line


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["missing-run"], "evaluate the run first"),
        (["run-a", "--labels", "x", "y"], "--labels names 2 curves, but 1 RUNs given"),
        (["run-a", "--reference", "2"], "--reference must be between 1 and 1"),
        (["run-a", "--out", "plot.pdf"], "--out must name a .png file"),
        (["run-a", "--x-axis", "time"], "invalid choice: 'time'"),
        (["run-a", "--out", "run-a/eval/adaptation.json/x.png"], "cannot write the plot to"),
        ([], "the following arguments are required: RUN"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path: Path, capsys, extra, message) -> None:
    save_run(tmp_path, "run-a", make_curve())
    argv = [str(tmp_path / a) if a.startswith(("run-", "missing")) else a for a in extra]
    assert run_cli(compare, argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "plot.pdf").exists()


def test_cli_labels_a_longer_evaluation_by_its_run(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    assert tiny_train(run, "bandit", 40, "--episodes-per-trial", "2") == 0
    assert run_cli(evaluate, [str(run), "--episodes", "4"]) == 0
    capsys.readouterr()
    argv = [str(run), str(run / "eval-4-episodes"), "--out", str(tmp_path / "c.png")]
    assert run_cli(compare, argv) == 0
    table = rows(capsys.readouterr().out)
    assert "(reference)" in table["run"]
    assert table["run/eval-4-episodes"].endswith("other points")  # 4 episodes against 2
