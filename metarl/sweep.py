"""``python -m metarl.sweep``: train seeds × grid points on Ray Tune, then aggregate the curves.

    python -m metarl.sweep --agent rl2 --env nav --seeds 0,10000,20000 --steps 1M
    python -m metarl.sweep --agent rl2 --env nav --grid lr=1e-3,3e-4 hidden_size=64,128
    python -m metarl.sweep --resume runs/sweep-rl2-nav          # after a crash or a kill
    python -m metarl.sweep ... --address auto                    # join a running Ray cluster
    python -m metarl.sweep --algo ppo --env nav --seeds 0,10000 --steps 10k    # a baseline

Every flag of ``python -m metarl.train`` (for ``--agent``), or of ``python -m metarl.baselines``
(for ``--algo``), is accepted with the same meaning and errors; ``--grid KEY=V1,V2 ...`` gives
some of them several values (each value read by that module's own parser) and the sweep runs
every combination for every seed of ``--seeds``. Each trial is an ordinary run directory
``DIR/trials/<grid point>/seed-<s>/`` (grid point ``lr=0.001,hidden_size=64`` or ``default``),
trained in-process (:func:`metarl.train.train`, or the baseline's
:func:`metarl.baselines.__main__.evaluate`) inside a Ray Tune function trainable that reports
every iteration's metrics to Tune; ``metarl.evaluate``, ``compare``, ``progress`` and
``--resume`` of train or baselines work on a trial. A trial's own output goes to ``sweep.log``
in its directory; the sweep prints one line per trial started, finished or failed, and every
``--log-every`` seconds a status with the env steps trained of those planned and the time left.

``DIR/sweep.json`` keeps the sweep's arguments, so ``--resume DIR`` needs nothing else: it decides
from the run directories what is left (``eval/adaptation.json``: done; ``checkpoint.pt``, or a
baseline's finished held-out tasks in ``tasks/``: go on from it; only ``config.json``: start
again) and submits only those trials. At the end ``DIR/summary/`` holds the aggregates over
seeds × held-out tasks (:mod:`metarl.aggregate`). Tune's own files go to ``DIR/ray/``. A failed
trial is reported with its error and the others go on; the exit status is then 1. The first
Ctrl-C or SIGTERM (what a cluster scheduler sends) stops the running trials, which keep what
they saved (the last checkpoint, ``--checkpoint-every``; a baseline's finished tasks), prints
the summary of the finished ones and the ``--resume`` command, and exits with 130 or 143; a
second one stops at once. So does a SIGTERM that reaches the local Ray cluster's processes too
(GNU ``timeout``, ``kill -- -PGID``), without waiting for Tune. One while Ray is still
starting ends the sweep at once, before anything is written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import itertools
import json
import logging
import math
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from metarl import cli
from metarl import train as train_cli
from metarl.agents import agent_spec
from metarl.aggregate import SUMMARY, sweep_curves, write_summary
from metarl.config import ConfigError
from metarl.envs.vector import resolve_device
from metarl.evaluation import JSON_NAME, AdaptationCurve
from metarl.fileio import atomic_write
from metarl.progress import load_metrics
from metarl.progressbar import format_count, format_duration
from metarl.runs import CHECKPOINT, CONFIG, EVAL, SWEEP_JSON, RunDir, RunError

__all__ = ["Trial", "build_parser", "main", "plan", "run_trial", "trial_status"]

TRIALS = "trials"
LOG = "sweep.log"
FORMAT_VERSION = 1
OWN_FLAGS = ("--seed", "--out", "--resume", "--print-config", "--agent", "--algo")
RESUME_FREE = ("address", "cpus_per_trial", "gpus_per_trial", "max_concurrent")
"""What a --resume may change: where and how many trials run at once, not what they learn."""
_SAFE = re.compile(r"[^A-Za-z0-9._=,+-]")


@dataclasses.dataclass(frozen=True)
class Trial:
    """One (grid point, seed) of a sweep."""

    point: str  # grid point name, "lr=0.001,hidden_size=64" or "default"
    seed: int
    path: Path  # DIR/trials/<point>/seed-<seed>
    config: Any  # the resolved RunConfig (the run directory's, if it has one)

    @property
    def name(self) -> str:
        """``<point>/seed-<seed>``."""
        return f"{self.point}/seed-{self.seed}"


@dataclasses.dataclass(frozen=True)
class Learner:
    """What the trials train: a meta-learner of ``metarl.train`` (``flag="agent"``) or a
    baseline of ``metarl.baselines`` (``flag="algo"``), with the parser, config and run of each."""

    flag: str  # "agent" or "algo"
    name: str

    @property
    def module(self) -> str:
        """The module whose flags the trials take."""
        return "metarl.train" if self.flag == "agent" else "metarl.baselines"

    @property
    def parser(self) -> cli.ArgumentParser:
        """The trials' parser (metarl.train's of the agent, or metarl.baselines'), reporting
        errors as the sweep's; built once per learner, as a plan parses every trial's flags."""
        return _trial_parser(self.flag, self.name)

    def parse(self, argv: Sequence[str]) -> Any:
        """``argv`` (trial flags) parsed as one trial's."""
        return self.parser.parse_args([f"--{self.flag}", self.name, *argv])

    def resolve(self, args: Any) -> Any:
        """The config of a new trial from its parsed flags."""
        if self.flag == "agent":
            return train_cli.resolve_config(args)
        return _baselines().resolve_config(args)[0]

    def load(self, path: Path) -> Any:
        """The config in the trial directory ``path``."""
        run = RunDir.open(path)
        return run.load_config() if self.flag == "agent" else _baselines().load_config(run)

    def check(self, config: Any) -> None:
        """Fail before anything is written on a bad family parameter or device."""
        if self.flag == "agent":
            train_cli.check_setup(config)
        else:
            _baselines().spec_of(config)
            resolve_device(config.device)

    def run(self, config: Any, run: RunDir, log_every: float, report: Any) -> None:
        """Train (or go on training) the trial ``run``: ``report(row)`` after each iteration of a
        meta-learner; a baseline runs its held-out tasks (the finished ones are kept)."""
        if self.flag == "agent":
            state = run.load_checkpoint() if (run.path / CHECKPOINT).is_file() else None
            train_cli.check_setup(config)  # torch threads = config.threads
            train_cli.train(self.name, config, run, state, log_every=log_every,
                            on_iteration=report)  # fmt: skip
        else:
            baselines = _baselines()
            baselines.evaluate(run, config, baselines.spec_of(config), log_every)


