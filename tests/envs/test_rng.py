"""The counter-based random numbers: the batched forms equal the one-at-a-time forms."""

from __future__ import annotations

import pytest
import torch

from metarl.envs import make_vector_env
from metarl.envs import rng as crng


@pytest.mark.parametrize("first", [0, 7, -3, 2**32 - 2, 2**40 + 5])
def test_seed_keys_equal_seed_key_per_seed(first: int) -> None:
    keys = crng.seed_keys(first, 6)
    assert keys.tolist() == [crng.seed_key(first + i) for i in range(6)]


def test_uniform_block_equals_one_draw_at_a_time() -> None:
    env = make_vector_env("tabular-mdp", 5, "cpu")
    env.reset(seed=3)
    env.counter = torch.tensor([0, 1, 7, 100, 2**31])
    block = env.uniform_block(2, 3)
    assert block.shape == (5, 3)
    for j in range(3):
        assert torch.equal(block[:, j], env.uniforms(2 + j))
    assert torch.equal(crng.box_muller_torch(block[:, 0], block[:, 1]), env.normals(2))
