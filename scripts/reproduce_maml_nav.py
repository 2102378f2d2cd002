"""MAML on 2D navigation, the MAML paper's Figure 4: MAML, pretrained and random, paired.

Meta-trains ``--agent maml`` and ``--agent pretrained`` with ``python -m metarl.train`` into
``RUNS/maml-<env>-<seed>`` and ``RUNS/pretrained-<env>-<seed>`` (``metarl.train``'s defaults) (resumed when a checkpoint is
there, reused when finished), then reports on their shared held-out tasks (same seed, same
tasks.json) the return after 0..K gradient steps of each, the random policy's, the normalized
score, and MAML minus pretrained task by task with 95% bootstrap intervals, beside the paper's
values. Writes ``docs/reproduce_maml_<env>.json`` and prints a markdown table.

    python scripts/reproduce_maml_nav.py                      # the preset's budget
    python scripts/reproduce_maml_nav.py --steps 12000000     # a shorter run (resumable)
    python scripts/reproduce_maml_locomotion.py               # Figure 5, same machinery
    python scripts/reproduce_maml_nav.py --report-only        # the runs as they stand, untrained

``--report-only`` trains nothing: it scores each run's last checkpoint (``python -m
metarl.evaluate`` where the run's curve is missing or older than the checkpoint), for runs stopped
before their budget, which may then differ between the two agents (both are in the JSON).

Criteria for nav (the issue): MAML above pretrained at every step ≥ 1 (paired interval above 0),
normalized score ≥ 0.80 after one step and ≥ 0.92 after three.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from metarl import cli, evaluate, train
from metarl.agents import preset
from metarl.evaluation import AdaptationCurve, bootstrap_ci, format_ci
from metarl.machine import describe
from metarl.runs import RunDir

# The paper's numbers behind Figs. 4-5, read from the result files released with its code.
PAPER: dict[str, dict[str, Any]] = {
    "nav": {"maml": [-40.4, -11.7, -3.3, -3.2], "oracle": -2.29},
    "cheetah-vel": {"maml": [-129.5, -78.6, -66.6, -60.8], "oracle": -54.5,
                    "pretrained": [-158.0, None, None, -134.0]},
    "cheetah-dir": {"maml": [-50.7, 293.2, 313.5, 315.7], "oracle": 442.7,
                    "pretrained": [-43.0, None, None, 20.0]},
    "ant-dir": {"maml": [8.7, 499.2, 500.7, 499.1], "oracle": 524.8},
}  # fmt: skip


def run_dir(runs: str, agent: str, env: str, seed: int) -> Path:
    """Where the reproduction keeps the run of ``agent`` on ``env``."""
    return Path(runs) / f"{agent}-{env}-{seed}"  # metarl.train's default --out


def train_agent(agent: str, args: argparse.Namespace, extra: list[str]) -> AdaptationCurve:
    """Train (or resume, or reuse) one agent's run; return its adaptation curve."""
    out = run_dir(args.runs, agent, args.env, args.seed)
    if args.report_only:
        return checkpoint_curve(out)
    if (out / "config.json").exists() and not (out / "checkpoint.pt").exists():
        shutil.rmtree(out)  # killed before its first checkpoint: nothing to keep
    steps = ["--steps", str(args.steps)] if args.steps else []
    common = ["--device", args.device, "--threads", str(args.threads), *steps]
    if (out / "checkpoint.pt").exists():
        argv = ["--resume", str(out), *common]
    else:
        argv = ["--agent", agent, "--env", args.env, "--seed", str(args.seed), "--out", str(out),
                *common, *extra]  # fmt: skip
    trained = _trained_steps(out)
    wanted = args.steps or preset(agent, args.env).steps
    finished = (out / "eval" / "adaptation.json").exists() and trained >= wanted
    if not finished and cli.run_main(train.main, argv) != 0:
        raise SystemExit(f"training {agent} on {args.env} failed")
    return AdaptationCurve.load(out / "eval")


