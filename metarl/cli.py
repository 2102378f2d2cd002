"""Shared plumbing of the command-line tools: user errors become one line and exit status 2."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from metarl.agents.base import TrainingError
from metarl.config import ConfigError
from metarl.envs.family import TaskError
from metarl.evaluation import EvaluationError
from metarl.runs import RunError

USER_ERRORS = (ConfigError, TaskError, RunError, EvaluationError)


def fail(message: str, status: int = 2) -> NoReturn:
    """Print ``error: message`` to stderr and exit with ``status``."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(status)


def run_main(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None) -> int:
    """Run ``main``; user errors print one line and return 2, a failed training returns 1."""
    try:
        return main(argv)
    except USER_ERRORS as e:
        fail(str(e))
    except TrainingError as e:
        fail(str(e), status=1)
    except KeyboardInterrupt:
        fail("interrupted: the last checkpoint is intact; continue with --resume DIR", status=130)


def parse_kwargs(items: Sequence[str]) -> dict[str, Any]:
    """``["num_arms=10", "distance=squared"]`` → ``{"num_arms": 10, "distance": "squared"}``.

    Values are read as JSON where they parse (numbers, true/false, lists), else as strings.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise ConfigError(
                f"--env-kwargs takes KEY=VALUE pairs (e.g. num_arms=10), got {item!r}"
            )
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def check_png(out: str) -> None:
    """Fail with one line unless ``out`` (an ``--out`` flag) names a PNG file."""
    if not str(out).lower().endswith(".png"):
        fail(f"--out must name a .png file, got {out!r}")


def write_plot(draw: Callable[[], Path], out: str) -> None:
    """Run ``draw`` (which writes the PNG ``out``) and print where it went; a file system error
    becomes one line that asks for another ``--out``."""
    try:
        path = draw()
    except OSError as exc:
        fail(f"cannot write the plot to {out} ({exc}); pick --out")
    print(f"plot: {path}")


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line with exit status 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        """One line naming the problem and pointing at --help."""
        fail(f"{message} (see {self.prog} --help)")
