"""Shared plumbing of the command-line tools: user errors become one line and exit status 2."""

from __future__ import annotations

import argparse
import contextlib
import decimal
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from metarl import startup
from metarl.agents.base import TrainingError
from metarl.config import ConfigError
from metarl.envs import parse_env_kwargs, resolve_env_id
from metarl.envs.family import TaskError
from metarl.evaluation import EvaluationError, is_metarl_png
from metarl.runs import RunError

USER_ERRORS = (ConfigError, TaskError, RunError, EvaluationError)


class Interrupted(Exception):
    """Ctrl-C in long work; the message says what was kept and the command that goes on."""


class Terminated(Exception):
    """SIGTERM honoured at the end of an iteration, after a checkpoint; the message says how to
    go on."""


class StopSignal:
    """While active, SIGTERM (what a cluster scheduler sends before it kills) sets
    :attr:`requested` instead of killing the process, so long work can checkpoint and stop at
    its next safe point. Outside the main thread (where no handler can be set) it does nothing.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> StopSignal:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested = True


class SigTerm(KeyboardInterrupt):
    """SIGTERM, raised where the main thread is (see :class:`TerminateAsInterrupt`)."""


class TerminateAsInterrupt(StopSignal):
    """While active, SIGTERM raises :class:`SigTerm` (a ``KeyboardInterrupt``) in the main thread,
    for work that keeps each finished part as it ends and has no safe point to poll a flag at:
    it then stops as on Ctrl-C, its ``finally`` blocks run (worker pools shut down, queues
    closed) and nothing finished is lost. Outside the main thread it does nothing."""

    def _handle(self, signum: int, frame: Any) -> None:
        raise SigTerm


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while the body runs, and deliver them, to the handlers in
    force before, when it ends. For a write that an exception raised in its midst would break
    twice over: torch's zip writer, stopped by :class:`SigTerm`, raises a ``RuntimeError`` of
    its own while closing, in place of the stop. Outside the main thread (where no handler can
    be set) it holds nothing."""
    stops = (signal.SIGINT, signal.SIGTERM)
    foreign = any(signal.getsignal(s) is None for s in stops)  # set outside Python: left alone
    if foreign or threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: caught.append(signum)) for s in stops}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for s in dict.fromkeys(caught):
            signal.raise_signal(s)  # runs the handler now, as if the signal came just now


def fail(message: str, status: int = 2) -> NoReturn:
    """Print ``error: message`` to stderr and exit with ``status``."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(status)


def run_main(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None) -> int:
    """Run ``main``; user errors print one line and return 2, a failed training returns 1, and
    a reader of stdout that stopped early (``| head``) ends it quietly with status 141. From
    here on Ctrl-C raises ``KeyboardInterrupt`` again (see :mod:`metarl.startup`)."""
    startup.started()
    try:
        return main(argv)
    except USER_ERRORS as e:
        fail(str(e))
    except TrainingError as e:
        fail(str(e), status=1)
    except Interrupted as e:
        fail(str(e), status=130)
    except Terminated as e:
        fail(str(e), status=143)
    except KeyboardInterrupt:
        fail("interrupted: nothing written before was lost", status=130)
    except BrokenPipeError:
        return _quiet_broken_pipe()


BROKEN_PIPE_STATUS = 141
"""Exit status when stdout's reader went away (``| head``): 128 + SIGPIPE, as a shell tool's."""


def _quiet_broken_pipe() -> int:
    """Point stdout at the null device, so that the flush at exit raises nothing more, and return
    :data:`BROKEN_PIPE_STATUS`: a reader that stopped early is not an error worth a traceback."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # stdout replaced by an object without a file
        return BROKEN_PIPE_STATUS
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
    return BROKEN_PIPE_STATUS


