"""The classic bandit algorithms on the RL² paper's Table 1 protocol, next to the paper's numbers.

Every cell is the total reward of a :func:`metarl.baselines.classic.classic_curve` (one trial of
n pulls = n episodes of one pull on each held-out bandit, ``family_tasks("bandit", "test", N,
seed, num_arms=k)``, arm means ~ U[0, 1], the very tasks of ``python -m metarl.train --seed
SEED``): the mean over tasks of ``curve.total_return()`` with its 95% bootstrap interval
(:func:`metarl.evaluation.bootstrap_ci`). Besides each algorithm's default setting, UCB1's ``c``
and ε-greedy's ``ε`` are tuned on as many *training* bandits (another env seed) and the best
value is run on the held-out ones. Where ``--rl2-results`` holds an RL² run of the setting
(``rl2-bandit-n{n}-k{k}/adaptation.json`` on the same tasks), its total is shown beside them;
otherwise the command that trains it.

    python scripts/classic_bandits.py [--settings 10,5 100,10] [--tasks 1000] [--seed 0]
                                      [--json docs/classic_bandits.json]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from metarl.baselines.classic import classic_curve
from metarl.envs import family_tasks
from metarl.evaluation import AdaptationCurve, bootstrap_ci, format_ci
from metarl.machine import cpu_name

SETTINGS = tuple((n, k) for n in (10, 100, 500) for k in (5, 10, 50))
PAPER = {  # RL² paper (Duan et al. 2016), Table 1
    (10, 5): {"random": 5.0, "gittins": 6.6, "thompson": 5.7, "ots": 6.5, "ucb1": 6.7,
              "eps-greedy": 6.6, "greedy": 6.6, "rl2": 6.7},
    (10, 10): {"random": 5.0, "gittins": 6.6, "thompson": 5.5, "ots": 6.2, "ucb1": 6.7,
               "eps-greedy": 6.6, "greedy": 6.6, "rl2": 6.7},
    (10, 50): {"random": 5.1, "gittins": 6.5, "thompson": 5.2, "ots": 5.5, "ucb1": 6.6,
               "eps-greedy": 6.5, "greedy": 6.5, "rl2": 6.8},
    (100, 5): {"random": 49.9, "gittins": 78.3, "thompson": 74.7, "ots": 77.9, "ucb1": 78.0,
               "eps-greedy": 75.4, "greedy": 74.8, "rl2": 78.7},
    (100, 10): {"random": 49.9, "gittins": 82.8, "thompson": 76.7, "ots": 81.4, "ucb1": 82.4,
                "eps-greedy": 77.4, "greedy": 77.1, "rl2": 83.5},
    (100, 50): {"random": 49.8, "gittins": 85.2, "thompson": 64.5, "ots": 67.7, "ucb1": 84.3,
                "eps-greedy": 78.3, "greedy": 78.0, "rl2": 84.9},
    (500, 5): {"random": 249.8, "gittins": 405.8, "thompson": 402.0, "ots": 406.7,
               "ucb1": 405.8, "eps-greedy": 388.2, "greedy": 380.6, "rl2": 401.6},
    (500, 10): {"random": 249.0, "gittins": 437.8, "thompson": 429.5, "ots": 438.9,
                "ucb1": 437.1, "eps-greedy": 408.0, "greedy": 395.0, "rl2": 432.5},
    (500, 50): {"random": 249.6, "gittins": 463.7, "thompson": 427.2, "ots": 437.6,
                "ucb1": 457.6, "eps-greedy": 413.6, "greedy": 402.8, "rl2": 438.9},
}  # fmt: skip
COLUMNS = {
    "random": "Random", "gittins": "Gittins", "thompson": "TS", "ots": "OTS", "ucb1": "UCB1",
    "eps-greedy": "ε-Greedy", "greedy": "Greedy", "ucb1-tuned": "UCB1 (c tuned)",
    "eps-greedy-tuned": "ε-Greedy (ε tuned)", "oracle": "Oracle (best arm)",
}  # fmt: skip
TUNED = {"ucb1-tuned": ("ucb1", "c"), "eps-greedy-tuned": ("eps-greedy", "epsilon")}
GRIDS = {
    "c": (0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0**0.5),
    "epsilon": (0.0, 0.01, 0.02, 0.05, 0.1, 0.2),
}
TUNE_SEED_OFFSET = 1_000_000  # the tuning runs' env and policy seed: seed + this
# The Gittins table costs ~ grid · n³: 1024 retirement rewards up to n = 100 (10 s), 128 at
# n = 500 (the n = 100, k = 5 row gives 79.330 with 1024 and 79.328 with 128).
GITTINS_GRID = {10: 1024, 100: 1024, 500: 128}


def rl2_command(n: int, k: int, seed: int) -> str:
    """The ``metarl.train`` command of the RL² run of one setting (as the existing runs)."""
    return (
        f"python -m metarl.train --agent rl2 --env bandit --env-kwargs num_arms={k} "
        f"--episodes-per-trial {n} --steps {RL2_STEPS[(n, k)]} --seed {seed} --eval-tasks 1000 "
        f"--reward-scale {min(1.0, 10 / n):g} --out runs/repro-bandit-n{n}-k{k}-s{seed}"
    )


# Env steps of the RL² runs: measured where a run exists (docs/BENCHMARKS.md), scaled from them
# for the others (more arms, more steps; n = 500: 5x the pulls of n = 100 per trial).
RL2_STEPS = {
    (10, 5): 5_000_000, (10, 10): 10_000_000, (10, 50): 20_000_000,
    (100, 5): 30_000_000, (100, 10): 50_000_000, (100, 50): 150_000_000,
    (500, 5): 150_000_000, (500, 10): 250_000_000, (500, 50): 500_000_000,
}  # fmt: skip


def summarize(totals: np.ndarray) -> dict[str, float]:
    """Mean and 95% bootstrap interval of per-task totals ``(T,)``."""
    low, high = bootstrap_ci(totals)
    return {"mean": float(totals.mean()), "ci_low": float(low), "ci_high": float(high)}


def tune(algo: str, name: str, tasks: list, n: int, k: int, seed: int) -> tuple[float, dict]:
    """The value of parameter ``name`` of ``algo`` with the best mean total on ``tasks``."""
    means = {
        v: float(
            classic_curve(
                algo, "bandit", {"num_arms": k}, tasks, n, seed + TUNE_SEED_OFFSET,
                params={name: v},
            ).total_return().mean()
        )
        for v in GRIDS[name]
    }  # fmt: skip
    return max(means, key=means.__getitem__), means


def setting_curves(
    n: int, k: int, num_tasks: int, seed: int
) -> tuple[dict[str, AdaptationCurve], dict[str, Any]]:
    """Every column's curve on the held-out bandits of one setting, and the tuning record."""
    test = family_tasks("bandit", "test", num_tasks, seed=seed, num_arms=k)
    train = family_tasks("bandit", "train", num_tasks, seed=seed, num_arms=k)
    tuning: dict[str, Any] = {}
    curves = {}
    for column in COLUMNS:
        algo, params = column, {}
        if column in TUNED:
            algo, name = TUNED[column]
            best, means = tune(algo, name, train, n, k, seed)
            params, tuning[column] = {name: best}, {"best": best, "train_means": means}
        if algo == "gittins":
            params = {"grid": GITTINS_GRID.get(n, 1024)}
        t0 = time.perf_counter()
        curves[column] = classic_curve(
            algo, "bandit", {"num_arms": k}, test, n, seed, params=params
        )
        tuning.setdefault("wall_s", {})[column] = time.perf_counter() - t0
    return curves, tuning


