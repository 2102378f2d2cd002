"""scripts/meta_vs_scratch.py: the cut to the first tasks, the ratios and their lower bounds."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tests.test_evaluation import make_curve


def _curve(means: list[float], env_steps: list[float], tasks: int = 5):
    base = make_curve(num_tasks=tasks, num_points=len(means))
    return dataclasses.replace(
        base, returns=np.tile(np.asarray(means, dtype=float), (tasks, 1)),
        env_steps=np.asarray(env_steps, dtype=float), x=np.arange(1, len(means) + 1),
    )  # fmt: skip


def test_first_tasks_keeps_per_task_returns_and_references(load_script) -> None:
    script = load_script("meta_vs_scratch")
    curve = make_curve(num_tasks=8)
    cut = script.first_tasks(curve, 3)
    assert cut.num_tasks == 3 and (cut.returns == curve.returns[:3]).all()
    assert cut.tasks == curve.tasks[:3] and (cut.oracle_returns == curve.oracle_returns[:3]).all()


def test_ratios_of_reached_and_unreached_targets(load_script) -> None:
    script = load_script("meta_vs_scratch")
    meta = {"rl2": _curve([-5.0, -1.0], [10, 20]), "maml": _curve([-30.0, -10.0], [1000, 2000])}
    scratch = {"ppo": _curve([-90.0, -40.0, -8.0], [0, 2000, 10_000])}
    rows = {r["target"]: r for r in script.ratios(meta, scratch)}
    rl2, maml = rows["RL² episode 2"], rows["MAML after 1 step"]
    assert rl2["scratch_env_steps"] is None and rl2["ratio_at_least"] == 10_000 / 20  # not reached
    assert maml["scratch_env_steps"] == 10_000 and maml["ratio"] == 5.0  # -8 >= -10 at 10k
    assert maml["scratch_last_below"] == 2000 and maml["ratio_from"] == 1.0  # -40 < -10 at 2k
    table = script.markdown(list(rows.values()))
    assert "> 500×" in table and "| 10,000 (after 2,000, below) | 1–5× |" in table


def test_a_target_the_first_point_reaches_has_a_plain_ratio(load_script) -> None:
    script = load_script("meta_vs_scratch")
    meta = {"maml": _curve([-30.0, -10.0], [1000, 2000])}
    scratch = {"sac": _curve([-5.0, -4.0], [0, 1000])}  # already above the target at 0
    (row,) = script.ratios(meta, scratch)
    assert row["scratch_last_below"] is None and row["ratio_from"] is None and row["ratio"] == 0
    assert "| 0 | 0× |" in script.markdown([row])


def test_an_unreached_target_beyond_the_budget_gives_no_bound(load_script) -> None:
    script = load_script("meta_vs_scratch")
    meta = {"maml": _curve([-30.0, -10.0], [1000, 20_000])}
    scratch = {"multitask": _curve([-90.0, -40.0], [0, 2048])}
    (row,) = script.ratios(meta, scratch)
    assert row["scratch_env_steps"] is None and row["ratio_at_least"] is None
    assert "no bound (budget below the meta-learner's env steps)" in script.markdown([row])


def test_against_blind_pairs_rl2s_point_with_the_untuned_task_blind_policy(load_script) -> None:
    script = load_script("meta_vs_scratch")
    rl2 = _curve([-25.0, -26.0], [200, 400], tasks=6)
    blind = _curve([-100.0, -60.0], [0, 2000], tasks=6)
    spread = blind.returns.copy()
    spread[:, 0] += np.arange(6)  # spread over tasks: a nonzero interval
    blind = dataclasses.replace(blind, returns=spread)
    gap = script.against_blind(rl2, blind, 0)
    assert gap["difference"] == 75.0 - 2.5 and gap["rl2_above"]
    assert gap["low"] < gap["difference"] < gap["high"]
    worse = script.against_blind(_curve([-120.0, -26.0], [200, 400], tasks=6), blind, 0)
    assert not worse["rl2_above"] and worse["high"] < 0


def test_too_few_tasks_in_a_curve_is_one_line_and_exit_2(load_script, capsys) -> None:
    script = load_script("meta_vs_scratch")
    with pytest.raises(SystemExit) as stop:
        script.first_tasks(make_curve(num_tasks=3), 5)
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--tasks 3 or fewer" in err


def test_a_negative_threads_count_is_one_line_and_exit_2(
    load_script, monkeypatch, tmp_path, capsys
) -> None:
    script = load_script("meta_vs_scratch")
    out = tmp_path / "mvs"
    argv = ["meta_vs_scratch.py", "--env", "ant-dir", "--threads", "-1", "--out", str(out)]
    monkeypatch.setattr("sys.argv", argv)
    with pytest.raises(SystemExit) as stop:
        script.main()
    assert stop.value.code == 2 and not out.exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --threads -1: give 0 (one worker per CPU) or a positive count"]


def test_run_baseline_grows_a_run_finished_on_fewer_tasks(load_script, tmp_path) -> None:
    script = load_script("meta_vs_scratch")
    tiny = ["--env-kwargs", "horizon=5", "--eval-episodes", "1", "--threads", "1",
            "--algo-kwargs", "n_steps=128", "batch_size=64", "n_epochs=1"]  # fmt: skip
    log = tmp_path / "baselines.log"
    two = script.run_baseline("nav", "ppo", 2, 128, tmp_path, log, tiny)
    three = script.run_baseline("nav", "ppo", 3, 128, tmp_path, log, tiny)
    assert (two.num_tasks, three.num_tasks) == (2, 3)
    assert np.array_equal(three.returns[:2], two.returns)  # the first two were kept, not rerun
    again = script.run_baseline("nav", "ppo", 2, 128, tmp_path, log, tiny)  # more than asked
    assert again.num_tasks == 3
