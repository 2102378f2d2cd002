"""``python -m metarl.baselines``: a baseline's adaptation curve on a meta-learner's held-out tasks.

    python -m metarl.baselines --algo ppo --env nav          # SB3 PPO from scratch per task
    python -m metarl.baselines --algo sac --env cheetah-vel --steps 50k --eval-tasks 5
    python -m metarl.baselines --algo multitask --env cheetah-dir
    python -m metarl.baselines --algo recurrent-ppo --env bandit
    python -m metarl.baselines --algo gittins --env bandit
    python -m metarl.baselines --resume runs/ppo-nav-0       # finish the held-out tasks left
    python -m metarl.baselines --resume runs/ppo-nav-0 --eval-tasks 400   # and add 200 more

The held-out tasks are exactly a ``metarl.train`` run's with the same ``--env``,
``--env-kwargs``, ``--seed`` and ``--eval-tasks`` (the defaults are the rl2 preset's), so
``python -m metarl.compare runs/rl2-nav-0 runs/ppo-nav-0`` pairs them task by task. The run
directory (``--out``, default ``runs/<algo>-<env>-<seed>``) gets config.json, tasks.json,
``tasks/task-NNNN.json`` (each held-out task's result as it finishes; ``--resume`` skips them) and
eval/adaptation.{json,csv,png}.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import math
import shlex
import typing
from collections.abc import Sequence

import torch

from metarl import cli
from metarl.agents import preset
from metarl.baselines import BaselineSpec, baseline_spec, baselines
from metarl.baselines.config import FAMILY_STEPS, OTHER_FAMILY_STEPS, BaselineConfig
from metarl.config import ConfigError, field_docs
from metarl.envs import Task, family_tasks, make_family, resolve_env_id, tasks_to_json
from metarl.envs.vector import resolve_device
from metarl.evaluation import JSON_NAME, AdaptationCurve, summary_table
from metarl.progressbar import DEFAULT_EVERY_S
from metarl.runs import CONFIG, EVAL, TASKS, RunDir, RunError, default_run_dir
from metarl.train import short_name

RESUME_OVERRIDES = ("device", "threads", "eval_tasks")
"""What a --resume may change: where and how fast it runs, and (only upward) how many held-out
tasks it covers, since each task's result is its own and the first tasks stay the same."""
USED: dict[str, tuple[str, ...]] = {
    "scratch": ("steps", "eval_at", "eval_episodes", "deterministic", "num_envs", "algo_kwargs"),
    "multitask": ("steps", "eval_at", "pretrain_steps", "checkpoint_every", "train_tasks",
                  "eval_episodes", "deterministic", "num_envs", "algo_kwargs"),
    "trial": ("pretrain_steps", "checkpoint_every", "train_tasks", "episodes_per_trial",
              "deterministic", "num_envs", "algo_kwargs"),
    "classic": ("episodes_per_trial", "algo_kwargs"),
}  # fmt: skip
"""The fields of BaselineConfig each kind of baseline reads (besides env, seed, eval_tasks...)."""
_COMMON = ("algo", "env", "env_kwargs", "seed", "eval_tasks", "device", "threads")
_BOOL = ("deterministic",)
_DICT = ("env_kwargs", "algo_kwargs")


def build_parser() -> cli.ArgumentParser:
    """One flag per field of :class:`BaselineConfig` (its docstring is the help), plus --out,
    --resume and --log-every."""
    p = cli.ArgumentParser(
        prog="python -m metarl.baselines",
        description="Evaluate a baseline (SB3 from scratch, a task-blind multi-task policy, "
        "RecurrentPPO on RL² trials, a classic bandit/MDP algorithm) on the held-out tasks of a "
        "metarl.train run with the same --env, --env-kwargs, --seed and --eval-tasks, and write "
        "the same adaptation curve files. Algorithms: "
        + "; ".join(f"{name}: {spec.summary}" for name, spec in baselines().items()),
    )
    p.add_argument("--out", default=None, help="run directory (default runs/<algo>-<env>-<seed>)")
    p.add_argument("--resume", default=None, metavar="DIR",
                   help="finish the run in DIR (its finished held-out tasks are kept); only "
                   "--device, --threads and a larger --eval-tasks (the run's tasks and more of "
                   "the same draw) may change")  # fmt: skip
    p.add_argument("--log-every", type=float, default=DEFAULT_EVERY_S, metavar="SECONDS",
                   help="when output is not a terminal, print a plain progress line every "
                   f"SECONDS (default {DEFAULT_EVERY_S:g})")  # fmt: skip
    p.add_argument("--print-config", action="store_true",
                   help="print the resolved config as JSON and exit; writes nothing")  # fmt: skip
    docs = field_docs(BaselineConfig)
    hints = typing.get_type_hints(BaselineConfig)
    for field in dataclasses.fields(BaselineConfig):
        flag = f"--{field.name.replace('_', '-')}"
        text = docs.get(field.name, "").replace("%", "%%")
        if field.name in _DICT:
            p.add_argument(flag, nargs="*", default=None, metavar="KEY=VALUE", help=text)
        elif field.name in _BOOL:
            p.add_argument(flag, type=cli.parse_bool, default=None, help=text)
        elif field.name == "eval_at":
            p.add_argument(flag, nargs="+", type=cli.parse_count, default=None, metavar="STEPS",
                           help=text)  # fmt: skip
        elif field.name == "seed":
            p.add_argument(flag, type=cli.parse_seed, default=None, help=text)
        elif hints[field.name] is int:
            p.add_argument(flag, type=cli.parse_count, default=None, help=text)
        else:
            p.add_argument(flag, type=hints[field.name], default=None, help=text)
    return p


