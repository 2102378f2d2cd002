"""The classic bandit algorithms on the RL² paper's Table 1 protocol, next to the paper's numbers.

Mean total reward over ``--tasks`` held-out bandits (``family_tasks("bandit", "test", N, seed)``,
arm means ~ U[0, 1]) with 95% confidence half-widths. Besides each algorithm's default setting,
UCB1's ``c`` and ε-greedy's ``ε`` are tuned on as many *training* bandits (another env seed) and
the best value is evaluated on the held-out ones.

    python scripts/classic_bandits.py [--tasks 1000] [--seed 0] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from collections.abc import Callable, Sequence

import numpy as np

from metarl.baselines import classic
from metarl.envs import family_tasks

SETTINGS = ((10, 5), (100, 5), (100, 10))
PAPER = {  # RL² paper (Duan et al. 2016), Table 1
    (10, 5): {"random": 5.0, "gittins": 6.6, "ts": 5.7, "ots": 6.5, "ucb1": 6.7,
              "eps-greedy": 6.6, "greedy": 6.6, "rl2": 6.7},
    (100, 5): {"random": 49.9, "gittins": 78.3, "ts": 74.7, "ots": 77.9, "ucb1": 78.0,
               "eps-greedy": 75.4, "greedy": 74.8, "rl2": 78.7},
    (100, 10): {"random": 49.9, "gittins": 82.8, "ts": 76.7, "ots": 81.4, "ucb1": 82.4,
                "eps-greedy": 77.4, "greedy": 77.1, "rl2": 83.5},
}  # fmt: skip
COLUMNS = {
    "random": "Random", "gittins": "Gittins", "ts": "TS", "ots": "OTS", "ucb1": "UCB1",
    "eps-greedy": "ε-Greedy", "greedy": "Greedy", "ucb1-tuned": "UCB1 (c tuned)",
    "eps-greedy-tuned": "ε-Greedy (ε tuned)",
}  # fmt: skip
UCB_C = (0.05, 0.1, 0.2, 0.3, 0.5, 1.0, math.sqrt(2.0))
EPSILONS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2)
TUNE_ENV_SEED = 1_000_000


def policy_rng(*words: int) -> np.random.Generator:
    """A generator for the policies, never the stream of a task split (those use two words)."""
    return np.random.default_rng([0xC1A55, *words])


def tune(
    make: Callable[[float], classic.BanditPolicy],
    values: Sequence[float],
    tasks: list,
    n: int,
    seed: int,
) -> tuple[float, dict[float, float]]:
    """Best ``make(value)`` on ``tasks`` by mean total reward; returns it and every mean."""
    means = {
        v: classic.evaluate_bandit(
            make(v), tasks, n, policy_rng(seed, 1, i), TUNE_ENV_SEED
        ).total.mean()
        for i, v in enumerate(values)
    }
    return max(means, key=means.__getitem__), means


def run_setting(n: int, k: int, num_tasks: int, seed: int) -> dict:
    """Every algorithm on one (n, k) setting: mean, CI half-width, tuned values, wall time."""
    t0 = time.perf_counter()
    test = family_tasks("bandit", "test", num_tasks, seed=seed, num_arms=k)
    train = family_tasks("bandit", "train", num_tasks, seed=seed, num_arms=k)
    best_c, c_means = tune(lambda c: classic.UCB1(c=c), UCB_C, train, n, seed)
    best_eps, eps_means = tune(lambda e: classic.EpsilonGreedy(epsilon=e), EPSILONS, train, n, seed)
    policies = {
        **classic.BANDIT_POLICIES,
        "ucb1-tuned": classic.UCB1(c=best_c),
        "eps-greedy-tuned": classic.EpsilonGreedy(epsilon=best_eps),
    }
    results = {}
    for i, (name, policy) in enumerate(policies.items()):
        res = classic.evaluate_bandit(policy, test, n, policy_rng(seed, 2, i), seed=seed)
        mean, half = classic.mean_ci(res.total)
        results[name] = {"mean": mean, "ci95": half}
    return {
        "n": n, "k": k, "results": results, "paper": PAPER.get((n, k), {}),
        "ucb1_c": best_c, "ucb1_c_train_means": c_means,
        "epsilon": best_eps, "epsilon_train_means": eps_means,
        "wall_s": time.perf_counter() - t0,
    }  # fmt: skip


def markdown(rows: list[dict]) -> str:
    """The table: one metarl row (mean ± 95% half-width) and one paper row per setting."""
    head = "| n, k | | " + " | ".join(COLUMNS.values()) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 2)]
    for row in rows:
        ours = [
            f"{row['results'][c]['mean']:.2f} ± {row['results'][c]['ci95']:.2f}" for c in COLUMNS
        ]
        paper = [str(row["paper"].get(c, "")) for c in COLUMNS]
        lines.append(f"| {row['n']}, {row['k']} | metarl | " + " | ".join(ours) + " |")
        lines.append("| | paper | " + " | ".join(paper) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Run every setting and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000, help="held-out bandits per setting")
    parser.add_argument("--seed", type=int, default=0, help="task split and env seed")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    rows = [run_setting(n, k, args.tasks, args.seed) for n, k in SETTINGS]
    print(markdown(rows))
    print()
    for row in rows:
        print(
            f"n={row['n']}, k={row['k']}: tuned on train bandits c={row['ucb1_c']:.3g}, "
            f"ε={row['epsilon']:.3g}; {row['wall_s']:.1f} s"
        )
    wall = time.perf_counter() - t0
    print(f"{args.tasks} held-out bandits per setting, seed {args.seed}; total {wall:.1f} s on "
          f"{platform.processor() or platform.machine()}")  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"tasks": args.tasks, "seed": args.seed, "wall_s": wall, "rows": rows}, f,
                      indent=1, default=float)  # fmt: skip


if __name__ == "__main__":
    main()