@functools.cache
def _trial_parser(flag: str, name: str) -> cli.ArgumentParser:
    """:attr:`Learner.parser`, built once per process (about 20 ms each) and kept here, not on
    the instance: a ``cached_property`` holds a lock on Python 3.11 that Ray cannot pickle with
    the trainable, and a parser on the instance would make it unpicklable. Parsing does not
    change the parser, so the shared one is safe."""
    parser = train_cli.build_parser(name) if flag == "agent" else _baselines().build_parser()
    parser.prog = "python -m metarl.sweep"
    return parser


def _baselines() -> Any:
    """metarl.baselines' CLI module (imported when a sweep of baselines needs it)."""
    return importlib.import_module("metarl.baselines.__main__")


def build_parser() -> cli.ArgumentParser:
    """The sweep's own flags; the rest are metarl.train's."""
    p = cli.ArgumentParser(
        prog="python -m metarl.sweep",
        allow_abbrev=False,  # --seed must not pass for --seeds
        description="Train every seed of --seeds for every point of --grid on Ray Tune (this "
        "machine, or a cluster with --address), one run directory per trial, then aggregate "
        "the adaptation curves over seeds × held-out tasks into DIR/summary/. Any other flag is "
        "metarl.train's (python -m metarl.train --agent NAME --help lists them), or with --algo "
        "metarl.baselines', and applies to every trial.",
    )
    p.add_argument(
        "--agent", default=None, help=f"meta-learner (default {train_cli.DEFAULT_AGENT})"
    )
    p.add_argument("--algo", default=None,
                   help="a baseline of python -m metarl.baselines instead of a meta-learner "
                   "(e.g. ppo, multitask); the trials then take metarl.baselines' flags")  # fmt: skip
    p.add_argument("--seeds", default="0,10000,20000",
                   help="comma-separated training seeds (default 0,10000,20000)")  # fmt: skip
    p.add_argument("--grid", nargs="*", default=[], metavar="KEY=V1,V2",
                   help="train flags with several values, e.g. lr=1e-3,3e-4 hidden_size=64,128; "
                   "every combination is a grid point")  # fmt: skip
    p.add_argument("--out", default=None,
                   help="sweep directory (default runs/sweep-<agent or algo>-<env>)")  # fmt: skip
    p.add_argument("--resume", default=None, metavar="DIR",
                   help="finish the sweep in DIR: only its unfinished trials run, each from its "
                   "last checkpoint; only --address and the per-trial resources may change")  # fmt: skip
    p.add_argument("--address", default=None,
                   help="a running Ray cluster (auto, HOST:PORT or ray://HOST:10001); default: "
                   "start Ray on this machine with all its CPUs")  # fmt: skip
    p.add_argument("--cpus-per-trial", type=int, default=None,
                   help="CPUs Ray reserves for a trial: its torch threads, or a baseline's "
                   "worker processes (default 1)")  # fmt: skip
    p.add_argument("--gpus-per-trial", type=float, default=None,
                   help="GPUs (or a share, e.g. 0.25) Ray reserves for a trial (default 0)")  # fmt: skip
    p.add_argument("--max-concurrent", type=int, default=None,
                   help="most trials at once (default: as many as the CPUs and GPUs allow)")  # fmt: skip
    return p


# --------------------------------------------------------------------------------------------
# The plan: trials from arguments, and what is left of them
# --------------------------------------------------------------------------------------------


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",")]
    except ValueError:
        raise ConfigError(
            f"--seeds takes comma-separated integers (e.g. 0,10000), got {text!r}"
        ) from None
    if len(set(seeds)) != len(seeds) or any(s < 0 for s in seeds):
        raise ConfigError(f"--seeds must be distinct non-negative integers, got {text!r}")
    return seeds


