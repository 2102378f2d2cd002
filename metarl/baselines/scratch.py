"""stable-baselines3 trained from scratch on each held-out task alone: ``ppo``, ``a2c``, ``sac``, ``td3``.

For held-out task ``i`` a fresh SB3 model (weights seeded from the run seed and ``i``) trains on
the family's Gymnasium env with that task set, in chunks of ``model.learn`` up to each point of a
fixed schedule of env steps (:func:`schedule`: 0, 1k, 2k, 5k, 10k, 20k, 50k, ..., the points of
``--eval-at`` and ``--steps``, each rounded up to a whole rollout of the algorithm). At every
point the policy plays ``--eval-episodes`` episodes on a separate evaluation env of the same
task; the point's return is their mean, and these episodes do not count as training steps. So
the curve's x is "env steps of training on the new task", the axis ``metarl.compare`` puts every
agent on.

Seeds (streams of :mod:`metarl.agents.seeding`, per held-out task index ``i``): the SB3 model's
``seed`` (weights, action sampling, minibatches) is stream ``POLICY`` of ``(seed, i)``, the
training env's first reset stream ``ENV``. The evaluation env of task ``i`` is reset with
``seed + i`` before the first evaluation episode of every point, as RL²'s held-out trial ``i``
is: every point, and every agent evaluated with that seed, meets the same start states and reward
noise. Actions are sampled (``--deterministic`` takes the mean) because RL² and MAML are
scored with sampled actions. SB3 seeds the global random generators of the process it runs in
(:mod:`metarl.baselines.pool` gives each job its own worker process).

Hyperparameters are SB3's own defaults, except on the MuJoCo families, which get rl-zoo3's for
the robot they run (``hyperparams/<algo>.yml`` of DLR-RM/rl-baselines3-zoo, commit 22e3ff2,
April 2026; HalfCheetah-v4 for cheetah-vel and cheetah-dir, Ant-v4 for ant-dir and ant-goal):

- ppo, HalfCheetah-v4 (tuned): VecNormalize, n_steps 512, batch_size 64, gamma 0.98,
  learning_rate 2.0633e-5, ent_coef 0.000401762, clip_range 0.1, n_epochs 20, gae_lambda 0.92,
  max_grad_norm 0.8, vf_coef 0.58096, policy: log_std_init -2, no orthogonal init, ReLU, separate
  256-256 policy and value networks. ppo, Ant-v4: VecNormalize, SB3 defaults otherwise.
- a2c, HalfCheetah-v4 and Ant-v4: VecNormalize, SB3 defaults otherwise.
- sac, HalfCheetah-v4 and Ant-v4: learning_starts 10000, SB3 defaults otherwise.
- td3, HalfCheetah-v4 and Ant-v4: learning_starts 10000, Gaussian action noise of std 0.1,
  train_freq 1, gradient_steps 1, learning_rate 1e-3, batch_size 256, a 400-300 network.

``--algo-kwargs`` override single entries (``normalize=false`` drops VecNormalize, ``noise_std``
sets TD3's noise). Learning-rate and clip schedules see each chunk of ``learn`` as a whole run,
so only constant ones (all of the above) behave as in one long ``learn`` call.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from metarl.agents import seeding
from metarl.baselines import chunked
from metarl.config import ConfigError
from metarl.envs import Task, make_env, make_family, resolve_env_id
from metarl.evaluation import AdaptationCurve, build_curve

SB3_ALGOS = ("ppo", "a2c", "sac", "td3")
BOX_ONLY = ("sac", "td3")
ON_POLICY = ("ppo", "a2c")
ZOO_ENV = {
    "cheetah-vel": "HalfCheetah-v4",
    "cheetah-dir": "HalfCheetah-v4",
    "ant-dir": "Ant-v4",
    "ant-goal": "Ant-v4",
}
"""The rl-zoo3 env whose tuned hyperparameters a MuJoCo family takes."""
_ZOO: dict[tuple[str, str], dict[str, Any]] = {
    ("ppo", "HalfCheetah-v4"): dict(
        normalize=True, n_steps=512, batch_size=64, gamma=0.98, learning_rate=2.0633e-05,
        ent_coef=0.000401762, clip_range=0.1, n_epochs=20, gae_lambda=0.92, max_grad_norm=0.8,
        vf_coef=0.58096,
        policy_kwargs=dict(log_std_init=-2, ortho_init=False, activation_fn="ReLU",
                           net_arch=dict(pi=[256, 256], vf=[256, 256])),
    ),
    ("ppo", "Ant-v4"): dict(normalize=True),
    ("a2c", "HalfCheetah-v4"): dict(normalize=True),
    ("a2c", "Ant-v4"): dict(normalize=True),
    ("sac", "HalfCheetah-v4"): dict(learning_starts=10_000),
    ("sac", "Ant-v4"): dict(learning_starts=10_000),
    **{
        ("td3", robot): dict(
            learning_starts=10_000, noise_type="normal", noise_std=0.1, train_freq=1,
            gradient_steps=1, learning_rate=1e-3, batch_size=256,
            policy_kwargs=dict(net_arch=[400, 300]),
        )
        for robot in ("HalfCheetah-v4", "Ant-v4")
    },
}  # fmt: skip
# Entries of a hyperparameter dict that are not SB3 constructor arguments (rl-zoo3's own keys).
WRAPPER_KEYS = ("normalize", "noise_type", "noise_std")
POINTS = (1, 2, 5)
FIRST_POINT = 1_000


def sb3_class(algo: str) -> type:
    """The SB3 class of ``algo`` (imported here: SB3 loads slowly)."""
    import stable_baselines3 as sb3

    return {"ppo": sb3.PPO, "a2c": sb3.A2C, "sac": sb3.SAC, "td3": sb3.TD3}[algo]


def hyperparameters(algo: str, env: str, algo_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments ``algo`` gets on ``env``: rl-zoo3's where the module doc lists
    them (SB3's defaults otherwise), then ``algo_kwargs``. JSON-ready (activation functions by
    name), as config.json and the curve's meta record them."""
    base = _ZOO.get((algo, ZOO_ENV.get(env, "")), {})
    merged = {**base, **algo_kwargs}
    if "policy_kwargs" in base and "policy_kwargs" in algo_kwargs:
        merged["policy_kwargs"] = {**base["policy_kwargs"], **algo_kwargs["policy_kwargs"]}
    return merged


