"""``recurrent-ppo``: RL² as a stable-baselines3 user would build it, with sb3-contrib's RecurrentPPO.

Meta-training: sb3-contrib's ``RecurrentPPO`` (``MlpLstmPolicy``, its defaults, overridable with
``--algo-kwargs``) on ``--num-envs`` parallel RL² trials of the training tasks, built by
:class:`metarl.envs.trials.TrialVectorEnv` (``episodes_per_trial`` episodes of one task, the
observation ``concat(obs, previous action, reward, done)``) and handed to SB3 by
:class:`TrialVecEnv`. SB3's episode is the whole trial: the LSTM state is reset between trials
and kept across the episodes of one, and a trial's end is terminal (no bootstrap), as in
metarl's RL². The trained model goes to ``recurrent-ppo/model.zip`` in the run directory; a stopped meta-training goes on from its last
checkpoint there (``--checkpoint-every``).

Evaluation is RL²'s: one trial per held-out task, all tasks at once in one vector env reset with
the run's seed (sub-env ``i`` reads stream ``seed + i``, as in RL²'s evaluation), actions sampled
(``--deterministic``: the mode); x = episode of the trial, env_steps = the mean cumulative env
steps, so ``metarl.compare`` pairs it with an RL² run of the same seed task by task.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.vec_env import VecEnv

from metarl.agents import seeding
from metarl.baselines import chunked
from metarl.config import ConfigError
from metarl.envs import Task, family_tasks, make_family, make_vector_env, resolve_env_id
from metarl.envs.trials import TrialVectorEnv
from metarl.evaluation import AdaptationCurve, build_curve

FOLDER = "recurrent-ppo"
MODEL = "model.zip"


class TrialVecEnv(VecEnv):
    """A :class:`TrialVectorEnv` as an SB3 ``VecEnv``: numpy arrays, ``done`` = the trial ended
    (the returned observation then starts the next trial, as SB3's auto-reset expects)."""

    def __init__(self, trials: TrialVectorEnv) -> None:
        self.trials = trials
        self._actions: np.ndarray | None = None
        super().__init__(trials.num_envs, trials.single_observation_space,
                         trials.env.single_action_space)  # fmt: skip

    def reset(self) -> np.ndarray:
        """Start a trial in every sub-env (seeded by :meth:`seed` once, as SB3's envs are)."""
        seed = self._seeds[0]
        obs, _ = self.trials.reset(seed=seed)
        self._reset_seeds()
        return obs.cpu().numpy()

    def step_async(self, actions: np.ndarray) -> None:
        """Keep the actions, ``(num_envs,)`` ints or ``(num_envs, action_dim)`` floats."""
        self._actions = actions

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        """One step of every trial: ``(obs, reward, trial_done, infos)``."""
        assert self._actions is not None
        obs, reward, _, _, info = self.trials.step(torch.as_tensor(self._actions))
        done = info["trial_done"].cpu().numpy()
        return obs.cpu().numpy(), reward.cpu().numpy(), done, [{} for _ in range(self.num_envs)]

    def close(self) -> None:
        """Close the trial env."""
        self.trials.close()

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        """The trial env's attribute, once per sub-env selected."""
        return [getattr(self.trials, attr_name)] * len(self._get_indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        """Not supported: the sub-envs live in one batched env."""
        raise AttributeError(f"TrialVecEnv cannot set {attr_name} per sub-env")

    def env_method(self, method_name: str, *args: Any, indices: Any = None, **kwargs: Any) -> list:
        """Call ``method_name`` of the trial env once."""
        return [getattr(self.trials, method_name)(*args, **kwargs)]

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        """No Gymnasium wrappers here."""
        return [False] * len(self._get_indices(indices))


def trial_vec_env(config: Any, tasks: Sequence[Task], num_envs: int, seed: int) -> TrialVecEnv:
    """``num_envs`` RL² trials of ``config.episodes_per_trial`` episodes over the task pool
    ``tasks`` (drawn with the generator seeded ``seed``), on the CPU."""
    env = make_vector_env(config.env, num_envs, "cpu", validate_actions=False,
                          **config.env_kwargs)  # fmt: skip
    return TrialVecEnv(TrialVectorEnv(env, config.episodes_per_trial, tasks, seed=seed))


def new_model(venv: TrialVecEnv, device: str, seed: int, algo_kwargs: dict[str, Any]) -> Any:
    """A fresh RecurrentPPO on ``venv``; a keyword or value it refuses is a one-line
    ConfigError."""
    from sb3_contrib import RecurrentPPO

    try:
        return RecurrentPPO("MlpLstmPolicy", venv, verbose=0, device=device, seed=seed,
                            **algo_kwargs)  # fmt: skip
    except (TypeError, ValueError, AssertionError) as e:  # SB3 checks some values by assert
        raise ConfigError(f"--algo-kwargs: RecurrentPPO refused them ({e})") from None


def probe_model(config: Any) -> None:
    """Build the model once on one trial of one training task, so that a value RecurrentPPO
    refuses is a one-line ConfigError before anything is written."""
    tasks = family_tasks(config.env, "train", 1, config.seed, **config.env_kwargs)
    venv = trial_vec_env(config, tasks, 1, 0)
    try:
        new_model(venv, "cpu", 0, config.algo_kwargs)
    finally:
        venv.close()


def meta_train(config: Any, folder: Path, every_s: float) -> Path:
    """Meta-train RecurrentPPO for ``config.pretrain_steps`` env steps into ``folder`` (unless a
    finished model is there: ``--resume`` reuses it), going on from its checkpoint if one is
    (see :mod:`metarl.baselines.chunked`); returns the model's path."""
    path = folder / MODEL
    if path.is_file():
        return path
    train_tasks = family_tasks(config.env, "train", config.train_tasks, config.seed,
                               **config.env_kwargs)  # fmt: skip
    venv = trial_vec_env(config, train_tasks, config.num_envs,
                         seeding.stream_seed(config.seed, 0, seeding.TASKS))  # fmt: skip
    venv.seed(seeding.stream_seed(config.seed, 0, seeding.ENV))
    model = new_model(venv, config.device, seeding.stream_seed(config.seed, 0, seeding.POLICY),
                      config.algo_kwargs)  # fmt: skip
    generator = venv.trials.generator
    state = chunked.EnvState(generator.get_state, generator.set_state)
    model = chunked.learn(model, config.pretrain_steps, folder, config.checkpoint_every, state,
                          config.seed, "recurrent-ppo meta-training", every_s)  # fmt: skip
    chunked.save_finished(model, path)
    venv.close()
    return path


def evaluate_trials(
    model: Any, config: Any, tasks: Sequence[Task]
) -> tuple[np.ndarray, np.ndarray]:
    """One trial of ``model`` per task: episode returns and lengths, both ``(T, N)`` float64."""
    from stable_baselines3.common.utils import set_random_seed

    n, episodes = len(tasks), config.episodes_per_trial
    venv = trial_vec_env(config, tasks, n, 0)
    trials = venv.trials
    set_random_seed(seeding.stream_seed(config.seed, 0, seeding.EVALUATION))
    obs, _ = trials.reset(seed=config.seed, options={"tasks": list(tasks)})
    returns, lengths = np.zeros((n, episodes)), np.zeros((n, episodes))
    finished, starts, state = np.zeros(n, bool), np.ones(n, bool), None
    rows = np.arange(n)
    for _ in range(episodes * trials.env.horizon):
        action, state = model.predict(obs.cpu().numpy(), state=state, episode_start=starts,
                                      deterministic=config.deterministic)  # fmt: skip
        obs, _, _, _, info = trials.step(torch.as_tensor(action))
        live = ~finished
        idx = np.minimum(info["episode_index"].cpu().numpy(), episodes - 1)
        lengths[rows, idx] += live
        record = info["episode_done"].cpu().numpy() & live
        ret = info["episode_return"].cpu().numpy().astype(np.float64)
        returns[rows, idx] = np.where(record, ret, returns[rows, idx])
        starts = info["trial_done"].cpu().numpy()
        finished |= starts
        if finished.all():
            break
    venv.close()
    return returns, lengths


def recurrent_curve(
    config: Any, out: Path, tasks: Sequence[Task], every_s: float
) -> AdaptationCurve:
    """Meta-train (or reuse ``out/recurrent-ppo``), then one trial per held-out task."""
    from sb3_contrib import RecurrentPPO

    path = meta_train(config, out / FOLDER, every_s)
    model = RecurrentPPO.load(path, device=config.device)  # the same weights whether resumed
    returns, lengths = evaluate_trials(model, config, tasks)
    family = make_family(config.env, **config.env_kwargs)
    episodes = config.episodes_per_trial
    curve = build_curve(
        agent="recurrent-ppo", env=config.env, env_id=resolve_env_id(config.env), family=family,
        seed=config.seed, x_label="episode", x=np.arange(1, episodes + 1, dtype=np.float64),
        env_steps=np.cumsum(lengths, axis=1).mean(axis=0), returns=returns, tasks=tasks,
        meta={"algo": "recurrent-ppo", "hyperparameters": dict(config.algo_kwargs),
              "pretrain_steps": config.pretrain_steps, "train_tasks": config.train_tasks,
              "episodes_per_trial": episodes, "num_envs": config.num_envs,
              "train_env_steps": int(model.num_timesteps)},
    )  # fmt: skip
    family.close()
    return curve