def resolve_config(args: argparse.Namespace) -> tuple[BaselineConfig, BaselineSpec]:
    """The config of a new run: the flags given, the rl2 preset of the family for the held-out
    tasks, trials and budgets, the family's defaults for the rest."""
    env = short_name(args.env or "nav")
    rl2 = preset("rl2", env)
    env_kwargs = {**rl2.env_kwargs, **cli.env_kwargs(env, args.env_kwargs or [])}
    family = make_family(env, **env_kwargs)
    action_space = family.action_space
    family.close()
    algo = args.algo or "ppo"
    spec = baseline_spec(algo, env, action_space)
    used = USED[spec.kind]
    unused = [f for f in dataclasses.fields(BaselineConfig)
              if f.name not in (*_COMMON, *used) and getattr(args, f.name) is not None]  # fmt: skip
    if unused:
        flag = "--" + unused[0].name.replace("_", "-")
        raise ConfigError(f"{flag} has no effect on --algo {algo} ({spec.kind} baseline): drop it")
    get = lambda name, default: getattr(args, name) or default  # noqa: E731
    trial = spec.kind in ("trial", "classic")
    config = BaselineConfig(
        algo=algo, env=env, env_kwargs=env_kwargs,
        seed=rl2.seed if args.seed is None else args.seed,
        eval_tasks=get("eval_tasks", rl2.eval_tasks),
        steps=get("steps", FAMILY_STEPS.get(env, OTHER_FAMILY_STEPS)) if "steps" in used else 0,
        pretrain_steps=get("pretrain_steps", rl2.steps) if "pretrain_steps" in used else 0,
        checkpoint_every=(get("checkpoint_every", BaselineConfig.checkpoint_every)
                          if "checkpoint_every" in used else 0),
        train_tasks=get("train_tasks", rl2.train_tasks) if "train_tasks" in used else 0,
        episodes_per_trial=get("episodes_per_trial", rl2.episodes_per_trial) if trial else 0,
        eval_at=tuple(sorted(set(args.eval_at or ()))),
        eval_episodes=get("eval_episodes", BaselineConfig.eval_episodes),
        deterministic=bool(args.deterministic),
        num_envs=get("num_envs", 16 if spec.kind == "trial" else 1) if "num_envs" in used else 0,
        algo_kwargs=cli.parse_kwargs(args.algo_kwargs or [], "--algo-kwargs"),
        device=get("device", BaselineConfig.device),
        threads=get("threads", 0),
    )  # fmt: skip
    config.validate()
    config = dataclasses.replace(config, algo_kwargs=check_algo_kwargs(config, spec))
    return config, spec