def _grid(items: Sequence[str], learner: Learner) -> list[tuple[str, list[str]]]:
    """``["lr=1e-3,3e-4"]`` → ``[("--lr", ["1e-3", "3e-4"])]``, each flag one of the trials'."""
    flags = learner.parser._option_string_actions
    whose = f"--{learner.flag} {learner.name}"
    out: list[tuple[str, list[str]]] = []
    for item in items:
        key, sep, values = item.partition("=")
        flag = "--" + key.strip().lstrip("-").replace("_", "-")
        if not sep or not values or "" in values.split(","):
            raise ConfigError(f"--grid takes KEY=V1,V2 (e.g. lr=1e-3,3e-4), got {item!r}")
        if flag in ("--seed", "--env", "--env-kwargs", *OWN_FLAGS) or flag not in flags:
            why = "use --seeds" if flag == "--seed" else f"not a config flag of {whose}"
            raise ConfigError(
                f"--grid {key}: {why} (see python -m {learner.module} {whose} --help)"
            )
        if flag in (f for f, _ in out):
            raise ConfigError(
                f"--grid names {key} twice: give all its values once, comma-separated"
            )
        out.append((flag, values.split(",")))
    return out


def _value_text(value: Any) -> str:
    """A parsed flag value as a grid point name shows it: shortest float repr, true/false."""
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, float) else str(value)


def _point_name(parsed: dict[str, Any]) -> str:
    """``{"lr": 0.001, "hidden_size": 64}`` → ``"lr=0.001,hidden_size=64"`` (characters other
    than letters, digits and ``._=,+-`` become ``_``); ``"default"`` for no grid."""
    if not parsed:
        return "default"
    return _SAFE.sub("_", ",".join(f"{k}={_value_text(v)}" for k, v in parsed.items()))


def plan(saved: dict[str, Any], out: Path) -> list[Trial]:
    """Every trial of the sweep ``saved`` (sweep.json's content) in ``out``, with its config:
    resolved by metarl.train's parser and presets, or read from the trial's config.json."""
    learner = learner_of(saved)
    trials: list[Trial] = []
    names: set[tuple[str, int]] = set()
    grid = saved["grid"]
    for combo in itertools.product(*[values for _, values in grid]):
        point_argv = [x for (flag, _), v in zip(grid, combo) for x in (flag, v)]
        for seed in saved["seeds"]:
            args = learner.parse([*saved["train_args"], *point_argv, "--seed", str(seed)])
            parsed = {flag[2:].replace("-", "_"): getattr(args, flag[2:].replace("-", "_"))
                      for flag, _ in grid}  # fmt: skip
            point = _point_name(parsed)
            path = out / TRIALS / point / f"seed-{seed}"
            if (point, seed) in names:
                raise ConfigError(
                    f"--grid gives the grid point {point} twice: drop the repeated value"
                )
            names.add((point, seed))
            config = learner.resolve(args)
            if (path / CONFIG).is_file():
                config = learner.load(path)
            trials.append(Trial(point, seed, path, config))
    return trials


def learner_of(saved: dict[str, Any]) -> Learner:
    """What the sweep ``saved`` (sweep.json's content) trains."""
    flag = "algo" if "algo" in saved else "agent"
    return Learner(flag, saved[flag])


def trial_status(path: Path) -> str:
    """``"done"`` (eval/adaptation.json), ``"resume"`` (checkpoint.pt, or a baseline's finished
    held-out tasks in tasks/), ``"restart"`` (only config.json) or ``"new"`` (no run yet) of the
    trial directory ``path``."""
    if (path / EVAL / JSON_NAME).is_file():
        return "done"
    if (path / CHECKPOINT).is_file() or any((path / "tasks").glob("task-*.json")):
        return "resume"
    return "restart" if (path / CONFIG).is_file() else "new"


def _new_sweep(args: Any, rest: list[str]) -> tuple[dict[str, Any], Path]:
    if args.agent and args.algo:
        raise ConfigError("give --agent (a meta-learner) or --algo (a baseline), not both")
    if args.algo:
        learner = Learner("algo", args.algo)
    else:
        learner = Learner("agent", args.agent or train_cli.DEFAULT_AGENT)
        agent_spec(learner.name)  # an unknown name: one line listing the agents
    for flag in (a.split("=")[0] for a in rest if a.startswith("--")):
        if flag in OWN_FLAGS:
            raise ConfigError(f"{flag} is not a flag of a sweep's trials: the sweep sets it "
                              "(--seeds, --out and --resume are the sweep's own)")  # fmt: skip
    grid = _grid(args.grid, learner)
    for flag, _ in grid:
        if flag in rest:
            raise ConfigError(f"{flag} is given both as a flag and in --grid: keep one")
    cpus = 1 if args.cpus_per_trial is None else args.cpus_per_trial
    if "--threads" not in rest:
        rest = [*rest, "--threads", str(cpus)]  # torch threads = the CPUs Ray reserves
    saved = {"format_version": FORMAT_VERSION, learner.flag: learner.name,
             "seeds": _seeds(args.seeds), "grid": grid, "train_args": rest, "cpus_per_trial": cpus,
             "gpus_per_trial": args.gpus_per_trial or 0.0, "max_concurrent": args.max_concurrent,
             "address": args.address}  # fmt: skip
    env = train_cli.short_name(learner.parse(rest).env or train_cli.DEFAULT_ENV)
    default = f"runs/sweep-{learner.name}-{env.replace('/', '_').replace(':', '_')}"
    return saved, Path(args.out or default)


