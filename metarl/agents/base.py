"""The protocol every meta-learner implements, so one training loop drives them all.

``python -m metarl.train`` and ``python -m metarl.evaluate`` use nothing of an agent but what
:class:`MetaLearner` states: they build it from its config and the training tasks, call
:meth:`~MetaLearner.train_iteration` until ``env_steps`` reaches the config's ``steps``, show the
metrics named in ``progress_metrics`` in the progress bar, checkpoint through ``state_dict``, and
evaluate with :meth:`~MetaLearner.adaptation_curve`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

import torch

from metarl.config import RunConfig
from metarl.envs.family import Task
from metarl.evaluation import AdaptationCurve


class TrainingError(RuntimeError):
    """Training cannot go on (a NaN or inf in the loss, ...); the message says what to do."""


class MetaLearner(Protocol):
    """A meta-learner: meta-trains iteration by iteration and adapts to new tasks."""

    name: ClassVar[str]
    """The ``--agent`` name (also the curve's ``agent``)."""
    progress_metrics: ClassVar[tuple[str, ...]]
    """The keys of :meth:`train_iteration`'s metrics that the progress bar shows."""
    budget_unit: ClassVar[str]
    """What the ``budget`` of :meth:`adaptation_curve` counts, plural ("episodes" for RL²'s
    trials, "steps" for MAML's gradient steps); ``metarl.evaluate --budget N`` names its folder
    ``eval-N-<budget_unit>``."""
    config: RunConfig
    """The run's config (the agent's own config class)."""
    device: torch.device
    """Where the agent's tensors live."""
    iteration: int
    """Training iterations done so far."""
    env_steps: int
    """Env steps of meta-training done so far."""

    def __init__(self, config: Any, train_tasks: Sequence[Task]) -> None:
        """An untrained agent for ``config``, meta-training on ``train_tasks``."""
        ...

    @property
    def steps_per_iteration(self) -> int:
        """Env steps one :meth:`train_iteration` collects (at most, where episodes end early):
        training stops at the first whole iteration that reaches ``config.steps``."""
        ...

    @property
    def default_budget(self) -> int:
        """The adaptation budget the agent is evaluated with when none is asked for."""
        ...

    def train_iteration(self) -> dict[str, float]:
        """Collect experience on training tasks and update once; return metrics (finite floats,
        including ``iteration``, ``env_steps``, ``sps`` and ``progress_metrics``)."""
        ...

    def adaptation_curve(
        self, tasks: Sequence[Task], budget: int | None = None, deterministic: bool = False
    ) -> AdaptationCurve:
        """Adapt to each held-out task and record the return at each adaptation point, with at
        most ``budget`` units of adaptation (None: :attr:`default_budget`). The points score
        the policy's sampled actions, or with ``deterministic`` its most likely ones (the
        curve's ``meta["deterministic"]`` says which)."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue training exactly (weights, optimizer, counters)."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output."""
        ...

    def load_weights(self, state: dict[str, Any]) -> None:
        """Start from the weights in another run's :meth:`state_dict` output (``--init-from``):
        the network and the input and return statistics it was trained with; the optimizer and
        the counters stay as they are. Raises ``RuntimeError`` or ``KeyError`` where the two
        networks differ."""
        ...
