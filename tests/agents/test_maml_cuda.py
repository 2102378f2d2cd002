"""On a CUDA device: MAML trains and evaluates with every tensor there.

Skipped where torch sees no GPU (CI); run on a GPU machine with ``pytest tests/agents``. MAML's
TRPO line search decides on the host (accept or shrink a step), so unlike RL²'s rollout there
is no sync-free claim to test; what must hold is that the CUDA path gives finite numbers and
repeats itself for a seed on every family and outer loop, and evaluates. That a seed and a
resume reproduce an iteration exactly on CUDA is tested for MAML and pretrained in
``test_protocol.py``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from metarl.agents import make_agent, preset
from metarl.config import RunConfig
from metarl.envs import family_tasks
from tests.metrics_rows import without_wall_times

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

FAMILIES = {"bandit": {"num_arms": 5}, "tabular-mdp": {}, "nav": {"horizon": 20}}


def cuda_config(agent: str, family: str, outer: str = "trpo") -> RunConfig:
    """``agent`` on ``family`` with 6 tasks × 8 episodes per meta-batch, on the GPU."""
    return dataclasses.replace(
        preset(agent, family), env_kwargs=FAMILIES[family], device="cuda", meta_batch=6,
        fast_batch=8, hidden_sizes=(32, 32), outer=outer, eval_fast_batch=4,
        eval_inner_steps=2, train_tasks=12, eval_tasks=3,
    )  # fmt: skip


def tasks_of(config: RunConfig) -> list:
    return family_tasks(config.env, "train", config.train_tasks, 0, **config.env_kwargs)


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("outer", ["trpo", "ppo"])
def test_iteration_on_cuda_is_finite_and_repeats_for_a_seed(family: str, outer: str) -> None:
    config = cuda_config("maml", family, outer)
    first, second = make_agent(config, tasks_of(config)), make_agent(config, tasks_of(config))
    row = first.train_iteration()
    assert all(math.isfinite(v) for v in row.values())
    assert 0 < row["env_steps"] <= first.steps_per_iteration
    assert all(p.device.type == "cuda" for p in first.policy.parameters())
    assert without_wall_times(second.train_iteration()) == without_wall_times(row)


def test_adaptation_curve_on_cuda() -> None:
    config = cuda_config("maml", "nav")
    agent = make_agent(config, tasks_of(config))
    agent.train_iteration()
    held_out = family_tasks("nav", "test", 3, 0, **config.env_kwargs)
    curve = agent.adaptation_curve(held_out, config.eval_inner_steps)
    assert curve.returns.shape == (3, config.eval_inner_steps + 1)
    assert np.isfinite(curve.returns).all()