def _load_sweep(args: Any, rest: list[str]) -> tuple[dict[str, Any], Path]:
    out = Path(args.resume)
    given = [k for k in ("agent", "algo", "out") if getattr(args, k) is not None]
    given += ["grid"] * bool(args.grid)
    if rest or given or args.seeds != build_parser().get_default("seeds"):
        extra = " ".join(rest) or ", ".join(f"--{k}" for k in given) or "--seeds"
        raise ConfigError(f"{extra}: --resume takes the sweep's arguments from {out / SWEEP_JSON}; "
                          "only --address, --cpus-per-trial, --gpus-per-trial and "
                          "--max-concurrent may change")  # fmt: skip
    try:
        saved = json.loads((out / SWEEP_JSON).read_text())
        if saved.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"format_version {saved.get('format_version')!r}")
    except (OSError, ValueError, AttributeError) as e:
        raise RunError(f"{out / SWEEP_JSON} is missing or unreadable ({e}): --resume takes a "
                       "directory written by python -m metarl.sweep") from None  # fmt: skip
    for key in RESUME_FREE:
        if getattr(args, key) is not None:
            saved[key] = getattr(args, key)
    return saved, out


def _check_resources(saved: dict[str, Any]) -> None:
    if saved["cpus_per_trial"] < 1:
        raise ConfigError(f"--cpus-per-trial must be >= 1, got {saved['cpus_per_trial']}")
    if not 0 <= saved["gpus_per_trial"] < math.inf:
        raise ConfigError(f"--gpus-per-trial must be a number >= 0, got {saved['gpus_per_trial']}")
    if saved["max_concurrent"] is not None and saved["max_concurrent"] < 1:
        raise ConfigError(f"--max-concurrent must be >= 1, got {saved['max_concurrent']}")


# --------------------------------------------------------------------------------------------
# The trainable (runs in a Ray worker)
# --------------------------------------------------------------------------------------------


def _numbers(row: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in row.items() if isinstance(v, int | float)}


def run_trial(tune_config: dict[str, Any]) -> None:
    """Ray Tune function trainable: train (or go on training) the run directory
    ``tune_config["trial"]["path"]`` with metarl's Python API, reporting each iteration's metrics
    row to Tune, then its final adaptation point (``final_return``: mean over tasks)."""
    from ray import tune

    spec = tune_config["trial"]
    learner = Learner(*spec["learner"])
    run = RunDir.open(spec["path"])
    config = learner.load(run.path)
    how = "resumed" if trial_status(run.path) == "resume" else "started"
    with (run.path / LOG).open("a") as log, contextlib.redirect_stdout(log):
        print(f"--- sweep trial {spec['name']} ({how} {time.strftime('%Y-%m-%d %H:%M:%S')})",
              flush=True)  # fmt: skip
        learner.run(config, run, spec["log_every"], lambda row: tune.report(_numbers(row)))
    curve = AdaptationCurve.load(run.path / EVAL)
    trained = float(curve.meta.get("train_env_steps", getattr(config, "steps", 0)))
    tune.report({"final_return": float(curve.mean[-1]), "env_steps": trained, "done": 1.0})


# --------------------------------------------------------------------------------------------
# Progress on the driver
# --------------------------------------------------------------------------------------------


def _env_steps_so_far(path: Path) -> float:
    """The env steps of the last iteration in the trial's ``metrics.csv`` (0 without one)."""
    try:
        return float(load_metrics(str(path))["env_steps"][-1])
    except RunError:
        return 0.0


class Work:
    """The env steps of a sweep's unfinished meta-learner trials: planned, trained so far, and
    the time left at this session's rate (a baseline's trials, which log no env steps, have
    none: :meth:`text` is then empty)."""

    def __init__(self, planned: dict[str, float], start: dict[str, float]) -> None:
        self.planned = planned  # trial name → env steps
        self.now = dict(start)  # trial name → env steps trained (at the start: checkpoints')
        self.first: tuple[float, float] | None = None  # (time, steps) of the first report

    def done(self) -> float:
        """Env steps trained so far, each trial's counted up to its plan."""
        return sum(min(self.now[n], p) for n, p in self.planned.items())

    def update(self, name: str, env_steps: float) -> None:
        """Trial ``name`` has reported ``env_steps`` trained (the rate is measured from the
        first report on, so Ray's start-up does not count)."""
        if name in self.planned:
            self.now[name] = env_steps
            if self.first is None:
                self.first = (time.monotonic(), self.done())

    def text(self) -> str:
        """``"; 2.4M of 6M env steps (40%), 0:03:10 left"``, or "" without planned steps."""
        total, done = sum(self.planned.values()), self.done()
        if total <= 0:
            return ""
        rate = math.nan
        if self.first is not None:
            rate = (done - self.first[1]) / max(time.monotonic() - self.first[0], 1e-9)
        left = format_duration((total - done) / rate if rate > 0 else math.nan)
        return (f"; {format_count(done)} of {format_count(total)} env steps "
                f"({100 * done / total:.0f}%), {left} left")  # fmt: skip


