"""``python -m metarl.train``: meta-train an agent, then evaluate it on held-out tasks.

    python -m metarl.train --agent rl2 --env nav
    python -m metarl.train --agent maml --env nav      # MAML-PG; --agent pretrained: its comparison
    python -m metarl.train --agent rl2 --env bandit --env-kwargs num_arms=10 --episodes-per-trial 100
    python -m metarl.train --resume runs/rl2-nav-0
    python -m metarl.train --agent rl2 --env tabular-mdp --print-config   # show, write nothing

``--agent`` is read first and picks the config class, so each agent has its own flags (``--help``
after ``--agent maml`` lists MAML's). Defaults come from the presets table in ``metarl/config.py``
for the (agent, family) pair; every flag overrides one field. The run directory (``--out``,
default ``runs/<agent>-<env>-<seed>``) gets config.json, tasks.json, checkpoint.pt, metrics.csv,
TensorBoard events and eval/.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shlex
import time
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from metarl import cli
from metarl.agents import AGENTS, MetaLearner, agent_of, agent_spec, make_agent, preset
from metarl.config import ConfigError, RunConfig, field_docs, to_json
from metarl.envs import BUILTIN_FAMILIES, Task, family_tasks, make_family, resolve_env_id
from metarl.envs.vector import resolve_device
from metarl.evaluation import summary_table
from metarl.heap import release_free_memory
from metarl.progressbar import DEFAULT_EVERY_S, ProgressReport
from metarl.runs import CONFIG, EVAL, RunDir, RunError, default_run_dir

_SPECIAL = {"env", "env_kwargs", "seed"}
DEFAULT_AGENT, DEFAULT_ENV = "rl2", "nav"
RESUME_OVERRIDES = ("steps", "device", "threads")
"""What a --resume may change: the budget, and where and how fast it runs, not what it learns."""


def _field_type(config_cls: type, field: dataclasses.Field) -> Any:
    hint = typing.get_type_hints(config_cls)[field.name]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


def _int_tuple(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers (e.g. 100,100), got {text!r}"
        ) from None


def _flag_type(kind: Any) -> Any:
    if kind is bool:
        return cli.parse_bool
    if typing.get_origin(kind) is tuple:
        return _int_tuple
    if kind is int:
        return cli.parse_count  # 3M, 500k, 1e5 as well as 3000000
    return kind


def build_parser(agent: str = DEFAULT_AGENT) -> cli.ArgumentParser:
    """The parser of ``agent``: --agent, --env, --env-kwargs, --seed, --out, --resume and one
    flag per field of the agent's config class (its docstring is the help)."""
    config_cls = agent_spec(agent).config
    p = cli.ArgumentParser(
        prog="python -m metarl.train",
        description="Meta-train an agent on a task family, then evaluate its adaptation on "
        "held-out tasks. Unset flags take the preset of the (agent, env) pair; --print-config "
        f"shows the result. These are the flags of --agent {agent}; other agents have their own "
        "(--agent NAME --help).",
    )
    p.add_argument(
        "--agent", default=None, help=f"meta-learner: {', '.join(AGENTS)} (default {DEFAULT_AGENT})"
    )
    p.add_argument("--env", default=None, help=f"task family: {', '.join(BUILTIN_FAMILIES)}, "
                   "a Gymnasium id, or pkg.module:Id-v0 (list: python -m metarl.envs; "
                   f"default {DEFAULT_ENV})")  # fmt: skip
    p.add_argument("--env-kwargs", nargs="*", default=[], metavar="KEY=VALUE",
                   help="family parameters, e.g. num_arms=10 (see python -m metarl.envs)")  # fmt: skip
    p.add_argument(
        "--seed", type=cli.parse_seed, default=None, help="seed of everything (default 0)"
    )
    p.add_argument("--out", default=None, help="run directory (default runs/<agent>-<env>-<seed>)")
    p.add_argument("--resume", default=None, metavar="DIR",
                   help="continue the run in DIR from its last checkpoint, with its config.json; "
                   f"only {_flags(RESUME_OVERRIDES)} may change")  # fmt: skip
    p.add_argument("--log-every", type=float, default=DEFAULT_EVERY_S, metavar="SECONDS",
                   help="when output is not a terminal (a log file, a cluster job), print a "
                   f"plain progress line every SECONDS (default {DEFAULT_EVERY_S:g}); a terminal "
                   "gets a live bar")  # fmt: skip
    p.add_argument("--print-config", action="store_true",
                   help="print the fully resolved config (the preset of --agent and --env with "
                   "the flags given, or the --resume run's) as JSON and exit; writes nothing")  # fmt: skip
    docs = field_docs(config_cls)
    for field in dataclasses.fields(config_cls):
        if field.name in _SPECIAL or field.name in getattr(config_cls, "NO_EFFECT", ()):
            continue
        kind = _field_type(config_cls, field)
        text = f"{docs.get(field.name, '')} (default {field.default!r} or the preset's)"
        p.add_argument(
            f"--{field.name.replace('_', '-')}",
            type=_flag_type(kind),
            default=None,
            help=text.replace("%", "%%"),  # argparse formats help with %
        )
    return p


