"""Tests of the adaptation-curve data type, its statistics and its files."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import pytest

from metarl.evaluation import (
    AdaptationCurve,
    EvaluationError,
    bootstrap_ci,
    plot_curves,
    summary_table,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_curve(
    num_tasks: int = 8, num_points: int = 3, references: bool = True, seed: int = 0
) -> AdaptationCurve:
    rng = np.random.default_rng(seed)
    returns = rng.normal(size=(num_tasks, num_points)) + np.arange(num_points)
    return AdaptationCurve(
        agent="rl2",
        env="nav",
        env_id="metarl/Nav2D-v0",
        split="test",
        seed=seed,
        x_label="episode",
        x=np.arange(1, num_points + 1),
        env_steps=100.0 * np.arange(1, num_points + 1),
        returns=returns,
        tasks=[{"goal": [float(i), -float(i)]} for i in range(num_tasks)],
        random_returns=np.full(num_tasks, -1.0) if references else None,
        oracle_returns=np.full(num_tasks, 3.0) if references else None,
        meta={"train_steps": np.int64(1000), "device": "cpu", "wall_s": 1.5},
    )


# ---- bootstrap --------------------------------------------------------------------------------


def test_bootstrap_ci_contains_mean_and_shrinks_with_more_tasks() -> None:
    rng = np.random.default_rng(1)
    small = rng.normal(size=(10, 4))
    large = rng.normal(size=(1000, 4))
    for values in (small, large):
        low, high = bootstrap_ci(values)
        assert low.shape == high.shape == (4,)
        mean = values.mean(axis=0)
        assert np.all(low <= mean) and np.all(mean <= high)
    width_small = np.subtract(*bootstrap_ci(small)[::-1])
    width_large = np.subtract(*bootstrap_ci(large)[::-1])
    assert np.all(width_large < width_small)


def test_bootstrap_ci_all_equal_values_has_zero_width() -> None:
    low, high = bootstrap_ci(np.full((50, 3), 2.5))
    np.testing.assert_allclose(low, 2.5)
    np.testing.assert_allclose(high, 2.5)


def test_bootstrap_ci_is_deterministic_and_near_normal_theory() -> None:
    values = np.random.default_rng(2).normal(size=400)
    low, high = bootstrap_ci(values)
    assert (low, high) == bootstrap_ci(values)  # fixed seed: same interval every time
    half = 1.96 * values.std(ddof=1) / np.sqrt(values.size)
    assert (high - low) / 2 == pytest.approx(half, rel=0.1)
    assert low.shape == ()


def test_bootstrap_ci_single_task_and_bad_input() -> None:
    low, high = bootstrap_ci(np.array([[1.0, 2.0]]))
    np.testing.assert_array_equal(low, [1.0, 2.0])
    np.testing.assert_array_equal(high, [1.0, 2.0])
    with pytest.raises(EvaluationError):
        bootstrap_ci(np.zeros((0, 3)))
    with pytest.raises(EvaluationError):
        bootstrap_ci(np.zeros(3), confidence=1.5)


# ---- statistics of a curve ------------------------------------------------------------------


def test_mean_ci_and_total_return() -> None:
    curve = make_curve()
    np.testing.assert_allclose(curve.mean, curve.returns.mean(axis=0))
    assert curve.ci_low.shape == curve.ci_high.shape == (3,)
    assert np.all(curve.ci_low <= curve.mean) and np.all(curve.mean <= curve.ci_high)
    np.testing.assert_allclose(curve.total_return(), curve.returns.sum(axis=1))


def test_normalized_score_analytic() -> None:
    curve = AdaptationCurve(
        agent="rl2",
        env="bandit",
        env_id="metarl/Bandit-v0",
        split="test",
        seed=0,
        x_label="episode",
        x=[1, 2],
        env_steps=[1, 2],
        returns=[[0.0, 10.0], [5.0, 2.0]],
        tasks=[{}, {}],
        random_returns=[0.0, 1.0],
        oracle_returns=[10.0, 5.0],
    )
    expected = np.array([[0.0, 1.0], [1.0, 0.25]])
    np.testing.assert_allclose(curve.normalized(), expected)
    np.testing.assert_allclose(curve.normalized_mean, [0.5, 0.625])
    assert np.all(curve.normalized_ci_low <= curve.normalized_mean)
    assert np.all(curve.normalized_mean <= curve.normalized_ci_high)


def test_normalized_is_finite_when_oracle_equals_random() -> None:
    curve = dataclasses.replace(
        make_curve(num_tasks=2, num_points=2),
        random_returns=[1.0, 1.0],
        oracle_returns=[1.0, 3.0],
        returns=[[1.0, 1.0], [1.0, 3.0]],
    )
    norm = curve.normalized()
    assert np.all(np.isfinite(norm))
    np.testing.assert_allclose(norm, [[0.0, 0.0], [0.0, 1.0]])


def test_no_references_means_no_normalized() -> None:
    curve = make_curve(references=False)
    assert curve.normalized() is None
    assert curve.normalized_mean is None
    assert curve.normalized_ci_low is None and curve.normalized_ci_high is None


# ---- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"returns": np.zeros(3)}, "returns must have shape"),
        ({"returns": np.zeros((0, 3))}, "T, P >= 1"),
        ({"x": np.arange(4)}, "x must have shape (3,)"),
        ({"env_steps": [1.0, 2.0]}, "env_steps must have shape (3,)"),
        ({"env_steps": [3.0, 2.0, 1.0]}, "non-decreasing"),
        ({"returns": np.full((8, 3), np.nan)}, "NaN or inf"),
        ({"tasks": [{}] * 7}, "list of 8 task dicts"),
        ({"tasks": ["a"] * 8}, "hold dicts"),
        ({"random_returns": np.zeros(7)}, "random_returns must have shape (8,)"),
        ({"oracle_returns": np.zeros((8, 1))}, "oracle_returns must have shape (8,)"),
        ({"seed": "0"}, "seed must be an int"),
        ({"agent": None}, "agent must be a str"),
        ({"meta": {"f": object()}}, "meta must be JSON-serializable"),
    ],
)
def test_shape_validation(change: dict, message: str) -> None:
    with pytest.raises(EvaluationError) as info:
        dataclasses.replace(make_curve(), **change)
    assert message in str(info.value)


def test_arrays_are_read_only_float64_copies() -> None:
    returns = np.zeros((2, 2), dtype=np.float32)
    curve = AdaptationCurve(
        "a", "e", "e-v0", "test", 0, "episode", [1, 2], [1, 2], returns, [{}, {}]
    )
    returns[0, 0] = 5.0
    assert curve.returns.dtype == np.float64 and curve.returns[0, 0] == 0.0
    with pytest.raises(ValueError):
        curve.returns[0, 0] = 1.0


# ---- JSON and files ---------------------------------------------------------------------------


@pytest.mark.parametrize("references", [True, False])
def test_json_round_trip(references: bool) -> None:
    curve = make_curve(references=references)
    data = json.loads(json.dumps(curve.to_json()))
    again = AdaptationCurve.from_json(data)
    assert again == curve
    assert again.meta["train_steps"] == 1000
    assert (again != make_curve(references=references, seed=1)) is True


def test_save_writes_json_csv_png(tmp_path: Path) -> None:
    curve = make_curve()
    out = tmp_path / "run" / "eval"
    json_path = curve.save(out)
    assert json_path == out / "adaptation.json"
    data = json.loads(json_path.read_text())
    for key in [
        "agent",
        "env",
        "env_id",
        "split",
        "seed",
        "x_label",
        "x",
        "env_steps",
        "returns",
        "mean",
        "ci_low",
        "ci_high",
        "tasks",
        "random_returns",
        "oracle_returns",
        "normalized_mean",
        "normalized_ci_low",
        "normalized_ci_high",
        "meta",
    ]:
        assert key in data, key
    np.testing.assert_allclose(data["mean"], curve.mean)
    assert AdaptationCurve.load(out) == curve
    assert AdaptationCurve.load(json_path) == curve
    assert sorted(p.name for p in out.iterdir()) == [
        "adaptation.csv",
        "adaptation.json",
        "adaptation.png",
    ]  # no temp files left behind
    png = (out / "adaptation.png").read_bytes()
    assert len(png) > 1000 and png.startswith(PNG_MAGIC)


def test_csv_header_and_rows(tmp_path: Path) -> None:
    curve = make_curve(num_points=4)
    curve.save(tmp_path)
    rows = list(csv.reader(io.StringIO((tmp_path / "adaptation.csv").read_text())))
    assert rows[0] == [
        "x",
        "env_steps",
        "mean",
        "ci_low",
        "ci_high",
        "normalized_mean",
        "normalized_ci_low",
        "normalized_ci_high",
    ]
    assert len(rows) == 1 + 4
    table = np.array(rows[1:], dtype=np.float64)
    np.testing.assert_array_equal(table[:, 0], curve.x)
    np.testing.assert_array_equal(table[:, 1], curve.env_steps)
    np.testing.assert_array_equal(table[:, 2], curve.mean)
    np.testing.assert_array_equal(table[:, 5], curve.normalized_mean)


def test_csv_without_references() -> None:
    header = make_curve(references=False).to_csv().splitlines()[0]
    assert header == "x,env_steps,mean,ci_low,ci_high"


def test_save_png_single_point_without_references(tmp_path: Path) -> None:
    make_curve(num_points=1, references=False).save(tmp_path)
    assert (tmp_path / "adaptation.png").read_bytes().startswith(PNG_MAGIC)


def test_load_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(EvaluationError, match=r"no adaptation curve at .*metarl\.evaluate"):
        AdaptationCurve.load(tmp_path)
    with pytest.raises(EvaluationError, match="no adaptation curve"):
        AdaptationCurve.load(tmp_path / "nope.json")


def test_load_reads_a_run_directorys_eval_curve(tmp_path: Path) -> None:
    curve = make_curve()
    curve.save(tmp_path / "run" / "eval")
    assert AdaptationCurve.load(tmp_path / "run") == curve
    make_curve(num_points=1).save(tmp_path / "run")  # eval/ first, as compare has always read
    assert AdaptationCurve.load(tmp_path / "run") == curve
    assert AdaptationCurve.load(tmp_path / "run" / "adaptation.json").num_points == 1


@pytest.mark.parametrize(
    "content",
    ["{not json", "[1, 2]", '{"agent": "rl2"}', json.dumps({**make_curve().to_json(), "x": [1]})],
)
def test_load_corrupt_file_says_what_to_do(tmp_path: Path, content: str) -> None:
    (tmp_path / "adaptation.json").write_text(content)
    with pytest.raises(EvaluationError, match=r"not a valid adaptation curve.*metarl\.evaluate"):
        AdaptationCurve.load(tmp_path)


def test_load_of_another_file_never_suggests_deleting_it(tmp_path: Path) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("not a curve")
    with pytest.raises(EvaluationError, match="is not an adaptation curve") as info:
        AdaptationCurve.load(other)
    assert "delete" not in str(info.value)
    assert other.read_text() == "not a curve"


def test_load_rejects_unknown_format_version(tmp_path: Path) -> None:
    data = {**make_curve().to_json(), "format_version": 99}
    (tmp_path / "adaptation.json").write_text(json.dumps(data))
    with pytest.raises(EvaluationError, match="format_version"):
        AdaptationCurve.load(tmp_path)


# ---- text and overlays ------------------------------------------------------------------------


def test_summary_table() -> None:
    curve = make_curve(num_points=3)
    text = summary_table(curve)
    lines = text.splitlines()
    assert "rl2 on nav" in lines[0] and "8 test tasks" in lines[0]
    assert "episode" in lines[1] and "normalized" in lines[1]
    assert len(lines) == 1 + 2 + 3 + 1
    assert "±" in lines[3] and lines[-1].startswith("total return over 3 points")


def test_summary_table_shows_env_steps_once_when_they_are_the_x_axis() -> None:
    curve = make_curve(num_points=3)
    steps = dataclasses.replace(curve, x_label="env steps", x=curve.env_steps)
    header = summary_table(steps).splitlines()[1]
    assert header.count("env steps") == 1 and header.split()[:3] == ["env", "steps", "mean"]
    assert summary_table(curve).splitlines()[1].count("env steps") == 1  # episode, env steps
    bandit = dataclasses.replace(curve, env_steps=curve.x)  # one step per episode: both kept
    assert summary_table(bandit).splitlines()[1].split()[:3] == ["episode", "env", "steps"]


def test_summary_table_subsamples_long_curves() -> None:
    curve = make_curve(num_points=100, references=False)
    text = summary_table(curve, max_rows=5)
    assert "normalized" not in text
    assert "(5 of 100 points shown)" in text
    assert text.splitlines()[3].split()[0] == "1"


@pytest.mark.parametrize(("random", "oracle"), [(True, True), (True, False), (False, True)])
def test_the_figure_draws_each_reference_the_family_states(random: bool, oracle: bool) -> None:
    curve = make_curve()
    curve = dataclasses.replace(curve, random_returns=curve.random_returns if random else None,
                                oracle_returns=curve.oracle_returns if oracle else None)  # fmt: skip
    axes = curve.figure().axes
    assert len(axes) == (2 if random and oracle else 1)  # normalized only with both
    lines = {line.get_label(): line.get_ydata()[0] for line in axes[0].get_lines()}
    assert ("random" in lines, "oracle" in lines) == (random, oracle)
    assert lines.get("random", -1.0) == -1.0 and lines.get("oracle", 3.0) == 3.0
    low, high = axes[0].get_ylim()
    assert all(low <= y <= high for y in lines.values())  # in view, not off the axis


@pytest.mark.parametrize("x_axis", ["env_steps", "x"])
def test_plot_curves(tmp_path: Path, x_axis: str) -> None:
    path = plot_curves(
        [make_curve(), make_curve(seed=1)], tmp_path / "cmp" / "c.png", x_axis=x_axis
    )
    assert path.read_bytes().startswith(PNG_MAGIC)
    with pytest.raises(EvaluationError):
        plot_curves([], tmp_path / "empty.png")
    with pytest.raises(EvaluationError, match="labels"):
        plot_curves([make_curve()], tmp_path / "l.png", labels=["a", "b"])


def test_plot_curves_log_axis_and_labels(tmp_path: Path) -> None:
    scratch = dataclasses.replace(
        make_curve(references=False), agent="ppo", x_label="env steps", env_steps=[1e2, 1e4, 1e6]
    )
    path = plot_curves(
        [make_curve(references=False), scratch], tmp_path / "c.png", labels=["RL²", "PPO"]
    )
    assert path.read_bytes().startswith(PNG_MAGIC)


def test_a_log_axis_draws_a_point_at_zero_at_zero() -> None:
    from matplotlib.figure import Figure

    from metarl.evaluation import _log_axis

    ax = Figure().subplots()
    ax.plot([0, 1e3, 1e4], [1, 2, 3])
    _log_axis(ax, np.array([0.0, 1e3, 1e4]))
    assert ax.get_xscale() == "symlog" and ax.get_xlim()[0] == 0
    x0, x1 = ax.transData.transform([[0, 0], [1e3, 0]])[:, 0]
    left = ax.transAxes.transform([[0, 0]])[0, 0]
    assert x0 == pytest.approx(left) and x1 > x0  # at the left edge, not clipped off it
    plain = Figure().subplots()
    _log_axis(plain, np.array([1e2, 1e4]))
    assert plain.get_xscale() == "log"