def schedule(
    steps: int, unit: int = 1, first: int = FIRST_POINT, extra: Sequence[int] = ()
) -> tuple[int, ...]:
    """Env steps at which a from-scratch curve is evaluated: 0, then ``first`` × 1, 2, 5, 10, ...
    below ``steps``, the ``extra`` points (``--eval-at``), then ``steps``, each rounded up to a
    multiple of ``unit`` (one rollout), in order, repeats dropped. ``schedule(20_000)`` = (0,
    1000, 2000, 5000, 10000, 20000); ``schedule(50_000, extra=[30_000])`` = (0, 1000, 2000, 5000,
    10000, 20000, 30000, 50000)."""
    points, k = [0], 0
    while True:
        value = first * POINTS[k % 3] * 10 ** (k // 3)
        if value >= steps:
            break
        points.append(value)
        k += 1
    points += [p for p in extra if p < steps]
    points.append(steps)
    rounded = sorted(math.ceil(p / unit) * unit for p in points)
    return tuple(dict.fromkeys(rounded))


def rollout_unit(algo: str, hp: dict[str, Any], num_envs: int) -> int:
    """Env steps one ``learn`` chunk advances by at a time: the rollout of an on-policy algo
    (``n_steps × num_envs``), ``train_freq`` steps of an off-policy one (1 when it counts
    episodes: the chunks then end within an episode of their target)."""
    if algo in ON_POLICY:
        default = 2048 if algo == "ppo" else 5
        return int(hp.get("n_steps", default)) * num_envs
    freq = hp.get("train_freq", 1)
    return int(freq) * num_envs if isinstance(freq, int) else 1


def check_action_space(algo: str, env: str, action_space: gym.Space, fits: Sequence[str]) -> None:
    """:class:`ConfigError` when ``algo`` cannot act in ``action_space`` (SAC, TD3: Box only)."""
    if algo in BOX_ONLY and not isinstance(action_space, spaces.Box):
        raise ConfigError(
            f"{algo} needs continuous (Box) actions and {env} has {action_space}: use one of "
            f"{', '.join(fits)}"
        )


# --------------------------------------------------------------------------------------------
# One model on one task


def task_env(env: str, env_kwargs: dict[str, Any], task: Task) -> gym.Env:
    """The family's Gymnasium env with ``task`` set (it survives every reset)."""
    made = make_env(env, **env_kwargs)
    made.unwrapped.set_task(task)  # type: ignore[attr-defined]
    return made


def vector_env(envs: Sequence[gym.Env], hp: dict[str, Any]) -> Any:
    """An SB3 ``DummyVecEnv`` of ``envs`` (each with a Monitor), in VecNormalize (observations
    and rewards) when ``hp["normalize"]``."""
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    venv = DummyVecEnv([(lambda e=e: Monitor(e)) for e in envs])
    if hp.get("normalize", False):
        venv = VecNormalize(venv, gamma=float(hp.get("gamma", 0.99)))
    return venv


def sb3_kwargs(hp: dict[str, Any], action_space: gym.Space) -> dict[str, Any]:
    """``hp`` as SB3 constructor arguments: rl-zoo3's keys turned into objects (TD3's action
    noise, activation functions by name), the wrapper keys dropped."""
    import torch
    from stable_baselines3.common.noise import NormalActionNoise

    kwargs = {k: v for k, v in hp.items() if k not in WRAPPER_KEYS}
    if hp.get("noise_type") == "normal":
        dim = int(np.prod(action_space.shape))
        std = float(hp.get("noise_std", 0.1))
        kwargs["action_noise"] = NormalActionNoise(np.zeros(dim), std * np.ones(dim))
    elif hp.get("noise_type") not in (None, "normal"):
        raise ConfigError(f"noise_type {hp['noise_type']!r} is not supported: use normal")
    policy = dict(kwargs.get("policy_kwargs") or {})
    if isinstance(policy.get("activation_fn"), str):
        name = policy["activation_fn"]
        if not isinstance(getattr(torch.nn, name, None), type):
            raise ConfigError(f"activation_fn {name!r} is not a torch.nn module (e.g. ReLU, Tanh)")
        policy["activation_fn"] = getattr(torch.nn, name)
    if policy:
        kwargs["policy_kwargs"] = policy
    if isinstance(kwargs.get("train_freq"), list):
        kwargs["train_freq"] = tuple(kwargs["train_freq"])
    return kwargs


def new_model(algo: str, venv: Any, hp: dict[str, Any], seed: int, device: str) -> Any:
    """A fresh SB3 model of ``algo`` on ``venv``; a bad keyword is a one-line ConfigError."""
    cls = sb3_class(algo)
    kwargs = sb3_kwargs(hp, venv.action_space)  # its own ConfigErrors pass through as they are
    try:
        return cls("MlpPolicy", venv, seed=seed, device=device, verbose=0, **kwargs)
    except (TypeError, ValueError, AssertionError) as e:  # SB3 checks some values by assert
        raise ConfigError(f"--algo-kwargs: {algo} refused them ({e})") from None


def probe_model(algo: str, env: str, env_kwargs: dict[str, Any], hp: dict[str, Any]) -> None:
    """Build ``algo``'s model once on one env of ``env`` (any task), so that a value SB3
    refuses (``learning_rate=abc``) is a one-line ConfigError before anything is written."""
    venv = vector_env([make_env(env, **env_kwargs)], hp)
    try:
        new_model(algo, venv, hp, 0, "cpu")
    finally:
        venv.close()


def episode_returns(
    model: Any,
    env: gym.Env,
    normalizer: Any,
    episodes: int,
    seed: int,
    deterministic: bool,
) -> float:
    """Mean return of ``episodes`` episodes of ``model`` on ``env``; the first reset takes
    ``seed`` and the others continue its stream. ``normalizer`` (a VecNormalize or None)
    normalizes the observations the policy reads with its frozen statistics."""
    total = 0.0
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed if episode == 0 else None)
        done = False
        while not done:
            seen = normalizer.normalize_obs(obs) if normalizer is not None else obs
            action, _ = model.predict(seen, deterministic=deterministic)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
    return total / episodes