def short_name(env: str) -> str:
    """The built-in short name of ``env`` if it is one (so presets apply to ids too)."""
    env_id = resolve_env_id(env)
    return next((k for k, v in BUILTIN_FAMILIES.items() if v == env_id), env)


def resolve_config(args: Any) -> RunConfig:
    """The config: the preset of (agent, env), then the flags given."""
    env = short_name(args.env or DEFAULT_ENV)
    base = preset(args.agent or DEFAULT_AGENT, env)
    given = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(base)
        if f.name not in _SPECIAL and getattr(args, f.name, None) is not None
    }
    kwargs = {**base.env_kwargs, **cli.env_kwargs(env, args.env_kwargs)}
    seed = base.seed if args.seed is None else args.seed
    config = dataclasses.replace(base, env=env, env_kwargs=kwargs, seed=seed, **given)
    config = config.fitted(given)
    config.validate()
    return config


def check_setup(config: RunConfig) -> None:
    """Fail early (before anything is written) on a bad family parameter or device.

    Also applies ``config.threads`` (a process-wide torch setting; the CLI owns the process).
    """
    make_family(config.env, **config.env_kwargs).close()
    resolve_device(config.device)
    if config.threads:
        torch.set_num_threads(config.threads)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m metarl.train``."""
    agent, run = _agent_and_run(argv)
    args = build_parser(agent).parse_args(argv)
    if not args.log_every > 0:
        raise ConfigError(f"--log-every must be a positive number of seconds, got {args.log_every}")
    if run is not None:
        _check_resume_flags(args)
        config = run.load_config()
        extra = {k: getattr(args, k) for k in RESUME_OVERRIDES if getattr(args, k) is not None}
        config = dataclasses.replace(config, **extra)
        config.validate()
        check_setup(config)
        if args.print_config:
            return _print_config(config)
        state = run.load_checkpoint()
        _check_resume_steps(args.steps, state, run)
        if extra:
            run.save_config(config)
    else:
        config = resolve_config(args)
        check_setup(config)
        if args.print_config:
            return _print_config(config)
        if config.init_from:  # a network that does not fit: refused before anything is written
            init_source(config).lend_weights(make_agent(config, split_tasks(config, "train")))
        run = RunDir.create(args.out or default_run_dir(agent, config.env, config.seed), config)
        state = None
    with cli.StopSignal() as stop:
        return train(agent, config, run, state, log_every=args.log_every,
                     stop=lambda: stop.requested)  # fmt: skip


def _agent_and_run(argv: Sequence[str] | None) -> tuple[str, RunDir | None]:
    """The agent whose parser reads ``argv`` (``--agent``, or the ``--resume`` run's), and the
    run being resumed. A flag that only another agent has gets a line that says whose it is."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--agent", default=None)
    pre.add_argument("--resume", default=None)
    known, rest = pre.parse_known_args(argv)
    run = RunDir.open(known.resume) if known.resume else None
    agent = agent_of(run.load_config()) if run is not None else known.agent or DEFAULT_AGENT
    agent_spec(agent)  # an unknown name: one line listing the agents
    ours = set(build_parser(agent)._option_string_actions)
    for flag in (a.split("=")[0] for a in rest if a.startswith("--")):
        if flag in ours:
            continue
        owners = [n for n in AGENTS if flag in build_parser(n)._option_string_actions]
        if owners:
            raise ConfigError(f"{flag} is a flag of --agent {' and '.join(owners)}, not of "
                              f"--agent {agent}: drop it, or pick that agent")  # fmt: skip
    return agent, run