def checkpoint_curve(out: Path) -> AdaptationCurve:
    """The curve of the run's last checkpoint, evaluated now unless the run's curve is of it."""
    if not (out / "checkpoint.pt").exists():
        cli.fail(f"--report-only: {out} has no checkpoint.pt; train it first (drop --report-only)")
    if (out / "eval" / "adaptation.json").exists():
        curve = AdaptationCurve.load(out / "eval")
        if curve.meta.get("train_env_steps") == _trained_steps(out):
            return curve
    if cli.run_main(evaluate.main, [str(out)]) != 0:
        raise SystemExit(f"evaluating {out} failed")
    return AdaptationCurve.load(out / "eval")


def _trained_steps(out: Path) -> int:
    if not (out / "checkpoint.pt").exists():
        return 0
    return int(RunDir(out).load_checkpoint()["agent"]["env_steps"])


def paired(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Mean and 95% bootstrap interval of the per-task differences ``a - b`` (both (T,))."""
    diff = a - b
    low, high = bootstrap_ci(diff)
    return {"mean": float(diff.mean()), "ci_low": float(low), "ci_high": float(high)}


def report(maml: AdaptationCurve, pre: AdaptationCurve, env: str) -> dict[str, Any]:
    """Per step: returns, normalized scores (where the family has random and oracle references;
    None elsewhere) and MAML - pretrained, paired; and the criteria."""
    if maml.tasks != pre.tasks:
        raise SystemExit("the two runs were evaluated on different tasks: use the same --seed")
    norm = {"maml": maml.normalized(), "pretrained": pre.normalized()}
    rows = []
    for k in range(min(maml.num_points, pre.num_points)):
        rows.append({
            "step": k,
            "env_steps": float(maml.env_steps[k]),
            "maml": _stat(maml.returns[:, k]),
            "pretrained": _stat(pre.returns[:, k]),
            **{f"{a}_normalized": None if n is None else _stat(n[:, k]) for a, n in norm.items()},
            "maml_minus_pretrained": paired(maml.returns[:, k], pre.returns[:, k]),
        })  # fmt: skip
    out: dict[str, Any] = {
        "env": env, "tasks": maml.num_tasks, "random": _mean(maml.random_returns),
        "oracle": _mean(maml.oracle_returns), "rows": rows, "paper": PAPER.get(env),
        "maml_train_env_steps": maml.meta.get("train_env_steps"),
        "maml_train_wall_time_s": maml.meta.get("train_wall_time_s"),
        "pretrained_train_env_steps": pre.meta.get("train_env_steps"),
        "pretrained_train_wall_time_s": pre.meta.get("train_wall_time_s"),
    }  # fmt: skip
    out["maml_step_1_minus_step_0"] = paired(maml.returns[:, 1], maml.returns[:, 0])
    out["criteria"] = criteria(rows, env, out["maml_step_1_minus_step_0"])
    return out


def _mean(values: np.ndarray | None) -> float | None:
    return None if values is None else float(values.mean())


def _stat(values: np.ndarray) -> dict[str, float]:
    low, high = bootstrap_ci(values)
    return {"mean": float(values.mean()), "ci_low": float(low), "ci_high": float(high)}


def criteria(rows: list[dict], env: str, rise: dict[str, float]) -> dict[str, bool]:
    """The issue's pass/fail checks for ``env`` on the report rows; ``rise`` is MAML's step 1
    minus its step 0, paired by task (:func:`paired`)."""
    above = all(r["maml_minus_pretrained"]["ci_low"] > 0 for r in rows[1:])
    if env == "nav":
        return {
            "maml_above_pretrained_at_every_step_ge_1": above,
            "normalized_after_1_step_ge_0.80": rows[1]["maml_normalized"]["mean"] >= 0.80,
            "normalized_after_3_steps_ge_0.92": len(rows) > 3
            and rows[3]["maml_normalized"]["mean"] >= 0.92,
        }
    return {
        "maml_rises_from_step_0_to_1_outside_the_paired_band": rise["ci_low"] > 0,
        "maml_above_pretrained_after_1_step": rows[1]["maml_minus_pretrained"]["ci_low"] > 0,
    }


def markdown(result: dict[str, Any]) -> str:
    """The report as a markdown table."""
    paper = (result["paper"] or {}).get("maml", [])
    lines = [
        f"{result['env']}: {result['tasks']} held-out tasks; random {_number(result['random'])}, "
        f"oracle {_number(result['oracle'])} per episode",
        "",
        "| step | env steps | MAML | pretrained | MAML − pretrained (paired) | MAML normalized "
        "| pretrained normalized | paper's MAML |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        cells = [
            str(r["step"]), f"{r['env_steps']:.0f}",
            *(_ci(r[k]) for k in ("maml", "pretrained")),
            _ci(r["maml_minus_pretrained"], signed=True),
            *(_ci(r[k]) for k in ("maml_normalized", "pretrained_normalized")),
            f"{paper[r['step']]}" if r["step"] < len(paper) else "",
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    rise = result.get("maml_step_1_minus_step_0")
    if rise is not None:
        lines.append(f"MAML after 1 step minus before adapting, paired: {_ci(rise, signed=True)}")
    for agent in ("maml", "pretrained"):
        steps = result.get(agent + "_train_env_steps")
        if steps is not None:
            lines.append(f"{agent}: meta-trained for {steps:,} env steps")
    lines += [f"- {name}: {'yes' if ok else 'NO'}" for name, ok in result["criteria"].items()]
    return "\n".join(lines)


def _number(x: float | None) -> str:
    return "none" if x is None else f"{x:.2f}"


def _ci(s: dict[str, float] | None, signed: bool = False) -> str:
    if s is None:
        return "—"
    text = format_ci(s["mean"], s["ci_low"], s["ci_high"])
    return ("+" + text) if signed and not text.startswith("-") else text


def parser(env: str | None = "nav", description: str | None = None) -> argparse.ArgumentParser:
    """The command line of the reproduction scripts: ``--env`` (default ``env``) unless ``env``
    is None (a script that takes its families otherwise); ``description`` is the ``--help``
    heading (default this script's)."""
    p = argparse.ArgumentParser(description=description or __doc__.split("\n")[0])
    if env is not None:
        p.add_argument("--env", default=env, help=f"task family (default {env})")
    p.add_argument("--seed", type=int, default=0, help="seed of both runs (default 0)")
    p.add_argument("--steps", type=int, default=0,
                   help="meta-training env steps of each run (default: the preset's)")  # fmt: skip
    p.add_argument("--runs", default="runs", help="folder of the run directories (default runs)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per run (default 1)")
    p.add_argument(
        "--out", default=None, help="JSON to write (default docs/reproduce_maml_ENV.json)"
    )
    p.add_argument("--report-only", action="store_true",
                   help="train nothing: report on each run's last checkpoint (evaluated now "
                   "where its curve is missing or older)")  # fmt: skip
    return p


def reproduce(args: argparse.Namespace, extra: list[str] | None = None) -> dict[str, Any]:
    """Train both agents on ``args.env`` and write and print the report."""
    curves = {a: train_agent(a, args, extra or []) for a in ("maml", "pretrained")}
    result = report(curves["maml"], curves["pretrained"], args.env)
    result["machine"] = {**describe(), "threads": args.threads}
    out = Path(args.out or f"docs/reproduce_maml_{args.env}.json")
    out.write_text(json.dumps(result, indent=1))
    print(markdown(result))
    print(f"written: {out}")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: the paired report of the nav runs (or ``--env``'s)."""
    reproduce(parser().parse_args(argv))
    return 0


if __name__ == "__main__":  # user errors (a corrupt checkpoint ...) as one line, exit 2
    raise SystemExit(cli.run_main(main, None))