def train_and_evaluate(
    model: Any,
    points: Sequence[int],
    eval_env: gym.Env,
    eval_seed: int,
    job: TaskJob,
    report: Any,
) -> tuple[list[float], list[int]]:
    """Train ``model`` up to each of ``points`` (env steps) and evaluate it there: the return
    and the env steps actually trained at every point."""
    from stable_baselines3.common.vec_env import VecNormalize

    chunked.silence(model)
    returns, trained = [], []
    for point in points:
        if point > model.num_timesteps:
            model.learn(point - model.num_timesteps, reset_num_timesteps=False)
        venv = model.get_env()
        normalizer = venv if isinstance(venv, VecNormalize) else None
        returns.append(episode_returns(model, eval_env, normalizer, job.eval_episodes,
                                       eval_seed, job.deterministic))  # fmt: skip
        trained.append(int(model.num_timesteps))
        report(job.index, int(model.num_timesteps))
    return returns, trained


@dataclasses.dataclass(frozen=True)
class TaskJob:
    """Everything a worker needs to train and evaluate one baseline on one held-out task."""

    index: int
    """The task's position among the held-out tasks (seeds its streams)."""
    task: Task
    algo: str
    env: str
    env_kwargs: dict[str, Any]
    seed: int
    points: tuple[int, ...]
    hp: dict[str, Any]
    num_envs: int
    eval_episodes: int
    deterministic: bool
    device: str
    init: str | None = None
    """A saved model to start from (multitask's pretrained policy) instead of fresh weights."""


