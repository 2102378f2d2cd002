"""Do the built-in presets train exactly as before a change of the class defaults?

Issue 22 changed ``RL2Config``'s defaults for families without a preset; every preset names the
old values, so its training should be unchanged to the last bit. This trains each preset for a
few iterations twice, with the code of git revision ``--before`` (checked out into a temporary
worktree) and with this tree, both on CPU with one thread, and compares their ``metrics.csv``
row by row (every column but the wall-clock ones) and their held-out curves::

    python scripts/presets_unchanged.py --before e19289f^ --envs nav bandit

Exit status 1 if any number differs. With ``--json FILE`` the comparison is written there.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLOCK = ("sps", "time_s")  # wall-clock columns: differ between any two runs


def train(tree: Path, env: str, steps: str, eval_tasks: str, out: Path) -> None:
    """The user's command for the preset of ``env``, run with the code in ``tree``."""
    argv = [sys.executable, "-m", "metarl.train", "--agent", "rl2", "--env", env, "--steps",
            steps, "--threads", "1", "--device", "cpu", "--eval-tasks", eval_tasks,
            "--out", str(out)]  # fmt: skip
    subprocess.run(argv, cwd=tree, check=True, stdout=subprocess.DEVNULL)


def numbers(run: Path) -> tuple[list[dict[str, str]], dict]:
    """metrics.csv without the clock columns, and the adaptation curve's per-task returns."""
    with (run / "metrics.csv").open() as f:
        rows = [{k: v for k, v in r.items() if k not in CLOCK} for r in csv.DictReader(f)]
    curve = json.loads((run / "eval" / "adaptation.json").read_text())
    return rows, curve["returns"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", required=True, help="git revision of the old code")
    p.add_argument("--envs", nargs="*", default=["nav", "bandit"])
    p.add_argument("--steps", default="100000", help="env steps of each run (a few iterations)")
    p.add_argument("--eval-tasks", default="20")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    report = {"before": args.before, "date": time.strftime("%Y-%m-%d"), "envs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        old_tree = Path(tmp) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(old_tree), args.before],
                       cwd=ROOT, check=True, capture_output=True)  # fmt: skip
        try:
            for env in args.envs:
                runs = {}
                for name, tree in (("before", old_tree), ("now", ROOT)):
                    runs[name] = Path(tmp) / f"{env}-{name}"
                    train(tree, env, args.steps, args.eval_tasks, runs[name])
                (old_rows, old_curve), (new_rows, new_curve) = map(numbers, runs.values())
                same = old_rows == new_rows and old_curve == new_curve
                report["envs"][env] = {"iterations": len(new_rows), "identical": same,
                                       "env_steps": new_rows[-1]["env_steps"]}  # fmt: skip
                print(f"{env}: {len(new_rows)} iterations, {new_rows[-1]['env_steps']} env steps, "
                      f"metrics and held-out curve {'identical' if same else 'DIFFER'}")  # fmt: skip
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old_tree)], cwd=ROOT,
                           check=False, capture_output=True)  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0 if all(e["identical"] for e in report["envs"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
