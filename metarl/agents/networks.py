"""Networks: MLPs, the recurrent actor-critic of RL², and action distributions.

Action distributions sample with an explicit ``torch.Generator`` (no global RNG) and map the
policy's unit-scale Gaussian actions to a Box's bounds.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch
from gymnasium import spaces
from torch import nn


def mlp(sizes: list[int], activation: type[nn.Module] = nn.Tanh) -> nn.Sequential:
    """Linear layers of ``sizes`` with ``activation`` between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class ActionHead(nn.Module):
    """Maps features to an action distribution for a Discrete or Box action space.

    Discrete: categorical logits. Box: a diagonal Gaussian in unit scale with a learned,
    state-independent log std; :meth:`to_env` clips to [-1, 1] and rescales to the Box bounds.
    """

    def __init__(self, in_dim: int, space: spaces.Space, init_log_std: float = 0.0) -> None:
        super().__init__()
        self.discrete = isinstance(space, spaces.Discrete)
        if self.discrete:
            self.out = nn.Linear(in_dim, int(space.n))
        elif isinstance(space, spaces.Box):
            dim = int(np.prod(space.shape))
            self.out = nn.Linear(in_dim, dim)
            self.log_std = nn.Parameter(torch.full((dim,), float(init_log_std)))
            low = torch.as_tensor(space.low, dtype=torch.float32).flatten()
            high = torch.as_tensor(space.high, dtype=torch.float32).flatten()
            self.register_buffer("center", (high + low) / 2)
            self.register_buffer("half_range", (high - low) / 2)
        else:
            raise TypeError(f"action space {space} is not supported: use Discrete or Box")
        nn.init.orthogonal_(self.out.weight, gain=0.01)
        nn.init.zeros_(self.out.bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(..., n)`` or Gaussian means ``(..., dim)``."""
        return self.out(features)

    def sample(self, params: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Draw actions: int64 ``(...)`` or float32 ``(..., dim)`` in unit scale."""
        noise = torch.rand(params.shape, generator=generator, device=params.device)
        if self.discrete:
            gumbel = -torch.log(-torch.log(noise.clamp_min(1e-20)))
            return (params + gumbel).argmax(dim=-1)
        normal = torch.randn(params.shape, generator=generator, device=params.device)
        return params + self.log_std.exp() * normal

    def log_prob(self, params: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Log-probability of ``actions`` (as returned by :meth:`sample`), shape ``(...)``."""
        if self.discrete:
            logp = torch.log_softmax(params, dim=-1)
            return logp.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
        z = (actions - params) / self.log_std.exp()
        per_dim = -0.5 * z * z - self.log_std - 0.5 * math.log(2 * math.pi)
        return per_dim.sum(dim=-1)

    def entropy(self, params: torch.Tensor) -> torch.Tensor:
        """Entropy of each distribution, shape ``(...)``."""
        if self.discrete:
            logp = torch.log_softmax(params, dim=-1)
            return -(logp.exp() * logp).sum(dim=-1)
        per_dim = 0.5 + 0.5 * math.log(2 * math.pi) + self.log_std
        return per_dim.sum().expand(params.shape[:-1])

    def to_env(self, actions: torch.Tensor) -> torch.Tensor:
        """Actions as the env takes them (Box: clipped to [-1, 1], rescaled to the bounds)."""
        if self.discrete:
            return actions
        return self.center + self.half_range * actions.clamp(-1.0, 1.0)


class RecurrentActorCritic(nn.Module):
    """A GRU actor-critic: input encoder → GRU → policy and value heads.

    The GRU is written out (one fused input projection for a whole sequence, one recurrent
    matmul per step) so that the hidden state can be reset inside a sequence where a trial ends.
    """

    def __init__(self, obs_dim: int, action_space: spaces.Space, hidden_size: int = 128) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.encoder = nn.Sequential(nn.Linear(obs_dim, hidden_size), nn.Tanh())
        self.w_ih = nn.Linear(hidden_size, 3 * hidden_size)
        self.w_hh = nn.Linear(hidden_size, 3 * hidden_size)
        self.policy = ActionHead(hidden_size, action_space)
        self.value_head = nn.Linear(hidden_size, 1)
        for layer in (self.encoder[0], self.w_ih, self.w_hh):
            nn.init.orthogonal_(layer.weight)
            nn.init.zeros_(layer.bias)
        nn.init.orthogonal_(self.value_head.weight, gain=1.0)
        nn.init.zeros_(self.value_head.bias)

    def initial_state(self, batch: int, device: torch.device) -> torch.Tensor:
        """Zero hidden state ``(batch, hidden_size)``."""
        return torch.zeros(batch, self.hidden_size, device=device)

    def _cell(self, x_proj: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        h_proj = self.w_hh(h)
        xr, xz, xn = x_proj.chunk(3, dim=-1)
        hr, hz, hn = h_proj.chunk(3, dim=-1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        return n + z * (h - n)

    def step(
        self, obs: torch.Tensor, h: torch.Tensor, reset: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step: ``obs (B, D)``, ``h (B, H)``, ``reset (B,)`` bool zeroes h first.

        Returns ``(features (B, H), new h (B, H))`` (the features are the new hidden state).
        """
        if reset is not None:
            h = h * (~reset).unsqueeze(-1).to(h.dtype)
        h = self._cell(self.w_ih(self.encoder(obs)), h)
        return h, h

    def sequence(self, obs: torch.Tensor, h0: torch.Tensor, resets: torch.Tensor) -> torch.Tensor:
        """Features ``(T, B, H)`` of a sequence ``obs (T, B, D)`` from ``h0 (B, H)``.

        ``resets (T, B)`` bool zeroes the hidden state before step t (a new trial starts).
        """
        x_proj = self.w_ih(self.encoder(obs))
        keep = (~resets).unsqueeze(-1).to(h0.dtype)
        h, out = h0, []
        for t in range(obs.shape[0]):
            h = self._cell(x_proj[t], h * keep[t])
            out.append(h)
        return torch.stack(out)

    def value(self, features: torch.Tensor) -> torch.Tensor:
        """State values ``(...)`` of features ``(..., H)``."""
        return self.value_head(features).squeeze(-1)