def run_scratch_task(job: TaskJob, report: Any) -> dict[str, Any]:
    """Train a fresh model on ``job.task`` along ``job.points``; the task's result file."""
    started = time.perf_counter()
    train_seed = seeding.stream_seed(job.seed, job.index, seeding.ENV)
    envs = [task_env(job.env, job.env_kwargs, job.task) for _ in range(job.num_envs)]
    venv = vector_env(envs, job.hp)
    venv.seed(train_seed)
    model = new_model(job.algo, venv, job.hp, seeding.stream_seed(job.seed, job.index,
                                                                  seeding.POLICY), job.device)  # fmt: skip
    eval_env = task_env(job.env, job.env_kwargs, job.task)
    returns, trained = train_and_evaluate(model, job.points, eval_env, job.seed + job.index, job,
                                          report)  # fmt: skip
    venv.close()
    eval_env.close()
    return task_result(job, returns, trained, time.perf_counter() - started)


def task_result(
    job: TaskJob, returns: Sequence[float], trained: Sequence[int], wall_s: float
) -> dict[str, Any]:
    """The JSON of one finished task (what ``tasks/task-NNNN.json`` holds)."""
    return {
        "index": job.index,
        "task": job.task.to_json(),
        "x": list(job.points),
        "env_steps": list(trained),
        "returns": list(returns),
        "wall_s": wall_s,
    }


# --------------------------------------------------------------------------------------------
# The curve over tasks


def curve_from_results(
    agent: str,
    env: str,
    env_kwargs: dict[str, Any],
    seed: int,
    tasks: Sequence[Task],
    results: dict[int, dict[str, Any]],
    meta: dict[str, Any],
) -> AdaptationCurve:
    """The adaptation curve of per-task ``results`` (x = scheduled env steps, env_steps = the
    mean env steps trained at each point, returns ``(T, P)``)."""
    rows = [results[i] for i in range(len(tasks))]
    for i, row in enumerate(rows):
        if row["task"] != tasks[i].to_json() or row["x"] != rows[0]["x"]:
            raise ConfigError(
                f"the result of held-out task {i} was made for another task or schedule: delete "
                "its file under tasks/ and --resume"
            )
    family = make_family(env, **env_kwargs)
    curve = build_curve(
        agent=agent, env=env, env_id=resolve_env_id(env), family=family, seed=seed,
        x_label="env steps", x=np.asarray(rows[0]["x"], dtype=np.float64),
        env_steps=np.mean([r["env_steps"] for r in rows], axis=0),
        returns=np.asarray([r["returns"] for r in rows], dtype=np.float64),
        tasks=tasks, meta=meta,
    )  # fmt: skip
    family.close()
    return curve


def scratch_jobs(
    algo: str, config: Any, tasks: Sequence[Task], hp: dict[str, Any], init: str | None = None
) -> list[TaskJob]:
    """One :class:`TaskJob` per held-out task along the schedule of ``config.steps``."""
    points = schedule(config.steps, rollout_unit(algo, hp, config.num_envs),
                      extra=config.eval_at)  # fmt: skip
    return [
        TaskJob(index=i, task=t, algo=algo, env=config.env, env_kwargs=dict(config.env_kwargs),
                seed=config.seed, points=points, hp=hp, num_envs=config.num_envs,
                eval_episodes=config.eval_episodes, deterministic=config.deterministic,
                device=config.device, init=init)
        for i, t in enumerate(tasks)
    ]  # fmt: skip


def scratch_curve(config: Any, out: Path, tasks: Sequence[Task], every_s: float) -> AdaptationCurve:
    """``config.algo`` from scratch on every held-out task (results under ``out/tasks``)."""
    from metarl.baselines.pool import run_tasks

    hp = hyperparameters(config.algo, config.env, config.algo_kwargs)
    jobs = scratch_jobs(config.algo, config, tasks, hp)
    results = run_tasks(run_scratch_task, jobs, out / "tasks", config.workers(), jobs[0].points[-1],
                        f"{config.algo} tasks", every_s)  # fmt: skip
    meta = {"algo": config.algo, "hyperparameters": hp, "schedule": list(jobs[0].points),
            "eval_episodes": config.eval_episodes, "deterministic": config.deterministic}  # fmt: skip
    return curve_from_results(config.algo, config.env, config.env_kwargs, config.seed, tasks,
                              results, meta)  # fmt: skip
