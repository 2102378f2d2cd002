"""Networks: MLPs, the recurrent actor-critic of RL², MAML's functional MLP policy, action
distributions and running observation statistics.

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


def _tanh_layer(in_dim: int, out_dim: int) -> nn.Sequential:
    """``Linear`` (orthogonal init, gain sqrt 2, zero bias) then tanh."""
    layer = nn.Linear(in_dim, out_dim)
    nn.init.orthogonal_(layer.weight, gain=math.sqrt(2))
    nn.init.zeros_(layer.bias)
    return nn.Sequential(layer, nn.Tanh())


def _gaussian_parameters(module: nn.Module, space: spaces.Box, init_log_std: float) -> None:
    """Give ``module`` a Gaussian head's learned ``log_std`` (one per action dimension) and the
    ``center``/``half_range`` buffers that map unit-scale actions to the Box's bounds."""
    dim = int(np.prod(space.shape))
    module.log_std = nn.Parameter(torch.full((dim,), float(init_log_std)))
    low = torch.as_tensor(space.low, dtype=torch.float32).flatten()
    high = torch.as_tensor(space.high, dtype=torch.float32).flatten()
    module.register_buffer("center", (high + low) / 2)
    module.register_buffer("half_range", (high - low) / 2)


class ActionHead(nn.Module):
    """Maps features to an action distribution for a Discrete or Box action space.

    Discrete: categorical logits. Box: a diagonal Gaussian in unit scale with a learned,
    state-independent log std; :meth:`to_env` clips to [-1, 1] and rescales to the Box bounds.
    ``hidden`` > 0 puts one tanh layer of that width before the output layer.
    """

    def __init__(
        self, in_dim: int, space: spaces.Space, init_log_std: float = 0.0, hidden: int = 0
    ) -> None:
        super().__init__()
        self.body = _tanh_layer(in_dim, hidden) if hidden else nn.Identity()
        in_dim = hidden or in_dim
        self.discrete = isinstance(space, spaces.Discrete)
        if self.discrete:
            self.out = nn.Linear(in_dim, int(space.n))
        elif isinstance(space, spaces.Box):
            self.out = nn.Linear(in_dim, int(np.prod(space.shape)))
            _gaussian_parameters(self, space, init_log_std)
        else:
            raise TypeError(f"action space {space} is not supported: use Discrete or Box")
        nn.init.orthogonal_(self.out.weight, gain=0.01)
        nn.init.zeros_(self.out.bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(..., n)`` or Gaussian means ``(..., dim)``."""
        return self.out(self.body(features))

    def sample(self, params: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Draw actions: int64 ``(...)`` or float32 ``(..., dim)`` in unit scale."""
        noise = torch.rand(params.shape, generator=generator, device=params.device)
        if self.discrete:
            gumbel = -torch.log(-torch.log(noise.clamp_min(1e-20)))
            return (params + gumbel).argmax(dim=-1)
        normal = torch.randn(params.shape, generator=generator, device=params.device)
        return params + self.log_std.exp() * normal

    def mode(self, params: torch.Tensor) -> torch.Tensor:
        """The most likely action, shaped as :meth:`sample`'s: the best logit, or the mean."""
        return params.argmax(dim=-1) if self.discrete else params

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

    The defaults are the RL² paper's network (linear heads on the GRU state). Two options are
    meant for families whose memory must be keyed by state: ``transition_input`` feeds the
    encoder the previous step's input too (a reward then arrives with the state it was earned
    in), and ``head_hidden`` > 0 gives each head a tanh layer reading the GRU state and the
    encoded current input (which can look up the memory of the current state). Together they
    lift tabular MDPs far above the paper's network (docs/BENCHMARKS.md). ``chrono_horizon`` > 1
    initializes the update gates to keep memories for up to that many steps
    (:meth:`_chrono_init`; faster learning on tabular MDPs).
    ``critic_gru`` gives the value head its own encoder and GRU, so the value loss no longer
    trains the policy's memory (the features then hold the policy's part, then the critic's;
    +3.4 and +4.6 held out on tabular MDPs in runs of two seeds).

    Rollouts call :meth:`step` one step at a time. Training calls :meth:`sequence` on whole
    rollouts whose hidden state is reset where a trial starts: the rollout is cut into segments
    at those resets, and the segments run through ``nn.GRU`` as one padded batch (a fused kernel
    on CPU and CUDA) — the same numbers as the step loop, without a Python loop over time.
    """

    def __init__(
        self,
        obs_dim: int,
        action_space: spaces.Space,
        hidden_size: int = 128,
        transition_input: bool = False,
        head_hidden: int = 0,
        chrono_horizon: int = 0,
        critic_gru: bool = False,
        init_log_std: float = 0.0,
    ) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.obs_dim = obs_dim
        self.transition_input = transition_input
        self.head_hidden = head_hidden
        self.critic_gru = critic_gru
        in_dim = 2 * obs_dim if transition_input else obs_dim
        self.encoder, self.gru = self._core(in_dim)
        if critic_gru:
            self.critic_encoder, self.critic_core = self._core(in_dim)
        self.policy_dim = 2 * hidden_size if head_hidden else hidden_size
        self.policy = ActionHead(self.policy_dim, action_space, init_log_std, hidden=head_hidden)
        # Identity adds no parameters: checkpoints without head_hidden keep their keys.
        self.value_body = (
            _tanh_layer(self.policy_dim, head_hidden) if head_hidden else nn.Identity()
        )
        self.value_head = nn.Linear(head_hidden or self.policy_dim, 1)
        # Initialized after all modules exist, in this order, so that a seed gives the same
        # weights as before the critic option (the default network draws what it always drew).
        for encoder, gru in self._cores():
            nn.init.orthogonal_(encoder[0].weight)
            nn.init.zeros_(encoder[0].bias)
            for name, param in gru.named_parameters():
                (nn.init.orthogonal_ if "weight" in name else nn.init.zeros_)(param)
        if chrono_horizon > 1:
            self._chrono_init(chrono_horizon)
        nn.init.orthogonal_(self.value_head.weight, gain=1.0)
        nn.init.zeros_(self.value_head.bias)

    def _core(self, in_dim: int) -> tuple[nn.Sequential, nn.GRU]:
        """A tanh encoder and a GRU of width H (initialized in ``__init__``)."""
        encoder = nn.Sequential(nn.Linear(in_dim, self.hidden_size), nn.Tanh())
        return encoder, nn.GRU(self.hidden_size, self.hidden_size)

    def _cores(self) -> list[tuple[nn.Sequential, nn.GRU]]:
        """The policy's (encoder, GRU), then the critic's if it has its own."""
        cores = [(self.encoder, self.gru)]
        return [*cores, (self.critic_encoder, self.critic_core)] if self.critic_gru else cores

    @torch.no_grad()
    def _chrono_init(self, horizon: int) -> None:
        """Update-gate biases log(U[1, horizon - 1]) (Tallec & Ollivier 2018, "chrono init").

        The GRU keeps a fraction z = sigmoid(bias) of its state per step (PyTorch's gate order is
        reset, update, new); zero biases halve an untrained memory every step, these give units
        timescales spread up to ``horizon`` steps.
        """
        h = self.hidden_size
        for _, gru in self._cores():
            u = torch.empty(h).uniform_(1.0, float(horizon - 1))
            gru.bias_hh_l0[h : 2 * h] = torch.log(u)

    def _features(self, gru_h: torch.Tensor, encoded: torch.Tensor) -> torch.Tensor:
        """What a head reads: the GRU state, and with MLP heads also the encoded input."""
        return torch.cat([gru_h, encoded], dim=-1) if self.head_hidden else gru_h

    @property
    def memory_size(self) -> int:
        """Width of the GRU states in the carried state: H, or 2H with ``critic_gru``."""
        return self.hidden_size * len(self._cores())

    @property
    def state_size(self) -> int:
        """Width S of the carried state: the GRU states, plus the last input D with transitions."""
        return self.memory_size + (self.obs_dim if self.transition_input else 0)

    def initial_state(self, batch: int, device: torch.device) -> torch.Tensor:
        """Zero carried state ``(batch, state_size)``."""
        return torch.zeros(batch, self.state_size, device=device)

    def step(
        self, obs: torch.Tensor, h: torch.Tensor, reset: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step: ``obs (B, D)``, carried state ``h (B, S)``; ``reset (B,)`` zeroes h first.

        Returns ``(features (B, F), new state (B, S))``. The features are the GRU's new hidden
        state (F = H), with ``head_hidden`` followed by the encoded input (F = 2H), and with
        ``critic_gru`` the same again from the critic's core (F doubles). With
        ``transition_input`` the state also carries ``obs`` for the next step, whose encoder reads
        ``concat(obs, previous obs)`` (zeros at a trial's first step).
        """
        if reset is not None:
            h = h * (~reset).unsqueeze(-1).to(h.dtype)
        x = torch.cat([obs, h[:, self.memory_size :]], dim=-1) if self.transition_input else obs
        feats, memories = [], []
        for i, (encoder, g) in enumerate(self._cores()):
            encoded = encoder(x)
            gru_h = h[:, i * self.hidden_size : (i + 1) * self.hidden_size]
            gru_h = torch.gru_cell(
                encoded, gru_h, g.weight_ih_l0, g.weight_hh_l0, g.bias_ih_l0, g.bias_hh_l0
            )
            feats.append(self._features(gru_h, encoded))
            memories.append(gru_h)
        parts = memories + ([obs] if self.transition_input else [])
        return _joined(feats), _joined(parts)

    def _with_previous(
        self, obs: torch.Tensor, h0: torch.Tensor, resets: torch.Tensor
    ) -> torch.Tensor:
        """``concat(obs, previous obs)`` ``(T, B, 2D)``; the previous obs is 0 after a reset."""
        prev = torch.cat([h0[None, :, self.memory_size :], obs[:-1]], dim=0)
        prev = prev * (~resets).unsqueeze(-1).to(obs.dtype)
        return torch.cat([obs, prev], dim=-1)

    def sequence(
        self, obs: torch.Tensor, h0: torch.Tensor, resets: torch.Tensor, segmented: bool = True
    ) -> torch.Tensor:
        """Features ``(T, B, F)`` of a sequence ``obs (T, B, D)`` from the state ``h0 (B, S)``.

        ``resets (T, B)`` bool zeroes the hidden state before step t (a new trial starts).
        With ``segmented`` the resets may fall anywhere: the sequence is cut at them and the
        segments run as padded batches by length, which reads their sizes back to the host
        once. ``segmented=False`` promises that ``resets[1:]`` is all false (each row is
        one trial, or part of one): one GRU call, no host sync.
        """
        if self.transition_input:
            obs = self._with_previous(obs, h0, resets)
        h0 = h0 * (~resets[0]).unsqueeze(-1).to(h0.dtype)
        segments = None if not segmented else _Segments(resets)
        feats = []
        for i, (encoder, gru) in enumerate(self._cores()):
            encoded = encoder(obs)
            gru_h0 = h0[:, i * self.hidden_size : (i + 1) * self.hidden_size]
            if segments is None:  # cuDNN needs a contiguous h0; a slice of a wider state is not
                out, _ = gru(encoded, gru_h0.unsqueeze(0).contiguous())
            else:
                out = segments.run(gru, encoded, gru_h0)
            feats.append(self._features(out, encoded))
        return _joined(feats)

    def policy_params(self, features: torch.Tensor) -> torch.Tensor:
        """The action distribution's parameters ``(..., P)`` from features ``(..., F)``."""
        return self.policy(features[..., : self.policy_dim])

    def value(self, features: torch.Tensor) -> torch.Tensor:
        """State values ``(...)`` of features ``(..., F)`` (the critic's part with its own GRU)."""
        part = features[..., self.policy_dim :] if self.critic_gru else features
        return self.value_head(self.value_body(part)).squeeze(-1)