def check_algo_kwargs(config: BaselineConfig, spec: BaselineSpec) -> dict[str, typing.Any]:
    """``config.algo_kwargs`` checked before anything is written: a name the algorithm does
    not take, a value of the wrong kind or one it refuses is a ConfigError; a whole number
    written as a float (``n_steps=1e3``) becomes an int where the algorithm's default is one."""
    if not config.algo_kwargs:
        return {}
    if spec.kind == "classic":
        from metarl.baselines.classic import classic_algorithm, classic_family

        classic_algorithm(config.algo, classic_family(config.env), [], config.algo_kwargs)
        return config.algo_kwargs
    from metarl.baselines import scratch

    algo = "ppo" if spec.kind == "multitask" else config.algo  # the SB3 algorithm it trains
    if spec.kind == "trial":
        from sb3_contrib import RecurrentPPO as cls
    else:
        cls = scratch.sb3_class(algo)
    parameters = inspect.signature(cls.__init__).parameters
    takes = set(parameters) - {"self", "policy", "env"}
    extra = () if spec.kind == "trial" else scratch.WRAPPER_KEYS
    unknown = [k for k in config.algo_kwargs if k not in takes and k not in extra]
    if unknown:
        listed = sorted(k for k in takes | set(extra) if not k.startswith("_"))
        raise ConfigError(f"--algo-kwargs {unknown[0]}: {cls.__name__} has no such argument; it "
                          f"takes {', '.join(listed)}")  # fmt: skip
    kwargs = {
        key: value_of_kind(cls.__name__, key, value, parameters[key].default)
        if key in parameters
        else value
        for key, value in config.algo_kwargs.items()
    }
    if spec.kind == "trial":
        from metarl.baselines import recurrent

        recurrent.probe_model(dataclasses.replace(config, algo_kwargs=kwargs))
    else:
        hp = scratch.hyperparameters(algo, config.env, kwargs)
        scratch.probe_model(algo, config.env, config.env_kwargs, hp)
    return kwargs


COUNTS = ("n_steps", "batch_size", "n_epochs", "buffer_size", "train_freq", "policy_delay")
"""SB3 arguments that count and must be at least 1 (some constructors take 0 and fail later,
e.g. RecurrentPPO with ``n_steps=0`` on its first rollout)."""


def value_of_kind(owner: str, key: str, value: typing.Any, default: typing.Any) -> typing.Any:
    """``--algo-kwargs key=value`` as ``owner``'s default for ``key`` is typed: refused when
    that is a bool or a number and ``value`` is not one (text, a fraction for a count, NaN or
    inf; SB3 would fail on it only mid-training, in a worker), a whole float made an int."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(default, bool):
        ok, want = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok = isinstance(value, list) or (number and math.isfinite(value) and value == int(value))
        want = "a whole number"
    elif isinstance(default, float):
        ok, want = isinstance(value, list) or (number and math.isfinite(value)), "a finite number"
    else:
        return value
    if ok and key in COUNTS and number and value < 1:
        ok, want = False, "a count of at least 1"
    if not ok:
        raise ConfigError(f"--algo-kwargs {key}={value!r}: {owner} expects {want} there "
                          f"(its default is {default!r})")  # fmt: skip
    return int(value) if isinstance(default, int) and number else value


def load_resumed(args: argparse.Namespace) -> tuple[RunDir, BaselineConfig, BaselineSpec]:
    """The run to resume, its config (with the --device, --threads and --eval-tasks given, saved
    unless --print-config, which writes nothing) and spec."""
    run = RunDir.open(args.resume)
    fixed = [k for k, v in vars(args).items()
             if v is not None and k not in ("resume", "log_every", "print_config",
                                            *RESUME_OVERRIDES)]  # fmt: skip
    if fixed:
        flag = "--" + fixed[0].replace("_", "-")
        raise ConfigError(f"{flag} cannot change on --resume (the run's config.json fixes it); "
                          f"only --device, --threads and a larger --eval-tasks can: drop it, or "
                          "start a new run with --out")  # fmt: skip
    config = load_config(run)
    extra = {k: getattr(args, k) for k in RESUME_OVERRIDES if getattr(args, k) is not None}
    grown = dataclasses.replace(config, **extra)
    grown.validate()
    if grown.eval_tasks != config.eval_tasks:
        check_growth(run, config, grown.eval_tasks)
    spec = spec_of(grown)
    if extra and not args.print_config:
        run.save_config(grown)
    return run, grown, spec


def load_config(run: RunDir) -> BaselineConfig:
    """The baseline config in ``run``'s config.json; a :class:`RunError` naming the file if it is
    unreadable or another kind of run's."""
    try:
        return BaselineConfig.load(run.path / CONFIG)
    except (OSError, ValueError, TypeError) as e:
        raise RunError(f"{run.path / CONFIG} is not a readable baseline config ({e})") from None


