"""Env steps/s of ``python -m metarl.baselines --algo ppo`` across held-out tasks, against one SB3
PPO process run by hand on one task.

The runner: ``python -m metarl.baselines --algo ppo --env nav --eval-tasks N --steps S`` in a
fresh process with ``--threads W`` workers (spawn pool, one torch thread each), timed from the
command's start to its end (imports, worker start-up, evaluation episodes and files included);
its rate is the training env steps of all tasks over that wall time. By hand: SB3's ``PPO
("MlpPolicy", env)`` with its defaults and one torch thread on the first held-out goal, timed
around ``learn(S)`` only (no evaluation, no start-up): the most favourable count for the hand run.

    python scripts/bench_baselines.py                      # 4 tasks x 20k steps, 2 workers
    python scripts/bench_baselines.py --eval-episodes 1 10  # both evaluation settings
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from metarl.machine import cpu_name

HAND = """
import json, time, torch
torch.set_num_threads(1)
from stable_baselines3 import PPO
from metarl.envs import family_tasks, make_env
env = make_env("nav")
env.unwrapped.set_task(family_tasks("nav", "test", 1, 0)[0])
model = PPO("MlpPolicy", env, seed=0, device="cpu")
start = time.perf_counter()
model.learn({steps})
seconds = time.perf_counter() - start
print(json.dumps({{"env_steps": int(model.num_timesteps), "seconds": seconds}}))
"""


def by_hand(steps: int) -> dict[str, Any]:
    """One SB3 PPO process on one nav goal: env steps, seconds of ``learn``, steps/s."""
    out = subprocess.run([sys.executable, "-c", HAND.format(steps=steps)], check=True,
                         capture_output=True, text=True)  # fmt: skip
    row = json.loads(out.stdout.strip().splitlines()[-1])
    row["steps_per_s"] = row["env_steps"] / row["seconds"]
    return row


def runner(tasks: int, steps: int, workers: int, eval_episodes: int) -> dict[str, Any]:
    """The baselines CLI on ``tasks`` held-out goals: wall seconds and training env steps/s."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        argv = [sys.executable, "-m", "metarl.baselines", "--algo", "ppo", "--env", "nav",
                "--eval-tasks", str(tasks), "--steps", str(steps), "--threads", str(workers),
                "--eval-episodes", str(eval_episodes), "--out", str(out)]  # fmt: skip
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        curve = json.loads((out / "eval" / "adaptation.json").read_text())
        trained = round(curve["env_steps"][-1]) * tasks
    return {"tasks": tasks, "workers": workers, "eval_episodes": eval_episodes,
            "env_steps": trained, "seconds": seconds, "steps_per_s": trained / seconds}  # fmt: skip


def main() -> None:
    """Run both measurements and write ``--out`` (JSON) and a markdown table to stdout."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", type=int, default=4)
    p.add_argument("--steps", type=int, default=20_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--eval-episodes", type=int, nargs="+", default=[10])
    p.add_argument("--out", default="docs/bench_baselines.json")
    args = p.parse_args()
    hand = by_hand(args.steps)
    runs = [runner(args.tasks, args.steps, args.workers, e) for e in args.eval_episodes]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    result = {"machine": cpu_name(), "cpus": os.cpu_count(),
              "load_average_1min_at_end": load, "date": time.strftime("%Y-%m-%d"),
              "by_hand": hand, "runner": runs}  # fmt: skip
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print("| what | env steps | seconds | env steps/s | × by hand |")
    print("|---|---:|---:|---:|---:|")
    print(f"| SB3 PPO by hand, 1 task, learn() only | {hand['env_steps']:,} | "
          f"{hand['seconds']:.1f} | {hand['steps_per_s']:.0f} | 1 |")  # fmt: skip
    for r in runs:
        print(f"| metarl.baselines, {r['tasks']} tasks, {r['workers']} workers, "
              f"{r['eval_episodes']} eval episodes/point | {r['env_steps']:,} | {r['seconds']:.1f} "
              f"| {r['steps_per_s']:.0f} | {r['steps_per_s'] / hand['steps_per_s']:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
