"""metarl's task families: Gymnasium registration, short names, plugin loading and factories.

Every built-in family is registered with Gymnasium under the ``metarl/`` namespace, so
``gymnasium.make("metarl/Nav2D-v0")`` works once ``metarl.envs`` is imported. A family resolves
from a short name (``nav``), a registered id (``metarl/Nav2D-v0``), ``pkg.module:Id-v0`` (imports
``pkg.module``, which registers ``Id-v0``), or the short name of an installed plugin: a package
exposing an entry point in the group ``metarl.families`` whose object is a callable that registers
its family with Gymnasium and returns the id.

The envs truncate episodes at their own ``horizon`` (a constructor parameter), so the ids carry
no ``max_episode_steps``: a ``TimeLimit`` would disagree with a user's ``horizon=...``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import os
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import torch
from gymnasium.envs.registration import load_env_creator

from metarl.envs.family import (
    MetaEnv,
    Task,
    TaskError,
    check_positive,
    check_range,
    draw_tasks,
    tasks_from_json,
    tasks_to_json,
)
from metarl.envs.params import check_parameters, family_parameters, parse_env_kwargs
from metarl.envs.vector import GymTaskVectorEnv, TaskVectorEnv

gym.register(
    "metarl/Bandit-v0",
    entry_point="metarl.envs.bandit:BanditEnv",
    vector_entry_point="metarl.envs.bandit:BanditVectorEnv",
)
gym.register(
    "metarl/TabularMDP-v0",
    entry_point="metarl.envs.tabular_mdp:TabularMDPEnv",
    vector_entry_point="metarl.envs.tabular_mdp:TabularMDPVectorEnv",
)
gym.register(
    "metarl/Nav2D-v0",
    entry_point="metarl.envs.nav:NavEnv",
    vector_entry_point="metarl.envs.nav:NavVectorEnv",
)
gym.register(
    "metarl/SparseNav2D-v0",
    entry_point="metarl.envs.sparse_nav:SparseNavEnv",
    vector_entry_point="metarl.envs.sparse_nav:SparseNavVectorEnv",
)
gym.register(
    "metarl/HalfCheetahVel-v0",
    entry_point="metarl.envs.locomotion:HalfCheetahVelEnv",
    vector_entry_point="metarl.envs.locomotion:HalfCheetahVelVectorEnv",
)
gym.register(
    "metarl/HalfCheetahDir-v0",
    entry_point="metarl.envs.locomotion:HalfCheetahDirEnv",
    vector_entry_point="metarl.envs.locomotion:HalfCheetahDirVectorEnv",
)
gym.register(
    "metarl/AntDir-v0",
    entry_point="metarl.envs.locomotion:AntDirEnv",
    vector_entry_point="metarl.envs.locomotion:AntDirVectorEnv",
)
gym.register(
    "metarl/AntGoal-v0",
    entry_point="metarl.envs.locomotion:AntGoalEnv",
    vector_entry_point="metarl.envs.locomotion:AntGoalVectorEnv",
)

BUILTIN_FAMILIES: dict[str, str] = {
    "bandit": "metarl/Bandit-v0",
    "tabular-mdp": "metarl/TabularMDP-v0",
    "nav": "metarl/Nav2D-v0",
    "sparse-nav": "metarl/SparseNav2D-v0",
    "cheetah-vel": "metarl/HalfCheetahVel-v0",
    "cheetah-dir": "metarl/HalfCheetahDir-v0",
    "ant-dir": "metarl/AntDir-v0",
    "ant-goal": "metarl/AntGoal-v0",
}
PLUGIN_GROUP = "metarl.families"
VECTOR_MODES = ("auto", "native", "sync", "async")


def plugin_families() -> dict[str, str]:
    """Load installed plugin families (entry-point group ``metarl.families``): short name → id."""
    found: dict[str, str] = {}
    for ep in importlib.metadata.entry_points(group=PLUGIN_GROUP):
        env_id = ep.load()()
        if not isinstance(env_id, str) or env_id not in gym.registry:
            raise TaskError(
                f"plugin family {ep.name!r} ({ep.value}) must register its env with Gymnasium "
                "and return its id"
            )
        found[ep.name] = env_id
    return found


def family_names() -> dict[str, str]:
    """Every known short name (built-in and plugin) → Gymnasium id."""
    return {**BUILTIN_FAMILIES, **plugin_families()}


def resolve_env_id(name: str) -> str:
    """Gymnasium id of a short name, a registered id, or ``pkg.module:Id-vN``.

    Raises :class:`TaskError` listing the known names when ``name`` is none of them, or when the
    module behind the id's entry points cannot be imported (see :func:`import_entry_points`).
    """
    env_id = _find_env_id(name)
    import_entry_points(env_id)
    return env_id


def import_entry_points(env_id: str) -> None:
    """Import the modules named by ``env_id``'s entry points, failing in one line where a user can
    act: a missing package, or a ``MUJOCO_GL`` backend whose library is missing (MuJoCo imports
    the OpenGL binding it names, so ``osmesa`` without OSMesa breaks ``import mujoco`` itself
    with an error from deep inside PyOpenGL). Other errors keep their traceback.
    """
    spec = gym.spec(env_id)
    entries = (spec.entry_point, getattr(spec, "vector_entry_point", None))
    for module in {e.split(":")[0] for e in entries if isinstance(e, str)}:
        try:
            importlib.import_module(module)
        except ImportError as e:
            raise TaskError(f"cannot import {module} for {env_id}: {e}") from None
        except (AttributeError, OSError, RuntimeError):
            backend = os.environ.get("MUJOCO_GL")
            cause = _import_error("mujoco")
            if backend is None or cause is None:
                raise
            raise TaskError(
                f"{env_id} needs MuJoCo, which cannot be imported with MUJOCO_GL={backend} "
                f"({type(cause).__name__}: {cause}): unset MUJOCO_GL (metarl picks EGL when it "
                "renders headless), or set it to a backend whose library is installed "
                "(`make render-deps` installs EGL's)"
            ) from None


def _import_error(module: str) -> Exception | None:
    """What ``import module`` raises now, or None when it imports."""
    try:
        importlib.import_module(module)
    except Exception as e:  # whatever the module raised: the caller reports it
        return e
    return None


def _find_env_id(name: str) -> str:
    """:func:`resolve_env_id` without the import of the entry points."""
    if name in BUILTIN_FAMILIES:
        return BUILTIN_FAMILIES[name]
    if name in gym.registry:
        return name
    if ":" in name:
        module, env_id = name.split(":", 1)
        try:
            importlib.import_module(module)
        except ImportError as e:
            raise TaskError(
                f"cannot import {module!r} for --env {name}: {e} (run from the folder that holds "
                "the module, put that folder on PYTHONPATH, or install its package)"
            ) from None
        if env_id in gym.registry:
            return env_id
        raise TaskError(f"importing {module!r} did not register {env_id!r} with Gymnasium")
    plugins = plugin_families()
    if name in plugins:
        return plugins[name]
    known = ", ".join([*BUILTIN_FAMILIES, *plugins])
    raise TaskError(
        f"unknown env {name!r}: use one of {known}, a registered Gymnasium id, or pkg.module:Id-v0"
    )


def make_env(name: str, **kwargs: Any) -> gym.Env:
    """The single Gymnasium env of a family (``gym.make``), checking that it is a MetaEnv."""
    env_id = resolve_env_id(name)
    check_parameters(env_id, kwargs)
    try:
        env = gym.make(env_id, **kwargs)
    except TaskError:
        raise
    except (TypeError, ValueError) as e:
        if not kwargs:  # the family fails with its own defaults: its author's bug, keep the trace
            raise
        given = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        raise TaskError(f"{env_id} refused the parameters {given}: {e}") from None
    if not isinstance(env.unwrapped, MetaEnv):
        env.close()
        raise TaskError(f"{env_id} is not a metarl task family (its env is not a MetaEnv)")
    return env


def make_family(name: str, **kwargs: Any) -> MetaEnv:
    """The bare :class:`MetaEnv` of a family (no Gymnasium wrappers)."""
    return make_env(name, **kwargs).unwrapped  # type: ignore[return-value]


def has_native_vector_env(name: str) -> bool:
    """Whether the family registers its own batched vector env."""
    return gym.spec(resolve_env_id(name)).vector_entry_point is not None


def make_vector_env(
    name: str,
    num_envs: int,
    device: str | torch.device = "cpu",
    mode: str = "auto",
    validate_actions: bool = True,
    **kwargs: Any,
) -> TaskVectorEnv:
    """A :class:`TaskVectorEnv` of ``num_envs`` sub-envs of a family.

    ``mode``: ``native`` (the family's batched env), ``sync``/``async`` (Gymnasium's vector envs
    of the single env, through :class:`GymTaskVectorEnv`), or ``auto`` (native when there is one).
    ``validate_actions=False`` skips the native envs' action check (a host sync per step).
    """
    if mode not in VECTOR_MODES:
        raise TaskError(f"unknown vector mode {mode!r}: use one of {', '.join(VECTOR_MODES)}")
    env_id = resolve_env_id(name)
    native = gym.spec(env_id).vector_entry_point is not None
    if mode == "native" and not native:
        raise TaskError(f"{env_id} has no native vector env: use mode 'sync' or 'async'")
    if mode in ("native", "auto") and native:
        check_parameters(env_id, kwargs)
        creator = load_env_creator(gym.spec(env_id).vector_entry_point)
        if "validate_actions" in inspect.signature(creator).parameters:
            kwargs = {**kwargs, "validate_actions": validate_actions}
        try:
            env = gym.make_vec(
                env_id, num_envs, vectorization_mode="vector_entry_point", device=device, **kwargs
            )
        except TypeError as e:
            raise TaskError(f"bad parameter for {env_id}: {e}") from None
        assert isinstance(env, TaskVectorEnv)
        return env
    make_env(name, **kwargs).close()  # fail early and clearly on bad parameters

    def env_fn() -> gym.Env:
        return gym.make(env_id, **kwargs)

    return GymTaskVectorEnv([env_fn] * num_envs, device=device, asynchronous=mode == "async")


def family_tasks(name: str, split: str, n: int, seed: int, **kwargs: Any) -> list[Task]:
    """``n`` tasks of family ``name`` from the seeded ``split`` ("train" or "test") stream.

    The streams of the two splits are independent; the same ``(seed, split, n)`` always gives the
    same tasks.
    """
    env = make_family(name, **kwargs)
    try:
        return draw_tasks(env, split, n, seed)
    finally:
        env.close()


__all__: Sequence[str] = [
    "BUILTIN_FAMILIES",
    "MetaEnv",
    "Task",
    "TaskError",
    "check_positive",
    "check_range",
    "family_names",
    "family_parameters",
    "family_tasks",
    "has_native_vector_env",
    "make_env",
    "make_family",
    "make_vector_env",
    "parse_env_kwargs",
    "resolve_env_id",
    "tasks_from_json",
    "tasks_to_json",
]
