"""scripts/reproduce_maml_nav.py: the paired report of MAML against pretrained on shared tasks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from metarl.evaluation import AdaptationCurve
from tests.test_train_maml import tiny_train


def test_report_pairs_the_two_runs_step_by_step(tmp_path: Path, load_script) -> None:
    script = load_script("reproduce_maml_nav")
    for agent in ("maml", "pretrained"):
        assert tiny_train(tmp_path / agent, agent, "nav", 20, "--env-kwargs", "horizon=5") == 0
    maml, pre = (AdaptationCurve.load(tmp_path / a / "eval") for a in ("maml", "pretrained"))
    result = script.report(maml, pre, "nav")
    assert [r["step"] for r in result["rows"]] == [0, 1, 2]
    diff = result["rows"][1]["maml_minus_pretrained"]
    assert diff["mean"] == np.mean(maml.returns[:, 1] - pre.returns[:, 1])
    assert diff["ci_low"] <= diff["mean"] <= diff["ci_high"]
    assert set(result["criteria"]) == {
        "maml_above_pretrained_at_every_step_ge_1", "normalized_after_1_step_ge_0.80",
        "normalized_after_3_steps_ge_0.92",
    }  # fmt: skip
    assert "| 1 |" in script.markdown(result)


def test_criteria_follow_the_numbers(load_script) -> None:
    script = load_script("reproduce_maml_nav")

    def row(step: int, norm: float, low: float) -> dict:
        return {"step": step, "maml": {"mean": -10.0 + step}, "maml_normalized": {"mean": norm},
                "maml_minus_pretrained": {"ci_low": low}}  # fmt: skip

    good = [row(0, 0.3, -1), row(1, 0.85, 0.1), row(2, 0.9, 0.2), row(3, 0.95, 0.3)]
    assert all(script.criteria(good, "nav").values())
    bad = [*good[:3], row(3, 0.90, -0.1)]
    checks = script.criteria(bad, "nav")
    assert not checks["normalized_after_3_steps_ge_0.92"]
    assert not checks["maml_above_pretrained_at_every_step_ge_1"]
    assert all(script.criteria(good, "cheetah-vel").values())


def test_curves_on_other_tasks_are_refused(tmp_path: Path, load_script) -> None:
    script = load_script("reproduce_maml_nav")
    assert tiny_train(tmp_path / "m", "maml", "nav", 20, "--env-kwargs", "horizon=5") == 0
    curve = AdaptationCurve.load(tmp_path / "m" / "eval")
    other = dataclasses.replace(curve, tasks=[{"goal": [0.1, 0.1]}] * curve.num_tasks)
    try:
        script.report(curve, other, "nav")
    except SystemExit as e:
        assert "different tasks" in str(e)
    else:
        raise AssertionError("curves on other tasks were paired")