def _progress_callback(total: int, done_before: int, every_s: float, work: Work) -> Any:
    from ray import tune

    class Progress(tune.Callback):
        """Plain lines: each trial started, finished or failed, and a status every ``every_s``
        with the env steps trained and the time left (:class:`Work`)."""

        def __init__(self) -> None:
            self.running: set[str] = set()
            self.done, self.failed = done_before, {}
            self.best: tuple[float, str] | None = None
            self.last = time.monotonic()

        def status(self) -> str:
            best = (
                ""
                if self.best is None
                else f"; best so far {self.best[1]}: final return {self.best[0]:.4g}"
            )
            return (f"{len(self.running)} running, {self.done} done, {len(self.failed)} failed "
                    f"of {total}{work.text()}{best}")  # fmt: skip

        def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            name = trial.config["trial"]["name"]
            self.running.add(name)
            print(f"sweep: start {name} ({self.status()})", flush=True)

        def on_trial_result(
            self, iteration: int, trials: list, trial: Any, result: dict, **info: Any
        ) -> None:
            name = trial.config["trial"]["name"]
            if "env_steps" in result:
                work.update(name, float(result["env_steps"]))
            if "final_return" in result:
                value = float(result["final_return"])
                if self.best is None or value > self.best[0]:
                    self.best = (value, name)
            elif time.monotonic() - self.last > every_s:
                self.last = time.monotonic()
                print(f"sweep: {self.status()}", flush=True)

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            name = trial.config["trial"]["name"]
            self.running.discard(name)
            self.done += 1
            print(f"sweep: done {name} ({self.status()})", flush=True)

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            name = trial.config["trial"]["name"]
            self.running.discard(name)
            self.failed[name] = "see below"
            print(f"sweep: FAILED {name} ({self.status()})", flush=True)

    return Progress()


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


RAY_TOKEN_LOGGER = "ray._private.authentication.authentication_token_setup"
"""Ray's logger that warns on every new local cluster that token authentication is on (Ray's
default, kept); the sweep's own local cluster needs no such line."""


def _start_ray(address: str | None) -> threading.Event | None:
    """Connect to Ray (``address``) or start it on this machine, in a thread of its own (see
    :func:`_init_off_main`); the event that ends that thread once Ray is shut down, or None where
    Ray was running already."""
    import ray

    if ray.is_initialized():
        return None
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING, "configure_logging": True}
    logging.getLogger(RAY_WORKER_LOGGER).addFilter(_not_the_sigterm_warning)
    if address:
        try:
            return _init_off_main(functools.partial(ray.init, address=address, **quiet))
        except (ConnectionError, ValueError, RuntimeError) as e:
            raise ConfigError(f"--address {address}: no Ray cluster there ({e}); start one with "
                              "`ray start --head`, or drop --address to run on this machine") from None  # fmt: skip
    logging.getLogger(RAY_TOKEN_LOGGER).setLevel(logging.ERROR)
    cpus = os.cpu_count() or 1
    init = functools.partial(ray.init, address="local", num_cpus=cpus, include_dashboard=False,
                             **quiet)  # fmt: skip
    return _init_off_main(functools.partial(_with_gcs_port, init))


GCS_PORT_ENV = "RAY_GCS_SERVER_PORT"
"""The variable whose port a new local Ray cluster gives its GCS (Ray's own name for it)."""


def _with_gcs_port(init: Callable[[], Any]) -> Any:
    """``init()`` (``ray.init`` of a local cluster) with its GCS given a free port, unless the
    user chose one in :data:`GCS_PORT_ENV`; the variable is as before once ``init`` returns.
    Left to pick its own port, the GCS writes it to a file that ray.init waits for in a call
    holding the GIL (Ray 2.60's ``wait_for_persisted_port``, up to 30 s): a stop signal sent to
    the whole process group, which stops the GCS before it writes, then waits that long
    before any Python signal handler can run."""
    users = os.environ.get(GCS_PORT_ENV)
    if users:
        return init()
    os.environ[GCS_PORT_ENV] = str(free_port())
    try:
        return init()
    finally:
        if users is None:
            os.environ.pop(GCS_PORT_ENV, None)
        else:  # set but empty: Ray's own choice, as if unset; kept as it was
            os.environ[GCS_PORT_ENV] = users


def free_port() -> int:
    """A TCP port that no process on this machine listens on now."""
    with socket.socket() as s:
        s.bind(("", 0))
        return int(s.getsockname()[1])


def _init_off_main(init: Callable[[], Any]) -> threading.Event:
    """Run ``init`` (``ray.init``) in a thread of its own and wait for it here, so that a stop
    signal while Ray starts reaches this thread's handlers at once (as long as ``init`` lets
    go of the GIL: see :func:`_with_gcs_port`). Called in the main thread,
    ray.init puts in a SIGTERM handler of its own, which ends the process without a word, or,
    when the signal comes during one of Ray's forks, is lost while init waits a minute for a GCS
    that the same signal stopped. The thread then waits for the returned event: on Linux, Ray's
    processes die with the thread that started them, so it must outlive the cluster."""
    begun, release = threading.Event(), threading.Event()
    raised: list[BaseException] = []

    def start() -> None:
        try:
            init()
        except BaseException as e:  # re-raised in the waiting thread
            raised.append(e)
        finally:
            begun.set()
        release.wait()

    threading.Thread(target=start, daemon=True, name="sweep-ray-start").start()
    while not begun.wait(0.1):  # short waits: a signal's handler runs between them
        pass
    if raised:
        release.set()
        raise raised[0]
    return release