def split_pairs(items: Sequence[str], flag: str = "--env-kwargs") -> dict[str, str]:
    """``["num_arms=10", "distance=squared"]`` → ``{"num_arms": "10", "distance": "squared"}``."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise ConfigError(f"{flag} takes KEY=VALUE pairs (e.g. num_arms=10), got {item!r}")
        out[key] = value
    return out


def parse_kwargs(items: Sequence[str], flag: str = "--env-kwargs") -> dict[str, Any]:
    """``["lr=0.1", "policy=MlpPolicy"]`` → ``{"lr": 0.1, "policy": "MlpPolicy"}``: values read
    as JSON where they parse (numbers, true/false, lists), else as strings. For keyword arguments
    whose types are unknown; a family's parameters are read by type with :func:`env_kwargs`."""
    out: dict[str, Any] = {}
    for key, value in split_pairs(items, flag).items():
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def env_kwargs(env: str, items: Sequence[str]) -> dict[str, Any]:
    """``--env-kwargs`` of family ``env`` read by each parameter's declared type: an unknown
    name, unreadable text or a non-finite number is a one-line ``TaskError``."""
    return parse_env_kwargs(resolve_env_id(env), split_pairs(items))


_SCALES = {"k": 10**3, "m": 10**6, "g": 10**9, "b": 10**9}
COUNT_SYNTAX = "a whole number such as 3000000, 3M, 500k, 1e5 or 1_000_000"


def count(text: str) -> int:
    """A count of env steps, episodes or units in one syntax for every flag.

    ``"3M"`` → 3_000_000, ``"500k"`` → 500_000, ``"1e5"`` → 100_000, ``"1.5k"`` → 1_500,
    ``"1_000"`` → 1_000. Raises ``ValueError`` for text that is not a whole non-negative number.
    """
    head, scale = text.strip().replace("_", ""), 1
    if head and head[-1].lower() in _SCALES:
        head, scale = head[:-1], _SCALES[head[-1].lower()]
    try:  # decimal, not float: 3.3M is exactly 3,300,000
        value = decimal.Decimal(head) * scale
    except decimal.InvalidOperation:
        value = decimal.Decimal("NaN")
    if value.is_finite() and value < 0:
        raise ValueError(f"expected a count of 0 or more, got {text!r}")
    if not value.is_finite() or value != value.to_integral_value():
        raise ValueError(f"expected {COUNT_SYNTAX}, got {text!r}")
    return int(value)


def parse_bool(text: str) -> bool:
    """true/false, yes/no, on/off, 1/0 as an argparse ``type``."""
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def parse_count(text: str) -> int:
    """:func:`count` as an argparse ``type``: bad text becomes argparse's one-line error."""
    try:
        return count(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_seed(text: str) -> int:
    """A seed as an argparse ``type``: a whole number of 0 or more (what numpy's and torch's
    generators take), else argparse's one-line error."""
    try:
        seed = int(text)
    except ValueError:
        seed = -1
    if seed < 0:
        raise argparse.ArgumentTypeError(
            f"expected a seed, a whole number of 0 or more, got {text!r}"
        )
    return seed


def check_png(out: str, force: bool = False) -> bool:
    """Fail with one line unless ``out`` (an ``--out`` flag) names a PNG file that may be
    written: a new one, an earlier plot of metarl's, or anything with ``force``. Returns whether
    a file is there to be replaced."""
    if not str(out).lower().endswith(".png"):
        fail(f"--out must name a .png file, got {out!r}")
    path = Path(out)
    if path.is_dir():
        fail(f"--out {out} is a directory: name a .png file")
    if path.exists() and not force and not is_metarl_png(path):
        fail(f"{out} exists and is not a plot of metarl's: pick another --out, or add --force "
             "to overwrite it")  # fmt: skip
    return path.exists()


def write_plot(
    draw: Callable[[], Path], out: str, replaces: bool = False, stream: TextIO | None = None
) -> None:
    """Run ``draw`` (which writes the PNG ``out``) and print where it went (and that it replaced
    an earlier file) to ``stream`` (default stdout); a file system error becomes one line that
    asks for another ``--out``."""
    try:
        path = draw()
    except OSError as exc:
        fail(f"cannot write the plot to {out} ({exc}); pick --out")
    note = f"plot: {path.resolve()}" + (" (replaced the earlier file)" if replaces else "")
    print(note, file=stream or sys.stdout)


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line with exit status 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        """One line naming the problem and pointing at --help."""
        fail(f"{message} (see {self.prog} --help)")
