"""On a CUDA device: RL²'s rollout loop (act, then step the trials) never waits for the GPU.

Skipped where torch sees no GPU (CI); run on a GPU machine with ``pytest tests/agents``.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from metarl.agents import preset
from metarl.agents.rl2 import RL2
from metarl.envs import family_tasks

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

FAMILIES = {"bandit": {"num_arms": 5}, "tabular-mdp": {}, "nav": {}}


def cuda_agent(family: str) -> RL2:
    """RL² with the family's preset on 64 parallel trials on the GPU."""
    kwargs = FAMILIES[family]
    config = dataclasses.replace(
        preset("rl2", family), env_kwargs=kwargs, num_envs=64, minibatches=4, device="cuda"
    )
    return RL2(config, family_tasks(family, "train", 100, 0, **kwargs))


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_rollout_loop_has_no_host_sync(family: str) -> None:
    agent = cuda_agent(family)
    config = agent.config
    gen = torch.Generator(device=agent.device).manual_seed(0)
    agent.collect(gen, env_seed=0)  # warm-up: lazy CUDA init and first allocations
    raw, _ = agent.trials.reset(seed=1)
    h = agent.net.initial_state(config.num_envs, agent.device)
    reset = torch.ones(config.num_envs, dtype=torch.bool, device=agent.device)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(agent.rollout_steps):
            action, h = agent.act(raw, h, reset, gen)
            raw, _, _, _, info = agent.trials.step(action)
            reset = info["trial_done"]
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert torch.isfinite(raw).all()


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_training_iteration_runs_on_cuda(family: str) -> None:
    agent = cuda_agent(family)
    metrics = agent.train_iteration()
    assert metrics["env_steps"] == agent.rollout_steps * 64
    assert all(p.device.type == "cuda" for p in agent.net.parameters())
