"""``python -m metarl.envs``: list every task family metarl knows.

Prints one table row per family, built-in or installed plugin (entry-point group
``metarl.families``): its short name, Gymnasium id, observation and action spaces, constructor
parameters (``MetaEnv.parameters()``), task fields, and whether it has a native batched vector
env. A family that cannot be loaded (a missing optional dependency, a broken plugin) gets one line
saying why instead of a row. Names given on the command line (short names, ids or
``pkg.module:Id-v0``) list just those families.

Exit status: 0, or 2 when a name given on the command line is unknown.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from metarl.envs import (
    BUILTIN_FAMILIES,
    PLUGIN_GROUP,
    TaskError,
    has_native_vector_env,
    make_family,
    resolve_env_id,
)

_PIPE_WIDTH = 150


@dataclasses.dataclass(frozen=True)
class FamilyInfo:
    """What the listing shows about one family."""

    name: str
    env_id: str
    observation_space: str
    action_space: str
    parameters: dict[str, Any]
    task_type: str
    task_fields: dict[str, str]
    native_vector: bool


def field_summary(value: Any) -> str:
    """How a task field looks in the default task: ``float``, or ``float, shape (10, 5)``."""
    arr = np.asarray(value)
    kind = {"f": "float", "i": "int", "u": "int", "b": "bool"}.get(arr.dtype.kind, arr.dtype.name)
    if arr.ndim == 0:
        return kind
    return f"{kind}, shape {arr.shape}"


def describe(name: str, env_id: str) -> FamilyInfo:
    """Build the family's default env and describe it (raises whatever loading the env raises)."""
    env = make_family(env_id)
    try:
        fields = {
            f.name: field_summary(getattr(env.task, f.name))
            for f in dataclasses.fields(env.task_type)
        }
        return FamilyInfo(
            name=name,
            env_id=env_id,
            observation_space=str(env.observation_space),
            action_space=str(env.action_space),
            parameters=env.parameters(),
            task_type=env.task_type.__name__,
            task_fields=fields,
            native_vector=has_native_vector_env(env_id),
        )
    finally:
        env.close()


def discover_plugins() -> tuple[dict[str, str], list[str]]:
    """Installed plugin families (short name → id) and one message per plugin that failed."""
    found: dict[str, str] = {}
    errors: list[str] = []
    for ep in importlib.metadata.entry_points(group=PLUGIN_GROUP):
        try:
            env_id = ep.load()()
        except Exception as e:  # a broken plugin must not hide the other families
            errors.append(f"plugin {ep.name} ({ep.value}): could not be loaded: {_why(e)}")
            continue
        if not isinstance(env_id, str) or env_id not in gym.registry:
            errors.append(
                f"plugin {ep.name} ({ep.value}): must register its env with Gymnasium and "
                f"return its id, returned {env_id!r}"
            )
            continue
        found[ep.name] = env_id
    return found, errors


def _why(error: BaseException) -> str:
    """Our own errors already say what to do; others are named by their type."""
    return str(error) if isinstance(error, TaskError) else f"{type(error).__name__}: {error}"


def family_table(infos: Sequence[FamilyInfo]) -> Table:
    """A rich table with one row per family."""
    table = Table(title="metarl task families", show_lines=True)
    for column in ("family / id", "observation / action", "parameters", "task", "native vector"):
        table.add_column(column, overflow="fold")
    for info in infos:
        params = "\n".join(f"{k}={v!r}" for k, v in info.parameters.items()) or "-"
        fields = "\n".join(f"  {k}: {t}" for k, t in info.task_fields.items())
        table.add_row(
            f"[bold]{escape(info.name)}[/bold]\n{escape(info.env_id)}",
            escape(f"obs: {info.observation_space}\nact: {info.action_space}"),
            escape(params),
            escape(f"{info.task_type}\n{fields}"),
            "yes" if info.native_vector else "no (Sync/Async)",
        )
    return table


def selected_families(names: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """The families to list (name → id) and messages about plugins or names that failed.

    Raises :class:`TaskError` for an unknown name given on the command line.
    """
    if names:
        return {name: resolve_env_id(name) for name in names}, []
    plugins, errors = discover_plugins()
    return {**BUILTIN_FAMILIES, **plugins}, errors


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    """Print the family table; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m metarl.envs", description="List metarl's task families."
    )
    parser.add_argument(
        "names",
        nargs="*",
        help="families to list (short name, id or pkg.module:Id-v0); all if none",
    )
    args = parser.parse_args(argv)
    if console is None:
        console = Console()
        if not console.is_terminal:  # piped or redirected: no terminal width to respect
            console = Console(width=_PIPE_WIDTH)
    try:
        families, errors = selected_families(args.names)
    except TaskError as e:
        console.print(f"error: {e}", markup=False, highlight=False)
        return 2
    infos = []
    for name, env_id in families.items():
        try:
            infos.append(describe(name, env_id))
        except Exception as e:  # e.g. a family whose optional dependency is missing
            errors.append(f"{name} ({env_id}): could not be loaded: {_why(e)}")
    console.print(family_table(infos))
    for line in errors:
        console.print(line, markup=False, highlight=False)
    return 0


if __name__ == "__main__":
    from metarl import cli

    raise SystemExit(cli.run_main(main, None))