def _check_resume_flags(args: argparse.Namespace) -> None:
    """Refuse flags that --resume would otherwise ignore (the run's config.json decides them)."""
    free = {"resume", "print_config", "log_every", "env_kwargs", *RESUME_OVERRIDES}
    fixed = [k for k, v in vars(args).items() if k not in free and v is not None]
    fixed += ["env_kwargs"] if args.env_kwargs else []
    if fixed:
        raise ConfigError(
            f"{_flags(fixed)} cannot change on --resume (the run's directory and config.json fix "
            f"it); only {_flags(RESUME_OVERRIDES)} can: drop it, or start a new run with --out"
        )


def _check_resume_steps(steps: int | None, state: dict[str, Any], run: RunDir) -> None:
    """Refuse a --steps below what the checkpoint has trained (it cannot be untrained)."""
    trained = int(state["agent"].get("env_steps", 0))
    if steps is not None and steps < trained:
        raise ConfigError(
            f"--steps {steps:,} is below the {trained:,} env steps {run.path} has trained: give "
            f"more to train on, or drop --steps to finish the run as planned (python -m "
            f"metarl.evaluate {shlex.quote(str(run.path))} scores the checkpoint as it is)"
        )


def _flags(fields: Sequence[str]) -> str:
    """``["env_kwargs", "lr"]`` → ``"--env-kwargs, --lr"``."""
    return ", ".join(f"--{k.replace('_', '-')}" for k in fields)


def _print_config(config: Any) -> int:
    """Print ``config`` as config.json would hold it; 0 (the dry run of ``--print-config``)."""
    print(json.dumps(to_json(config), indent=1))
    return 0


