"""Counter-based random numbers that numpy and torch compute bit for bit alike.

A single env and a batched torch vector env must draw the same random numbers for the same seed so
that they match step for step. Both draw uniforms as ``hash(key, counter)``: the key comes from the
seed, the counter counts draws. The hash is Chris Wellons' 32-bit "lowbias32" integer hash, done
in 64-bit integer arithmetic and masked to 32 bits, which numpy (uint64) and torch (int64, CPU or
CUDA) evaluate identically. No global RNG is touched.
"""

from __future__ import annotations

import numpy as np
import torch

MASK32 = 0xFFFFFFFF
_M1 = 0x7FEB352D
_M2 = 0x846CA68B
_GOLDEN = 0x9E3779B9
_INV_2_24 = 1.0 / (1 << 24)


def hash32_np(x: np.ndarray | int) -> np.ndarray:
    """lowbias32 hash of 32-bit values; returns uint64 values in [0, 2**32)."""
    x = np.asarray(x, dtype=np.uint64) & np.uint64(MASK32)
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(_M1)) & np.uint64(MASK32)
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(_M2)) & np.uint64(MASK32)
    x ^= x >> np.uint64(16)
    return x


def hash32_torch(x: torch.Tensor) -> torch.Tensor:
    """lowbias32 hash of an int64 tensor of 32-bit values; returns int64 in [0, 2**32)."""
    x = x & MASK32
    x = x ^ (x >> 16)
    x = (x * _M1) & MASK32
    x = x ^ (x >> 15)
    x = (x * _M2) & MASK32
    return x ^ (x >> 16)


def seed_key(seed: int) -> int:
    """The 32-bit stream key of a seed (any Python int)."""
    return int(hash32_np(np.uint64(seed & MASK32) ^ np.uint64(_GOLDEN)))


def seed_keys(first: int, count: int) -> np.ndarray:
    """``[seed_key(first + i) for i in range(count)]`` as uint64 ``(count,)``, in one array op.

    The seeds of a vector env's sub-envs (``seed + i``, as in Gymnasium's vector envs): a Python
    loop over ``seed_key`` costs about 3 µs per sub-env, which at 65k sub-envs and a reset per
    ten steps dominated RL²'s bandit rollouts on a GPU.
    """
    low = np.uint64(first & MASK32)
    seeds = (np.arange(count, dtype=np.uint64) + low) & np.uint64(MASK32)
    return hash32_np(seeds ^ np.uint64(_GOLDEN))


def uniform_np(key: int, counter: np.ndarray | int) -> np.ndarray:
    """Uniform float32 values in [0, 1) with 24 random bits, one per counter value."""
    c = np.asarray(counter, dtype=np.uint64)
    h = hash32_np(hash32_np(c * np.uint64(_GOLDEN)) ^ np.uint64(key))
    return ((h >> np.uint64(8)).astype(np.float64) * _INV_2_24).astype(np.float32)


def uniform_torch(key: torch.Tensor, counter: torch.Tensor) -> torch.Tensor:
    """Batched :func:`uniform_np`: ``key`` and ``counter`` are int64 tensors of one shape."""
    h = hash32_torch(hash32_torch(counter * _GOLDEN) ^ key)
    return (h >> 8).to(torch.float32) * _INV_2_24


def normal_np(key: int, counter: int) -> np.float32:
    """A standard normal draw (Box-Muller) from the two uniforms at ``counter`` and ``counter+1``.

    Computed in float64 and rounded to float32: numpy's and torch's float32 ``log``/``cos`` differ
    in the last bit for about a quarter of inputs, their float64 versions round to the same float32.
    """
    u1, u2 = uniform_np(key, np.array([counter, counter + 1])).astype(np.float64)
    r = np.sqrt(-2.0 * np.log(1.0 - u1))
    return np.float32(r * np.cos(2.0 * np.pi * u2))


def normal_torch(key: torch.Tensor, counter: torch.Tensor) -> torch.Tensor:
    """Batched :func:`normal_np` (float32)."""
    return box_muller_torch(uniform_torch(key, counter), uniform_torch(key, counter + 1))


def box_muller_torch(u1: torch.Tensor, u2: torch.Tensor) -> torch.Tensor:
    """Standard normals (float32) from the uniforms at ``counter`` (u1) and ``counter + 1`` (u2)."""
    u1, u2 = u1.double(), u2.double()
    r = torch.sqrt(-2.0 * torch.log(1.0 - u1))
    return (r * torch.cos(2.0 * np.pi * u2)).to(torch.float32)
