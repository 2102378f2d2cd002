"""Your own agent beside metarl's: explore-then-commit on the RL² paper's bandits.

Explore-then-commit (ETC; Lattimore & Szepesvári, *Bandit Algorithms*, 2020, chapter 6) pulls
each arm ``--explore`` times in turn, then, for the rest of the trial, the arm with the best
empirical mean (the lowest index on a tie). It is not one of metarl's algorithms: this file
shows how an agent written outside metarl is scored on the very held-out bandits, with the very
reward draws, that RL² and the classic algorithms meet, so that ``metarl.compare`` pairs it with
them task by task. Run from the repository root::

    python examples/explore_then_commit.py                      # writes runs/etc-bandit-0
    python -m metarl.baselines --algo ucb1 --env bandit         # runs/ucb1-bandit-0
    python -m metarl.train --agent rl2 --env bandit             # runs/rl2-bandit-0 (20M env steps)
    python -m metarl.compare runs/etc-bandit-0 runs/ucb1-bandit-0 runs/rl2-bandit-0

The defaults are the bandit preset's: 5 arms, trials of 10 pulls, 1000 held-out bandits of
seed 0. ``--arms 10 --pulls 100`` scores the paper's (n, k) = (100, 10) cell; give
``metarl.baselines`` and ``metarl.train`` the same ``--env-kwargs num_arms=10
--episodes-per-trial 100`` to pair with them.

Everything metarl-specific is in :func:`main`: ``held_out`` gives the tasks and each trial's
env seed, ``HeldOut.curve`` and ``HeldOut.save`` write the run directory. The agent itself,
:func:`play_trial`, is plain Gymnasium.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import gymnasium as gym
import numpy as np

from metarl import cli
from metarl.envs.bandit import BanditTask
from metarl.heldout import held_out


def play_trial(env: gym.Env, task: BanditTask, seed: int, pulls: int, explore: int) -> np.ndarray:
    """The rewards ``(pulls,)`` of one ETC trial on ``task``: each arm ``explore`` times in turn,
    then the best empirical mean. One pull is one episode of the bandit env."""
    arms = int(env.action_space.n)  # type: ignore[attr-defined]
    wins, counts = np.zeros(arms), np.zeros(arms)
    rewards = np.zeros(pulls)
    for t in range(pulls):
        if t == 0:  # the trial's env seed fixes every reward draw that follows
            env.reset(seed=seed, options={"task": task})
        else:
            env.reset()
        exploring = t < explore * arms
        arm = t % arms if exploring else int(np.argmax(wins / np.maximum(counts, 1)))
        _, reward, _, _, _ = env.step(arm)
        wins[arm] += reward
        counts[arm] += 1
        rewards[t] = reward
    return rewards


def _parser() -> argparse.ArgumentParser:
    parser = cli.ArgumentParser(
        prog="python examples/explore_then_commit.py",
        description="Explore-then-commit on metarl's held-out bandits, saved as a run directory "
        "that python -m metarl.compare pairs with RL² and the baselines.",
    )
    parser.add_argument("--arms", type=int, default=5, help="arms k of each bandit (default 5)")
    parser.add_argument("--pulls", type=int, default=None,
                        help="pulls n per trial (default: RL²'s trial on bandit, 10)")  # fmt: skip
    parser.add_argument("--explore", type=int, default=1,
                        help="pulls of each arm before committing (default 1)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="run seed: the held-out bandits")
    parser.add_argument("--eval-tasks", type=cli.parse_count, default=None,
                        help="held-out bandits (default: the bandit preset's, 1000)")  # fmt: skip
    parser.add_argument("--out", default=None, help="run directory (default runs/etc-bandit-SEED)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Score ETC on the held-out bandits and save its adaptation curve."""
    args = _parser().parse_args(argv)
    if args.explore < 0 or (args.pulls is not None and args.pulls < 1):
        cli.fail("--explore must be 0 or more and --pulls at least 1")
    held = held_out("bandit", seed=args.seed, eval_tasks=args.eval_tasks, num_arms=args.arms)
    pulls = args.pulls or held.episodes_per_trial
    env = held.make_env()
    start = time.perf_counter()
    returns = np.stack([
        play_trial(env, task, held.env_seed(i), pulls, args.explore)
        for i, task in enumerate(held.tasks)
    ])  # fmt: skip
    env.close()
    curve = held.curve(
        "etc", returns, env_steps=np.arange(1, pulls + 1),
        meta={"explore": args.explore, "eval_wall_time_s": time.perf_counter() - start},
    )  # fmt: skip
    path = held.save(args.out or f"runs/etc-bandit-{held.seed}", curve)
    total = returns.sum(axis=1)
    print(f"explore-then-commit ({args.explore} per arm) on {len(held.tasks)} held-out bandits "
          f"(k = {args.arms}, n = {pulls}): total {total.mean():.2f} per trial")  # fmt: skip
    print(f"adaptation curve: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main(main, None))
