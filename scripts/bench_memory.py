"""Does memory stay flat over a long run? Resident memory of a training process through a run.

Trains ``--agent`` on ``--env`` with the preset and ``--steps`` (default the issue's 10⁷ env steps
of the nav preset) in this process through metarl's training API, and samples the process's
resident set size (``VmRSS`` of ``/proc/self/status``) and, on CUDA, the allocator's
``memory_allocated`` after every iteration. It reports RSS at 10% and at 100% of the run and their
ratio (the target: within 5%), writes every sample to ``--json`` and, with ``--markdown``, prints
a table row for docs/BENCHMARKS.md. The run directory goes to a temporary folder (or ``--out``).

    python scripts/bench_memory.py                       # nav preset, 10M env steps
    python scripts/bench_memory.py --steps 2M --json docs/bench_memory.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from metarl import cli
from metarl.agents import preset
from metarl.heap import process_memory_mib
from metarl.machine import cpu_name
from metarl.runs import RunDir
from metarl.train import check_setup, train


def at_fraction(samples: list[dict[str, float]], total: int, share: float) -> dict[str, float]:
    """The first sample at or past ``share`` of ``total`` env steps."""
    return next(s for s in samples if s["env_steps"] >= share * total)


def measure(agent: str, env: str, steps: int, out: Path, threads: int) -> dict[str, Any]:
    """Train and sample memory after each iteration; the summary and every sample."""
    config = dataclasses.replace(preset(agent, env), steps=steps, threads=threads)
    check_setup(config)
    run = RunDir.create(out, config)
    samples: list[dict[str, float]] = []
    start = time.perf_counter()

    def sample(row: dict[str, float]) -> None:
        entry = {"env_steps": row["env_steps"], "rss_mib": process_memory_mib(),
                 "peak_rss_mib": process_memory_mib("VmHWM"), "time_s": time.perf_counter() - start}  # fmt: skip
        if torch.cuda.is_available():
            entry["cuda_allocated_mib"] = torch.cuda.memory_allocated() / 2**20
        samples.append(entry)

    train(agent, config, run, None, log_every=60.0, on_iteration=sample)
    early, late = at_fraction(samples, steps, 0.1), samples[-1]
    return {
        "agent": agent, "env": env, "steps": steps, "threads": threads,
        "rss_mib_at_10pct": early["rss_mib"], "rss_mib_at_100pct": late["rss_mib"],
        "ratio": late["rss_mib"] / early["rss_mib"], "wall_s": time.perf_counter() - start,
        "peak_rss_mib_at_10pct": early["peak_rss_mib"], "peak_rss_mib_at_100pct": late["peak_rss_mib"],
        "machine": cpu_name(), "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"), "samples": samples,
    }  # fmt: skip


def main() -> None:
    """Entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--agent", default="rl2")
    p.add_argument("--env", default="nav")
    p.add_argument("--steps", type=cli.parse_count, default=10_000_000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=None, help="run directory (default: a temporary folder)")
    p.add_argument("--json", default=None, help="write every sample here")
    p.add_argument("--markdown", action="store_true", help="print a BENCHMARKS table row")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp) / "run"
        result = measure(args.agent, args.env, args.steps, out, args.threads)
    verdict = "flat (within 5%)" if abs(result["ratio"] - 1) <= 0.05 else "NOT flat"
    print(f"RSS {result['rss_mib_at_10pct']:.0f} MiB at 10%, {result['rss_mib_at_100pct']:.0f} "
          f"MiB at 100% of {result['steps']:,} env steps: ratio {result['ratio']:.3f}, {verdict}")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    if args.markdown:
        print(f"| {args.agent} {args.env} | {result['steps']:,} | {result['rss_mib_at_10pct']:.0f} "
              f"| {result['rss_mib_at_100pct']:.0f} | {result['ratio']:.3f} | {verdict} |")  # fmt: skip


if __name__ == "__main__":
    main()
