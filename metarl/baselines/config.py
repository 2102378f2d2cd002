"""The config of a baseline run: one frozen dataclass, its field docstrings the ``--help`` text.

``python -m metarl.baselines`` resolves every "0 = default" field before the run starts
(:func:`resolve`), so ``config.json`` holds the numbers the run used.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from metarl.config import ConfigError, from_json, to_json

FAMILY_STEPS: dict[str, int] = {
    "bandit": 10_000,
    "tabular-mdp": 100_000,
    "nav": 100_000,
    "cheetah-vel": 200_000,
    "cheetah-dir": 200_000,
    "ant-dir": 200_000,
    "ant-goal": 200_000,
}
"""Default env steps on each held-out task (``--steps``) per family; a user's family gets 100k.
The MuJoCo families get a fifth of rl-zoo3's 1M for HalfCheetah-v4/Ant-v4: on a CPU, SB3's SAC
trains at about a hundred env steps/s, so 40 tasks at 1M each would take weeks."""
OTHER_FAMILY_STEPS = 100_000


@dataclasses.dataclass(frozen=True)
class BaselineConfig:
    """A baseline evaluated on the held-out tasks of a ``metarl.train`` run of the same seed."""

    algo: str = "ppo"
    """Baseline algorithm (listed above; one that does not fit --env is refused with those that do)."""
    env: str = "nav"
    """Task family: a short name (see `python -m metarl.envs`), a Gymnasium id, or pkg.module:Id-v0."""
    env_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Family parameters, e.g. {"num_arms": 10} (default: the rl2 preset's for the family)."""
    seed: int = 0
    """Seed of everything: the held-out tasks (the same as metarl.train's with this seed), the
    training tasks, the env streams and the baselines' weights."""
    eval_tasks: int = 0
    """Held-out test tasks (0: the rl2 preset's count for the family, so tasks.json is the one
    of a bare metarl.train run with this seed; a smaller count is a prefix of those tasks for the
    families whose test draws are per task, e.g. nav and cheetah-vel)."""
    steps: int = 0
    """Env steps of training on each held-out task (ppo, a2c, sac, td3; multitask's
    fine-tuning); 0: the family's default (100k on nav, 200k on the MuJoCo families)."""
    pretrain_steps: int = 0
    """Env steps on the training tasks (multitask's task-blind pretraining, recurrent-ppo's
    meta-training); 0: the rl2 preset's --steps for the family, the meta-learner's budget."""
    checkpoint_every: int = 100_000
    """Env steps of pretraining or meta-training (multitask, recurrent-ppo) between checkpoints,
    rounded up to whole rollouts: a stopped run's --resume goes on from the last one."""
    train_tasks: int = 0
    """Size of the training task pool of multitask and recurrent-ppo (0: the rl2 preset's)."""
    episodes_per_trial: int = 0
    """Episodes of one task in a trial (recurrent-ppo and the classic algorithms; 0: the rl2
    preset's for the family, so the curves pair with RL²'s)."""
    eval_at: tuple[int, ...] = ()
    """More env steps at which to evaluate (ppo, a2c, sac, td3, multitask), besides the fixed
    schedule of 0, 1k, 2k, 5k, 10k, 20k, 50k, ... and --steps: e.g. 30k 40k for a finer curve
    between two of its points. Each is rounded up to a whole rollout and must lie below --steps.
    An evaluation samples its actions from the generator training draws from, so the points
    after an added one differ from a run without it as another seed's would."""
    eval_episodes: int = 10
    """Episodes on a separate evaluation env at each point of a from-scratch or fine-tuning
    curve; the point's return is their mean. They are not counted as training steps."""
    deterministic: bool = False
    """Evaluate SB3 policies with their mean action instead of sampling (default: sample, as RL²
    and MAML are evaluated, so every curve scores the same kind of policy)."""
    num_envs: int = 0
    """Parallel envs of each SB3 model (0: 1 for ppo/a2c/sac/td3/multitask as rl-zoo3 runs the
    MuJoCo tasks, 16 trials for recurrent-ppo)."""
    algo_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Keyword arguments of the SB3 constructor (or the classic algorithm), over the defaults,
    e.g. learning_rate=1e-3 n_steps=512; normalize=true wraps the env in VecNormalize."""
    device: str = "cpu"
    """Device of the SB3 networks: cpu (default; SB3's small MLPs run fastest there), cuda, auto."""
    threads: int = 0
    """Worker processes, one held-out task each at a time, each with one torch thread
    (0: the number of CPUs)."""

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first invalid field."""
        for name in ("eval_tasks", "eval_episodes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                flag = name.replace("_", "-")
                raise ConfigError(f"--{flag} must be a positive integer, got {value!r}")
        for point in self.eval_at:
            if isinstance(point, bool) or not isinstance(point, int) or point < 1:
                raise ConfigError(f"--eval-at takes positive env steps, got {point!r}")
            if self.steps and point >= self.steps:
                raise ConfigError(
                    f"--eval-at {point} is not below --steps {self.steps}: the last point is "
                    "--steps itself; give points below it or raise --steps"
                )
        for name in ("steps", "pretrain_steps", "checkpoint_every", "train_tasks",
                     "episodes_per_trial", "num_envs", "threads"):  # fmt: skip
            if getattr(self, name) < 0:
                flag = name.replace("_", "-")
                raise ConfigError(f"--{flag} must be >= 0, got {getattr(self, name)}")

    def workers(self) -> int:
        """The number of worker processes ``threads`` stands for."""
        return self.threads or os.cpu_count() or 1

    def to_json(self) -> dict[str, Any]:
        """As config.json holds it (with the class name under ``"config"``)."""
        return to_json(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BaselineConfig:
        """The config of a baseline run's config.json; :class:`ConfigError` if it is another's."""
        if data.get("config") != cls.__name__:
            raise ConfigError(
                "config.json is not a baseline run's (resume a metarl.train run with "
                "python -m metarl.train --resume)"
            )
        return from_json(data, [cls])  # JSON's lists made the tuples of the fields

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BaselineConfig:
        """Read ``path`` (a config.json)."""
        with open(path) as f:
            return cls.from_json(json.load(f))
