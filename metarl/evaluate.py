"""``python -m metarl.evaluate RUN_DIR``: evaluate a run's checkpoint on its held-out tasks.

Reads config.json, tasks.json and checkpoint.pt, runs the agent's adaptation on every held-out
task and writes ``RUN_DIR/eval/adaptation.{json,csv,png}``, then prints a short table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from metarl import cli
from metarl.agents import AGENTS
from metarl.config import agent_of
from metarl.envs import Task, make_family
from metarl.runs import RunDir
from metarl.train import check_setup, evaluate_and_save


def load_trained(run_dir: str, device: str | None = None) -> tuple[RunDir, list[Task], Any]:
    """``(run, held-out tasks, agent with the checkpoint's weights)`` of a run directory.

    ``device`` overrides the run's (None keeps it). Raises the project's user errors (exit 2 in
    the CLIs) on a missing or corrupt run.
    """
    run = RunDir.open(run_dir)
    config = run.load_config()
    if device:
        config = dataclasses.replace(config, device=device)
    check_setup(config)
    state = run.load_checkpoint()
    family = make_family(config.env, **config.env_kwargs)
    tasks = run.load_tasks(family.task_type)
    family.close()
    agent = AGENTS[agent_of(config)](config, tasks)
    agent.load_state_dict(state["agent"])
    return run, tasks, agent


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m metarl.evaluate``."""
    p = cli.ArgumentParser(
        prog="python -m metarl.evaluate",
        description="Evaluate a trained run on its held-out test tasks (tasks.json) and write "
        "RUN_DIR/eval/adaptation.{json,csv,png}.",
    )
    p.add_argument("run_dir", help="a run directory written by python -m metarl.train")
    p.add_argument("--device", default=None, help="auto, cpu or cuda (default: the run's)")
    args = p.parse_args(argv)
    run, tasks, agent = load_trained(args.run_dir, args.device)
    evaluate_and_save(agent, tasks, run, {"evaluated_from": str(run.path)})
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run_main(main, None))