RAY_WORKER_LOGGER = "ray._private.worker"


def _not_the_sigterm_warning(record: logging.LogRecord) -> bool:
    """Drops Ray's warning that it set no SIGTERM handler outside the main thread: the sweep
    handles SIGTERM itself (:func:`_init_off_main`)."""
    return not record.getMessage().startswith("SIGTERM handler is not set")


STOP_SIGNALS = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}
"""The signals that stop a sweep gracefully, and how its messages name them."""
TUNE_SIGINT = "TUNE_DISABLE_SIGINT_HANDLER"
TUNE_LOGGERS = ("ray.tune.tune", "ray.tune.analysis.experiment_analysis")
"""Tune's loggers whose warnings on a stop (Tuner.restore, metrics of trials never started)
point at Tune's own resume, not the sweep's."""


def _local_node() -> Any:
    """Ray's record of the cluster processes this process started on this machine (GCS,
    raylet, ...), or None; no public API lists them."""
    import ray._private.worker as worker

    return getattr(worker, "_global_node", None)


def local_ray_lost() -> bool:
    """Whether a process of the Ray cluster this process started on this machine has ended;
    False where it started none or Ray cannot say."""
    dead = getattr(_local_node(), "dead_processes", None)
    return bool(callable(dead) and dead())


def kill_local_ray() -> None:
    """Kill what is left of the Ray cluster this process started, and reap it."""
    kill = getattr(_local_node(), "kill_all_processes", None)
    if callable(kill):
        kill(check_alive=False, allow_graceful=False, wait=True)


class GracefulStop:
    """While Tune runs the trials, the first Ctrl-C or SIGTERM asks Tune to stop: the running
    trials end, keeping what they saved, and :attr:`received` names the signal so the
    sweep can say how to go on. A second one stops at once (``KeyboardInterrupt``). Tune alone
    would take only Ctrl-C, and Ray's SIGTERM handler ends the process without a word; this hands
    both to the stop Tune listens for on SIGUSR1. Outside the main thread it does nothing.

    A signal sent to the whole process group (``kill -- -PGID``, GNU ``timeout``, a scheduler
    that signals every process of a job) also stops the local Ray cluster's GCS and raylet,
    and then Tune cannot stop and Ray ends the driver a minute later with its own error. So
    after a signal, where ``lost`` is given, a watcher checks it every :data:`WATCH_S` seconds
    until the context exits and, once it is true, calls ``on_lost`` (which reports from disk and
    ends the process)."""

    WATCH_S = 0.25

    def __init__(
        self,
        resume: str,
        lost: Callable[[], bool] | None = None,
        on_lost: Callable[[str], None] | None = None,
    ) -> None:
        self.resume = resume
        self._lost, self._on_lost = lost, on_lost
        self._done, self._handover = threading.Event(), threading.Lock()
        self.received: str | None = None
        self._previous: dict[int, Any] = {}
        self._env: str | None = None
        self._levels: dict[str, int] = {}

    def __enter__(self) -> GracefulStop:
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in STOP_SIGNALS}
        self._env = os.environ.get(TUNE_SIGINT)
        os.environ[TUNE_SIGINT] = "1"  # Tune leaves Ctrl-C to this handler
        for name in TUNE_LOGGERS:
            self._levels[name] = logging.getLogger(name).level
            logging.getLogger(name).setLevel(logging.ERROR)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._handover:  # a watcher that is ending the process keeps it
            self._done.set()
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        if self._env is None:
            os.environ.pop(TUNE_SIGINT, None)
        else:
            os.environ[TUNE_SIGINT] = self._env
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)

    def _handle(self, signum: int, frame: Any) -> None:
        tune_stop = signal.getsignal(signal.SIGUSR1) if hasattr(signal, "SIGUSR1") else None
        if self.received is not None or not callable(tune_stop):
            raise cli.SigTerm if signum == signal.SIGTERM else KeyboardInterrupt
        self.received = STOP_SIGNALS[signal.Signals(signum)]
        print(f"sweep: stopping ({self.received}): the running trials end now, keeping what "
              f"they saved; go on later with `{self.resume}`; press Ctrl-C again to stop at "
              "once", flush=True)  # fmt: skip
        tune_stop(signal.SIGUSR1, frame)
        if self._lost is not None and self._on_lost is not None:
            threading.Thread(target=self._watch, daemon=True, name="sweep-ray-watch").start()

    def _watch(self) -> None:
        """Hand over to ``on_lost`` once the local Ray cluster has lost a process, unless Tune
        stopped first (the context has exited)."""
        assert self._lost is not None and self._on_lost is not None and self.received
        while not self._done.wait(self.WATCH_S):
            if self._lost():
                with self._handover:
                    if not self._done.is_set():
                        self._on_lost(self.received)  # ends the process
                return


