"""RL² training speed and return: metarl against sb3-contrib's RecurrentPPO, side by side.

Both train on the same bandit trial task (k arms, n pulls per trial, arm means ~ U[0, 1]) for the
same env-step budget; then both play one trial on each of the same held-out bandits
(``family_tasks("bandit", "test", N, seed)``). Reported: env steps per second of whole training
(collection + updates, wall clock) and the mean total reward over the held-out trials.

    python scripts/bench_rl2.py                                   # CPU, both, 200k steps
    python scripts/bench_rl2.py --device cuda --num-envs 8192 --steps 50000000 --skip-sb3
    python scripts/bench_rl2.py --env nav --device cuda --num-envs 8192 --steps 50000000 --skip-sb3

With ``--env nav`` only metarl runs (2D goal navigation, two episodes per trial, the nav preset's
hyperparameters), on the same held-out-return protocol over nav's test goals: this is the GPU
speed figure for a continuous-action family; RecurrentPPO is compared on the bandit only.

RecurrentPPO (an LSTM policy) sees the same trial observation as metarl's RL²: the previous
action one-hot, the previous reward and a flag, with the whole trial as one episode. Needs the
``bench`` extra (sb3-contrib).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from metarl.agents import preset
from metarl.agents.rl2 import RL2
from metarl.config import ConfigError, RL2Config
from metarl.envs import family_tasks
from metarl.envs.bandit import BanditEnv, BanditTask
from metarl.evaluation import bootstrap_ci
from metarl.machine import cpu_name


class BanditTrialEnv(gym.Env):
    """One RL² trial of ``pulls`` pulls of a bandit drawn from ``tasks``, as a single episode.

    Observation: ``[one-hot previous arm (k), previous reward, 1 after the first pull]``.
    """

    def __init__(self, tasks: list[BanditTask], num_arms: int, pulls: int) -> None:
        self.tasks, self.k, self.pulls = tasks, num_arms, pulls
        self.bandit = BanditEnv(num_arms=num_arms)
        self.observation_space = spaces.Box(-np.inf, np.inf, (num_arms + 2,), np.float32)
        self.action_space = spaces.Discrete(num_arms)
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple:
        super().reset(seed=seed)
        task = (options or {}).get("task") or self.tasks[self.np_random.integers(len(self.tasks))]
        self.bandit.reset(seed=int(self.np_random.integers(2**31)), options={"task": task})
        self.t = 0
        return np.zeros(self.k + 2, dtype=np.float32), {}

    def step(self, action: Any) -> tuple:
        _, reward, _, _, _ = self.bandit.step(int(action))
        self.t += 1
        obs = np.zeros(self.k + 2, dtype=np.float32)
        obs[int(action)], obs[self.k], obs[self.k + 1] = 1.0, reward, 1.0
        return obs, reward, self.t >= self.pulls, False, {}


#: Bench defaults of --minibatches and --gae-lambda per --env (None: the family's preset).
BENCH_DEFAULTS: dict[str, dict[str, Any]] = {
    "bandit": {"minibatches": 4, "gae_lambda": 0.3},
    "nav": {"minibatches": None, "gae_lambda": None},
}


def family_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The family parameters of ``--env``: the bandit's arm count; nav's defaults."""
    return {"num_arms": args.arms} if args.env == "bandit" else {}


def metarl_config(args: argparse.Namespace) -> RL2Config:
    """RL²'s config for the bench; raises ConfigError naming a bad flag.

    The bandit preset is tuned for 5M+ env steps; this budget is 25x smaller, so the flags set
    --num-envs, --minibatches and --gae-lambda, and the learning rate stays constant (annealed:
    6.29 held-out return instead of 6.45). On nav the preset's values stand unless given.
    """
    base = preset("rl2", args.env)
    changes: dict[str, Any] = dict(
        num_envs=args.num_envs, steps=args.steps, device=args.device, seed=args.seed,
        anneal_lr=False,
    )  # fmt: skip
    if args.env == "bandit":
        changes.update(env_kwargs=family_kwargs(args), episodes_per_trial=args.pulls)
    for name, default in BENCH_DEFAULTS[args.env].items():
        value = getattr(args, name)
        value = default if value is None else value
        if value is not None:
            changes[name] = value
    config = dataclasses.replace(base, **changes)
    config.validate()
    return config


def run_metarl(
    config: RL2Config, args: argparse.Namespace, train: list, test: list
) -> dict[str, Any]:
    """Train RL² with ``config`` for its env steps; evaluate on ``test``."""
    agent = RL2(config, train)
    start = time.perf_counter()
    while agent.env_steps < config.steps:
        agent.train_iteration()
    if agent.device.type == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - start
    curve = agent.adaptation_curve(test)
    total = curve.total_return()
    return {
        "agent": "metarl RL²", "device": str(agent.device), "num_envs": args.num_envs,
        "env_steps": agent.env_steps, "wall_s": wall, "steps_per_s": agent.env_steps / wall,
        "return_mean": float(total.mean()), "return_ci95": half_width(total),
    }  # fmt: skip


