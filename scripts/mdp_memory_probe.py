"""How a trained RL² agent uses its memory on held-out tabular MDPs, episode by episode.

For every step of a trial the probe sorts the agent's action in the current state into one of:
*best tried* (the action with the highest mean reward the agent has seen in this state so far in
the trial), *other tried* (an action already taken in this state, not the best) or *untried*, and
records the true mean reward μ(s, a) of the action taken. A Bayes-greedy agent (posterior mean
reward, prior N(1, 1), unit noise) is the comparison: the share of steps on which the agent picks
the action with the highest posterior mean. An agent that explores early and then exploits shows
"untried" falling and "best tried" rising across episodes.

    python scripts/mdp_memory_probe.py RUN_DIR [--tasks 500] [--seed 1]
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import torch

from metarl import cli
from metarl.config import ConfigError
from metarl.envs import make_family, make_vector_env
from metarl.envs.tabular_mdp import TabularMDPEnv, TabularMDPTask
from metarl.evaluate import load_trained


@dataclass
class Probe:
    """Per-step shares over the probed trials, each ``(episodes * horizon,)``."""

    best_tried: np.ndarray
    other_tried: np.ndarray
    untried: np.ndarray
    bayes_greedy: np.ndarray
    mean_mu: np.ndarray


def probe(run_dir: str, num_tasks: int, seed: int) -> tuple[Probe, int, int]:
    """Play one trial on each of the run's first ``num_tasks`` held-out MDPs.

    Returns the per-step statistics, the episodes per trial and the horizon.
    """
    _, all_tasks, agent = load_trained(run_dir, device="cpu")
    config = agent.config
    family = make_family(config.env, **config.env_kwargs)
    if not isinstance(family, TabularMDPEnv):
        raise ConfigError(f"{run_dir} trained on {config.env}: the probe needs a tabular-mdp run")
    tasks: list[TabularMDPTask] = all_tasks[:num_tasks]
    n = len(tasks)
    num_s, num_a = family.num_states, family.num_actions
    env = make_vector_env(config.env, n, "cpu", validate_actions=False, **config.env_kwargs)
    trials = agent.trial_env(env, config.episodes_per_trial, tasks, seed)
    raw, _ = trials.reset(seed=seed, options={"tasks": list(tasks)})
    h = agent.net.initial_state(n, torch.device("cpu"))
    reset = torch.ones(n, dtype=torch.bool)
    gen = torch.Generator().manual_seed(seed)
    mu = np.array([t.reward_means for t in tasks])
    sums, counts = np.zeros((n, num_s, num_a)), np.zeros((n, num_s, num_a))
    rows = np.arange(n)
    steps = config.episodes_per_trial * family.horizon
    stats = np.zeros((5, steps))
    for t in range(steps):
        state = raw[:, :num_s].argmax(1).numpy()
        action, h = agent.act(raw, h, reset, gen)
        raw, reward, _, _, info = trials.step(action)
        reset = info["trial_done"]
        a = action.numpy()
        s_sum, s_cnt = sums[rows, state], counts[rows, state]
        tried = s_cnt > 0
        best = np.where(tried, s_sum / np.maximum(s_cnt, 1), -np.inf).argmax(1)
        is_best = tried.any(1) & (a == best)
        is_untried = ~tried[rows, a]
        posterior = (1.0 + s_sum) / (1.0 + s_cnt)  # N(1, 1) prior, unit reward noise
        stats[:, t] = [
            is_best.mean(), (~is_best & ~is_untried).mean(), is_untried.mean(),
            (a == posterior.argmax(1)).mean(), mu[rows, state, a].mean(),
        ]  # fmt: skip
        sums[rows, state, a] += reward.numpy()
        counts[rows, state, a] += 1
    return Probe(*stats), config.episodes_per_trial, family.horizon


def main(argv: list[str] | None = None) -> int:
    """Print one row per episode of the trial."""
    p = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", help="a run of python -m metarl.train on tabular-mdp")
    p.add_argument("--tasks", type=int, default=500, help="held-out MDPs to play (from tasks.json)")
    p.add_argument("--seed", type=int, default=1, help="seed of the env streams and sampling")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    result, episodes, horizon = probe(args.run_dir, args.tasks, args.seed)
    print("episode  mean mu(s,a)  best tried  other tried  untried  = Bayes-greedy")
    for e in range(episodes):
        sl = slice(e * horizon, (e + 1) * horizon)
        print(
            f"{e + 1:7d}  {result.mean_mu[sl].mean():12.3f}  {result.best_tried[sl].mean():10.2f}"
            f"  {result.other_tried[sl].mean():11.2f}  {result.untried[sl].mean():7.2f}"
            f"  {result.bayes_greedy[sl].mean():14.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main(main, None))
