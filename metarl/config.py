"""Frozen dataclass configs and the presets table of good defaults per (agent, family).

Each config field's docstring (the string literal under it) is its ``--help`` text: the CLIs read
them with :func:`field_docs`. A bare ``python -m metarl.train --agent rl2 --env nav`` uses
``preset("rl2", "nav")``; flags given on the command line override single fields.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import itertools
import textwrap
from typing import Any


class ConfigError(ValueError):
    """A config value or combination is invalid (bad flag, unknown agent, ...)."""


@dataclasses.dataclass(frozen=True)
class RL2Config:
    """RL²: a GRU actor-critic trained with PPO on whole multi-episode trials."""

    env: str = "nav"
    """Task family: a short name (see `python -m metarl.envs`), a Gymnasium id, or pkg.module:Id-v0."""
    env_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Family parameters, e.g. {"num_arms": 10}."""
    seed: int = 0
    """Seed of everything: train/test task splits, env streams, initial weights, sampling."""
    device: str = "auto"
    """auto (CUDA when present), cpu, cuda or cuda:N."""
    steps: int = 5_000_000
    """Total env steps of meta-training."""
    episodes_per_trial: int = 2
    """Episodes of one task in a trial (the agent's memory spans them; reset between trials)."""
    num_envs: int = 256
    """Parallel trials (sub-envs) per rollout."""
    rollout_steps: int = 0
    """Steps per sub-env per rollout; 0 = one trial's length (episodes_per_trial x horizon)."""
    train_tasks: int = 10_000
    """Size of the training task pool (drawn from the train split); trials draw from it."""
    eval_tasks: int = 100
    """Held-out test tasks evaluated at the end (the test split, saved in tasks.json)."""
    hidden_size: int = 128
    """GRU hidden units."""
    transition_input: bool = False
    """Feed the GRU each step's trial observation together with the previous one, i.e. the
    whole transition (s, a, r, s'), so one layer can bind a reward to the state it was earned in
    (the plain RL² input puts s and its reward in different steps). With --head-hidden it lifted
    tabular MDPs by far (the preset uses both; docs/BENCHMARKS.md)."""
    time_input: bool = False
    """Add the step of the episode and the episode of the trial (each as a share, in [0, 1)) to
    the agent's input, which the plain RL² agent has to count with its memory (no gain on
    tabular MDPs in one 20M-step run, docs/BENCHMARKS.md)."""
    chrono_init: bool = False
    """Initialize the GRU's update-gate biases to log(U[1, T-1]), T = one trial's length, so an
    untrained memory keeps its contents for up to a trial instead of halving every step."""
    head_hidden: int = 0
    """Width of a tanh layer in each of the policy and value heads, which then read the GRU
    state and the encoded current input, so they can look up what the memory holds for the
    current state (0: linear heads on the GRU state, as in the paper). With --transition-input
    it lifted tabular MDPs by far (the preset uses both; docs/BENCHMARKS.md)."""
    critic_gru: bool = False
    """Give the value function its own encoder and GRU, so that the value loss does not train
    the policy's memory (twice the recurrent compute). On tabular MDPs (whose preset uses it) it
    gave +3.4 and +4.6 held out in 20M-step runs of two seeds, and +2.9 and +4.5 over runs
    without it given the same wall time (40M env steps), docs/BENCHMARKS.md."""
    lr: float = 3e-4
    """Adam learning rate."""
    anneal_lr: bool = False
    """Decay the learning rate linearly from --lr to 0 over --steps (follows a new --steps on
    --resume)."""
    gamma: float = 0.99
    """Discount per step (across the episodes of a trial)."""
    gae_lambda: float = 0.95
    """GAE lambda."""
    clip: float = 0.2
    """PPO ratio clip."""
    epochs: int = 4
    """PPO epochs per rollout (on tabular MDPs 2 halved the update's cost but ended 15 lower over
    the same 60M env steps, docs/BENCHMARKS.md)."""
    minibatches: int = 4
    """PPO minibatches per epoch (split over sub-envs: each holds whole sequences)."""
    ent_coef: float = 0.01
    """Entropy bonus coefficient."""
    vf_coef: float = 0.5
    """Value loss coefficient."""
    max_grad_norm: float = 0.5
    """Gradient norm clip."""
    reward_scale: float = 1.0
    """Rewards are multiplied by this for learning (reported returns are unscaled)."""
    normalize_obs: bool = False
    """Normalize observations with running mean/std (useful for MuJoCo families)."""
    checkpoint_every: int = 20
    """Write checkpoint.pt every this many iterations (and at the end)."""
    threads: int = 1
    """CPU threads torch may use (0: torch's default). One is far faster on a busy machine,
    where more threads contend; a tabular-MDP run alone on a 2-core CPU trained about 28% faster
    with 2 (docs/BENCHMARKS.md)."""

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first invalid field."""
        positive = (
            "steps", "episodes_per_trial", "num_envs", "train_tasks", "eval_tasks",
            "hidden_size", "epochs", "minibatches", "checkpoint_every",
        )  # fmt: skip
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"--{_flag(name)} must be a positive integer, got {value!r}")
        if self.threads < 0:
            raise ConfigError(f"--threads must be >= 0, got {self.threads}")
        if self.head_hidden < 0:
            raise ConfigError(f"--head-hidden must be >= 0, got {self.head_hidden}")
        if self.rollout_steps < 0:
            raise ConfigError(f"--rollout-steps must be >= 0, got {self.rollout_steps}")
        if self.minibatches > self.num_envs:
            raise ConfigError(
                f"--minibatches ({self.minibatches}) cannot exceed --num-envs ({self.num_envs})"
            )
        for name in ("lr", "clip", "reward_scale"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"--{_flag(name)} must be > 0, got {getattr(self, name)}")
        for name in ("gamma", "gae_lambda"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"--{_flag(name)} must lie in [0, 1], got {getattr(self, name)}")


def _flag(name: str) -> str:
    return name.replace("_", "-")


AGENT_CONFIGS: dict[str, type] = {"rl2": RL2Config}

# Good defaults per (agent, family). Anything not named here comes from the config class.
PRESETS: dict[tuple[str, str], dict[str, Any]] = {
    ("rl2", "bandit"): dict(
        env_kwargs={"num_arms": 5}, episodes_per_trial=10, num_envs=1024, steps=20_000_000,
        gamma=0.99, gae_lambda=0.95, lr=1e-3, ent_coef=0.01, eval_tasks=1000, minibatches=16,
        anneal_lr=True,
    ),
    ("rl2", "tabular-mdp"): dict(
        episodes_per_trial=10, num_envs=512, steps=100_000_000, gamma=0.99, gae_lambda=0.3,
        lr=1e-3, eval_tasks=1000, hidden_size=128, reward_scale=0.1, minibatches=16,
        chrono_init=True, anneal_lr=True, critic_gru=True, transition_input=True, head_hidden=256,
    ),
    ("rl2", "nav"): dict(
        episodes_per_trial=2, num_envs=256, steps=10_000_000, lr=1e-3, reward_scale=0.1,
        ent_coef=0.0, normalize_obs=True, eval_tasks=200,
    ),
    ("rl2", "cheetah-vel"): dict(
        episodes_per_trial=2, num_envs=64, steps=5_000_000, normalize_obs=True, reward_scale=0.1,
        eval_tasks=40, ent_coef=0.0, epochs=10, minibatches=8,
    ),
    ("rl2", "cheetah-dir"): dict(
        episodes_per_trial=2, num_envs=64, steps=5_000_000, normalize_obs=True, reward_scale=0.1,
        eval_tasks=40, ent_coef=0.0, epochs=10, minibatches=8,
    ),
    ("rl2", "ant-dir"): dict(
        episodes_per_trial=2, num_envs=64, steps=5_000_000, normalize_obs=True, reward_scale=0.1,
        eval_tasks=40, ent_coef=0.0, epochs=10, minibatches=8,
    ),
    ("rl2", "ant-goal"): dict(
        episodes_per_trial=2, num_envs=64, steps=5_000_000, normalize_obs=True, reward_scale=0.1,
        eval_tasks=40, ent_coef=0.0, epochs=10, minibatches=8,
    ),
}  # fmt: skip


def agent_of(config: Any) -> str:
    """The ``--agent`` name of a config object."""
    return next(name for name, cls in AGENT_CONFIGS.items() if isinstance(config, cls))


def preset(agent: str, env: str) -> Any:
    """The config of ``agent`` on ``env`` with the preset's defaults (class defaults otherwise)."""
    if agent not in AGENT_CONFIGS:
        raise ConfigError(f"unknown agent {agent!r}: use one of {', '.join(AGENT_CONFIGS)}")
    overrides = PRESETS.get((agent, env), {})
    return AGENT_CONFIGS[agent](env=env, **overrides)


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """The docstring under each field of dataclass ``cls`` (its ``--help`` text)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, nxt in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


def to_json(config: Any) -> dict[str, Any]:
    """A config as a JSON-ready dict (with its class name under ``"config"``)."""
    return {"config": type(config).__name__, **dataclasses.asdict(config)}


def from_json(data: dict[str, Any]) -> Any:
    """Rebuild a config from :func:`to_json` output."""
    data = dict(data)
    name = data.pop("config", None)
    for cls in AGENT_CONFIGS.values():
        if cls.__name__ == name:
            names = {f.name for f in dataclasses.fields(cls)}
            return cls(**{k: v for k, v in data.items() if k in names})
    raise ConfigError(f"config.json names an unknown config class {name!r}")
