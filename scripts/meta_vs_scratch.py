"""Meta vs scratch: env steps on a new task that learning from scratch needs to match adaptation.

On the first ``--tasks`` held-out tasks of seed 0 of ``--env`` (the same tasks every metarl run
of seed 0 holds out), this script

1. takes the committed adaptation curves of the meta-learners (:data:`META`: on nav RL²'s
   ``docs/results/rl2-nav`` and MAML's ``docs/results/maml-nav-12m/eval-later-steps-0.02``, on
   cheetah-vel and cheetah-dir RL²'s ``docs/results/rl2-cheetah-{vel,dir}`` and MAML's
   ``docs/results/maml-cheetah-{vel,dir}/eval``, on ant-dir RL²'s and MAML's
   ``docs/results/{rl2,maml}-ant-dir-std-1/eval``), cut to those
   tasks (their returns are per task, so the cut is exact; their ``env_steps`` stay the mean
   over all their tasks);
2. runs ``python -m metarl.baselines --algo ALGO`` (SB3 from scratch on each goal alone) for each
   of ``--algos`` with ``--steps`` env steps per goal, into ``--out`` (a run there is resumed,
   and grown with ``--eval-tasks`` when it holds fewer tasks; one with more is cut to them);
3. for each target — on nav the return RL² reaches in its episode 2, on the MuJoCo families
   RL²'s episode 1 (its episode 2 is no better), and on every family the one MAML reaches after
   one gradient step —
   finds the env steps each from-scratch curve needs to first reach it (at its
   first evaluated point at or above it, :func:`metarl.compare.steps_to`) and the ratio to the
   meta-learner's env steps on the new task, as a range from the point before, still below
   (:func:`metarl.compare.last_below`: the curve crossed the target between the two; ``--eval-at``
   narrows it); a target not reached within the budget gives a
   lower bound (the budget over the meta-learner's steps), or none when that budget is below
   the meta-learner's steps;
   with ``multitask`` among ``--algos`` (the task-blind policy, fine-tuned), also RL²'s target
   point minus the task-blind policy before fine-tuning, paired by task with its 95% interval;
4. writes ``--json``, prints a markdown table of the ratios, and draws one ``metarl.compare``
   plot of all curves (``OUT/meta_vs_scratch.png``).

    python scripts/meta_vs_scratch.py --tasks 20 --algos ppo sac --steps 50k --out runs/mvs
    python scripts/meta_vs_scratch.py --env cheetah-vel --tasks 5 --algos ppo --steps 20k
    python scripts/meta_vs_scratch.py --env cheetah-vel --tasks 40 --algos multitask --steps 2k \
        --pretrain-steps 1M
    python scripts/meta_vs_scratch.py --env ant-dir --tasks 5 --algos ppo sac --steps 20k --threads 1
    python scripts/meta_vs_scratch.py --env cheetah-dir --tasks 5 --algos sac --steps 50k \
        --eval-at 25k 30k 35k 40k 45k      # the from-scratch curve every 5k from 20k on
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from metarl import cli, compare
from metarl.evaluation import AdaptationCurve, bootstrap_ci, plot_curves

ROOT = Path(__file__).resolve().parents[1]
META = {
    "nav": {
        "rl2": (ROOT / "docs/results/rl2-nav", 1, "RL² episode 2"),
        "maml": (ROOT / "docs/results/maml-nav-12m/eval-later-steps-0.02", 1, "MAML after 1 step"),
    },
    "cheetah-vel": {
        "rl2": (ROOT / "docs/results/rl2-cheetah-vel", 0, "RL² episode 1"),
        "maml": (ROOT / "docs/results/maml-cheetah-vel/eval", 1, "MAML after 1 step"),
    },
    "cheetah-dir": {
        "rl2": (ROOT / "docs/results/rl2-cheetah-dir", 0, "RL² episode 1"),
        "maml": (ROOT / "docs/results/maml-cheetah-dir/eval", 1, "MAML after 1 step"),
    },
    "ant-dir": {
        "rl2": (ROOT / "docs/results/rl2-ant-dir-std-1/eval", 0, "RL² episode 1"),
        "maml": (ROOT / "docs/results/maml-ant-dir-std-1/eval", 1, "MAML after 1 step"),
    },
}
"""env -> name -> (curve folder, index of the point whose return is the target, what it is)."""


def first_tasks(curve: AdaptationCurve, n: int) -> AdaptationCurve:
    """``curve`` on its first ``n`` tasks (returns and references per task; ``env_steps`` kept)."""
    if curve.num_tasks < n:
        cli.fail(f"{curve.agent}'s curve has {curve.num_tasks} held-out tasks, fewer than "
                 f"--tasks {n}: give --tasks {curve.num_tasks} or fewer")  # fmt: skip
    cut = {k: getattr(curve, k)[:n] for k in ("random_returns", "oracle_returns")
           if getattr(curve, k) is not None}  # fmt: skip
    return dataclasses.replace(curve, returns=curve.returns[:n], tasks=curve.tasks[:n], **cut)


def run_baseline(
    env: str,
    algo: str,
    tasks: int,
    steps: int,
    out: Path,
    log: Path,
    extra: Sequence[str] = (),
    resume_extra: Sequence[str] = (),
) -> AdaptationCurve:
    """``python -m metarl.baselines`` for ``algo`` on the tasks (resumed if begun, grown by
    ``--eval-tasks`` if finished on fewer); ``extra`` are more flags for a new run
    (``--pretrain-steps`` for multitask, ``--threads``), ``resume_extra`` those a resume may
    change (``--threads``)."""
    folder = out / f"{algo}-{env}-0"
    config = folder / "config.json"
    have = json.loads(config.read_text())["eval_tasks"] if config.is_file() else 0
    if have >= tasks and (folder / "eval" / "adaptation.json").is_file():
        return AdaptationCurve.load(folder / "eval")
    grow = ["--eval-tasks", str(tasks)] if have < tasks else []
    argv = ["--resume", str(folder), *grow, *resume_extra] if have else [
        "--algo", algo, "--env", env, "--eval-tasks", str(tasks), "--steps", str(steps),
        "--out", str(folder), *extra]  # fmt: skip
    with log.open("a") as f:
        done = subprocess.run([sys.executable, "-m", "metarl.baselines", *argv], cwd=ROOT,
                              stdout=f, stderr=subprocess.STDOUT)  # fmt: skip
    if done.returncode != 0:
        cli.fail(f"metarl.baselines --algo {algo} stopped (exit {done.returncode}): its output is "
                 f"in {log}; rerun this command to go on from {folder}", done.returncode)  # fmt: skip
    return AdaptationCurve.load(folder / "eval")


def ratios(
    meta: dict[str, AdaptationCurve], scratch: dict[str, AdaptationCurve], env: str = "nav"
) -> list[dict]:
    """One row per (target, from-scratch algo): env steps to the target and the ratio."""
    rows = []
    for name, curve in meta.items():
        _, point, what = META[env][name]
        target, meta_steps = float(curve.mean[point]), float(curve.env_steps[point])
        for algo, base in scratch.items():
            steps = compare.steps_to(base, target)
            before = compare.last_below(base, target)
            budget = float(base.env_steps[-1])
            rows.append({
                "target": what, "target_return": target, "meta_env_steps": meta_steps,
                "algo": algo, "scratch_env_steps": steps, "scratch_last_below": before,
                "ratio_from": None if before is None else before / meta_steps,
                "scratch_budget": budget,
                "scratch_best_return": float(base.mean.max()),
                "ratio": None if steps is None else steps / meta_steps,
                "ratio_at_least": _lower_bound(steps, budget, meta_steps),
            })  # fmt: skip
    return rows


def _lower_bound(steps: float | None, budget: float, meta_steps: float) -> float | None:
    """The ratio's lower bound when the target was not reached: the budget over the meta-learner's
    env steps. None when it was reached, and when the budget is below the meta-learner's steps,
    where "more than a fraction" bounds nothing (from scratch might still be the faster)."""
    return budget / meta_steps if steps is None and budget >= meta_steps else None


def against_blind(rl2: AdaptationCurve, multitask: AdaptationCurve, point: int) -> dict:
    """RL²'s return at ``point`` minus the task-blind policy's before fine-tuning, task by task.

    Both curves are on the same tasks in the same order; returns the mean difference per episode,
    its 95% bootstrap interval over tasks (:func:`metarl.evaluation.bootstrap_ci`) and whether
    the interval lies above zero (the issue's "outside the paired 95% interval").
    """
    diff = rl2.returns[:, point] - multitask.returns[:, 0]
    low, high = bootstrap_ci(diff)
    return {"rl2": float(rl2.mean[point]), "multitask_untuned": float(multitask.mean[0]),
            "difference": float(diff.mean()), "low": float(low), "high": float(high),
            "rl2_above": bool(low > 0)}  # fmt: skip


def markdown(rows: list[dict]) -> str:
    """The table for docs/BENCHMARKS.md."""
    lines = ["| target (mean return) | meta env steps | from scratch | env steps to the target "
             "| ratio |", "|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        before = r.get("scratch_last_below")
        after = "" if before is None else f" (after {before:,.0f}, below)"
        reached = (f"{r['scratch_env_steps']:,.0f}{after}" if r["ratio"] is not None
                   else f"not within {r['scratch_budget']:,.0f} (best {r['scratch_best_return']:.2f})")  # fmt: skip
        ratio = (
            f"{r['ratio_from']:,.3g}–{r['ratio']:,.3g}×" if r.get("ratio_from") is not None
            else f"{r['ratio']:,.3g}×" if r["ratio"] is not None
            else f"> {r['ratio_at_least']:,.3g}×" if r["ratio_at_least"] is not None
            else "no bound (budget below the meta-learner's env steps)"
        )  # fmt: skip
        lines.append(f"| {r['target']} ({r['target_return']:.2f}) | {r['meta_env_steps']:,.0f} "
                     f"| {r['algo']} | {reached} | {ratio} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    """Entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", choices=list(META), default="nav")
    p.add_argument("--tasks", type=int, default=20, help="held-out tasks (the first N of seed 0)")
    p.add_argument("--algos", nargs="+", default=["ppo", "sac"])
    p.add_argument("--steps", type=cli.parse_count, default=50_000, help="env steps per goal")
    p.add_argument(
        "--pretrain-steps",
        type=cli.parse_count,
        default=0,
        help="multitask's task-blind pretraining (0: the rl2 preset's --steps)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        help="metarl.baselines --threads: worker processes, one task each (0: one per CPU)",
    )
    p.add_argument(
        "--eval-at",
        nargs="+",
        type=cli.parse_count,
        default=[],
        metavar="STEPS",
        help="metarl.baselines --eval-at for a new from-scratch run: more points of its curve "
        "(e.g. 30k 40k), so that the env steps to a target are known more finely",
    )
    p.add_argument("--out", default="runs/meta-vs-scratch")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    if args.threads < 0:
        cli.fail(f"--threads {args.threads}: give 0 (one worker per CPU) or a positive count")
    for name, (folder, _, _) in META[args.env].items():
        if not (folder / "adaptation.json").is_file():
            cli.fail(f"no {name} curve for {args.env} at {folder}: train and evaluate one there "
                     "first (docs/BENCHMARKS.md, 'Meta vs scratch')")  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    meta = {n: first_tasks(AdaptationCurve.load(f), args.tasks)
            for n, (f, _, _) in META[args.env].items()}  # fmt: skip
    extra = {"multitask": ["--pretrain-steps", str(args.pretrain_steps)]}
    threads = ["--threads", str(args.threads)]
    points = ["--eval-at", *map(str, args.eval_at)] if args.eval_at else []
    scratch = {a: first_tasks(run_baseline(args.env, a, args.tasks, args.steps, out,
                                           out / "baselines.log",
                                           [*extra.get(a, ()), *threads, *points], threads),
                              args.tasks)
               for a in args.algos}  # fmt: skip
    for curve in scratch.values():
        if curve.tasks != meta["rl2"].tasks:
            cli.fail(f"{curve.agent}'s held-out tasks differ from the meta-learners': delete its "
                     f"run in {out} to draw them again")  # fmt: skip
    rows = ratios(meta, scratch, args.env)
    curves = [*meta.values(), *scratch.values()]
    plot_curves(curves, out / "meta_vs_scratch.png", labels=[*meta, *scratch],
                title=f"{args.env}: {args.tasks} held-out tasks, env steps on the new task")  # fmt: skip
    result: dict[str, Any] = {
        "env": args.env, "tasks": args.tasks, "steps_per_task": args.steps,
        "eval_at": args.eval_at, "rows": rows,
        "wall_s": time.perf_counter() - start, "date": time.strftime("%Y-%m-%d"),
        "final_returns": {k: float(np.asarray(c.mean)[-1]) for k, c in zip([*meta, *scratch], curves)},
    }  # fmt: skip
    if "multitask" in scratch:
        point = META[args.env]["rl2"][1]
        gap = against_blind(meta["rl2"], scratch["multitask"], point)
        result["rl2_vs_multitask"] = gap
        print(f"RL² at point {point + 1} minus multitask untuned: {gap['difference']:+.2f} "
              f"[{gap['low']:+.2f}, {gap['high']:+.2f}] per episode")  # fmt: skip
    print(markdown(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
