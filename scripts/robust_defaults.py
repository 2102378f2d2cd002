"""The bare defaults on families without a preset (issue 22): the example families in examples/.

Each family is trained with nothing but ``--steps`` (and ``--threads``), as a new user would:

    python -m metarl.train --agent rl2 --env examples.<module>:<Id> --steps 2000000 --threads 1 \\
        --out runs/defaults-<name>

into ``runs/defaults-<name>`` (``runs/defaults-maml-<name>`` with ``--agent maml``; resumed if it
stopped early, reused if finished), then the held-out normalized score of every point of the
curve (RL²: each episode of the trial; MAML: after each gradient step) is read from its
``eval/adaptation.json``, and also, scored on the most likely actions (``python -m
metarl.evaluate RUN --deterministic``, run here once a run has finished), from
``eval-deterministic/adaptation.json``. The ``before`` runs repeat the defaults of before
issue 22 with flags (``--reward-norm false --lr 3e-4 --ent-coef 0.01 --minibatches 4``: exactly
the old code path), the evidence that they fail.
Writes its rows into ``docs/robust_defaults.json`` (rows of families not run this time are kept)
and prints a markdown table.

    python scripts/robust_defaults.py                        # the four families, 2M env steps
    python scripts/robust_defaults.py --families windy-line --before
    python scripts/robust_defaults.py --report               # only read the finished runs
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from metarl.evaluation import AdaptationCurve
from metarl.machine import cpu_name
from metarl.runs import RunDir

FAMILIES = {
    "windy-line": "examples.windy_line:WindyLine-v0",
    "corner-grid": "examples.corner_grid:CornerGrid-v0",
    "mirrored-controls": "examples.mirrored_controls:MirroredControls-v1",
    "hidden-heading": "examples.hidden_heading:HiddenHeading-v0",
}
# RL²'s class defaults before issue 22, as flags: exactly the old code path.
OLD_DEFAULTS = ["--reward-norm", "false", "--lr", "3e-4", "--ent-coef", "0.01", "--minibatches",
                "4", "--init-log-std", "0", "--normalize-obs", "false"]  # fmt: skip
TARGET = 0.9  # normalized score at the last episode of the trial (issue 22)
ROOT = Path(__file__).resolve().parents[1]  # examples/ imports from here, as a user's cwd


def run_dir(args: argparse.Namespace, name: str, before: bool) -> Path:
    """Where the run of ``name`` lives: runs/defaults-[maml-]<name>[-before]."""
    agent = "" if args.agent == "rl2" else f"{args.agent}-"
    return Path(args.runs).resolve() / f"defaults-{agent}{name}{'-before' if before else ''}"


def train_family(args: argparse.Namespace, name: str, before: bool) -> Path:
    """Train (or resume, or reuse) one family's run with the user's command (``python -m
    metarl.train`` in the repository root); return its directory."""
    out = run_dir(args, name, before)
    if (out / "config.json").exists() and not (out / "checkpoint.pt").exists():
        shutil.rmtree(out)  # killed before its first checkpoint: nothing to keep
    if (out / "checkpoint.pt").exists():
        if _trained_steps(out) >= args.steps and (out / "eval" / "adaptation.json").exists():
            return out
        argv = ["--resume", str(out), "--steps", str(args.steps)]
    else:
        argv = ["--agent", args.agent, "--env", FAMILIES[name], "--steps", str(args.steps),
                "--threads", str(args.threads), "--out", str(out),
                *(OLD_DEFAULTS if before else [])]  # fmt: skip
    if subprocess.run([sys.executable, "-m", "metarl.train", *argv], cwd=ROOT).returncode != 0:
        raise SystemExit(f"training failed: {name}")
    return out


def evaluate_deterministic(out: Path) -> None:
    """Score a finished run's most likely actions into ``out/eval-deterministic``, once."""
    if (out / "eval-deterministic" / "adaptation.json").exists():
        return
    argv = [sys.executable, "-m", "metarl.evaluate", str(out), "--deterministic"]
    if subprocess.run(argv, cwd=ROOT).returncode != 0:
        raise SystemExit(f"evaluation failed: {out}")


def _trained_steps(out: Path) -> int:
    return int(RunDir(out).load_checkpoint()["agent"]["env_steps"])