def _joined(parts: list[torch.Tensor], dim: int = -1) -> torch.Tensor:
    """``parts`` concatenated on axis ``dim``; a single part as it is (no copy, no kernel)."""
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=dim)


class _Segments:
    """A ``(T, B)`` rollout cut at its resets into segments, run by ``nn.GRU`` as padded batches.

    Segments of similar length share a batch: one per power of two of the length (1, 2, 3–4,
    5–8, ...), padded to that bucket's longest. One batch for all would pad every segment to
    the rollout's longest, and as a nav agent learns, its trials shorten to a tenth of the
    rollout while an unsolved goal still fills a row: the padding then costs most of the
    update. Reads the buckets' sizes back to the host once, at construction.
    """

    def __init__(self, resets: torch.Tensor) -> None:
        steps, batch = resets.shape
        starts = resets.t().clone()  # env-major
        starts[:, 0] = True
        flat = starts.reshape(-1)
        seg = torch.cumsum(flat.long(), 0) - 1  # segment of each entry
        idx = torch.arange(flat.numel(), device=flat.device)
        first = torch.cummax(torch.where(flat, idx, torch.zeros_like(idx)), 0).values
        pos = idx - first  # position inside its segment
        lengths = torch.bincount(seg)
        bucket = torch.ceil(torch.log2(lengths.double())).long()  # length <= 2**bucket
        counts = torch.bincount(bucket)
        longest = torch.zeros_like(counts).scatter_reduce(0, bucket, lengths, "amax")
        size = counts * longest  # padded entries of each bucket
        base = torch.cumsum(size, 0) - size  # where each bucket starts in the padded batch
        order = torch.argsort(bucket, stable=True)  # segments grouped by bucket
        slot = torch.empty_like(order)  # a segment's row among all buckets' rows
        slot[order] = torch.arange(order.numel(), device=order.device)
        rank = slot - (torch.cumsum(counts, 0) - counts)[bucket]  # its row in its bucket
        seg_bucket = bucket[seg]
        self.lin = base[seg_bucket] + rank[seg] * longest[seg_bucket] + pos
        self.steps, self.batch, self.num_seg = steps, batch, int(lengths.numel())
        self.first_slot = slot[seg.view(batch, steps)[:, 0]]  # each row's first segment
        self.buckets = [(c, n) for c, n in zip(*torch.stack([counts, longest]).tolist()) if c]
        """``(segments, their longest length)`` of each non-empty bucket, in slot order."""

    def run(self, gru: nn.GRU, x: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
        """GRU outputs ``(T, B, H)`` of inputs ``x (T, B, H)``; ``h0 (B, H)`` starts each row's
        first segment (already zeroed where row 0 resets), zeros start the others."""
        flat_x = x.transpose(0, 1).reshape(self.steps * self.batch, -1)
        total = sum(c * n for c, n in self.buckets)
        padded = flat_x.new_zeros(total, flat_x.shape[-1]).index_copy(0, self.lin, flat_x)
        seg_h0 = flat_x.new_zeros(self.num_seg, h0.shape[-1])
        seg_h0[self.first_slot] = h0
        outs, at, row = [], 0, 0
        for count, length in self.buckets:
            # Plain padded batches (packing is ~7x slower in backward on CPU): the GRU is causal,
            # so the padding after a segment's end never reaches the outputs read back.
            chunk = padded[at : at + count * length].view(count, length, -1).transpose(0, 1)
            out, _ = gru(chunk, seg_h0[row : row + count].unsqueeze(0).contiguous())
            outs.append(out.transpose(0, 1).reshape(count * length, -1))
            at, row = at + count * length, row + count
        out = _joined(outs, dim=0).index_select(0, self.lin)
        return out.view(self.batch, self.steps, -1).transpose(0, 1)


class RunningNorm(nn.Module):
    """Running mean and variance of observations ``(..., D)`` (Chan et al. parallel update)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("var", torch.ones(dim))
        self.register_buffer("count", torch.tensor(1e-4))

    def update(self, x: torch.Tensor) -> None:
        """Fold a batch ``(..., D)`` into the statistics."""
        x = x.reshape(-1, x.shape[-1])
        n = torch.tensor(float(x.shape[0]), device=x.device)
        mean, var = x.mean(0), x.var(0, unbiased=False)
        delta, total = mean - self.mean, self.count + n
        self.mean += delta * n / total
        self.var = (self.var * self.count + var * n + delta**2 * self.count * n / total) / total
        self.count = total

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalized and clipped to [-10, 10]."""
        return ((x - self.mean) / torch.sqrt(self.var + 1e-8)).clamp(-10.0, 10.0)


class MLPPolicy(nn.Module):
    """An MLP policy meant to be called functionally, on a dict of weights (MAML's policy).

    ``forward(obs)`` maps observations ``(..., D)`` to distribution parameters ``(..., P)``:
    categorical logits (``P = n``) for a Discrete space, or for a Box the Gaussian means in unit
    scale followed by the learned state-independent log std (``P = 2 * dim``). Because the log
    std is part of the output, every distribution method below is a pure function of those
    parameters, so ``torch.func.functional_call(policy, weights, (obs,))`` with adapted weights
    gives the adapted distribution. Box actions are mapped to the bounds by :meth:`to_env` as in
    :class:`ActionHead`.
    """

    def __init__(
        self,
        obs_dim: int,
        space: spaces.Space,
        hidden_sizes: tuple[int, ...] = (100, 100),
        init_log_std: float = 0.0,
        activation: type[nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        self.discrete = isinstance(space, spaces.Discrete)
        if self.discrete:
            out = int(space.n)
        elif isinstance(space, spaces.Box):
            out = int(np.prod(space.shape))
            _gaussian_parameters(self, space, init_log_std)
        else:
            raise TypeError(f"action space {space} is not supported: use Discrete or Box")
        self.body = mlp([obs_dim, *hidden_sizes], activation)
        self.body.append(activation())
        self.out = nn.Linear(hidden_sizes[-1], out)
        nn.init.orthogonal_(self.out.weight, gain=0.01)
        nn.init.zeros_(self.out.bias)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Distribution parameters ``(..., P)`` (see the class doc)."""
        head = self.out(self.body(obs))
        if self.discrete:
            return head
        return torch.cat([head, self.log_std.expand_as(head)], dim=-1)

    def _split(self, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return params.chunk(2, dim=-1)

    def sample(self, params: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Draw actions: int64 ``(...)`` or float32 ``(..., dim)`` in unit scale."""
        if self.discrete:
            noise = torch.rand(params.shape, generator=generator, device=params.device)
            gumbel = -torch.log(-torch.log(noise.clamp_min(1e-20)))
            return (params + gumbel).argmax(dim=-1)
        mean, log_std = self._split(params)
        normal = torch.randn(mean.shape, generator=generator, device=params.device)
        return mean + log_std.exp() * normal

    def mode(self, params: torch.Tensor) -> torch.Tensor:
        """The most likely action, shaped as :meth:`sample`'s: the best logit, or the mean."""
        return params.argmax(dim=-1) if self.discrete else self._split(params)[0]

    def log_prob(self, params: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Log-probability of ``actions`` (as :meth:`sample` returns them), shape ``(...)``."""
        if self.discrete:
            logp = torch.log_softmax(params, dim=-1)
            return logp.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
        mean, log_std = self._split(params)
        z = (actions - mean) / log_std.exp()
        return (-0.5 * z * z - log_std - 0.5 * math.log(2 * math.pi)).sum(dim=-1)

    def kl(self, old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
        """KL(old ‖ new) per distribution, shape ``(...)``."""
        if self.discrete:
            old_logp, new_logp = torch.log_softmax(old, -1), torch.log_softmax(new, -1)
            return (old_logp.exp() * (old_logp - new_logp)).sum(dim=-1)
        (m0, s0), (m1, s1) = self._split(old), self._split(new)
        var0, var1 = (2 * s0).exp(), (2 * s1).exp()
        return (s1 - s0 + (var0 + (m0 - m1) ** 2) / (2 * var1) - 0.5).sum(dim=-1)

    def to_env(self, actions: torch.Tensor) -> torch.Tensor:
        """Actions as the env takes them (Box: clipped to [-1, 1], rescaled to the bounds)."""
        if self.discrete:
            return actions
        return self.center + self.half_range * actions.clamp(-1.0, 1.0)
