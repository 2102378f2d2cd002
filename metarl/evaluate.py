"""``python -m metarl.evaluate RUN_DIR``: evaluate a run's checkpoint on its held-out tasks.

Reads config.json, tasks.json and checkpoint.pt (a directory without tasks.json gets it again,
drawn from config.json's seed), runs the agent's adaptation on every held-out task and writes
``RUN_DIR/eval/adaptation.{json,csv,png}``, then prints a short table.

    python -m metarl.evaluate runs/rl2-nav-0
    python -m metarl.evaluate runs/rl2-nav-0 --budget 6      # RL²: trials of 6 episodes
    python -m metarl.evaluate runs/maml-nav-0 --budget 10    # MAML: 10 gradient steps

``--budget N`` adapts with N units of the agent's own budget instead of the trained default: RL²
runs trials of N episodes, MAML and pretrained take N gradient steps; it shows whether the agent
keeps adapting past what it was trained or evaluated with. The curve goes to
``RUN_DIR/eval-N-<unit>`` (``eval-6-episodes``, ``eval-10-steps``) unless ``--out`` says
otherwise, so the default evaluation in ``RUN_DIR/eval`` is kept. ``--episodes`` is the older
name of ``--budget`` (for RL²).

``--seed S`` evaluates on the held-out tasks (and env draws) of seed S instead of the run's, in
``RUN_DIR/eval-seed-S``: the curve then pairs task by task with the runs of seed S, so one
trained agent can be set beside runs of another seed (a replicate, or one trained otherwise).

``--tasks N`` evaluates on the first N held-out tasks of the seed's test split instead of the
run's ``--eval-tasks`` (the tasks a run trained with ``--eval-tasks N`` holds out, and a baseline
run grown with ``metarl.baselines --resume DIR --eval-tasks N``), in ``RUN_DIR/eval-tasks-N``:
more tasks give tighter intervals without training again::

    python -m metarl.evaluate runs/maml-cheetah-vel-0 --tasks 200

``--deterministic`` scores the policy's most likely actions (the Gaussian's mean, the best
logit) instead of sampled ones, as the baselines' ``--deterministic`` does: RL² acts so for its
whole trial; MAML and pretrained still adapt on sampled episodes (the gradient needs them) and
score each point on as many extra episodes of the adapted policy's mean action, not counted in
the env steps. The curve goes to ``RUN_DIR/eval-deterministic`` (``eval-N-<unit>-deterministic``
with ``--budget``)::

    python -m metarl.evaluate runs/maml-nav-0 --deterministic
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from metarl import cli
from metarl.agents import MetaLearner, make_agent
from metarl.config import ConfigError
from metarl.envs import Task, make_family
from metarl.runs import RunDir
from metarl.train import check_setup, evaluate_and_save, held_out_tasks, split_tasks


def load_trained(run_dir: str, device: str | None = None) -> tuple[RunDir, list[Task], MetaLearner]:
    """``(run, held-out tasks, agent with the checkpoint's weights)`` of a run directory.

    ``device`` overrides the run's (None keeps it). Raises the project's user errors (exit 2 in
    the CLIs) on a missing or corrupt run.
    """
    run, tasks, agent, _ = _load(run_dir, device)
    return run, tasks, agent


def _load(
    run_dir: str, device: str | None, seed: int | None = None, num_tasks: int | None = None
) -> tuple[RunDir, list[Task], MetaLearner, float | None]:
    """:func:`load_trained` and the wall time (s) of training up to the checkpoint, if stored;
    ``seed`` (None: the run's) draws the held-out tasks and env draws of that seed instead, and
    ``num_tasks`` (None: the run's ``eval_tasks``) that many of them."""
    run = RunDir.open(run_dir)
    config = run.load_config()
    if device:
        config = dataclasses.replace(config, device=device)
    check_setup(config)
    state = run.load_checkpoint()
    if seed is not None or num_tasks is not None:
        config = dataclasses.replace(config, seed=config.seed if seed is None else seed,
                                     eval_tasks=num_tasks or config.eval_tasks)  # fmt: skip
        tasks = split_tasks(config, "test")
    elif run.has_tasks():
        family = make_family(config.env, **config.env_kwargs)
        tasks = run.load_tasks(family.task_type)
        family.close()
    else:  # a copy without tasks.json (15 MB for 1000 MDPs): the seed draws them again
        tasks = held_out_tasks(config, run)
    agent = make_agent(config, tasks)
    run.restore(agent, state)
    return run, tasks, agent, state.get("wall_time")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m metarl.evaluate``."""
    p = cli.ArgumentParser(
        prog="python -m metarl.evaluate",
        description="Evaluate a trained run on its held-out test tasks (tasks.json) and write "
        "RUN_DIR/eval/adaptation.{json,csv,png}; --budget N adapts with another budget "
        "(RL²: episodes per trial; MAML, pretrained: gradient steps).",
    )
    p.add_argument("run_dir", help="a run directory written by python -m metarl.train")
    p.add_argument("--device", default=None, help="auto, cpu or cuda (default: the run's)")
    p.add_argument("--budget", "--episodes", type=cli.parse_count, default=None, metavar="N",
                   help="adaptation budget: episodes per trial for RL², gradient steps for MAML "
                   "and pretrained (default: the run's, as trained); another number writes to "
                   "RUN_DIR/eval-N-<episodes|steps>")  # fmt: skip
    p.add_argument("--deterministic", action="store_true",
                   help="score the policy's most likely actions instead of sampled ones (MAML: "
                   "adapt on sampled episodes, score extra ones of the mean action); writes to "
                   "RUN_DIR/eval-deterministic unless --out says otherwise")  # fmt: skip
    p.add_argument("--seed", type=cli.parse_seed, default=None, metavar="S",
                   help="evaluate on the held-out tasks and env draws of seed S instead of the "
                   "run's, so that the curve pairs task by task with runs of seed S (another "
                   "seed's replicate, or a run trained otherwise); writes to "
                   "RUN_DIR/eval-seed-S unless --out says otherwise")  # fmt: skip
    p.add_argument("--tasks", type=cli.parse_count, default=None, metavar="N",
                   help="evaluate on the first N held-out tasks of the seed's test split instead "
                   "of the run's --eval-tasks (those of runs with --eval-tasks N), for tighter "
                   "intervals; writes to RUN_DIR/eval-tasks-N unless --out says otherwise")  # fmt: skip
    p.add_argument("--out", default=None, metavar="DIR",
                   help="folder for adaptation.{json,csv,png} (default RUN_DIR/eval, or "
                   "RUN_DIR/eval-N-<unit> with --budget)")  # fmt: skip
    args = p.parse_args(argv)
    if args.tasks == 0:
        raise ConfigError("--tasks must be at least 1 held-out task")
    trained = RunDir.open(args.run_dir).load_config()
    other_seed = None if args.seed == trained.seed else args.seed  # the run's own: its eval/
    other_tasks = None if args.tasks == trained.eval_tasks else args.tasks
    run, tasks, agent, wall = _load(args.run_dir, args.device, other_seed, other_tasks)
    if args.budget == 0 and agent.budget_unit == "episodes":
        raise ConfigError("--budget (--episodes) must be at least 1 episode for a trial of RL²")
    out = _out_dir(run, args.budget, args.out, agent, args.deterministic, other_seed, other_tasks)
    meta = {"evaluated_from": str(run.path), "train_wall_time_s": wall}  # to the checkpoint
    evaluate_and_save(agent, tasks, run, meta, args.budget, out, args.deterministic)
    return 0


def _out_dir(
    run: RunDir,
    budget: int | None,
    out: str | None,
    agent: MetaLearner,
    deterministic: bool,
    seed: int | None = None,
    num_tasks: int | None = None,
) -> Path | None:
    """Where the curve goes: ``out``, else ``run/eval-N-<unit>`` for a budget other than the
    agent's default (``-deterministic`` appended for that scoring, ``run/eval-deterministic``
    at the default budget; ``-seed-S`` for another seed's tasks, ``-tasks-N`` for another number
    of them, ``run/eval-seed-S`` or ``run/eval-tasks-N`` alone), else None (``run/eval``). A
    chosen folder is created now, before the (possibly long) evaluation, so that one that
    cannot be is one line, not a lost evaluation."""
    default_budget = budget is None or budget == agent.default_budget
    other = deterministic or seed is not None or num_tasks is not None
    if out is None and default_budget and not other:
        return None
    name = "eval" if default_budget else f"eval-{budget}-{agent.budget_unit}"
    name += "-deterministic" if deterministic else ""
    name += f"-seed-{seed}" if seed is not None else ""
    name += f"-tasks-{num_tasks}" if num_tasks is not None else ""
    path = Path(out) if out is not None else run.path / name
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create the folder {path} ({e.strerror}): "
                          "name another with --out") from None  # fmt: skip
    return path


if __name__ == "__main__":
    raise SystemExit(cli.run_main(main, None))
