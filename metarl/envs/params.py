"""A family's constructor parameters, and ``--env-kwargs`` text parsed by their declared types.

A family's parameters are the keyword arguments of its Gymnasium entry point (the ``MetaEnv``
subclass's ``__init__``). Their annotations decide how ``KEY=VALUE`` text is read:

- ``int``: ``10``, ``-3``, ``1e3`` (a whole number); ``float``: ``0.5``, ``1e-2`` and never
  ``nan`` or ``inf``; ``bool``: true/false, yes/no, on/off, 1/0; ``str``: the text as given;
- ``X | None``: ``none`` (or ``null``) is None, anything else is read as ``X``;
- ``tuple[float, float]`` and friends: ``0.5,1.0``, ``(0.5, 1.0)`` or the JSON list
  ``[0.5, 1.0]``;
- ``Literal["l2", "squared"]``: one of the listed values;
- no annotation (or one not listed above): JSON where it parses, else the text.

Every problem is a :class:`~metarl.envs.family.TaskError` naming the family and the parameter.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import json
import math
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import load_env_creator

from metarl.envs.family import TaskError

__all__ = ["Parameter", "check_parameters", "family_parameters", "parse_env_kwargs"]

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One constructor parameter of a family: its name, declared type and default."""

    name: str
    kind: Any
    """The annotation (``Any`` where there is none)."""
    default: Any
    """The default value, ``inspect.Parameter.empty`` when it has none."""

    def describe(self) -> str:
        """``name=default`` (or ``name`` when it has no default)."""
        if self.default is inspect.Parameter.empty:
            return self.name
        return f"{self.name}={self.default!r}"


def family_parameters(env_id: str) -> dict[str, Parameter] | None:
    """The keyword parameters of ``env_id``'s entry point, or None when it takes ``**kwargs``
    (then any name may be valid, and only the constructor can tell)."""
    creator = _creator(env_id)
    signature = inspect.signature(creator)
    params = [p for p in signature.parameters.values() if p.name != "self"]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    hints = _hints(creator)
    return {
        p.name: Parameter(p.name, hints.get(p.name, Any), p.default)
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }


def check_parameters(env_id: str, kwargs: Mapping[str, Any]) -> None:
    """Raise :class:`TaskError` for a name the family does not take (with the nearest one and
    the list of those it takes) or a non-finite number."""
    known = family_parameters(env_id)
    for name, value in kwargs.items():
        _check_name(env_id, known, name)
        if not _finite(value):
            raise TaskError(f"{env_id} parameter {name}={value!r}: must be a finite number")


def parse_env_kwargs(env_id: str, raw: Mapping[str, str]) -> dict[str, Any]:
    """``{"num_arms": "10"}`` → ``{"num_arms": 10}``: each value read by its declared type
    (module doc); unknown names and unreadable values raise :class:`TaskError`."""
    known = family_parameters(env_id)
    out = {}
    for name, text in raw.items():
        _check_name(env_id, known, name)
        kind = known[name].kind if known is not None else Any
        try:
            out[name] = _parse(kind, text)
        except ValueError as exc:
            raise TaskError(f"{env_id} parameter {name}={text!r}: {exc}") from None
    return out


def _check_name(env_id: str, known: dict[str, Parameter] | None, name: str) -> None:
    if known is None or name in known:
        return
    near = difflib.get_close_matches(name, list(known), n=1)
    hint = f"did you mean {near[0]}? " if near else ""
    listed = ", ".join(p.describe() for p in known.values()) or "none"
    raise TaskError(
        f"{env_id} has no parameter {name!r}: {hint}its parameters are {listed} "
        "(python -m metarl.envs lists every family's)"
    )


# --------------------------------------------------------------------------------------------


def _creator(env_id: str) -> Callable[..., Any]:
    entry = gym.spec(env_id).entry_point
    return load_env_creator(entry) if isinstance(entry, str) else entry


def _hints(creator: Callable[..., Any]) -> dict[str, Any]:
    target = creator.__init__ if inspect.isclass(creator) else creator
    try:
        return typing.get_type_hints(target)
    except Exception:  # an annotation that does not resolve: read those values as JSON
        return {}


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list | tuple):
        return all(_finite(v) for v in value)
    return True


def _parse(kind: Any, text: str) -> Any:
    """``text`` read as ``kind``; ``ValueError`` saying what was expected."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and text.strip().lower() in ("none", "null"):
            return None
        options = [a for a in args if a is not type(None)]
        return _parse(options[0] if len(options) == 1 else Any, text)
    if origin is typing.Literal:
        if text not in [str(a) for a in args]:
            raise ValueError(f"expected one of {', '.join(map(str, args))}")
        return next(a for a in args if str(a) == text)
    if origin in (tuple, list) or kind in (tuple, list):
        return _parse_sequence(origin or kind, args, text)
    parser = _SCALARS.get(kind)
    if parser is not None:
        return parser(text)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _parse_sequence(container: type, args: tuple[Any, ...], text: str) -> Any:
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            items = [str(v) for v in json.loads(stripped)]
        except (json.JSONDecodeError, TypeError):
            raise ValueError("expected a list such as 0.5,1.0 or [0.5, 1.0]") from None
    else:
        if stripped.startswith("(") and stripped.endswith(")"):
            stripped = stripped[1:-1]
        items = [s for s in stripped.split(",") if s.strip()]
    if len(args) == 2 and args[1] is Ellipsis:
        kinds = [args[0]] * len(items)
    elif args and container is tuple:
        if len(items) != len(args):
            raise ValueError(f"expected {len(args)} comma-separated values, got {len(items)}")
        kinds = list(args)
    else:
        kinds = [args[0] if args else Any] * len(items)
    values = []
    for index, (k, item) in enumerate(zip(kinds, items), start=1):
        try:
            values.append(_parse(k, item.strip()))
        except ValueError as exc:
            raise ValueError(f"value {index} of {len(items)} ({item.strip()!r}): {exc}") from None
    return container(values)


def _parse_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("expected a number such as 0.5 or 1e-2") from None
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _parse_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = _parse_float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value != round(value):
        raise ValueError("expected a whole number such as 10")
    return round(value)


def _parse_bool(text: str) -> bool:
    if text.strip().lower() in _TRUE:
        return True
    if text.strip().lower() in _FALSE:
        return False
    raise ValueError("expected true or false")


_SCALARS: dict[Any, Callable[[str], Any]] = {
    float: _parse_float,
    int: _parse_int,
    bool: _parse_bool,
    str: str,
}
