"""Baselines on the held-out tasks of a meta-learner: what a researcher does without meta-learning.

One registry maps each ``--algo`` name to a :class:`BaselineSpec`: what kind of baseline it is,
which action spaces and families it fits, and the function that produces its
:class:`~metarl.evaluation.AdaptationCurve`. Kinds (one module each):

- ``scratch`` (:mod:`metarl.baselines.scratch`): ``ppo``, ``a2c``, ``sac``, ``td3`` of
  stable-baselines3 trained from fresh weights on each held-out task alone; x = env steps.
- ``multitask`` (:mod:`metarl.baselines.multitask`): one task-blind SB3 PPO on all training
  tasks, then fine-tuned on each held-out task; x = env steps of fine-tuning.
- ``trial`` (:mod:`metarl.baselines.recurrent`): ``recurrent-ppo``, sb3-contrib's RecurrentPPO
  meta-trained on RL² trials; x = episode of the trial, as RL².
- ``classic`` (:mod:`metarl.baselines.classic`): the bandit and tabular-MDP algorithms; x =
  episode of the trial.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from typing import Any

from gymnasium import spaces

from metarl.config import ConfigError

KINDS = ("scratch", "multitask", "trial", "classic")


@dataclasses.dataclass(frozen=True)
class BaselineSpec:
    """One ``--algo``: its kind, what it fits, and where its curve function lives."""

    kind: str
    """One of :data:`KINDS`."""
    curve: str
    """``module:function`` of ``curve(config, out_dir, tasks, every_s) -> AdaptationCurve``."""
    summary: str
    """One line for ``--help``."""
    box_only: bool = False
    """Needs continuous (Box) actions."""
    families: tuple[str, ...] | None = None
    """The short names of the families it fits (None: any family)."""

    def curve_function(self) -> Callable[..., Any]:
        """The curve function (its module imported now: SB3 loads slowly)."""
        module, name = self.curve.split(":")
        return getattr(importlib.import_module(module), name)


_SCRATCH = "metarl.baselines.scratch:scratch_curve"
SB3_BASELINES: dict[str, BaselineSpec] = {
    "ppo": BaselineSpec("scratch", _SCRATCH, "SB3 PPO from scratch on each held-out task"),
    "a2c": BaselineSpec("scratch", _SCRATCH, "SB3 A2C from scratch on each held-out task"),
    "sac": BaselineSpec("scratch", _SCRATCH, "SB3 SAC from scratch (Box actions)", box_only=True),
    "td3": BaselineSpec("scratch", _SCRATCH, "SB3 TD3 from scratch (Box actions)", box_only=True),
    "multitask": BaselineSpec(
        "multitask", "metarl.baselines.multitask:multitask_curve",
        "one task-blind SB3 PPO on all training tasks, fine-tuned per held-out task",
    ),
    "recurrent-ppo": BaselineSpec(
        "trial", "metarl.baselines.recurrent:recurrent_curve",
        "sb3-contrib RecurrentPPO meta-trained on RL² trials (RL² as an SB3 user builds it)",
    ),
}  # fmt: skip


def classic_baselines() -> dict[str, BaselineSpec]:
    """The classic algorithms of :mod:`metarl.baselines.classic` (none if it cannot load)."""
    try:
        from metarl.baselines.classic import CLASSIC_FAMILIES
    except ImportError:
        return {}
    curve = "metarl.baselines:classic_curve_of"
    return {
        name: BaselineSpec("classic", curve, f"classic, {'/'.join(fits)}", families=tuple(fits))
        for name, fits in CLASSIC_FAMILIES.items()
    }


def baselines() -> dict[str, BaselineSpec]:
    """Every ``--algo``: the SB3 ones, then the classic ones."""
    return {**SB3_BASELINES, **classic_baselines()}


def fits(spec: BaselineSpec, family: str, action_space: spaces.Space) -> bool:
    """Whether ``spec`` runs on ``family`` (a short name or id) with ``action_space``."""
    if spec.families is not None and family not in spec.families:
        return False
    return not spec.box_only or isinstance(action_space, spaces.Box)


def fitting(family: str, action_space: spaces.Space) -> list[str]:
    """The names of the baselines that fit ``family``."""
    return [name for name, spec in baselines().items() if fits(spec, family, action_space)]


def baseline_spec(algo: str, family: str, action_space: spaces.Space) -> BaselineSpec:
    """The spec of ``algo`` on ``family``; a one-line :class:`ConfigError` that lists what fits
    when ``algo`` is unknown or does not fit (SAC on a bandit, Gittins on nav)."""
    ok = ", ".join(fitting(family, action_space))
    table = baselines()
    if algo not in table:
        raise ConfigError(f"unknown --algo {algo!r}: on {family} use one of {ok}")
    spec = table[algo]
    if spec.families is not None and family not in spec.families:
        raise ConfigError(f"{algo} runs on {' and '.join(spec.families)} only, not on {family}: "
                          f"use one of {ok}")  # fmt: skip
    if not fits(spec, family, action_space):
        raise ConfigError(f"{algo} needs continuous (Box) actions and {family}'s are "
                          f"{action_space}: use one of {ok}")  # fmt: skip
    return spec


def classic_curve_of(config: Any, out: Any, tasks: Any, every_s: float) -> Any:
    """The curve of a classic algorithm (``config.algo``): one trial per held-out task of
    ``config.episodes_per_trial`` episodes, ``config.algo_kwargs`` its parameters."""
    from metarl.baselines.classic import classic_curve

    return classic_curve(config.algo, config.env, config.env_kwargs, tasks,
                         config.episodes_per_trial, config.seed, params=config.algo_kwargs)  # fmt: skip


__all__ = [
    "KINDS",
    "SB3_BASELINES",
    "BaselineSpec",
    "baseline_spec",
    "baselines",
    "classic_baselines",
    "fits",
    "fitting",
]