def check_growth(run: RunDir, config: BaselineConfig, eval_tasks: int) -> None:
    """Refuse ``--resume --eval-tasks eval_tasks`` on ``run`` (of ``config``) unless it adds
    tasks to the run's own: fewer tasks would drop finished results, and a family whose draw of
    more tasks does not begin with the run's (tabular-mdp draws a split's tasks all at once)
    would score other tasks under the same task numbers."""
    if eval_tasks < config.eval_tasks:
        raise ConfigError(f"--eval-tasks {eval_tasks}: the run in {run.path} has "
                          f"{config.eval_tasks} held-out tasks, and --resume can only add more; "
                          "start a new run with --out for fewer")  # fmt: skip
    drawn = family_tasks(config.env, "test", eval_tasks, config.seed, **config.env_kwargs)
    first = family_tasks(config.env, "test", config.eval_tasks, config.seed, **config.env_kwargs)
    if tasks_to_json(drawn[: config.eval_tasks]) != tasks_to_json(first):
        raise ConfigError(f"--eval-tasks {eval_tasks}: {config.env}'s draw of {eval_tasks} "
                          f"held-out tasks does not begin with the run's {config.eval_tasks} "
                          "(the family draws a split's tasks together), so the run cannot grow: "
                          "start a new run with --out and --eval-tasks "
                          f"{eval_tasks}")  # fmt: skip


def held_out_tasks(config: BaselineConfig, run: RunDir) -> list[Task]:
    """``config.eval_tasks`` tasks of the test split of ``config.seed``: metarl.train's. They
    go to tasks.json, also when it holds their first tasks only (a run grown by ``--resume
    --eval-tasks``); a tasks.json that holds others (an edited run) is refused."""
    tasks = family_tasks(config.env, "test", config.eval_tasks, config.seed, **config.env_kwargs)
    drawn = tasks_to_json(tasks)
    saved = json.loads((run.path / TASKS).read_text()).get("tasks") if run.has_tasks() else None
    if saved is not None and (not isinstance(saved, list) or saved != drawn[: len(saved)]):
        raise RunError(f"{run.path / TASKS} holds other tasks than config.json's seed draws: "
                       "delete it to draw them again")  # fmt: skip
    if saved != drawn:
        run.save_tasks(resolve_env_id(config.env), config.seed, tasks)
    return tasks


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m metarl.baselines``."""
    args = build_parser().parse_args(argv)
    if args.log_every <= 0:
        raise ConfigError(f"--log-every must be a positive number of seconds, got {args.log_every}")
    if args.resume:
        run, config, spec = load_resumed(args)
        if args.print_config:
            return _print_config(config)
    else:
        config, spec = resolve_config(args)
        if args.device is not None:
            resolve_device(config.device)  # --device cuda without CUDA: one line
        if args.print_config:
            return _print_config(config)
        run = RunDir.create(args.out or default_run_dir(config.algo, config.env, config.seed),
                            config)  # fmt: skip
    try:
        with cli.TerminateAsInterrupt():
            curve = evaluate(run, config, spec, args.log_every)
    except KeyboardInterrupt as e:
        path = shlex.quote(str(run.path))
        kept = f"the held-out tasks finished so far are kept in {path}/tasks"
        if spec.kind in ("multitask", "trial"):
            kept += f" (and the {config.algo} training up to its last checkpoint)"
        how = f"continue with `python -m metarl.baselines --resume {path}`"
        if isinstance(e, cli.SigTerm):
            raise cli.Terminated(f"terminated (SIGTERM); {kept}: {how}") from None
        raise cli.Interrupted(f"interrupted; {kept}: {how}") from None
    print(summary_table(curve))
    saved = run.path / EVAL / JSON_NAME
    print(f"adaptation curve: {saved} (plot: {saved.with_suffix('.png')})")
    return 0


def evaluate(
    run: RunDir, config: BaselineConfig, spec: BaselineSpec, every_s: float
) -> AdaptationCurve:
    """The baseline's curve on the held-out tasks of ``config`` (those already in
    ``run``/tasks are kept), saved to ``run``/eval; a progress line every ``every_s`` seconds
    when output is not a terminal. The Python API under the CLI and ``metarl.sweep --algo``."""
    tasks = held_out_tasks(config, run)
    torch.set_num_threads(1)  # as in every worker: more threads only contend (and give other sums)
    print(f"metarl.baselines: {config.algo} on {resolve_env_id(config.env)} "
          f"({config.env_kwargs or 'defaults'}), {len(tasks)} held-out tasks, "
          f"{config.workers()} worker(s) -> {run.path}")  # fmt: skip
    curve = spec.curve_function()(config, run.path, tasks, every_s)
    curve.save(run.path / EVAL)
    return curve


def spec_of(config: BaselineConfig) -> BaselineSpec:
    """The registry entry of ``config.algo`` on ``config.env`` (refused if it does not fit)."""
    family = make_family(config.env, **config.env_kwargs)
    try:
        return baseline_spec(config.algo, config.env, family.action_space)
    finally:
        family.close()


def _print_config(config: BaselineConfig) -> int:
    print(json.dumps(config.to_json(), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run_main(main, None))
