"""``python -m metarl.evaluate RUN_DIR``: evaluate a run's checkpoint on its held-out tasks.

Reads config.json, tasks.json and checkpoint.pt (a directory without tasks.json gets it again,
drawn from config.json's seed), runs the agent's adaptation on every held-out task and writes
``RUN_DIR/eval/adaptation.{json,csv,png}``, then prints a short table.

    python -m metarl.evaluate runs/rl2-nav-0
    python -m metarl.evaluate runs/rl2-nav-0 --episodes 6    # longer trials than trained

``--episodes N`` runs trials of N episodes instead of the trained number, to see whether the agent
keeps adapting past (or within) the trials it was trained on; the curve goes to
``RUN_DIR/eval-N-episodes`` unless ``--out`` says otherwise, so the trained evaluation in
``RUN_DIR/eval`` is kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from metarl import cli
from metarl.agents import AGENTS
from metarl.config import ConfigError, agent_of
from metarl.envs import Task, make_family
from metarl.runs import RunDir
from metarl.train import check_setup, evaluate_and_save, held_out_tasks


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
    if run.has_tasks():
        family = make_family(config.env, **config.env_kwargs)
        tasks = run.load_tasks(family.task_type)
        family.close()
    else:  # a copy without tasks.json (15 MB for 1000 MDPs): the seed draws them again
        tasks = held_out_tasks(config, run)
    agent = AGENTS[agent_of(config)](config, tasks)
    agent.load_state_dict(state["agent"])
    return run, tasks, agent


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m metarl.evaluate``."""
    p = cli.ArgumentParser(
        prog="python -m metarl.evaluate",
        description="Evaluate a trained run on its held-out test tasks (tasks.json) and write "
        "RUN_DIR/eval/adaptation.{json,csv,png}; --episodes N evaluates trials of another "
        "length.",
    )
    p.add_argument("run_dir", help="a run directory written by python -m metarl.train")
    p.add_argument("--device", default=None, help="auto, cpu or cuda (default: the run's)")
    p.add_argument("--episodes", type=int, default=None, metavar="N",
                   help="episodes per trial (default: as trained); a number other than the "
                   "trained one writes to RUN_DIR/eval-N-episodes")  # fmt: skip
    p.add_argument("--out", default=None, metavar="DIR",
                   help="folder for adaptation.{json,csv,png} (default RUN_DIR/eval, or "
                   "RUN_DIR/eval-N-episodes with --episodes)")  # fmt: skip
    args = p.parse_args(argv)
    if args.episodes is not None and args.episodes < 1:
        raise ConfigError(f"--episodes must be a positive integer, got {args.episodes}")
    run, tasks, agent = load_trained(args.run_dir, args.device)
    out = _out_dir(run, args.episodes, args.out, agent.config.episodes_per_trial)
    evaluate_and_save(agent, tasks, run, {"evaluated_from": str(run.path)}, args.episodes, out)
    return 0


def _out_dir(run: RunDir, episodes: int | None, out: str | None, trained: int) -> Path | None:
    """Where the curve goes: ``out``, else ``run/eval-N-episodes`` for an N other than the
    trained one, else None (``run/eval``). A chosen folder is created now, before the (possibly
    long) evaluation, so that one that cannot be is one line, not a lost evaluation."""
    if out is None and (episodes is None or episodes == trained):
        return None
    path = Path(out) if out is not None else run.path / f"eval-{episodes}-episodes"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create the folder {path} ({e.strerror}): "
                          "name another with --out") from None  # fmt: skip
    return path


if __name__ == "__main__":
    raise SystemExit(cli.run_main(main, None))