def result(out: Path, name: str, before: bool) -> dict:
    """One row: the family, the command's settings, the normalized score of each episode."""
    curve = AdaptationCurve.load(out / "eval")
    norm = curve.normalized_mean
    if norm is None:
        raise SystemExit(f"{out}: the family states no random/oracle references")
    low, high = curve.normalized_ci_low, curve.normalized_ci_high
    assert low is not None and high is not None
    config = json.loads((out / "config.json").read_text())
    mean_action = out / "eval-deterministic"
    if (mean_action / "adaptation.json").exists():
        deterministic = AdaptationCurve.load(mean_action).normalized_mean
        assert deterministic is not None
        norm_det = {"normalized_deterministic": deterministic.tolist()}
    else:
        norm_det = {}
    return {
        "family": name, "env": config["env"], "defaults": "before" if before else "now",
        "run": str(out.relative_to(ROOT) if out.is_relative_to(ROOT) else out), "normalized": norm.tolist(),
        "normalized_ci95": ((high - low) / 2).tolist(), "mean_return": curve.mean.tolist(),
        "agent": "rl2" if config["config"] == "RL2Config" else "maml",
        **{k: config[k] for k in ("reward_norm", "lr", "ent_coef", "init_log_std",
                                  "normalize_obs") if k in config},
        "target_met": bool(norm[-1] >= TARGET), **norm_det, **curve.meta,
    }  # fmt: skip


def table(rows: list[dict]) -> str:
    """The markdown table of BENCHMARKS.md."""
    lines = [
        "| family | agent | defaults | first point | last point | target ≥ 0.9 "
        "| last point, most likely actions | env steps | wall |",
        "|---|---|---|---:|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        ep = [f"{m:.3f} ± {c:.3f}" for m, c in zip(r["normalized"], r["normalized_ci95"])]
        wall = r.get("train_wall_time_s", float("nan")) / 60
        det = r.get("normalized_deterministic")
        lines.append(
            f"| {r['family']} | {r['agent']} | {r['defaults']} | {ep[0]} | **{ep[-1]}** | "
            f"{'met' if r['target_met'] else 'not met'} | "
            f"{'-' if det is None else f'{det[-1]:.3f}'} | {r['train_env_steps']:,} | "
            f"{wall:.1f} min |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--families", nargs="*", default=list(FAMILIES), choices=list(FAMILIES))
    p.add_argument("--steps", type=int, default=2_000_000, help="env steps of each run")
    p.add_argument("--agent", default="rl2", choices=["rl2", "maml"])
    p.add_argument("--before", action="store_true", help="also RL²'s old defaults' runs")
    p.add_argument("--report", action="store_true", help="read finished runs, train nothing")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per run")
    p.add_argument("--runs", default="runs")
    p.add_argument("--json", default=None,
                   help="default docs/robust_defaults.json (rl2), docs/robust_defaults_maml.json")  # fmt: skip
    args = p.parse_args()
    if args.before and args.agent != "rl2":
        p.error("--before is RL²'s old defaults")
    args.json = args.json or f"docs/robust_defaults{'' if args.agent == 'rl2' else '_maml'}.json"
    rows = []
    for before in (False, True) if args.before else (False,):
        for name in args.families:
            out = run_dir(args, name, before)
            if not args.report:
                out = train_family(args, name, before)
                evaluate_deterministic(out)
            if (out / "eval" / "adaptation.json").exists():
                rows.append(result(out, name, before))
    print(f"{args.agent} bare defaults, held-out normalized score (95% CI), {cpu_name()}, "
          f"{time.strftime('%Y-%m-%d')}")  # fmt: skip
    print(table(rows))
    Path(args.json).write_text(
        json.dumps(merged(Path(args.json), rows), indent=1, default=float) + "\n"
    )


def merged(path: Path, rows: list[dict]) -> list[dict]:
    """The rows already in ``path`` that ``rows`` do not replace (same family, agent and
    defaults), then ``rows``: scoring some families keeps the others' results."""
    key = lambda r: (r["family"], r["agent"], r["defaults"])  # noqa: E731
    new = {key(r) for r in rows}
    old = json.loads(path.read_text()) if path.exists() else []
    return [r for r in old if key(r) not in new] + rows


if __name__ == "__main__":
    main()
