"""Seconds per MAML meta-iteration on the paper's nav setting, beside pytorch-maml-rl's own.

One meta-iteration of ``--agent maml`` on nav as the MAML paper sets it: 20 tasks × 20
trajectories × ≤ 100 steps before and after one inner step (about 80,000 env steps), then one
outer step. Each variant is timed over ``--iterations`` iterations after a warm-up one (median,
min, max; split into sampling-and-adapting and the outer step), with ``--threads`` torch threads:

- ``trpo-2nd``: the paper's TRPO, second order through the inner update (the default);
- ``trpo-1st``: TRPO with ``--first-order``;
- ``ppo``: the clipped-surrogate outer loop;
- ``trpo-2nd-64tanh``: the paper's TRPO with pytorch-maml-rl's default 64×64 tanh policy.

``--peer "COMMAND"`` runs a command right after, back to back on the same machine, that prints
``peer_seconds_per_iteration=<s>`` (a timing harness of pytorch-maml-rl's own ``train.py`` on its
``2d-navigation`` config; docs/BENCHMARKS.md says how it was set up) and reports the ratio.

    python scripts/bench_maml.py --threads 1
    python scripts/bench_maml.py --variants trpo-2nd-64tanh --peer "bash peer/time.sh 64tanh 5"
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import torch

from metarl.agents import MAML, preset
from metarl.config import ConfigError
from metarl.envs import family_tasks
from metarl.machine import describe

VARIANTS: dict[str, dict[str, Any]] = {
    "trpo-2nd": {},
    "trpo-1st": {"first_order": True},
    "ppo": {"outer": "ppo"},
    "trpo-2nd-64tanh": {"hidden_sizes": (64, 64), "activation": "tanh"},
}


def time_variant(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Median/min/max seconds of one meta-iteration of variant ``name``, and its env steps."""
    overrides = {**VARIANTS[name], **json.loads(args.overrides)}
    config = dataclasses.replace(preset("maml", args.env), device=args.device, **overrides)
    agent = MAML(config, family_tasks(args.env, "train", config.train_tasks, 0))
    agent.train_iteration()  # warm-up: first calls into torch and the env are slow
    seconds, steps, collect, update = [], [], [], []
    for _ in range(args.iterations):
        before = agent.env_steps
        start = time.perf_counter()
        row = agent.train_iteration()
        seconds.append(time.perf_counter() - start)
        steps.append(agent.env_steps - before)
        collect.append(row["collect_s"])
        update.append(row["update_s"])
    median = statistics.median(seconds)
    return {
        "variant": name, "median_s": median, "min_s": min(seconds), "max_s": max(seconds),
        "collect_s": statistics.median(collect), "update_s": statistics.median(update),
        "env_steps_per_iteration": statistics.mean(steps),
        "env_steps_per_s": statistics.mean(steps) / median, "threads": args.threads,
        "meta_batch": config.meta_batch, "fast_batch": config.fast_batch,
        "hidden_sizes": list(config.hidden_sizes), "activation": config.activation,
    }  # fmt: skip


def time_peer(command: str) -> float:
    """Run ``command`` and read ``peer_seconds_per_iteration=<s>`` from its output."""
    result = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)
    match = re.search(r"peer_seconds_per_iteration=([0-9.]+)", result.stdout)
    if result.returncode != 0 or match is None:
        raise SystemExit(f"the peer command failed ({result.returncode}): {result.stderr[-500:]}")
    return float(match.group(1))


def markdown(rows: list[dict[str, Any]], peer: float | None, peer_variant: str) -> str:
    """The results as a markdown table (and the ratio to the peer, if it ran)."""
    lines = ["| variant | policy | threads | s / iteration (median, min–max) | of which sampling "
             "and adapting | outer step | env steps / iteration | env steps / s |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        policy = f"{'×'.join(map(str, r['hidden_sizes']))} {r['activation']}"
        lines.append(f"| {r['variant']} | {policy} | {r['threads']} | {r['median_s']:.2f} "
                     f"({r['min_s']:.2f}–{r['max_s']:.2f}) | {r['collect_s']:.2f} | "
                     f"{r['update_s']:.2f} | {r['env_steps_per_iteration']:,.0f} "
                     f"| {r['env_steps_per_s']:,.0f} |")  # fmt: skip
    if peer is not None:
        ours = next((r for r in rows if r["variant"] == peer_variant), rows[0])
        lines.append(f"\npeer: {peer:.2f} s / iteration; metarl {ours['variant']} is "
                     f"{peer / ours['median_s']:.1f}× faster")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--env", default="nav", help="task family (default nav)")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS),
                   help="what to time (default: all)")  # fmt: skip
    p.add_argument("--iterations", type=int, default=3, help="timed iterations (default 3)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--overrides", default="{}",
                   help='JSON of config fields for every variant, e.g. {"meta_batch": 40}')  # fmt: skip
    p.add_argument("--peer", default=None, metavar="COMMAND",
                   help="a command printing peer_seconds_per_iteration=<s>, run right after")  # fmt: skip
    p.add_argument("--peer-variant", default="trpo-2nd-64tanh",
                   help="the variant the peer's time is divided by (default trpo-2nd-64tanh)")  # fmt: skip
    p.add_argument("--json", default="docs/bench_maml.json", help="where to write the results")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    try:
        rows = [time_variant(name, args) for name in args.variants]
    except ConfigError as e:
        raise SystemExit(f"error: {e}") from None
    peer = time_peer(args.peer) if args.peer else None
    result = {
        "rows": rows, "peer_seconds_per_iteration": peer, "peer_command": args.peer,
        "peer_variant": args.peer_variant if peer is not None else None,
        "machine": describe(),
    }  # fmt: skip
    Path(args.json).write_text(json.dumps(result, indent=1))
    print(markdown(rows, peer, args.peer_variant))
    print(f"written: {args.json}")


if __name__ == "__main__":
    main()