def rl2_cell(n: int, k: int, seed: int, curves: dict, results_dir: Path | None) -> dict:
    """The RL² run's total on the same tasks where one is in ``results_dir``, else its command."""
    path = (
        None if results_dir is None else results_dir / f"rl2-bandit-n{n}-k{k}" / "adaptation.json"
    )
    if path is None or not path.is_file():
        return {"command": rl2_command(n, k, seed), "env_steps": RL2_STEPS[(n, k)]}
    rl2 = AdaptationCurve.load(path)
    if rl2.tasks != curves["random"].tasks or rl2.seed != seed:
        raise SystemExit(f"{path} is not on the held-out bandits of seed {seed}")
    return {**summarize(rl2.total_return()), "run": str(path.parent),
            "env_steps": rl2.meta.get("train_env_steps")}  # fmt: skip


def run_setting(
    n: int, k: int, num_tasks: int, seed: int, results_dir: Path | None = None
) -> dict[str, Any]:
    """One (n, k) row: every column's mean total and 95% interval, tuned values, wall time."""
    t0 = time.perf_counter()
    curves, tuning = setting_curves(n, k, num_tasks, seed)
    results = {c: summarize(curve.total_return()) for c, curve in curves.items()}
    for column, curve in curves.items():
        results[column]["params"] = curve.meta["params"]
    return {
        "n": n, "k": k, "results": results, "paper": PAPER.get((n, k), {}), "tuning": tuning,
        "rl2": rl2_cell(n, k, seed, curves, results_dir), "wall_s": time.perf_counter() - t0,
    }  # fmt: skip


