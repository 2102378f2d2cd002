"""Meta-learners. ``AGENTS`` maps the ``--agent`` name to the class."""

from __future__ import annotations

from metarl.agents.base import MetaLearner, TrainingError
from metarl.agents.rl2 import RL2

AGENTS: dict[str, type] = {"rl2": RL2}

__all__ = ["AGENTS", "RL2", "MetaLearner", "TrainingError"]
