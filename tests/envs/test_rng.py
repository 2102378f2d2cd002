"""The counter-based random numbers: the array form of the seed keys equals the scalar form."""

from __future__ import annotations

import pytest

from metarl.envs import rng as crng


@pytest.mark.parametrize("first", [0, 7, -3, 2**32 - 2, 2**40 + 5])
def test_seed_keys_equal_seed_key_per_seed(first: int) -> None:
    keys = crng.seed_keys(first, 6)
    assert keys.tolist() == [crng.seed_key(first + i) for i in range(6)]
