"""The classic tabular-MDP algorithms on the RL² paper's Table 2 protocol, next to its numbers.

Mean total reward over ``n`` episodes (horizon 10) on ``--tasks`` held-out random MDPs
(``family_tasks("tabular-mdp", "test", N, seed)``: 10 states, 5 actions, μ ~ N(1, 1), flat
Dirichlet transitions, rewards ~ N(μ, 1)), with 95% confidence half-widths. None of these
algorithms uses the number of episodes, so one run of ``max(n)`` episodes gives every ``n`` as a
prefix. The paper's ε-greedy and greedy columns sit next to the ``-empirical`` variants.

    python scripts/classic_mdps.py [--episodes 10 25] [--tasks 1000] [--seed 0] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Sequence

import numpy as np

from metarl.baselines import classic
from metarl.envs import family_tasks, make_family

PAPER = {  # RL² paper (Duan et al. 2016), Table 2
    10: {"random": 100.1, "psrl": 138.1, "eps-greedy-empirical": 132.8,
         "greedy-empirical": 134.8, "rl2": 156.2},
    25: {"random": 250.2, "psrl": 408.8, "eps-greedy-empirical": 377.3,
         "greedy-empirical": 368.8, "rl2": 445.7},
    50: {"random": 499.7, "psrl": 904.4, "eps-greedy-empirical": 823.3,
         "greedy-empirical": 769.3, "rl2": 936.1},
}  # fmt: skip
COLUMNS = {
    "random": "Random", "psrl": "PSRL", "eps-greedy-empirical": "ε-Greedy (empirical, ε=0.1)",
    "greedy-empirical": "Greedy (empirical)", "eps-greedy": "ε-Greedy (posterior, ε=0.1)",
    "greedy": "Greedy (posterior)", "greedy-myopic": "Greedy (posterior, myopic)",
}  # fmt: skip


def run(episodes: Sequence[int], num_tasks: int, seed: int) -> dict:
    """Every algorithm for ``max(episodes)`` episodes; totals of the first ``n`` for each ``n``."""
    tasks = family_tasks("tabular-mdp", "test", num_tasks, seed=seed)
    family = make_family("tabular-mdp")
    oracle = float(np.mean([family.oracle_return(t) for t in tasks]))
    random_ref = float(np.mean([family.random_return(t) for t in tasks]))
    longest = max(episodes)
    results: dict[str, dict] = {}
    for i, name in enumerate(COLUMNS):
        t0 = time.perf_counter()
        rng = np.random.default_rng([0xC1A55, seed, 3, i])
        res = classic.evaluate_mdp(classic.MDP_ALGORITHMS[name], tasks, longest, rng, seed=seed)
        per_n = {}
        for n in episodes:
            mean, half = classic.mean_ci(res.episode_returns[:, :n].sum(axis=1))
            per_n[n] = {"mean": mean, "ci95": half}
        results[name] = {
            "totals": per_n,
            "episode_means": res.episode_returns.mean(axis=0).tolist(),
            "wall_s": time.perf_counter() - t0,
        }
    return {"results": results, "oracle_per_episode": oracle, "random_per_episode": random_ref}


def markdown(out: dict, episodes: Sequence[int]) -> str:
    """The table: one metarl row (mean ± 95% half-width) and one paper row per ``n``."""
    lines = ["| n | | " + " | ".join(COLUMNS.values()) + " |", "|" + "---|" * (len(COLUMNS) + 2)]
    for n in episodes:
        cells = [out["results"][c]["totals"][n] for c in COLUMNS]
        ours = [f"{c['mean']:.1f} ± {c['ci95']:.1f}" for c in cells]
        paper = [str(PAPER.get(n, {}).get(c, "")) for c in COLUMNS]
        lines.append(f"| {n} | metarl | " + " | ".join(ours) + " |")
        lines.append("| | paper | " + " | ".join(paper) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Run and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, nargs="+", default=[10, 25])
    parser.add_argument("--tasks", type=int, default=1000, help="held-out MDPs")
    parser.add_argument("--seed", type=int, default=0, help="task split and env seed")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    out = run(args.episodes, args.tasks, args.seed)
    print(markdown(out, args.episodes))
    print()
    print(
        f"per episode: random {out['random_per_episode']:.2f}, oracle (knows the MDP) "
        f"{out['oracle_per_episode']:.2f} (exact, by dynamic programming)"
    )
    for name, r in out["results"].items():
        means = " ".join(f"{m:.1f}" for m in r["episode_means"])
        print(f"{name}: {r['wall_s']:.1f} s; mean return of episode 1..: {means}")
    wall = time.perf_counter() - t0
    print(f"{args.tasks} held-out MDPs, seed {args.seed}; total {wall:.1f} s on "
          f"{platform.processor() or platform.machine()}")  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump({**vars(args), "wall_s": wall, **out}, f, indent=1)


if __name__ == "__main__":
    main()
