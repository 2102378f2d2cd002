"""A dying worker of an async vector env is one clear error within seconds, never a hang."""

from __future__ import annotations

import time

import pytest
import torch

from metarl.envs import TaskError, family_tasks, make_vector_env

ENV = "tests.envs.dying_family:DyingFamily-v0"


def test_a_worker_that_dies_is_a_clear_error_within_seconds() -> None:
    env = make_vector_env(ENV, 2, mode="async")
    env.reset(seed=0, options={"tasks": family_tasks(ENV, "train", 2, 0)})
    start = time.monotonic()
    message = r"a worker process of the async vector env of DyingEnv died .*mode='sync'"
    with pytest.raises(TaskError, match=message):
        for _ in range(5):
            env.step(torch.zeros(2, dtype=torch.long))
    assert time.monotonic() - start < 10