def _submit(
    trials: list[Trial],
    saved: dict[str, Any],
    out: Path,
    log_every: float,
    report: Callable[[str], int],
) -> tuple[dict[str, str], str | None]:
    """Run ``trials`` on Tune; the failed ones' names → their error lines, and the signal that
    stopped the sweep early (``"Ctrl-C"``, ``"SIGTERM"``) or None. ``report(signal name)`` ends
    the sweep from what is on disk if the signal also stopped the local Ray cluster."""
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # verbose=0 then prints nothing of Tune's
    from ray import tune

    learner = learner_of(saved)
    specs = [{"name": t.name, "path": str(t.path.resolve()), "log_every": log_every,
              "learner": [learner.flag, learner.name]} for t in trials]  # fmt: skip
    resources = {"cpu": saved["cpus_per_trial"], "gpu": saved["gpus_per_trial"]}
    done_before = len(plan(saved, out)) - len(trials)
    planned = {t.name: float(t.config.steps) for t in trials if learner.flag == "agent"}
    work = Work(planned, {t.name: _env_steps_so_far(t.path) for t in trials if t.name in planned})
    progress = _progress_callback(done_before + len(trials), done_before, log_every, work)
    name = f"run-{time.strftime('%Y%m%d-%H%M%S')}"
    tuner = tune.Tuner(
        tune.with_resources(run_trial, resources),
        param_space={"trial": tune.grid_search(specs)},
        tune_config=tune.TuneConfig(
            max_concurrent_trials=saved["max_concurrent"],
            reuse_actors=True,  # a worker that has imported torch and metarl trains the next trial
            trial_dirname_creator=lambda t: _SAFE.sub(
                "_", t.config["trial"]["name"].replace("/", "-")
            ),
        ),
        run_config=tune.RunConfig(
            name=name, storage_path=str((out / "ray").resolve()), verbose=0, callbacks=[progress]
        ),
    )
    lost = None if saved["address"] else local_ray_lost
    on_lost = functools.partial(_exit_without_ray, report)
    with GracefulStop(resume_command(out), lost, on_lost) as stop:
        results = tuner.fit()
    failed = {}
    for result in results:
        if result.error is not None:
            lines = [x for x in str(result.error).splitlines() if x.strip()]
            text = lines[-1].strip() if lines else type(result.error).__name__
            failed[result.config["trial"]["name"]] = re.sub(r"^(\w+\.)+(?=\w+: )", "", text)
    return failed, stop.received


def _exit_without_ray(report: Callable[[str], int], received: str) -> NoReturn:
    """End the process after a signal that stopped the local Ray cluster too: ``report`` from
    what the trials saved, as :func:`main` would, kill the rest of the cluster, and exit at once
    (Tune and Ray can no longer shut down). The trials' workers, which lost their raylet, end
    on their own within seconds."""
    print("sweep: the signal also stopped Ray's processes on this machine, and the trials "
          "with them", flush=True)  # fmt: skip
    _exit_now(lambda: report(received))


def _exit_now(end: Callable[[], int]) -> NoReturn:
    """Run ``end`` as the CLI runs ``main`` (its error printed as one line), kill what is left of
    the Ray cluster started here, and exit with ``end``'s status at once, without Ray's shutdown
    (which would wait on processes stopped by a signal, or still starting)."""
    try:
        status = cli.run_main(lambda _: end(), None)
    except SystemExit as e:  # how run_main ends on an error line
        status = e.code if isinstance(e.code, int) else 1
    kill_local_ray()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _begin(
    saved: dict[str, Any], out: Path, trials: list[Trial], status: dict[str, str], new_sweep: bool
) -> None:
    """Say what will run, and write ``sweep.json`` (of a new sweep) and the run directory of
    each trial not begun yet (``status`` as :func:`trial_status` found it)."""
    left = [t for t in trials if status[t.name] != "done"]
    resumed = sum(status[t.name] == "resume" for t in left)
    print(f"sweep: {len(trials)} trials ({len(trials) - len(left)} done, {resumed} to go on "
          f"from a checkpoint, {len(left) - resumed} to start) -> {out}")  # fmt: skip
    if new_sweep:
        out.mkdir(parents=True, exist_ok=True)
        text = json.dumps(saved, indent=1)
        atomic_write(out / SWEEP_JSON, lambda f: f.write(text.encode()))
    for t in trials:
        if status[t.name] == "new":
            RunDir.create(t.path, t.config)


@contextlib.contextmanager
def _ray_for(saved: dict[str, Any], needed: bool, out: Path) -> Iterator[None]:
    """Where ``needed``, Ray started on this machine (or joined at ``--address``) and checked to
    hold a trial for the body, and shut down after it if started here; else nothing. A stop
    signal while Ray starts, or one that also stopped the local cluster's processes, ends the
    sweep at once (:func:`_exit_now`): Ray could not shut down."""
    if not needed:
        yield
        return
    try:
        release = _start_ray(saved["address"])
    except KeyboardInterrupt as stop:  # cli.SigTerm too
        _exit_now(functools.partial(_raise_stop, out, stop))
    try:
        _check_cluster(saved)
        yield
    except KeyboardInterrupt as stop:  # outside Tune's run, or a second signal in it
        if local_ray_lost():
            _exit_now(functools.partial(_raise_stop, out, stop))
        raise
    finally:
        if release is not None:
            import ray

            ray.shutdown()
            release.set()


