"""Where RL²'s training time goes: rollout collection against the PPO update, per iteration.

For each ``--num-envs`` value, builds RL² with the family's preset (plus the given overrides),
runs ``--repeats`` iterations and prints the last one's collect and update times (each between
device synchronizations), per env step and per minibatch, and the env steps per second of the
pair. Meant for a GPU, where it shows what bounds the throughput of ``scripts/bench_rl2.py``:

    python scripts/profile_rl2.py --env bandit --num-envs 8192 32768 --minibatches 4 --device cuda
    python scripts/profile_rl2.py --env tabular-mdp --num-envs 4096 --minibatches 32 --device cuda
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch

from metarl.agents import preset
from metarl.agents.rl2 import RL2
from metarl.config import ConfigError
from metarl.envs import family_tasks
from metarl.envs.family import TaskError
from metarl.train import check_setup

OVERRIDES = ("minibatches", "hidden_size", "epochs", "threads")
"""Config fields that flags of the same name (``--hidden-size`` for ``hidden_size``) override."""


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def profile(args: argparse.Namespace, num_envs: int) -> str:
    """One table row: collect and update times of RL² with ``num_envs`` parallel trials."""
    base = preset("rl2", args.env)
    changes = {"num_envs": num_envs, "device": args.device}
    for field in OVERRIDES:  # the preset's value unless the flag is given
        if getattr(args, field) is not None:
            changes[field] = getattr(args, field)
    config = dataclasses.replace(base, **changes)
    config.validate()
    check_setup(config)  # as metarl.train: the family and device, and the config's threads
    agent = RL2(config, family_tasks(args.env, "train", 1000, 0, **config.env_kwargs))
    gen = torch.Generator(device=agent.device).manual_seed(0)
    for _ in range(args.repeats):  # the first repeats warm up allocations and kernels
        sync(agent.device)
        t0 = time.perf_counter()
        rollout, _ = agent.collect(gen, env_seed=0)
        sync(agent.device)
        t1 = time.perf_counter()
        agent.update(rollout, gen)
        sync(agent.device)
        t2 = time.perf_counter()
    steps, updates = agent.rollout_steps, config.epochs * config.minibatches
    return (
        f"| {num_envs} | {config.epochs} | {config.minibatches} | {config.hidden_size} "
        f"| {torch.get_num_threads()} "
        f"| {1e3 * (t1 - t0):.1f} "
        f"({1e3 * (t1 - t0) / steps:.2f}/step) | {1e3 * (t2 - t1):.1f} "
        f"({1e3 * (t2 - t1) / updates:.2f}/minibatch) | {steps * num_envs / (t2 - t0):,.0f} |"
    )


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--env", default="bandit", help="family with an RL² preset")
    p.add_argument("--num-envs", type=int, nargs="+", default=[8192], help="parallel trials")
    p.add_argument("--minibatches", type=int, default=None, help="PPO minibatches (preset's)")
    p.add_argument("--hidden-size", type=int, default=None, help="GRU width (preset's)")
    p.add_argument("--epochs", type=int, default=None, help="PPO epochs per rollout (preset's)")
    p.add_argument(
        "--threads", type=int, default=None,
        help="CPU threads of torch (preset's, as metarl.train uses; 0: torch's default)",
    )  # fmt: skip
    p.add_argument("--device", default="cuda", help="cpu, cuda or cuda:N")
    p.add_argument("--repeats", type=int, default=3, help="iterations; the last one is timed")
    args = p.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        p.error("torch sees no CUDA device: use --device cpu")
    print(f"RL² on {args.env}, {args.device}")
    print(
        "| parallel trials | epochs | minibatches | GRU | threads | collect ms | update ms "
        "| env steps/s |"
    )
    print("|---:|---:|---:|---:|---:|---|---|---:|")
    for n in args.num_envs:
        try:
            print(profile(args, n), flush=True)
        except (ConfigError, TaskError) as e:
            p.error(str(e))


if __name__ == "__main__":
    main()
