"""The classic tabular-MDP algorithms on the RL² paper's Table 2 protocol, next to its numbers.

Every cell is the total reward over the first ``n`` episodes (horizon 10) of a
:func:`metarl.baselines.classic.classic_curve` on ``--tasks`` held-out random MDPs
(``family_tasks("tabular-mdp", "test", N, seed)``, the tasks of ``python -m metarl.train --seed
SEED``: 10 states, 5 actions, μ ~ N(1, 1), flat Dirichlet transitions, rewards ~ N(μ, 1)): the
mean over tasks with its 95% bootstrap interval (:func:`metarl.evaluation.bootstrap_ci`). None
of these algorithms uses the trial's length, so the curve of ``n`` episodes is the first ``n``
points of the curve of ``max(n)``, and one curve per algorithm gives every ``n``. OPSRL's number
of samples, UCRL2's confidence scale and BEB's bonus are tuned per ``n`` on ``--tune-tasks``
*training* MDPs (another env seed), as the paper tuned its baselines; the paper's ε-greedy and
greedy columns sit next to the ``-empirical`` variants.

    python scripts/classic_mdps.py [--episodes 10 25 50 75 100] [--tasks 1000] [--seed 0]
                                   [--json docs/classic_mdps.json]
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
from metarl.envs import family_tasks, make_family
from metarl.evaluation import AdaptationCurve, bootstrap_ci, format_ci
from metarl.machine import cpu_name

EPISODES = (10, 25, 50, 75, 100)
PAPER = {  # RL² paper (Duan et al. 2016), Table 2
    10: {"random": 100.1, "psrl": 138.1, "opsrl-tuned": 144.1, "ucrl2-tuned": 146.6,
         "beb-tuned": 150.2, "eps-greedy-empirical": 132.8, "greedy-empirical": 134.8,
         "rl2": 156.2},
    25: {"random": 250.2, "psrl": 408.8, "opsrl-tuned": 425.2, "ucrl2-tuned": 424.1,
         "beb-tuned": 427.8, "eps-greedy-empirical": 377.3, "greedy-empirical": 368.8,
         "rl2": 445.7},
    50: {"random": 499.7, "psrl": 904.4, "opsrl-tuned": 930.7, "ucrl2-tuned": 918.9,
         "beb-tuned": 917.8, "eps-greedy-empirical": 823.3, "greedy-empirical": 769.3,
         "rl2": 936.1},
    75: {"random": 749.9, "psrl": 1417.1, "opsrl-tuned": 1449.2, "ucrl2-tuned": 1427.6,
         "beb-tuned": 1422.6, "eps-greedy-empirical": 1293.9, "greedy-empirical": 1172.9,
         "rl2": 1428.8},
    100: {"random": 999.4, "psrl": 1939.5, "opsrl-tuned": 1973.9, "ucrl2-tuned": 1942.1,
          "beb-tuned": 1935.1, "eps-greedy-empirical": 1778.2, "greedy-empirical": 1578.5,
          "rl2": 1913.7},
}  # fmt: skip
COLUMNS = {
    "random": "Random", "psrl": "PSRL", "opsrl-tuned": "OPSRL (K tuned)",
    "ucrl2-tuned": "UCRL2 (scale tuned)", "beb-tuned": "BEB (β tuned)",
    "eps-greedy-empirical": "ε-Greedy (empirical, ε=0.1)", "greedy-empirical": "Greedy (empirical)",
    "ucrl2": "UCRL2 (scale 1)", "eps-greedy": "ε-Greedy (posterior, ε=0.1)",
    "greedy": "Greedy (posterior)", "greedy-myopic": "Greedy (posterior, myopic)",
    "oracle": "Oracle (knows the MDP)",
}  # fmt: skip
TUNED = {"opsrl-tuned": ("opsrl", "samples"), "ucrl2-tuned": ("ucrl2", "scale"),
         "beb-tuned": ("beb", "bonus")}  # fmt: skip
GRIDS = {
    "samples": (2, 5, 10, 20),
    "scale": (0.01, 0.03, 0.1, 0.3, 1.0),
    "bonus": (0.1, 0.3, 1.0, 3.0),
}
TUNE_SEED_OFFSET = 1_000_000  # the tuning runs' env and policy seed: seed + this


def summarize(totals: np.ndarray) -> dict[str, float]:
    """Mean and 95% bootstrap interval of per-task totals ``(T,)``."""
    low, high = bootstrap_ci(totals)
    return {"mean": float(totals.mean()), "ci_low": float(low), "ci_high": float(high)}


def prefix_totals(curve: AdaptationCurve, n: int) -> np.ndarray:
    """``(T,)`` total reward of the first ``n`` episodes: the total of the curve of ``n``."""
    return curve.returns[:, :n].sum(axis=1)


def tune(
    algo: str, name: str, episodes: Sequence[int], num_tasks: int, seed: int
) -> dict[int, Any]:
    """Per ``n``, the value of ``algo``'s parameter ``name`` of the best mean total over the
    first ``n`` episodes on ``num_tasks`` training MDPs; with every candidate's means."""
    train = family_tasks("tabular-mdp", "train", num_tasks, seed=seed)
    longest, means = max(episodes), {}
    for value in GRIDS[name]:
        curve = classic_curve(
            algo, "tabular-mdp", {}, train, longest, seed + TUNE_SEED_OFFSET, params={name: value}
        )
        means[value] = {n: float(prefix_totals(curve, n).mean()) for n in episodes}
    best = {n: max(means, key=lambda v: means[v][n]) for n in episodes}
    return {"best": best, "train_means": means}


