"""scripts/reproduce_maml_nav.py: the paired report of MAML against pretrained on shared tasks."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from metarl.evaluation import AdaptationCurve
from tests.test_train_maml import tiny_train

ROOT = Path(__file__).resolve().parents[1]


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
    rise = result["maml_step_1_minus_step_0"]
    assert rise["mean"] == np.mean(maml.returns[:, 1] - maml.returns[:, 0])
    assert "| 1 |" in script.markdown(result)


def test_criteria_follow_the_numbers(load_script) -> None:
    script = load_script("reproduce_maml_nav")

    def row(step: int, norm: float, low: float) -> dict:
        return {"step": step, "maml": {"mean": -10.0 + step}, "maml_normalized": {"mean": norm},
                "maml_minus_pretrained": {"ci_low": low}}  # fmt: skip

    rises = {"mean": 1.0, "ci_low": 0.2, "ci_high": 1.8}
    good = [row(0, 0.3, -1), row(1, 0.85, 0.1), row(2, 0.9, 0.2), row(3, 0.95, 0.3)]
    assert all(script.criteria(good, "nav", rises).values())
    bad = [*good[:3], row(3, 0.90, -0.1)]
    checks = script.criteria(bad, "nav", rises)
    assert not checks["normalized_after_3_steps_ge_0.92"]
    assert not checks["maml_above_pretrained_at_every_step_ge_1"]
    assert all(script.criteria(good, "cheetah-vel", rises).values())
    # a rise whose paired band reaches below 0 is not a rise, though its mean is above 0
    inside = script.criteria(good, "cheetah-dir", {"mean": 1.0, "ci_low": -0.1, "ci_high": 2.1})
    assert not inside["maml_rises_from_step_0_to_1_outside_the_paired_band"]
    assert inside["maml_above_pretrained_after_1_step"]


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


def test_report_only_scores_the_last_checkpoint_and_trains_nothing(
    tmp_path: Path, load_script, capsys
) -> None:
    script = load_script("reproduce_maml_nav")
    runs = tmp_path / "runs"
    for agent in ("maml", "pretrained"):
        assert tiny_train(runs / f"{agent}-nav-0", agent, "nav", 20, "--env-kwargs",
                          "horizon=5") == 0  # fmt: skip
    stale = runs / "pretrained-nav-0" / "eval"
    curve = AdaptationCurve.load(stale)
    # a curve of an older checkpoint (as after a resume that was stopped): evaluated again
    curve.meta["train_env_steps"] = 1
    curve.save(stale)
    checkpoints = {p: p.read_bytes() for p in runs.glob("*/checkpoint.pt")}
    args = script.parser("nav").parse_args(
        ["--runs", str(runs), "--device", "cpu", "--report-only", "--out", str(tmp_path / "r.json")]
    )
    result = script.reproduce(args)
    assert {p: p.read_bytes() for p in runs.glob("*/checkpoint.pt")} == checkpoints
    trained = script._trained_steps(runs / "pretrained-nav-0")
    assert AdaptationCurve.load(stale).meta["train_env_steps"] == trained
    assert result["pretrained_train_env_steps"] == trained
    assert "meta-trained for" in capsys.readouterr().out


def test_report_only_refuses_a_run_without_a_checkpoint(tmp_path: Path, load_script) -> None:
    script = load_script("reproduce_maml_nav")
    args = script.parser("nav").parse_args(["--runs", str(tmp_path), "--report-only"])
    try:
        script.train_agent("maml", args, [])
    except SystemExit as e:
        assert e.code == 2
    else:
        raise AssertionError("a missing run was not refused")


def test_a_family_without_references_is_reported_without_normalized_scores(
    tmp_path: Path, load_script
) -> None:
    script = load_script("reproduce_maml_nav")
    for agent in ("maml", "pretrained"):
        assert tiny_train(tmp_path / agent, agent, "nav", 20, "--env-kwargs", "horizon=5") == 0
    maml, pre = (dataclasses.replace(AdaptationCurve.load(tmp_path / a / "eval"),
                                     random_returns=None, oracle_returns=None)
                 for a in ("maml", "pretrained"))  # fmt: skip
    result = script.report(maml, pre, "cheetah-dir")
    assert result["oracle"] is None and result["rows"][1]["maml_normalized"] is None
    assert "oracle none" in script.markdown(result)


def test_a_corrupt_checkpoint_is_one_line_and_exit_2(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    assert tiny_train(runs / "maml-nav-0", "maml", "nav", 20, "--env-kwargs", "horizon=5") == 0
    (runs / "maml-nav-0" / "checkpoint.pt").write_bytes(b"not a checkpoint")
    for name, env in (("reproduce_maml_nav", []), ("reproduce_maml_locomotion", ["--envs", "nav"])):
        script = str(ROOT / "scripts" / f"{name}.py")
        done = subprocess.run([sys.executable, script, "--runs", str(runs), "--report-only", *env],
                              capture_output=True, text=True, cwd=tmp_path, timeout=300)  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert "checkpoint.pt is corrupt" in done.stderr and len(done.stderr.splitlines()) == 1


def test_locomotion_writes_out_for_one_family_and_refuses_it_for_several(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for agent in ("maml", "pretrained"):
        assert (
            tiny_train(runs / f"{agent}-nav-0", agent, "nav", 20, "--env-kwargs", "horizon=5") == 0
        )
    script = str(ROOT / "scripts" / "reproduce_maml_locomotion.py")
    common = [sys.executable, script, "--runs", str(runs), "--report-only", "--device", "cpu"]
    out = tmp_path / "report.json"
    several = subprocess.run([*common, "--envs", "nav,nav", "--out", str(out)],
                             capture_output=True, text=True, cwd=tmp_path, timeout=300)  # fmt: skip
    assert several.returncode == 2 and len(several.stderr.splitlines()) == 1
    assert "--out" in several.stderr and not out.exists()
    one = subprocess.run([*common, "--envs", "nav", "--out", str(out)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)  # fmt: skip
    assert one.returncode == 0, one.stderr
    assert json.loads(out.read_text())["env"] == "nav"
