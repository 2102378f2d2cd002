"""Meta-learners and the one registry that maps an ``--agent`` name to its class and config.

A new agent is one module with a class implementing :class:`MetaLearner` and a config class
extending :class:`~metarl.config.RunConfig`, plus one line in ``AGENTS``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from metarl.agents.base import MetaLearner, TrainingError
from metarl.agents.maml import MAML, Pretrained
from metarl.agents.rl2 import RL2
from metarl.config import (
    PRESETS,
    ConfigError,
    MAMLConfig,
    PretrainedConfig,
    RL2Config,
    RunConfig,
    from_json,
)


@dataclasses.dataclass(frozen=True)
class AgentSpec:
    """An agent's class and its config class."""

    agent: type
    config: type[RunConfig]


AGENTS: dict[str, AgentSpec] = {
    "rl2": AgentSpec(RL2, RL2Config),
    "maml": AgentSpec(MAML, MAMLConfig),
    "pretrained": AgentSpec(Pretrained, PretrainedConfig),
}


def agent_spec(name: str) -> AgentSpec:
    """The registry entry of ``name``; :class:`ConfigError` listing the agents if unknown."""
    if name not in AGENTS:
        raise ConfigError(f"unknown agent {name!r}: use one of {', '.join(AGENTS)}")
    return AGENTS[name]


def agent_of(config: RunConfig) -> str:
    """The ``--agent`` name of a config object (its exact class)."""
    return next(name for name, spec in AGENTS.items() if type(config) is spec.config)


def preset(agent: str, env: str) -> Any:
    """The config of ``agent`` on ``env`` with the preset's defaults (class defaults otherwise)."""
    return agent_spec(agent).config(env=env, **PRESETS.get((agent, env), {}))


def make_agent(config: RunConfig, train_tasks: Any) -> MetaLearner:
    """The agent that ``config``'s class belongs to, built on ``train_tasks``."""
    return AGENTS[agent_of(config)].agent(config, train_tasks)


def config_from_json(data: dict[str, Any]) -> RunConfig:
    """A config.json's config, of whichever registered agent it names."""
    return from_json(data, [spec.config for spec in AGENTS.values()])


__all__ = [
    "AGENTS",
    "MAML",
    "RL2",
    "AgentSpec",
    "MetaLearner",
    "Pretrained",
    "TrainingError",
    "agent_of",
    "agent_spec",
    "config_from_json",
    "make_agent",
    "preset",
]