def run(episodes: Sequence[int], num_tasks: int, seed: int, tune_tasks: int) -> dict:
    """Every column for ``max(episodes)`` episodes; totals of the first ``n`` for each ``n``."""
    tasks = family_tasks("tabular-mdp", "test", num_tasks, seed=seed)
    family = make_family("tabular-mdp")
    oracle = float(np.mean([family.oracle_return(t) for t in tasks]))
    random_ref = float(np.mean([family.random_return(t) for t in tasks]))
    longest = max(episodes)
    results: dict[str, dict] = {}
    for column in COLUMNS:
        t0 = time.perf_counter()
        algo, chosen = column, {n: None for n in episodes}
        tuning = None
        if column in TUNED:
            algo, name = TUNED[column]
            tuning = tune(algo, name, episodes, tune_tasks, seed)
            chosen = tuning["best"]
        curves = {}
        for value in dict.fromkeys(chosen.values()):
            params = {} if value is None else {TUNED[column][1]: value}
            curves[value] = classic_curve(algo, "tabular-mdp", {}, tasks, longest, seed,
                                          params=params)  # fmt: skip
        totals = {n: {**summarize(prefix_totals(curves[chosen[n]], n)), "param": chosen[n]}
                  for n in episodes}  # fmt: skip
        first = curves[chosen[episodes[0]]]
        results[column] = {
            "totals": totals, "params": first.meta["params"], "tuning": tuning,
            "episode_means": first.mean.tolist(), "wall_s": time.perf_counter() - t0,
        }  # fmt: skip
        print(f"{column}: {results[column]['wall_s']:.1f} s", flush=True)
    return {"results": results, "oracle_per_episode": oracle, "random_per_episode": random_ref}


def markdown(out: dict, episodes: Sequence[int]) -> str:
    """The table: one metarl row (mean ± 95% half-width) and one paper row per ``n``."""
    lines = ["| n | | " + " | ".join(COLUMNS.values()) + " |", "|" + "---|" * (len(COLUMNS) + 2)]
    for n in episodes:
        cells = [out["results"][c]["totals"][n] for c in COLUMNS]
        ours = [format_ci(c["mean"], c["ci_low"], c["ci_high"]) for c in cells]
        paper = [str(PAPER.get(n, {}).get(c, "")) for c in COLUMNS]
        lines.append(f"| {n} | metarl | " + " | ".join(ours) + " |")
        lines.append("| | paper | " + " | ".join(paper) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Run and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, nargs="+", default=list(EPISODES))
    parser.add_argument("--tasks", type=int, default=1000, help="held-out MDPs")
    parser.add_argument("--tune-tasks", type=int, default=200, help="training MDPs for tuning")
    parser.add_argument("--seed", type=int, default=0, help="task split and env seed")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    episodes = sorted(set(args.episodes))
    t0 = time.perf_counter()
    out = run(episodes, args.tasks, args.seed, args.tune_tasks)
    print(markdown(out, episodes))
    print()
    print(
        f"per episode: random {out['random_per_episode']:.2f}, oracle (knows the MDP) "
        f"{out['oracle_per_episode']:.2f} (exact, by dynamic programming)"
    )
    for name, r in out["results"].items():
        means = " ".join(f"{m:.1f}" for m in r["episode_means"][:10])
        tuned = f"; tuned per n: {r['tuning']['best']}" if r["tuning"] else ""
        print(f"{name}: {r['wall_s']:.1f} s{tuned}; episodes 1-10: {means}")
    wall = time.perf_counter() - t0
    machine = cpu_name()
    print(f"{args.tasks} held-out MDPs, seed {args.seed}; total {wall:.1f} s on {machine}, "
          f"{time.strftime('%Y-%m-%d')}")  # fmt: skip
    if args.json:
        data = {**vars(args), "wall_s": wall, "machine": machine,
                "date": time.strftime("%Y-%m-%d"), **out}  # fmt: skip
        Path(args.json).write_text(json.dumps(data, indent=1, default=float))


if __name__ == "__main__":
    main()
