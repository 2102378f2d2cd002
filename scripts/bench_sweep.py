"""Ray's overhead in ``python -m metarl.sweep``: a 5-seed sweep against the same runs by hand.

    .venv/bin/python scripts/bench_sweep.py                       # the issue's target: --steps 1M
    .venv/bin/python scripts/bench_sweep.py --steps 20k --seeds 0,1   # a quick look

Times, each as a subprocess from start to exit (Ray's start-up counts against the sweep):

1. ``python -m metarl.train --threads 1 --seed S`` for every seed, one after another;
2. ``python -m metarl.sweep --seeds ... --max-concurrent 1`` (one trial at a time);
3. ``python -m metarl.sweep --seeds ... --max-concurrent 2``.

Targets (issue 21): (2) <= 1.1x (1), (3) <= 0.6x (1) on 2 cores. Prints a table and, with
``--json FILE``, writes the numbers. Extra arguments after ``--`` go to every run (train flags).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from metarl.machine import cpu_name


def _timed(argv: list[str], log: Path) -> float:
    """Wall seconds of ``python argv`` (output to ``log``); raises if it fails."""
    start = time.perf_counter()
    with log.open("w") as f:
        code = subprocess.call([sys.executable, *argv], stdout=f, stderr=subprocess.STDOUT)
    if code != 0:
        raise SystemExit(f"error: {' '.join(argv)} exited with {code}; see {log}")
    return time.perf_counter() - start


def main() -> int:
    """Run the three timings and report them."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--agent", default="rl2")
    p.add_argument("--env", default="nav")
    p.add_argument("--steps", default="1M")
    p.add_argument("--seeds", default="0,10000,20000,30000,40000")
    p.add_argument("--work", default=None, help="scratch directory (default: a temp dir)")
    p.add_argument("--json", default=None, help="write the results here")
    p.add_argument("extra", nargs="*", help="train flags for every run (after --)")
    args = p.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-sweep-"))
    work.mkdir(parents=True, exist_ok=True)
    common = ["--agent", args.agent, "--env", args.env, "--steps", args.steps, *args.extra]
    seeds = args.seeds.split(",")
    by_hand = 0.0
    for seed in seeds:
        out = work / f"hand-{seed}"
        shutil.rmtree(out, ignore_errors=True)
        argv = ["-m", "metarl.train", *common, "--threads", "1", "--seed", seed, "--out", str(out)]
        by_hand += _timed(argv, work / f"hand-{seed}.log")
    times = {"by_hand": by_hand}
    for concurrent in (1, 2):
        out = work / f"sweep-{concurrent}"
        shutil.rmtree(out, ignore_errors=True)
        argv = ["-m", "metarl.sweep", *common, "--seeds", args.seeds, "--out", str(out),
                "--max-concurrent", str(concurrent)]  # fmt: skip
        times[f"sweep_max_concurrent_{concurrent}"] = _timed(argv, work / f"sweep-{concurrent}.log")
    print(f"{len(seeds)} seeds x {args.steps} env steps of {args.agent} on {args.env}, "
          f"{os.cpu_count()} CPUs ({cpu_name()})")  # fmt: skip
    for name, seconds in times.items():
        print(f"{name:28s} {seconds:9.1f} s   {seconds / by_hand:5.2f}x by hand")
    if args.json:
        result = {"command": " ".join(sys.argv), "seconds": times, "cpus": os.cpu_count(),
                  "date": time.strftime("%Y-%m-%d")}  # fmt: skip
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
