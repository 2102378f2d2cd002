"""Frozen dataclass configs and the presets table of good defaults per (agent, family).

Each config field's docstring (the string literal under it) is its ``--help`` text: the CLIs read
them with :func:`field_docs`. :class:`RunConfig` holds what every run has (family, seed, device,
budget, checkpoints); each agent's config extends it with its own fields. A bare
``python -m metarl.train --agent rl2 --env nav`` uses the ``PRESETS`` entry of ``("rl2", "nav")``
(``metarl.agents.preset``); flags given on the command line override single fields.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import itertools
import textwrap
from collections.abc import Collection, Sequence
from typing import Any, ClassVar


class ConfigError(ValueError):
    """A config value or combination is invalid (bad flag, unknown agent, ...)."""


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """What every agent's run has: the family, the seeds, the device, the budget, checkpoints."""

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
    train_tasks: int = 10_000
    """Size of the training task pool (drawn from the train split); iterations draw from it."""
    eval_tasks: int = 100
    """Held-out test tasks evaluated at the end (the test split, saved in tasks.json)."""
    normalize_obs: bool = False
    """Normalize observations with running mean/std (useful for MuJoCo families)."""
    checkpoint_every: int = 20
    """Write checkpoint.pt every this many iterations (and at the end)."""
    threads: int = 1
    """CPU threads torch may use (0: torch's default). One is far faster on a busy machine,
    where more threads contend; on an idle machine more can be faster."""
    init_from: str = ""
    """A run directory whose last checkpoint's weights start this run instead of a fresh
    initialisation: its network and the input and return statistics it was trained with. The
    optimizer, learning-rate schedule and counters start afresh. The network flags must match
    that run's; the family, its parameters and the trial length may differ, which makes a
    curriculum (train on short trials, then go on with longer ones) or fine-tuning on another
    family. Empty: start from scratch."""

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first invalid field."""
        _positive_ints(self, ("steps", "train_tasks", "eval_tasks", "checkpoint_every"))
        if self.threads < 0:
            raise ConfigError(f"--threads must be >= 0, got {self.threads}")

    def fitted(self, given: Collection[str]) -> RunConfig:
        """This config with preset values that clash with the flags in ``given`` adjusted (an
        agent's hook; the base has nothing to adjust)."""
        return self


@dataclasses.dataclass(frozen=True)
class RL2Config(RunConfig):
    """RL²: a GRU actor-critic trained with PPO on whole multi-episode trials."""

    episodes_per_trial: int = 2
    """Episodes of one task in a trial (the agent's memory spans them; reset between trials)."""
    normalize_obs: bool = True
    """Normalize the agent's input (observation, previous action, reward) with a running mean
    and std (the tabular families' presets turn it off)."""
    num_envs: int = 256
    """Parallel trials (sub-envs) per rollout."""
    rollout_steps: int = 0
    """Steps per sub-env per rollout; 0 = one trial's length (episodes_per_trial x horizon)."""
    hidden_size: int = 128
    """GRU hidden units."""
    transition_input: bool = False
    """Feed the GRU each step's trial observation together with the previous one, i.e. the
    whole transition (s, a, r, s'), so one layer can bind a reward to the state it was earned in
    (the plain RL² input puts s and its reward in different steps; the tabular-MDP preset uses
    it)."""
    time_input: bool = False
    """Add the step of the episode and the episode of the trial (each as a share, in [0, 1)) to
    the agent's input, which the plain RL² agent has to count with its memory."""
    chrono_init: bool = False
    """Initialize the GRU's update-gate biases to log(U[1, T-1]), T = one trial's length, so an
    untrained memory keeps its contents for up to a trial instead of halving every step."""
    head_hidden: int = 0
    """Width of a tanh layer in each of the policy and value heads, which then read the GRU
    state and the encoded current input, so they can look up what the memory holds for the
    current state (0: linear heads on the GRU state, as in the paper)."""
    critic_gru: bool = False
    """Give the value function its own encoder and GRU, so that the value loss does not train
    the policy's memory (twice the recurrent compute)."""
    lr: float = 1e-3
    """Adam learning rate (the presets of locomotion families keep 3e-4)."""
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
    """PPO epochs per rollout."""
    minibatches: int = 16
    """PPO minibatches per epoch (split over sub-envs: each holds whole sequences); more of
    them take more gradient steps from the same env steps."""
    ent_coef: float = 0.0
    """Entropy bonus coefficient (0, as Stable-Baselines3's PPO: a bonus keeps Gaussian policies
    noisy; the bandit and tabular-MDP presets use 0.01)."""
    vf_coef: float = 0.5
    """Value loss coefficient."""
    max_grad_norm: float = 0.5
    """Gradient norm clip."""
    init_log_std: float = -1.0
    """Initial log std of the Gaussian policy for Box actions, in units of the action range's
    half-width (-1: std 0.37; the built-in presets keep 0, std 1, except ant-dir's, where that
    much noise keeps the ant falling). Discrete actions ignore it."""
    reward_scale: float = 1.0
    """Rewards are multiplied by this for learning (reported returns are unscaled); with
    --reward-norm the running scale divides it out again."""
    reward_norm: bool = True
    """Divide the rewards PPO learns from by a running std of their discounted return (as
    Stable-Baselines3's VecNormalize does; no mean subtracted, clipped to [-10, 10]), so that any
    family's value targets are near unit scale with no tuning. The policy's input reward stays
    raw. The built-in presets turn it off and keep their tuned --reward-scale."""

    # Fields added after runs were saved: the value a config.json without them stands for.
    ABSENT_IN_OLD_JSON: ClassVar[dict[str, Any]] = {"reward_norm": False, "init_log_std": 0.0}
    # (normalize_obs was always saved: an old config.json states its value)

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first invalid field."""
        super().validate()
        _positive_ints(
            self, ("episodes_per_trial", "num_envs", "hidden_size", "epochs", "minibatches")
        )
        if self.head_hidden < 0:
            raise ConfigError(f"--head-hidden must be >= 0, got {self.head_hidden}")
        if self.rollout_steps < 0:
            raise ConfigError(f"--rollout-steps must be >= 0, got {self.rollout_steps}")
        if self.minibatches > self.num_envs:
            raise ConfigError(
                f"--minibatches ({self.minibatches}) cannot exceed --num-envs ({self.num_envs})"
            )
        _positive_floats(self, ("lr", "clip", "reward_scale"))
        _unit_interval(self, ("gamma", "gae_lambda"))

    def fitted(self, given: Collection[str]) -> RL2Config:
        """A preset's minibatch count with a smaller --num-envs: one sub-env per minibatch."""
        if "minibatches" not in given and self.minibatches > self.num_envs:
            return dataclasses.replace(self, minibatches=self.num_envs)
        return self


@dataclasses.dataclass(frozen=True)
class MAMLConfig(RunConfig):
    """MAML-PG: an MLP initialisation meta-trained so that a few policy-gradient steps on a new
    task's trajectories adapt it (Finn et al. 2017)."""

    hidden_sizes: tuple[int, ...] = (100, 100)
    """Hidden layer widths of the MLP policy (the paper: 100,100)."""
    activation: str = "relu"
    """Nonlinearity after each hidden layer: relu (the paper) or tanh (pytorch-maml-rl's)."""
    meta_batch: int = 20
    """Training tasks per meta-iteration (the paper: 20 for nav, 40 for locomotion)."""
    fast_batch: int = 20
    """Trajectories per task for each inner gradient step and for the post-update loss."""
    inner_steps: int = 0
    """Inner (adaptation) gradient steps during meta-training; 0 picks by the action space: 1
    for discrete actions, 2 for continuous ones, whose adapted mean one noisy step moves too
    little (the paper, and the built-in families' presets: 1)."""
    inner_lr: float = 0.5
    """Step size of the inner REINFORCE step (the paper, and the built-in families' presets:
    0.1; a larger first step suits families without a preset, see docs/BENCHMARKS.md)."""
    outer: str = "trpo"
    """Outer optimizer: trpo (the paper: KL-constrained step by conjugate gradient and line
    search) or ppo (a clipped surrogate over the adapted policies, several Adam epochs)."""
    first_order: bool = False
    """Drop the second-order terms of the meta-gradient (FOMAML): the inner gradient is treated
    as a constant, which is cheaper and less exact."""
    max_kl: float = 0.01
    """TRPO: the bound on the mean KL between the adapted policies before and after the step."""
    cg_iters: int = 10
    """TRPO: conjugate-gradient iterations."""
    cg_damping: float = 1e-5
    """TRPO: damping added to the Hessian-vector products."""
    ls_backtracks: int = 15
    """TRPO: line-search backtracking steps."""
    ls_ratio: float = 0.8
    """TRPO: step shrink factor per backtrack."""
    ppo_epochs: int = 5
    """PPO outer loop: Adam epochs per meta-iteration over the whole meta-batch."""
    ppo_clip: float = 0.2
    """PPO outer loop: ratio clip."""
    ppo_lr: float = 1e-3
    """PPO outer loop: Adam learning rate."""
    gamma: float = 0.99
    """Discount of the returns the inner and outer losses weigh."""
    gae_lambda: float = 1.0
    """GAE lambda of the advantages (1: discounted return minus the linear baseline)."""
    normalize_advantages: bool = True
    """Standardize each task's advantages in the inner and outer losses."""
    eval_inner_steps: int = 5
    """Gradient steps on each held-out task in evaluation: the curve has points 0..this (the
    paper, and the built-in families' presets: 3)."""
    eval_fast_batch: int = 40
    """Trajectories per held-out task at each point of the curve (the paper: 40); they measure
    the return there and are the data of the next gradient step."""
    eval_inner_lr: float = 0.1
    """Step size of evaluation steps after the first, smaller than the first step so that the
    later ones refine it (0: half of --inner-lr, the paper's protocol and the presets')."""
    init_log_std: float = -1.0
    """Initial log standard deviation of the Gaussian policy (unit action scale; Box actions):
    -1 (std 0.37) leaves room to explore while the noise left after adaptation costs less (the
    paper, and the built-in families' presets but ant-dir's: 0)."""

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first invalid field."""
        super().validate()
        _positive_ints(self, ("meta_batch", "fast_batch", "cg_iters", "ls_backtracks",
                              "ppo_epochs", "eval_fast_batch"))  # fmt: skip
        if not self.hidden_sizes or any(
            isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in self.hidden_sizes
        ):
            raise ConfigError(
                f"--hidden-sizes takes positive integers (e.g. 100,100), got {self.hidden_sizes}"
            )
        for name in ("inner_steps", "eval_inner_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                flag = "--" + name.replace("_", "-")
                raise ConfigError(f"{flag} must be a whole number >= 0, got {value!r}")
        if self.activation not in ("relu", "tanh"):
            raise ConfigError(f"--activation must be relu or tanh, got {self.activation!r}")
        if self.outer not in OUTER_LOOPS:
            raise ConfigError(
                f"--outer must be one of {', '.join(OUTER_LOOPS)}, got {self.outer!r}"
            )
        _positive_floats(self, ("inner_lr", "max_kl", "ppo_clip", "ppo_lr"))
        if self.cg_damping < 0 or self.eval_inner_lr < 0:
            raise ConfigError("--cg-damping and --eval-inner-lr must be >= 0")
        if not 0 < self.ls_ratio < 1:
            raise ConfigError(f"--ls-ratio must lie in (0, 1), got {self.ls_ratio}")
        _unit_interval(self, ("gamma", "gae_lambda"))

    @property
    def eval_step_size(self) -> float:
        """Step size of evaluation steps after the first."""
        return self.eval_inner_lr or self.inner_lr / 2


@dataclasses.dataclass(frozen=True)
class PretrainedConfig(MAMLConfig):
    """Pretrained (the MAML paper's comparison): the same MLP trained with the same outer
    optimizer on all training tasks without the meta-objective (task-blind), then adapted on a
    new task with exactly MAML's inner step. --inner-steps is not used in training."""

    NO_EFFECT: ClassVar[tuple[str, ...]] = ("inner_steps", "first_order")
    """MAML's fields that do nothing here, training having no inner loop: the CLI has no flag
    for them (so ``--first-order`` is refused as a flag of --agent maml only)."""


OUTER_LOOPS = ("trpo", "ppo")


def _positive_ints(config: Any, names: Sequence[str]) -> None:
    for name in names:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"--{_flag(name)} must be a positive integer, got {value!r}")


def _positive_floats(config: Any, names: Sequence[str]) -> None:
    for name in names:
        if not getattr(config, name) > 0:
            raise ConfigError(f"--{_flag(name)} must be > 0, got {getattr(config, name)}")


def _unit_interval(config: Any, names: Sequence[str]) -> None:
    for name in names:
        if not 0 <= getattr(config, name) <= 1:
            raise ConfigError(f"--{_flag(name)} must lie in [0, 1], got {getattr(config, name)}")


def _flag(name: str) -> str:
    return name.replace("_", "-")


# Good defaults per (agent, family). Anything not named here comes from the config class. The RL²
# presets name every field whose class default changed after their results were measured
# (reward_norm, lr, ent_coef, minibatches, normalize_obs and, for Box actions, init_log_std; issue
# 22), so they keep the behaviour they were tuned with.
PRESETS: dict[tuple[str, str], dict[str, Any]] = {
    ("rl2", "bandit"): dict(
        env_kwargs={"num_arms": 5}, episodes_per_trial=10, num_envs=1024, steps=20_000_000,
        gamma=0.99, gae_lambda=0.95, lr=1e-3, ent_coef=0.01, eval_tasks=1000, minibatches=16,
        anneal_lr=True, reward_norm=False, normalize_obs=False,
    ),
    ("rl2", "tabular-mdp"): dict(
        episodes_per_trial=10, num_envs=512, steps=100_000_000, gamma=0.99, gae_lambda=0.3,
        lr=1e-3, eval_tasks=1000, hidden_size=128, reward_scale=0.1, minibatches=16,
        chrono_init=True, anneal_lr=True, critic_gru=True, transition_input=True, head_hidden=256,
        ent_coef=0.01, reward_norm=False, normalize_obs=False,
    ),
    ("rl2", "nav"): dict(
        episodes_per_trial=2, num_envs=256, steps=10_000_000, lr=1e-3, reward_scale=0.1,
        ent_coef=0.0, normalize_obs=True, eval_tasks=200, minibatches=4, reward_norm=False,
        init_log_std=0.0,
    ),
    ("rl2", "cheetah-vel"): dict(
        episodes_per_trial=2, num_envs=64, steps=5_000_000, normalize_obs=True, reward_scale=0.1,
        eval_tasks=40, ent_coef=0.0, epochs=10, minibatches=8, lr=3e-4, reward_norm=False,
        init_log_std=0.0,
    ),
    ("rl2", "cheetah-dir"): dict(
        episodes_per_trial=2, num_envs=64, steps=5_000_000, normalize_obs=True, reward_scale=0.1,
        eval_tasks=40, ent_coef=0.0, epochs=10, minibatches=8, lr=3e-4, reward_norm=False,
        init_log_std=0.0,
    ),
    ("rl2", "ant-dir"): dict(  # 15M: at 5M the return still rose steeply (BENCHMARKS, RL² ant-dir)
        episodes_per_trial=2, num_envs=64, steps=15_000_000, normalize_obs=True, reward_scale=0.1,
        eval_tasks=40, ent_coef=0.0, epochs=10, minibatches=8, lr=3e-4, reward_norm=False,
        init_log_std=-1.0,  # with std 1 the ant keeps falling (docs/BENCHMARKS.md, RL² on ant-dir)
    ),
    ("rl2", "ant-goal"): dict(
        episodes_per_trial=2, num_envs=64, steps=5_000_000, normalize_obs=True, reward_scale=0.1,
        eval_tasks=40, ent_coef=0.0, epochs=10, minibatches=8, lr=3e-4, reward_norm=False,
        init_log_std=0.0,
    ),
}  # fmt: skip

# MAML and its pretrained comparison share one table: the paper's settings (nav: meta-batch 20,
# fast batch 20, inner lr 0.1, one inner step, horizon 100; locomotion: meta-batch 40, horizon
# 200), and the held-out task counts of the RL² presets, so that runs of one seed share tasks.
# The built-in families keep the paper's adaptation (inner step 0.1, 3 evaluation steps, the
# later ones at half the step, initial std 1, except ant-dir's: with std 1 the ant keeps falling);
# the class defaults are for families without a preset.
_PAPER_ADAPTATION = dict(
    inner_steps=1, inner_lr=0.1, eval_inner_steps=3, eval_inner_lr=0.0, init_log_std=0.0
)
_LOCOMOTION = dict(meta_batch=40, fast_batch=20, steps=100_000_000, eval_tasks=40)
_MAML_PRESETS: dict[str, dict[str, Any]] = {
    "bandit": dict(
        env_kwargs={"num_arms": 5}, eval_tasks=1000, steps=20_000_000, **_PAPER_ADAPTATION
    ),
    "tabular-mdp": dict(eval_tasks=1000, steps=20_000_000, **_PAPER_ADAPTATION),
    "nav": dict(
        meta_batch=20,
        fast_batch=20,
        steps=40_000_000,
        eval_tasks=200,
        **{**_PAPER_ADAPTATION, "eval_inner_lr": 0.02},
    ),  # later steps: chosen on training goals (BENCHMARKS)
    **{
        family: dict(**_LOCOMOTION, **_PAPER_ADAPTATION)
        for family in ("cheetah-vel", "cheetah-dir", "ant-goal")
    },
    # std 0.37: with std 1 the ant's episodes end after about 60 of their 200 steps and nothing
    # was learned in 2.3M env steps (docs/BENCHMARKS.md, "ant-dir with a smaller starting std")
    "ant-dir": dict(**_LOCOMOTION, **{**_PAPER_ADAPTATION, "init_log_std": -1.0}),
}
PRESETS.update(
    {
        (agent, env): dict(kw)
        for agent in ("maml", "pretrained")
        for env, kw in _MAML_PRESETS.items()
    }
)


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """The docstring under each field of dataclass ``cls`` and of its dataclass bases (its
    ``--help`` text); a subclass's docstring of a field wins over its base's."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if dataclasses.is_dataclass(klass):
            docs.update(_own_field_docs(klass))
    return docs


def _own_field_docs(cls: type) -> dict[str, str]:
    """The field docstrings written in the body of ``cls`` itself."""
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


def from_json(data: dict[str, Any], classes: Sequence[type]) -> Any:
    """Rebuild a config from :func:`to_json` output; ``classes`` are the config classes that
    may be named (the agent registry's)."""
    data = dict(data)
    name = data.pop("config", None)
    for cls in classes:
        if cls.__name__ == name:
            fields = {f.name: f for f in dataclasses.fields(cls)}
            kwargs = {k: v for k, v in data.items() if k in fields}
            kwargs = {**getattr(cls, "ABSENT_IN_OLD_JSON", {}), **kwargs}
            for key, value in kwargs.items():  # JSON has lists where the config has tuples
                if isinstance(value, list) and "tuple" in str(fields[key].type):
                    kwargs[key] = tuple(value)
            return cls(**kwargs)
    raise ConfigError(f"config.json names an unknown config class {name!r}")