def train(
    agent_name: str,
    config: RunConfig,
    run: RunDir,
    state: dict[str, Any] | None,
    log_every: float = DEFAULT_EVERY_S,
    on_iteration: Callable[[dict[str, float]], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> int:
    """Meta-train with a progress report and checkpoints, then evaluate on the held-out tasks.

    ``on_iteration`` receives each iteration's metrics row (after it is logged, and after the
    checkpoint of that iteration, if any, is written): how a sweep reports to its scheduler. An
    interrupt (Ctrl-C) becomes :class:`metarl.cli.Interrupted` with the command that continues
    the run and how much work it redoes. ``stop`` is asked after every iteration (the CLI's: a
    SIGTERM came); when it says yes, training checkpoints and raises :class:`cli.Terminated`."""
    env_id = resolve_env_id(config.env)
    test_tasks = held_out_tasks(config, run, new_run=state is None)
    agent: MetaLearner = make_agent(config, split_tasks(config, "train"))
    lent = None  # env steps of the --init-from weights
    if state is not None:
        run.restore(agent, state)
    elif config.init_from:
        lent = init_source(config).lend_weights(agent)
    metrics = run.metrics_log(agent.iteration)
    board = run.tensorboard(agent.iteration)
    started = time.perf_counter() - (state or {}).get("wall_time", 0.0)
    print(f"metarl: {agent_name} on {env_id} ({config.env_kwargs or 'defaults'}), "
          f"device {agent.device}, {config.steps:,} env steps -> {run.path}")  # fmt: skip
    if lent is not None:
        print(f"starting from the weights of {config.init_from} (trained {lent:,} env steps)")
    note = iteration_note(agent.env_steps, config.steps, agent.steps_per_iteration)
    if note:
        print(note)
    saved = agent.env_steps if state is not None else None
    report = ProgressReport("train", config.steps, agent.progress_metrics, every_s=log_every,
                            completed=agent.env_steps)  # fmt: skip
    try:
        with report:
            while agent.env_steps < config.steps:
                row = agent.train_iteration()
                release_free_memory()  # else the freed heap fragments and RSS grows (heap.py)
                row["time_s"] = time.perf_counter() - started
                metrics.append(row)
                for key, value in row.items():
                    board.add_scalar(f"train/{key}", value, agent.iteration)
                report.update(agent.env_steps, row["sps"], row)
                done = agent.env_steps >= config.steps
                if done or agent.iteration % config.checkpoint_every == 0:
                    saved = _checkpoint(run, agent, started)
                if on_iteration is not None:
                    on_iteration(row)
                if stop is not None and stop() and not done:
                    if saved != agent.env_steps:
                        _checkpoint(run, agent, started)
                    raise cli.Terminated(
                        f"terminated (SIGTERM) at {agent.env_steps:,} of {config.steps:,} env "
                        "steps, checkpoint written: continue with `python -m metarl.train "
                        f"--resume {shlex.quote(str(run.path))}`"
                    )
    except KeyboardInterrupt:
        raise cli.Interrupted(interrupt_message(run, saved, agent.env_steps, config)) from None
    finally:
        board.close()
    train_time = time.perf_counter() - started
    try:
        evaluate_and_save(agent, test_tasks, run, {"train_wall_time_s": train_time})
    except KeyboardInterrupt:
        raise cli.Interrupted(
            f"interrupted during the evaluation; training is complete and saved: evaluate with "
            f"`python -m metarl.evaluate {shlex.quote(str(run.path))}`"
        ) from None
    return 0


def init_source(config: RunConfig) -> RunDir:
    """The run named by ``--init-from``; :class:`RunError` where the folder holds none."""
    path = Path(config.init_from)
    if not (path / CONFIG).is_file():
        raise RunError(f"--init-from {path} holds no run (no config.json): give the directory "
                       "of a metarl.train run")  # fmt: skip
    return RunDir(path)


def split_tasks(config: RunConfig, split: str) -> list[Task]:
    """The run's tasks of ``split``, drawn from its seed: the pool of ``train_tasks`` training
    tasks ("train") or the ``eval_tasks`` held-out ones ("test")."""
    count = config.train_tasks if split == "train" else config.eval_tasks
    return family_tasks(config.env, split, count, config.seed, **config.env_kwargs)


def _checkpoint(run: RunDir, agent: MetaLearner, started: float) -> int:
    """Write the agent's checkpoint with the wall time since ``started``; its env steps."""
    wall = time.perf_counter() - started
    run.save_checkpoint({"agent": agent.state_dict(), "wall_time": wall})
    return agent.env_steps


def iteration_note(done: int, steps: int, per_iteration: int) -> str:
    """A note when training may not stop at exactly ``steps`` env steps: it runs whole
    iterations of (at most) ``per_iteration`` env steps, the last one reaching ``steps``; ""
    when they add up exactly."""
    left = steps - done
    if left <= 0 or left % per_iteration == 0:
        return ""
    stop = done + math.ceil(left / per_iteration) * per_iteration
    return (
        f"note: an iteration is {per_iteration:,} env steps (at most), so training stops by "
        f"{stop:,} env steps, the first whole iteration to reach --steps {steps:,}"
    )


def interrupt_message(run: RunDir, saved: int | None, now: int, config: RunConfig) -> str:
    """What an interrupt of training at ``now`` env steps leaves (the last checkpoint holds
    ``saved``, None when there is none yet) and the command that goes on."""
    path = shlex.quote(str(run.path))
    if saved is None:
        return (
            f"interrupted at {now:,} of {config.steps:,} env steps, before the first checkpoint "
            f"(every {config.checkpoint_every} iterations): nothing to resume; delete {path} "
            "and start again"
        )
    return (
        f"interrupted at {now:,} of {config.steps:,} env steps; the checkpoint at {saved:,} env "
        f"steps is intact: continue with `python -m metarl.train --resume {path}` (it redoes "
        f"the {now - saved:,} env steps since, and the iteration in progress)"
    )


def held_out_tasks(config: RunConfig, run: RunDir, new_run: bool = False) -> list[Task]:
    """The run's held-out tasks: ``config.eval_tasks`` of the family's test split, drawn from
    ``config.seed``. They go to tasks.json for a new run, and whenever the directory lacks it, so
    that a copy of config, checkpoint and metrics resumes and evaluates as the original would."""
    tasks = split_tasks(config, "test")
    if new_run or not run.has_tasks():
        run.save_tasks(resolve_env_id(config.env), config.seed, tasks)
    return tasks


def evaluate_and_save(
    agent: MetaLearner,
    tasks: Sequence[Any],
    run: RunDir,
    meta: dict[str, Any],
    budget: int | None = None,
    out: Path | None = None,
    deterministic: bool = False,
) -> None:
    """Adaptation curve on ``tasks`` → ``out/adaptation.*`` (default ``run/eval``); prints the
    summary table. ``budget`` is the agent's adaptation budget (None: as trained);
    ``deterministic`` scores the most likely actions instead of sampled ones."""
    start = time.perf_counter()
    curve = agent.adaptation_curve(tasks, budget, deterministic=deterministic)
    meta = {**curve.meta, **meta, "eval_wall_time_s": time.perf_counter() - start,
            "device": str(agent.device), "train_env_steps": agent.env_steps,
            "planned_env_steps": agent.config.steps}  # fmt: skip
    curve = dataclasses.replace(curve, meta=meta)
    path = curve.save(out or run.path / EVAL)
    print(summary_table(curve))
    print(f"adaptation curve: {path} (plot: {Path(path).with_suffix('.png')})")


if __name__ == "__main__":
    raise SystemExit(cli.run_main(main, None))
