"""Aggregates over seeds × tasks: IQM and the stratified bootstrap, against hand computations and
rliable (Agarwal et al. 2021) on fixed scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from metarl import aggregate
from metarl.aggregate import iqm, mean, stratified_bootstrap_ci, summarize, write_summary
from metarl.evaluation import AdaptationCurve, EvaluationError, is_metarl_png


def _scores(seed: int = 7, shape: tuple[int, int, int] = (5, 8, 3)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape) * np.arange(1, shape[-1] + 1) + rng.exponential(size=shape)


def test_iqm_by_hand() -> None:
    values = np.array([8.0, 1, 7, 2, 6, 3, 5, 4, 100, -100]).reshape(2, 5, 1)  # n = 10, cut 2
    assert iqm(values[None])[0, 0] == pytest.approx(np.mean([2, 3, 4, 5, 6, 7]))
    assert mean(values[None])[0, 0] == pytest.approx(3.6)


def test_interval_is_the_estimate_for_one_seed_or_seed_independent_columns() -> None:
    one = _scores(shape=(1, 6, 2))
    low, high = stratified_bootstrap_ci(one, iqm)
    assert np.array_equal(low, iqm(one[None])[0]) and np.array_equal(high, low)
    # Every seed has the same score on task index t: resampling seeds within a task index
    # (the strata) cannot change anything, so the interval collapses to the estimate.
    same = np.broadcast_to(np.arange(6.0)[None, :, None] ** 2, (4, 6, 2)).copy()
    for stat in (mean, iqm):
        low, high = stratified_bootstrap_ci(same, stat)
        np.testing.assert_allclose(low, stat(same[None])[0])
        np.testing.assert_allclose(high, stat(same[None])[0])


def test_interval_by_hand_two_seeds_one_task() -> None:
    # S = 2, T = 1: each resample is both seeds' value a (1/4), both b (1/4) or one each (1/2);
    # the mean is then a, b or (a + b) / 2, so the 95% percentile interval is [a, b].
    scores = np.array([[[1.0]], [[3.0]]])
    low, high = stratified_bootstrap_ci(scores, mean, n_resamples=4000)
    assert (low[0], high[0]) == (1.0, 3.0)


def test_deterministic_and_bad_shapes() -> None:
    scores = _scores()
    a = stratified_bootstrap_ci(scores, iqm)
    b = stratified_bootstrap_ci(scores, iqm)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    with pytest.raises(EvaluationError, match="shape"):
        stratified_bootstrap_ci(scores[0], iqm)
    with pytest.raises(EvaluationError, match="confidence"):
        stratified_bootstrap_ci(scores, iqm, confidence=1.5)


@pytest.fixture
def seeded_global_numpy():
    """rliable's StratifiedBootstrap draws from NumPy's global generator: seed it for the test
    (so the comparison is the same on every run) and put the state back afterwards."""
    state = np.random.get_state()
    np.random.seed(0)
    yield
    np.random.set_state(state)


def test_agrees_with_rliable(seeded_global_numpy) -> None:
    rly = pytest.importorskip("rliable.library", reason="rliable (dev extra) is not installed")
    metrics = pytest.importorskip("rliable.metrics")
    scores = _scores(shape=(5, 8, 1))  # (S=5 seeds, T=8 tasks, P=1 point); rliable is slow
    reps = 10_000
    for stat, theirs in ((iqm, metrics.aggregate_iqm), (mean, metrics.aggregate_mean)):
        ours_low, ours_high = stratified_bootstrap_ci(scores, stat, n_resamples=reps)
        point = stat(scores[None])[0]
        for p in range(scores.shape[-1]):
            matrix = scores[:, :, p]  # rliable: (num_runs, num_tasks) = (seeds, task index)
            assert point[p] == pytest.approx(theirs(matrix), rel=1e-12)
            _, cis = rly.get_interval_estimates(
                {"x": matrix}, lambda x, f=theirs: np.array([f(x)]), reps=reps,
            )  # fmt: skip
            low, high = cis["x"][:, 0]
            width = high - low
            # Two Monte Carlo estimates of the same percentiles: equal up to resampling noise.
            assert ours_low[p] == pytest.approx(low, abs=0.05 * width)
            assert ours_high[p] == pytest.approx(high, abs=0.05 * width)


def _curve(seed: int, returns: np.ndarray, refs: bool = True) -> AdaptationCurve:
    tasks, points = returns.shape
    return AdaptationCurve(
        agent="rl2", env="nav", env_id="metarl/Nav2D-v0", split="test", seed=seed,
        x_label="episode", x=np.arange(1, points + 1), env_steps=np.arange(1, points + 1) * 4.0,
        returns=returns, tasks=[{"goal": [float(i), 0.0]} for i in range(tasks)],
        random_returns=np.full(tasks, -10.0) if refs else None,
        oracle_returns=np.zeros(tasks) if refs else None,
    )  # fmt: skip


def test_summary_files(tmp_path: Path) -> None:
    scores = _scores()
    good = [_curve(s, scores[i]) for i, s in enumerate([0, 10, 20, 30, 40])]
    bad = [_curve(s, scores[i] - 5) for i, s in enumerate([0, 10, 20, 30, 40])]
    out = write_summary(tmp_path / "summary", {"lr=0.001": good, "lr=0.1": bad}, {"lr=0.1": 1})
    summary = summarize("lr=0.001", list(reversed(good)))
    assert summary.seeds == [0, 10, 20, 30, 40]
    np.testing.assert_allclose(summary.stats["iqm"], iqm(scores[None])[0])
    np.testing.assert_allclose(summary.per_seed_mean, scores.mean(axis=1))
    np.testing.assert_allclose(summary.stats["normalized_iqm"], iqm((scores[None] + 10) / 10)[0])
    text = (out / "ranking.md").read_text()
    assert text.index("`lr=0.001`") < text.index("`lr=0.1`")  # ranked by final IQM
    assert "(1 unfinished)" in text
    assert (out / "summary.csv").read_text().count("\n") == 1 + 2 * 3
    assert is_metarl_png(out / "summary.png")
    with pytest.raises(EvaluationError, match="shapes"):
        summarize("x", [good[0], _curve(1, scores[1][:4])])
    with pytest.raises(EvaluationError, match="sweep directory"):
        aggregate.sweep_curves(tmp_path)


def test_performance_profile_by_hand_and_against_rliable(seeded_global_numpy) -> None:
    scores = np.array([[0.1, 0.5], [0.9, 0.3]])  # (S=2, T=2)
    fraction, low, high = aggregate.performance_profile(scores, np.array([0.0, 0.4, 1.0]))
    np.testing.assert_allclose(fraction, [1.0, 0.5, 0.0])
    assert low[0] == high[0] == 1.0 and low[2] == high[2] == 0.0  # no resample changes these
    rly = pytest.importorskip("rliable.library", reason="rliable (dev extra) is not installed")
    scores = _scores(shape=(5, 8, 1))[..., 0]
    taus = np.linspace(scores.min(), scores.max(), 7)
    fraction, low, high = aggregate.performance_profile(scores, taus)
    profiles, cis = rly.create_performance_profile({"x": scores}, taus, reps=4000)
    np.testing.assert_allclose(fraction, profiles["x"])
    np.testing.assert_allclose(low, cis["x"][0], atol=0.051)  # resampling noise: 2 steps of 1/40
    np.testing.assert_allclose(high, cis["x"][1], atol=0.051)