def _raise_stop(out: Path, stop: KeyboardInterrupt) -> NoReturn:
    """Raise the error of a sweep that ``stop`` (:class:`cli.SigTerm` or Ctrl-C) ended outside
    Tune's graceful stop: :class:`cli.Terminated` or :class:`cli.Interrupted`, whose line says
    how to go on."""
    name, end = (
        ("SIGTERM", cli.Terminated)
        if isinstance(stop, cli.SigTerm)
        else ("Ctrl-C", cli.Interrupted)
    )
    if (out / SWEEP_JSON).exists():
        raise end(f"sweep stopped ({name}): `{resume_command(out)}` goes on from what each "
                  "trial saved")  # fmt: skip
    raise end(f"sweep stopped ({name}) while Ray was starting, before anything was written: "
              "run the same command again")  # fmt: skip


def _check_cluster(saved: dict[str, Any]) -> None:
    """Refuse per-trial resources the Ray cluster does not have (the trials would wait for
    ever)."""
    import ray

    cluster = ray.cluster_resources()
    for flag, key, unit in (("cpus_per_trial", "CPU", "CPUs"), ("gpus_per_trial", "GPU", "GPUs")):
        have = cluster.get(key, 0)
        if saved[flag] > have:
            hint = " (0 trains on the CPU)" if key == "GPU" else ""
            raise ConfigError(f"--{flag.replace('_', '-')} {saved[flag]:g} is more than the "
                              f"{have:g} {unit} of the Ray cluster: lower it{hint}")  # fmt: skip


def resume_command(out: Path) -> str:
    """The command that goes on with the sweep in ``out``."""
    return f"python -m metarl.sweep --resume {out}"


def check_new_out(out: Path) -> None:
    """Refuse a new sweep's ``out`` that is a file, a sweep already or any other folder with
    files in it (a run of metarl.train or metarl.baselines, say), which the sweep would mix its
    own into."""
    if (out / SWEEP_JSON).exists():
        raise RunError(f"{out} already holds a sweep: finish it with --resume {out}, or "
                       "choose another --out")  # fmt: skip
    if out.exists() and not out.is_dir():
        raise RunError(f"--out {out} is a file: choose a folder that does not exist yet")
    if out.is_dir() and any(out.iterdir()):
        raise RunError(f"--out {out} is a folder with other files in it (not a sweep): choose "
                       "a new or empty folder")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m metarl.sweep``."""
    args, rest = build_parser().parse_known_args(argv)
    if args.resume:
        saved, out = _load_sweep(args, rest)
    else:
        saved, out = _new_sweep(args, rest)
        check_new_out(out)
    _check_resources(saved)
    learner = learner_of(saved)
    log_every = learner.parse(saved["train_args"]).log_every
    trials = plan(saved, out)
    for config in {t.point: t.config for t in trials}.values():
        learner.check(config)  # a bad family parameter or device: before anything runs
    status = {t.name: trial_status(t.path) for t in trials}
    left = [t for t in trials if status[t.name] != "done"]
    failed: dict[str, str] = {}
    stopped: str | None = None
    report = functools.partial(_report, out, learner, trials, left)
    ray_lost = functools.partial(report, {})  # no failures known if Ray goes with a signal
    # Ray starts before anything is written (it can hold a trial). Outside Tune's run SIGTERM
    # stops the sweep as Ctrl-C does; GracefulStop takes both within it.
    try:
        with cli.TerminateAsInterrupt(), _ray_for(saved, bool(left), out):
            _begin(saved, out, trials, status, new_sweep=not args.resume)
            if left:
                failed, stopped = _submit(left, saved, out, log_every, ray_lost)
    except KeyboardInterrupt as stop:
        _raise_stop(out, stop)
    return report(failed, stopped)


def _report(
    out: Path,
    learner: Learner,
    trials: list[Trial],
    left: list[Trial],
    failed: dict[str, str],
    stopped: str | None,
) -> int:
    """Print the summary of the finished trials and what failed; raise the stop that a signal
    (``stopped``) asked for, else the exit status (1: some trials unfinished)."""
    points, missing = sweep_curves(out)
    if any(points.values()):
        summary = write_summary(out / SUMMARY, points, missing, meta={learner.flag: learner.name})
        print((summary / "ranking.md").read_text(), end="")
        print(f"summary: {summary}/ (summary.json, summary.csv, summary.png, ranking.md)")
    for name, error in failed.items():
        print(f"sweep: trial {name} failed: {error}")
    unfinished = [t.name for t in left if trial_status(t.path) != "done"]
    if stopped:
        stop = cli.Terminated if stopped == "SIGTERM" else cli.Interrupted
        raise stop(f"sweep stopped ({stopped}) with {len(unfinished)} of {len(trials)} trials "
                   f"unfinished: `{resume_command(out)}` goes on from what each saved (its "
                   "last checkpoint, or a baseline's finished held-out tasks; a trial with "
                   "neither starts again)")  # fmt: skip
    if unfinished:
        print(f"sweep: {len(unfinished)} of {len(trials)} trials unfinished ({len(failed)} "
              f"failed); fix the cause, then `{resume_command(out)}` runs only "
              "the unfinished ones")  # fmt: skip
        return 1
    return 0


if __name__ == "__main__":
    # Run the package's module, not this __main__ copy: Ray pickles the trainable by reference
    # to an importable module; a function of __main__ it would have to pickle by value.
    from metarl import sweep as _sweep

    raise SystemExit(cli.run_main(_sweep.main, None))