def cell(stats: dict) -> str:
    """``mean ± half-width`` of a result, or ``—`` without one."""
    if "mean" not in stats:
        return "—"
    return format_ci(stats["mean"], stats["ci_low"], stats["ci_high"])


def markdown(rows: list[dict]) -> str:
    """The table: one metarl row and one paper row per setting."""
    head = "| n, k | | " + " | ".join(COLUMNS.values()) + " | RL² |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 3)]
    for row in rows:
        ours = [cell(row["results"][c]) for c in COLUMNS]
        rl2 = cell(row["rl2"]) if "mean" in row["rl2"] else "not run (below)"
        paper = [str(row["paper"].get(c, "")) for c in COLUMNS]
        lines.append(f"| {row['n']}, {row['k']} | metarl | " + " | ".join(ours) + f" | {rl2} |")
        lines.append("| | paper | " + " | ".join(paper) + f" | {row['paper'].get('rl2', '')} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Run every setting and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="*", default=[f"{n},{k}" for n, k in SETTINGS],
                        metavar="N,K", help="(pulls, arms) settings; default: all nine")  # fmt: skip
    parser.add_argument("--tasks", type=int, default=1000, help="held-out bandits per setting")
    parser.add_argument("--seed", type=int, default=0, help="task split and env seed")
    parser.add_argument("--rl2-results", default="docs/results",
                        help="folder of the RL² runs' curves (rl2-bandit-n{n}-k{k}/)")  # fmt: skip
    parser.add_argument("--json", default=None,
                        help="also write the results into this JSON file (keeping the rows of "
                             "settings not run now)")  # fmt: skip
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    results_dir = Path(args.rl2_results) if args.rl2_results else None
    rows = []
    for setting in args.settings:
        n, k = (int(v) for v in setting.split(","))
        rows.append(run_setting(n, k, args.tasks, args.seed, results_dir))
        print(f"n={n}, k={k}: {rows[-1]['wall_s']:.1f} s", flush=True)
    print(markdown(rows))
    print()
    for row in rows:
        tuned = ", ".join(f"{c}: {t['best']:.3g}" for c, t in row["tuning"].items() if c in TUNED)
        print(f"n={row['n']}, k={row['k']}: tuned on training bandits {tuned}; "
              f"{row['wall_s']:.1f} s")  # fmt: skip
        if "command" in row["rl2"]:
            print(f"  RL² not run: {row['rl2']['command']}")
    wall = time.perf_counter() - t0
    machine = cpu_name()
    print(f"{args.tasks} held-out bandits per setting, seed {args.seed}; total {wall:.1f} s on "
          f"{machine}, {time.strftime('%Y-%m-%d')}")  # fmt: skip
    if args.json:
        out = {"tasks": args.tasks, "seed": args.seed, "wall_s": wall, "machine": machine,
               "date": time.strftime("%Y-%m-%d"),
               "rows": merged_rows(Path(args.json), rows)}  # fmt: skip
        Path(args.json).write_text(json.dumps(out, indent=1, default=float))


def merged_rows(path: Path, rows: list[dict]) -> list[dict]:
    """The rows of ``path`` (if it exists) with the settings of ``rows`` replaced or added, in
    (n, k) order: rerunning some settings keeps the others' results. ``wall_s`` and ``date`` of
    the file are those of the latest run; each row keeps its own ``wall_s``."""
    by_setting: dict[tuple[int, int], dict] = {}
    if path.exists():
        by_setting = {(r["n"], r["k"]): r for r in json.loads(path.read_text())["rows"]}
    by_setting.update({(r["n"], r["k"]): r for r in rows})
    return [by_setting[key] for key in sorted(by_setting)]


if __name__ == "__main__":
    main()
