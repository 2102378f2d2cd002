"""The protocol every meta-learner implements, so one training loop drives them all."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from metarl.envs.family import Task
from metarl.evaluation import AdaptationCurve


class TrainingError(RuntimeError):
    """Training cannot go on (a NaN or inf in the loss, ...); the message says what to do."""


class MetaLearner(Protocol):
    """A meta-learner: meta-trains iteration by iteration and adapts to new tasks."""

    env_steps: int
    """Env steps of meta-training done so far."""

    def train_iteration(self) -> dict[str, float]:
        """Collect experience on training tasks and update once; return metrics (finite floats)."""
        ...

    def adaptation_curve(self, tasks: Sequence[Task], budget: int | None = None) -> AdaptationCurve:
        """Adapt to each held-out task and record the return at each adaptation point."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue training exactly (weights, optimizer, counters)."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output."""
        ...
