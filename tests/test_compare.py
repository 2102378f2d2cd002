"""Tests of ``python -m metarl.compare``: the table, paired differences, the plot, bad input."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from metarl import compare, evaluate
from metarl.evaluation import AdaptationCurve, curve_file
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
    """Each row of the (first) table by its first cell."""
    lines = table.split("return at common budgets")[0].splitlines()[2:]
    return {line.split()[0]: line for line in lines if line.strip()}


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


def test_markdown_prints_only_markdown_tables_on_stdout(tmp_path: Path, capsys) -> None:
    base = make_curve(num_tasks=12, num_points=3)
    run_a = save_run(tmp_path, "run|a", base)
    run_b = save_run(tmp_path, "run-b", shifted(base, 1.0))
    argv = [str(run_a), str(run_b), "--out", str(tmp_path / "c.png"), "--markdown",
            "--steps-to", "0"]  # fmt: skip
    assert run_cli(compare, argv) == 0
    captured = capsys.readouterr()
    blocks = captured.out.strip().split("\n\n")
    assert len(blocks) == 4  # comparison table, budget title, budget table, steps-to table
    assert blocks[1] == "return at common budgets of env steps on the new task"
    for block in (blocks[0], blocks[2], blocks[3]):
        lines = block.splitlines()
        assert all(line.startswith("| ") and line.endswith(" |") for line in lines)
        columns = {len(re.findall(r"(?<!\\)\|", line)) for line in lines}  # unescaped |
        assert set(lines[1]) <= set("|:- ") and len(columns) == 1
    table = blocks[0].splitlines()
    assert table[1].startswith("| :--- | :--- | :--- | ---: |")  # names left, numbers right
    assert table[2].startswith("| run\\|a | ")  # a | in a cell is escaped
    assert "+3.000 ± 0.000 |" in table[3]
    assert f"plot: {tmp_path / 'c.png'}" in captured.err and "plot:" not in captured.out


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
        (["run-a", "--labels", "x", "y"], "--labels names 2 curves, but there are 1"),
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


# ---- issue 20/22: refusing other tasks, budgets, --steps-to, where the plot goes -------------


def test_other_family_or_tasks_are_refused_unless_allowed(tmp_path: Path, capsys) -> None:
    base = make_curve(num_tasks=6)
    bandit = dataclasses.replace(base, env="bandit", env_id="metarl/Bandit-v0")
    other_seed = shifted(base, 0.0, seed=1, tasks=[{"goal": [0.1, 0.2]}] * 6)
    runs = [save_run(tmp_path, n, c) for n, c in (("a", base), ("b", bandit), ("c", other_seed))]
    out = tmp_path / "c.png"
    for other, what in ((runs[1], "another family (metarl/Bandit-v0"), (runs[2], "seed 1")):
        assert run_cli(compare, [str(runs[0]), str(other), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert what in err and "--allow-different-tasks" in err and len(err.splitlines()) == 1
        assert not out.exists()
    argv = [*map(str, runs), "--out", str(out), "--allow-different-tasks"]
    assert run_cli(compare, argv) == 0
    table = rows(capsys.readouterr().out)
    assert table["b"].endswith("other tasks") and table["c"].endswith("other tasks")


def test_other_family_parameters_are_refused(tmp_path: Path, capsys) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert tiny_train(a, "nav", 32, "--env-kwargs", "horizon=4") == 0
    assert tiny_train(b, "nav", 32, "--env-kwargs", "horizon=4", "goal_radius=0.2") == 0
    capsys.readouterr()
    assert run_cli(compare, [str(a), str(b), "--out", str(tmp_path / "c.png")]) == 2
    assert "other family parameters" in capsys.readouterr().err


def _curve_with(mean_per_point: list[float], env_steps: list[float]) -> AdaptationCurve:
    base = make_curve(num_tasks=4, num_points=len(mean_per_point))
    returns = np.tile(np.asarray(mean_per_point, dtype=float), (4, 1))
    return dataclasses.replace(
        base, returns=returns, env_steps=np.asarray(env_steps, dtype=float),
        x=np.arange(1, len(env_steps) + 1),
    )  # fmt: skip


def test_steps_to_a_return_and_the_ratio_to_the_reference() -> None:
    meta = _curve_with([-5.0, -1.0], [100, 200])  # reaches -1 after 200 env steps
    scratch = _curve_with([-9.0, -6.0, -2.0, -0.5], [0, 1000, 10_000, 50_000])  # after 50,000
    never = _curve_with([-9.0, -8.0], [0, 1000])
    assert compare.steps_to(meta, -1.0) == 200 and compare.steps_to(scratch, -1.0) == 50_000
    assert compare.steps_to(never, -1.0) is None and compare.steps_to(meta, -6.0) == 100
    # the point before, still below: the target was reached between the two
    assert compare.last_below(scratch, -1.0) == 10_000 and compare.last_below(meta, -1.0) == 100
    assert compare.last_below(meta, -6.0) is None  # the first point reaches it
    assert compare.last_below(never, -1.0) is None
    table = compare.steps_to_table([meta, scratch, never], ["meta", "ppo", "never"], -1.0)
    lines = {line.split()[0]: line for line in table.splitlines()[2:]}
    assert lines["meta"].split()[-3:] == ["200", "100", "1"]
    assert lines["ppo"].split()[-3:] == ["50,000", "10,000", "250"]
    assert "not reached (best -8)" in lines["never"]


def test_returns_at_common_budgets_are_each_curves_last_point_within() -> None:
    meta = _curve_with([-5.0, -1.0], [100, 200])
    scratch = _curve_with([-9.0, -6.0, -2.0, -0.5], [0, 1000, 10_000, 50_000])
    assert compare.budgets([meta, scratch]) == [100, 1000, 10_000, 100_000]
    table = compare.budget_table([meta, scratch], ["meta", "ppo"])
    lines = {line.split()[0]: line.split()[1:] for line in table.splitlines()[3:]}
    # normalized with random -1 and oracle 3: (R + 1) / 4
    assert lines["meta"] == ["-5", "(-1.00)", "-1", "(0.00)", "-1", "(0.00)", "-1", "(0.00)"]
    assert lines["ppo"] == ["-9", "(-2.00)", "-6", "(-1.25)", "-2", "(-0.25)", "-0.5", "(0.12)"]


def test_the_plot_never_overwrites_a_file_of_someone_else(tmp_path: Path, capsys) -> None:
    run = save_run(tmp_path, "run-a", make_curve())
    mine = tmp_path / "figure.png"
    mine.write_bytes(PNG_MAGIC + b"someone's figure")
    assert run_cli(compare, [str(run), "--out", str(mine)]) == 2
    assert "is not a plot of metarl's" in capsys.readouterr().err
    assert mine.read_bytes() == PNG_MAGIC + b"someone's figure"
    assert run_cli(compare, [str(run), "--out", str(mine), "--force"]) == 0
    assert run_cli(compare, [str(run), "--out", str(mine)]) == 0  # now ours: replaced, and said
    assert f"plot: {mine.resolve()} (replaced the earlier file)" in capsys.readouterr().out


def test_default_plot_names_are_ignored_by_git() -> None:
    ignored = (Path(__file__).parents[1] / ".gitignore").read_text().split()
    assert "compare.png" in ignored and "progress.png" in ignored


def test_sweep_trials_are_labelled_by_grid_point_and_seed(tmp_path: Path) -> None:
    run = save_run(tmp_path / "sweep" / "trials" / "lr=0.001", "seed-0", make_curve())
    assert compare.default_label(curve_file(run)) == "lr=0.001/seed-0"


def test_a_sweep_directory_gives_one_pooled_curve_per_grid_point(tmp_path: Path, capsys) -> None:
    """Two sweeps of the same seeds: each grid point's trials pooled (seeds × tasks) and paired
    with the other sweep's seed by seed and task by task."""
    for sweep, shift in (("a", 0.0), ("b", 1.0)):
        for seed in (0, 1):
            curve = shifted(make_curve(num_tasks=4, seed=seed), shift, seed=seed)
            save_run(tmp_path / sweep / "trials" / "lr=0.001", f"seed-{seed}", curve)
    pooled = compare.pooled(
        [
            AdaptationCurve.load(tmp_path / "a/trials/lr=0.001" / f"seed-{s}" / "eval")
            for s in (1, 0)
        ]
    )
    assert pooled.num_tasks == 8 and pooled.tasks[0]["seed"] == 0 and pooled.tasks[4]["seed"] == 1
    argv = [str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "c.png")]
    assert run_cli(compare, argv) == 0
    table = rows(capsys.readouterr().out)
    assert "(reference)" in table["a/lr=0.001"]
    assert "+1.000 ± 0.000" in table["b/lr=0.001"]  # every pooled task +1 at its last point
    assert table["b/lr=0.001"].split()[-3].startswith("+3.000")  # and +3 over its 3 points
    (tmp_path / "empty" / "trials").mkdir(parents=True)
    assert run_cli(compare, [str(tmp_path / "empty"), "--out", str(tmp_path / "d.png")]) == 2
    assert "has no finished trial yet" in capsys.readouterr().err
