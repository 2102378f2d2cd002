"""Tiny end-to-end runs of ``--agent maml`` and ``--agent pretrained``: train, evaluate, resume,
compare beside RL², and the flags that belong to one agent only."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from metarl import compare, evaluate, train
from metarl.agents import AGENTS
from metarl.config import MAMLConfig, field_docs
from metarl.evaluation import AdaptationCurve
from tests.metrics_rows import metrics_rows
from tests.test_train import RUN_FILES, run_cli
from tests.test_train import tiny_train as tiny_rl2

TINY = ["--meta-batch", "2", "--fast-batch", "2", "--hidden-sizes", "8,8", "--cg-iters", "2",
        "--eval-tasks", "3", "--eval-fast-batch", "2", "--eval-inner-steps", "2",
        "--train-tasks", "8", "--checkpoint-every", "1", "--device", "cpu"]  # fmt: skip


def tiny_train(out: Path, agent: str, env: str, steps: int, *extra: str) -> int:
    argv = ["--agent", agent, "--env", env, "--steps", str(steps), "--out", str(out), *TINY]
    return run_cli(train, [*argv, *extra])


FAMILIES = [
    ("nav", ["--env-kwargs", "horizon=5"]),
    ("bandit", []),
    ("tabular-mdp", ["--env-kwargs", "horizon=3"]),
    ("cheetah-vel", ["--env-kwargs", "horizon=5"]),
    ("examples.windy_line:WindyLine-v0", ["--env-kwargs", "horizon=5"]),
]


@pytest.mark.parametrize("agent", ["maml", "pretrained"])
@pytest.mark.parametrize(("env", "extra"), FAMILIES)
def test_tiny_run_trains_evaluates_and_resumes_exactly(
    tmp_path: Path, agent: str, env: str, extra: list
) -> None:
    full, half = tmp_path / "full", tmp_path / "half"
    assert tiny_train(full, agent, env, 60, *extra) == 0
    for name in RUN_FILES:
        assert (full / name).exists(), name
    curve = AdaptationCurve.load(full / "eval")
    assert curve.agent == agent and curve.x.tolist() == [0, 1, 2]
    assert curve.x_label == "gradient step" and curve.returns.shape == (3, 3)
    assert tiny_train(half, agent, env, 20, *extra) == 0
    assert run_cli(train, ["--resume", str(half), "--steps", "60"]) == 0
    assert metrics_rows(half / "metrics.csv") == metrics_rows(full / "metrics.csv")
    assert (AdaptationCurve.load(half / "eval").returns == curve.returns).all()
    (full / "eval" / "adaptation.json").unlink()
    assert run_cli(evaluate, [str(full)]) == 0
    assert (AdaptationCurve.load(full / "eval").returns == curve.returns).all()


def test_compare_pairs_maml_pretrained_and_rl2_task_by_task(tmp_path: Path, capsys) -> None:
    nav = ["--env-kwargs", "horizon=5"]
    assert tiny_rl2(tmp_path / "rl2", "nav", 40, "--episodes-per-trial", "2", *nav) == 0
    for agent in ("maml", "pretrained"):
        assert tiny_train(tmp_path / agent, agent, "nav", 40, *nav) == 0
    capsys.readouterr()
    runs = [str(tmp_path / name) for name in ("rl2", "maml", "pretrained")]
    assert run_cli(compare, [*runs, "--out", str(tmp_path / "c.png")]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[2:5]}
    for name in ("maml", "pretrained"):  # same seed and parameters: the same held-out tasks
        # the last points paired (a signed difference ± its interval); the totals are not
        assert re.search(r"[+-]\d+\.\d+ ± \d+\.\d+\s+other points$", lines[name]), lines[name]
    assert (tmp_path / "c.png").stat().st_size > 0


def test_budget_evaluates_more_gradient_steps_into_its_own_folder(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert tiny_train(run, "maml", "nav", 20, "--env-kwargs", "horizon=5") == 0
    trained = AdaptationCurve.load(run / "eval")
    assert run_cli(evaluate, [str(run), "--budget", "4"]) == 0
    longer = AdaptationCurve.load(run / "eval-4-steps")
    assert longer.x.tolist() == [0, 1, 2, 3, 4]
    assert (longer.returns[:, :3] == trained.returns).all()  # the same draws up to step 2
    assert run_cli(evaluate, [str(run), "--budget", "0"]) == 0  # the unadapted policy alone
    assert AdaptationCurve.load(run / "eval-0-steps").returns.shape == (3, 1)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--agent", "rl2", "--inner-lr", "0.1"],
            "--inner-lr is a flag of --agent maml and pretrained, not of --agent rl2",
        ),
        (["--agent", "maml", "--num-envs", "4"], "--num-envs is a flag of --agent rl2"),
        (["--agent", "maml", "--outer", "sgd"], "--outer must be one of trpo, ppo"),
        (["--agent", "maml", "--hidden-sizes", "100,x"], "comma-separated integers"),
        (["--agent", "maml", "--meta-batch", "0"], "--meta-batch must be a positive integer"),
        (["--agent", "maml", "--ls-ratio", "1.5"], "--ls-ratio must lie in (0, 1)"),
        (["--agent", "nope"], "unknown agent 'nope': use one of rl2, maml, pretrained"),
        (
            ["--agent", "pretrained", "--first-order", "true"],
            "--first-order is a flag of --agent maml, not of --agent pretrained",
        ),
        (
            ["--agent", "pretrained", "--inner-steps", "1"],
            "--inner-steps is a flag of --agent maml,",
        ),
    ],
)
def test_bad_agent_flags_are_one_line_exit_2(tmp_path: Path, capsys, argv, message) -> None:
    assert run_cli(train, [*argv, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_help_of_an_agent_shows_inherited_and_own_fields(capsys) -> None:
    docs = field_docs(MAMLConfig)
    assert "Total env steps" in docs["steps"] and "Outer optimizer" in docs["outer"]
    assert run_cli(train, ["--agent", "maml", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--inner-lr" in out and "--steps" in out and "--episodes-per-trial" not in out
    assert "Total env steps of meta-training" in out


def test_print_config_of_maml_nav_is_the_papers_setting(capsys) -> None:
    assert run_cli(train, ["--agent", "maml", "--env", "nav", "--print-config"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["config"] == "MAMLConfig" and shown["hidden_sizes"] == [100, 100]
    assert (shown["meta_batch"], shown["fast_batch"], shown["inner_lr"]) == (20, 20, 0.1)
    assert shown["inner_steps"] == 1 and shown["outer"] == "trpo"


def test_every_agent_is_registered_with_its_config() -> None:
    assert set(AGENTS) == {"rl2", "maml", "pretrained"}


def test_nan_stops_maml_training_and_keeps_the_last_checkpoint(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert tiny_train(out, "maml", "nav", 20, "--env-kwargs", "horizon=5") == 0
    before = (out / "checkpoint.pt").read_bytes()
    config = json.loads((out / "config.json").read_text())
    config["inner_lr"] = 1e38  # the adapted weights overflow: NaN actions, returns, baseline
    (out / "config.json").write_text(json.dumps(config))
    assert run_cli(train, ["--resume", str(out), "--steps", "400"]) == 1
    err = capsys.readouterr().err
    assert "NaN" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert (out / "checkpoint.pt").read_bytes() == before


def test_progress_shows_the_post_update_return_of_a_maml_run(tmp_path: Path, capsys) -> None:
    from metarl import progress

    run = tmp_path / "m"
    assert tiny_train(run, "maml", "nav", 20, "--env-kwargs", "horizon=5") == 0
    capsys.readouterr()
    assert run_cli(progress, [str(run), "--out", str(tmp_path / "p.png")]) == 0
    assert "m " in capsys.readouterr().out and (tmp_path / "p.png").exists()
    assert progress.return_columns([progress.load_metrics(str(run))]) == ["post_return"]
