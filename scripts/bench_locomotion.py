"""Env steps per second of the MuJoCo locomotion families: batched vector env vs Gymnasium's.

    python scripts/bench_locomotion.py                      # 4 families x 64, 256 sub-envs
    python scripts/bench_locomotion.py --families cheetah-vel --sizes 64 --repeats 1

For each family and number of sub-envs, in one run:

- ``batched``: metarl's native :class:`~metarl.envs.locomotion.LocomotionVectorEnv`
  (``mujoco.batch`` on all CPUs), torch action tensors in, torch tensors out;
- ``sync``: Gymnasium's ``SyncVectorEnv`` of ``gymnasium.make(id)``, numpy actions;
- ``async``: Gymnasium's ``AsyncVectorEnv`` of the same (one worker process per sub-env).

All use ``SAME_STEP`` autoreset, the family's default parameters and the same uniformly random
actions (pre-drawn, seed 0). The three are measured in turn, ``--repeats`` times, and the best
rate of each is reported (as ``timeit`` does: other processes only ever slow a run down), so that
a change in machine load hits all three alike. Each result also records the share of the CPUs
that other processes used meanwhile (from ``/proc/stat``, Linux), to tell a quiet run from a
disturbed one. Prints a markdown table and writes JSON (``--out``, default
``docs/bench_locomotion.json``) with every repeat, the machine and the package versions.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
import torch
from gymnasium.vector import AutoresetMode

from metarl.envs import make_vector_env, resolve_env_id
from metarl.machine import describe

FAMILIES = ("cheetah-vel", "cheetah-dir", "ant-dir", "ant-goal")
KINDS = ("batched", "sync", "async")
Stepper = Callable[[np.ndarray], Any]


def _busy_seconds() -> float | None:
    """CPU-seconds all processes have used since boot (Linux ``/proc/stat``), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    """CPU-seconds used by this process and its reaped children (the async workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class OtherLoad:
    """Share of all CPUs used by other processes between construction and :meth:`share`."""

    def __init__(self) -> None:
        self.start = time.perf_counter(), _busy_seconds(), _own_seconds()

    def share(self) -> float | None:
        """Other processes' CPU-seconds / (wall seconds x CPUs), or None off Linux."""
        wall0, busy0, own0 = self.start
        busy = _busy_seconds()
        if busy is None or busy0 is None:
            return None
        others = (busy - busy0) - (_own_seconds() - own0)
        return max(0.0, others) / ((time.perf_counter() - wall0) * (os.cpu_count() or 1))


def make_stepper(kind: str, name: str, n: int) -> tuple[Stepper, Callable[[], None]]:
    """``(step(actions (n, nu) float32), close())`` of a freshly reset vector env of ``kind``."""
    if kind == "batched":
        env: Any = make_vector_env(name, n, validate_actions=False)
        env.reset(seed=0)
        return (lambda a: env.step(torch.from_numpy(a))), env.close
    env_id = resolve_env_id(name)
    fns = [lambda: gym.make(env_id)] * n
    cls = gym.vector.SyncVectorEnv if kind == "sync" else gym.vector.AsyncVectorEnv
    env = cls(fns, autoreset_mode=AutoresetMode.SAME_STEP)
    env.reset(seed=0)
    return env.step, env.close


def steps_per_second(step: Stepper, actions: np.ndarray, warmup: int) -> float:
    """Env steps per second (sub-env steps) over ``actions`` (steps, n, nu), after a warmup."""
    for t in range(warmup):
        step(actions[t])
    start = time.perf_counter()
    for a in actions:
        step(a)
    elapsed = time.perf_counter() - start
    return actions.shape[0] * actions.shape[1] / elapsed


def bench_one(name: str, n: int, steps: int, repeats: int, warmup: int) -> dict[str, Any]:
    """Rates of the three kinds for one family and size: every repeat and the best."""
    load = OtherLoad()
    nu = make_vector_env(name, 1).single_action_space.shape[0]
    actions = np.random.default_rng(0).uniform(-1, 1, size=(steps, n, nu)).astype(np.float32)
    envs = {kind: make_stepper(kind, name, n) for kind in KINDS}
    rates: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for _ in range(repeats):
        for kind, (step, _) in envs.items():
            rates[kind].append(steps_per_second(step, actions, warmup))
    for _, close in envs.values():
        close()
    best = {kind: max(r) for kind, r in rates.items()}
    return {
        "family": name,
        "env_id": resolve_env_id(name),
        "num_envs": n,
        "steps_per_second": best,
        "repeats": rates,
        "batched_over_sync": best["batched"] / best["sync"],
        "batched_over_async": best["batched"] / best["async"],
        "other_processes_cpu_share": load.share(),
    }


def machine() -> dict[str, Any]:
    """:func:`metarl.machine.describe` and the simulation packages' versions."""
    return {
        **describe(),
        "mujoco": mujoco.__version__,
        "gymnasium": gym.__version__,
        "numpy": np.__version__,
    }


def markdown(results: Sequence[dict[str, Any]]) -> str:
    """The results as a markdown table (env steps per second, best of the repeats)."""
    lines = [
        "| family | sub-envs | batched (steps/s) | SyncVectorEnv | AsyncVectorEnv "
        "| batched / Sync | batched / Async | other load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        s = r["steps_per_second"]
        lines.append(
            f"| {r['family']} | {r['num_envs']} | {s['batched']:,.0f} | {s['sync']:,.0f} "
            f"| {s['async']:,.0f} | {r['batched_over_sync']:.2f}× "
            f"| {r['batched_over_async']:.2f}× | {_percent(r['other_processes_cpu_share'])} |"
        )
    return "\n".join(lines)


def _percent(share: float | None) -> str:
    return "n/a" if share is None else f"{100 * share:.0f}%"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    p.add_argument("--sizes", nargs="+", type=int, default=[64, 256], help="numbers of sub-envs")
    p.add_argument("--steps", type=int, default=100, help="timed steps of each vector env")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps before each timing")
    p.add_argument("--repeats", type=int, default=3, help="timings per env (best reported)")
    p.add_argument("--out", default="docs/bench_locomotion.json", help="JSON output")
    given = list(sys.argv[1:] if argv is None else argv)
    args = p.parse_args(given)
    if min(args.sizes) < 1 or args.steps < 1 or args.repeats < 1 or args.warmup < 0:
        p.error("--sizes, --steps and --repeats must be >= 1, --warmup >= 0")

    load = OtherLoad()
    started = time.perf_counter()
    results = []
    for name in args.families:
        for n in args.sizes:
            results.append(bench_one(name, n, args.steps, args.repeats, args.warmup))
            s = results[-1]["steps_per_second"]
            print(
                f"{name:12s} {n:4d} envs: " + "  ".join(f"{k} {v:9,.0f}/s" for k, v in s.items()),
                file=sys.stderr,
                flush=True,
            )
    record = {
        "command": " ".join(["python scripts/bench_locomotion.py", *given]),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "wall_seconds": time.perf_counter() - started,
        "other_processes_cpu_share": load.share(),
        "settings": {
            "steps": args.steps,
            "warmup": args.warmup,
            "repeats": args.repeats,
            "actions": "uniform in [-1, 1], seed 0",
            "autoreset_mode": "SAME_STEP",
            "torch_threads": torch.get_num_threads(),
        },
        "results": results,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(markdown(results))
    print(f"\nwrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