def half_width(totals: np.ndarray) -> float:
    """Half the width of the 95% bootstrap interval over tasks (metarl.evaluation's, as every
    table in docs/BENCHMARKS.md uses) of the per-task totals ``(T,)``."""
    low, high = bootstrap_ci(np.asarray(totals, dtype=np.float64))
    return float(high - low) / 2


def run_sb3(args: argparse.Namespace, train: list, test: list) -> dict[str, Any]:
    """Train sb3-contrib RecurrentPPO (defaults, 8 envs) on the same budget; evaluate on ``test``."""
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    from metarl.baselines.chunked import silence

    def make() -> gym.Env:
        return BanditTrialEnv(train, args.arms, args.pulls)

    vec = DummyVecEnv([make] * args.sb3_envs)
    model = RecurrentPPO("MlpLstmPolicy", vec, seed=args.seed, device="cpu", verbose=0)
    silence(model)  # no empty SB3-<date> folder in the temp dir
    start = time.perf_counter()
    model.learn(total_timesteps=args.steps)
    wall = time.perf_counter() - start
    totals = []
    env = BanditTrialEnv(train, args.arms, args.pulls)
    for i, task in enumerate(test):
        obs, _ = env.reset(seed=args.seed + i, options={"task": task})
        state, start_flag, total = None, np.ones((1,), dtype=bool), 0.0
        for _ in range(args.pulls):
            action, state = model.predict(obs[None], state=state, episode_start=start_flag)
            obs, reward, _, _, _ = env.step(int(action[0]))
            total, start_flag = total + reward, np.zeros((1,), dtype=bool)
        totals.append(total)
    t = np.asarray(totals)
    return {
        "agent": "sb3-contrib RecurrentPPO", "device": "cpu", "num_envs": args.sb3_envs,
        "env_steps": int(model.num_timesteps), "wall_s": wall,
        "steps_per_s": model.num_timesteps / wall, "return_mean": float(t.mean()),
        "return_ci95": half_width(t),
    }  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--env", choices=sorted(BENCH_DEFAULTS), default="bandit",
        help="task family (nav: metarl alone, with --skip-sb3)",
    )  # fmt: skip
    p.add_argument("--arms", type=int, default=5, help="bandit arms k")
    p.add_argument("--pulls", type=int, default=10, help="bandit pulls per trial n")
    p.add_argument("--steps", type=int, default=200_000, help="env steps of training, each agent")
    p.add_argument(
        "--num-envs", type=int, default=128,
        help="metarl's parallel trials (128: enough PPO updates in a 200k-step budget)",
    )  # fmt: skip
    p.add_argument(
        "--minibatches", type=int, default=None,
        help="metarl's PPO minibatches (bandit: 4, not the preset's 16: fewer, larger steps are "
        "faster at 128 trials; nav: the preset's)",
    )  # fmt: skip
    p.add_argument(
        "--gae-lambda", type=float, default=None,
        help="metarl's GAE lambda (bandit: 0.3, not the preset's 0.95: on 200k steps 0.95 "
        "reached 6.21 against 6.45; nav: the preset's)",
    )  # fmt: skip
    p.add_argument("--sb3-envs", type=int, default=8, help="RecurrentPPO's DummyVecEnv size")
    p.add_argument("--device", default="cpu")
    p.add_argument("--test-tasks", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (both agents)")
    p.add_argument("--skip-sb3", action="store_true")
    p.add_argument("--json", default="docs/bench_rl2.json")
    args = p.parse_args()
    if args.env != "bandit" and not args.skip_sb3:
        p.error(f"RecurrentPPO is compared on the bandit only: add --skip-sb3 for --env {args.env}")
    try:
        config = metarl_config(args)
    except ConfigError as e:
        p.error(str(e))
    torch.set_num_threads(args.threads)
    kwargs = family_kwargs(args)
    train = family_tasks(args.env, "train", 10_000, args.seed, **kwargs)
    test = family_tasks(args.env, "test", args.test_tasks, args.seed, **kwargs)
    rows = [run_metarl(config, args, train, test)]
    if not args.skip_sb3:
        rows.append(run_sb3(args, train, test))
    task = f"bandit k={args.arms}, n={args.pulls}" if args.env == "bandit" else args.env
    print(f"{task}, {args.steps:,} env steps each, {args.test_tasks} held-out tasks, "
          f"{cpu_name()}, torch threads {args.threads}")  # fmt: skip
    print(
        "| agent | device | parallel envs | env steps/s (whole training) | wall s | held-out return |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['agent']} | {r['device']} | {r['num_envs']} | {r['steps_per_s']:,.0f} | "
              f"{r['wall_s']:.1f} | {r['return_mean']:.2f} ± {r['return_ci95']:.2f} |")  # fmt: skip
    if len(rows) == 2:
        print(
            f"speed ratio metarl / RecurrentPPO: {rows[0]['steps_per_s'] / rows[1]['steps_per_s']:.1f}x"
        )
    if torch.cuda.is_available():
        rows[0]["gpu"] = torch.cuda.get_device_name()
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"args": vars(args), "results": rows}, indent=1))


if __name__ == "__main__":
    main()
