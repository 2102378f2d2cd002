"""Per-iteration random streams: every draw of an iteration comes from ``(seed, iteration, stream)``.

An agent seeds a fresh generator per iteration and per purpose, so an iteration is a pure function
of the weights, the optimizer state and the iteration number: a resumed run reproduces an
uninterrupted one exactly on CPU, and no global RNG is touched. The stream ids are named so that
two purposes never share one by accident.
"""

from __future__ import annotations

import numpy as np
import torch

POLICY = 0
"""Action sampling and minibatch shuffling of a training iteration."""
TASKS = 1
"""Which training tasks an iteration (or a trial) draws from the pool."""
ENV = 2
"""The env seed of an iteration's episodes (reward noise, transitions, start states)."""
EVALUATION = 3
"""Action sampling on the held-out tasks (drawn with iteration 0: the same for every checkpoint)."""


def stream_seed(seed: int, iteration: int, stream: int) -> int:
    """A 32-bit seed for ``stream`` of ``iteration`` of a run seeded ``seed``."""
    state = np.random.SeedSequence([seed, iteration, stream]).generate_state(1)
    return int(state[0])


def generator(seed: int, iteration: int, stream: int, device: torch.device) -> torch.Generator:
    """A torch generator on ``device`` seeded by :func:`stream_seed`."""
    return torch.Generator(device=device).manual_seed(stream_seed(seed, iteration, stream))


def numpy_rng(seed: int, iteration: int, stream: int) -> np.random.Generator:
    """A numpy generator seeded by :func:`stream_seed`."""
    return np.random.default_rng(stream_seed(seed, iteration, stream))
