"""``multitask``: one task-blind SB3 PPO policy on all training tasks, then fine-tuned per task.

This is the "is there anything to adapt to?" baseline. Pretraining: SB3 PPO (the family's
hyperparameters of ``ppo``, :mod:`metarl.baselines.scratch`) on the family's env wrapped in
:class:`TaskSampler`, which draws a new training task (``family_tasks(env, "train",
train_tasks, seed)``) at every reset from its own seeded generator; the task is never in the
observation, so the policy can only learn what is best on average. The pretrained model (and its
VecNormalize statistics, where the family uses them) is saved to ``multitask/`` in the run
directory and reused by ``--resume``; a stopped pretraining goes on from its last checkpoint
there (``--checkpoint-every``).

Evaluation on held-out task ``i``: point 0 is the pretrained policy with no adaptation; the later
points fine-tune it with SB3 PPO on that task alone, at the scratch baselines' schedule of env
steps (x = env steps of fine-tuning), evaluated, seeded and run in parallel as they are.
"""

from __future__ import annotations

import dataclasses
import pickle
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from metarl.agents import seeding
from metarl.baselines import chunked, scratch
from metarl.envs import Task, family_tasks, make_env
from metarl.evaluation import AdaptationCurve
from metarl.fileio import atomic_write

FOLDER = "multitask"
MODEL = "model.zip"
NORMALIZER = "vecnormalize.pkl"


class TaskSampler(gym.Wrapper):
    """Draws the task of every episode uniformly from ``tasks`` with ``rng``; the observation is
    the family's own (the policy never sees which task it is on)."""

    def __init__(self, env: gym.Env, tasks: Sequence[Task], rng: np.random.Generator) -> None:
        super().__init__(env)
        self.tasks, self.rng = list(tasks), rng

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """A new episode of a freshly drawn training task."""
        task = self.tasks[int(self.rng.integers(len(self.tasks)))]
        return self.env.reset(seed=seed, options={**(options or {}), "task": task})


def pretrain(config: Any, folder: Path, hp: dict[str, Any], every_s: float) -> Path:
    """Pretrain the task-blind policy (``config.pretrain_steps`` env steps) into ``folder``,
    unless a finished one is there, going on from its checkpoint if one is (see
    :mod:`metarl.baselines.chunked`); returns the model's path."""
    model_path = folder / MODEL
    if model_path.is_file():
        return model_path
    train_tasks = family_tasks(config.env, "train", config.train_tasks, config.seed,
                               **config.env_kwargs)  # fmt: skip
    samplers = [
        TaskSampler(make_env(config.env, **config.env_kwargs), train_tasks,
                    seeding.numpy_rng(config.seed, k, seeding.TASKS))
        for k in range(config.num_envs)
    ]  # fmt: skip
    venv = scratch.vector_env(samplers, hp)
    venv.seed(seeding.stream_seed(config.seed, 0, seeding.ENV))
    model = scratch.new_model("ppo", venv, hp, seeding.stream_seed(config.seed, 0, seeding.POLICY),
                              config.device)  # fmt: skip
    model = chunked.learn(model, config.pretrain_steps, folder, config.checkpoint_every,
                          env_state(samplers, venv), config.seed, "multitask pretraining",
                          every_s)  # fmt: skip
    if hp.get("normalize", False):  # VecNormalize.save pickles itself, less its envs
        stats = pickle.dumps(venv)
        atomic_write(folder / NORMALIZER, lambda f: f.write(stats))
    chunked.save_finished(model, model_path)  # last: it marks "done"
    venv.close()
    return model_path


def env_state(samplers: Sequence[TaskSampler], venv: Any) -> chunked.EnvState:
    """What a pretraining checkpoint keeps of the envs: the task samplers' generators and, when
    ``venv`` normalizes, its running statistics."""

    def get() -> dict[str, Any]:
        stats = {k: getattr(venv, k) for k in ("obs_rms", "ret_rms") if hasattr(venv, k)}
        return {"samplers": [s.rng.bit_generator.state for s in samplers], "normalizer": stats}

    def put(state: dict[str, Any]) -> None:
        for sampler, rng_state in zip(samplers, state["samplers"], strict=True):
            sampler.rng.bit_generator.state = rng_state
        for name, value in state["normalizer"].items():
            setattr(venv, name, value)

    return chunked.EnvState(get, put)


def run_finetune_task(job: scratch.TaskJob, report: Any) -> dict[str, Any]:
    """Fine-tune the pretrained policy ``job.init`` on ``job.task`` along ``job.points`` (point 0:
    as pretrained); the task's result file."""
    import stable_baselines3 as sb3
    from stable_baselines3.common.vec_env import VecNormalize

    started = time.perf_counter()
    assert job.init is not None
    envs = [scratch.task_env(job.env, job.env_kwargs, job.task) for _ in range(job.num_envs)]
    venv = scratch.vector_env(envs, {**job.hp, "normalize": False})
    stats = Path(job.init).parent / NORMALIZER
    if stats.is_file():
        venv = VecNormalize.load(str(stats), venv)  # goes on updating on the new task
    venv.seed(seeding.stream_seed(job.seed, job.index, seeding.ENV))
    model = sb3.PPO.load(job.init, env=venv, device=job.device)
    model.set_random_seed(seeding.stream_seed(job.seed, job.index, seeding.POLICY))
    model.num_timesteps = 0
    model._last_obs = None  # the first learn resets the task's env
    eval_env = scratch.task_env(job.env, job.env_kwargs, job.task)
    returns, trained = scratch.train_and_evaluate(model, job.points, eval_env,
                                                  job.seed + job.index, job, report)  # fmt: skip
    venv.close()
    eval_env.close()
    return scratch.task_result(job, returns, trained, time.perf_counter() - started)


def multitask_curve(
    config: Any, out: Path, tasks: Sequence[Task], every_s: float
) -> AdaptationCurve:
    """Pretrain (or reuse ``out/multitask``), then fine-tune on every held-out task."""
    from metarl.baselines.pool import run_tasks

    hp = scratch.hyperparameters("ppo", config.env, config.algo_kwargs)
    model_path = pretrain(config, out / FOLDER, hp, every_s)
    jobs = scratch.scratch_jobs("ppo", config, tasks, hp, init=str(model_path.resolve()))
    jobs = [dataclasses.replace(j, algo="multitask") for j in jobs]
    results = run_tasks(run_finetune_task, jobs, out / "tasks", config.workers(),
                        jobs[0].points[-1], "multitask fine-tuning", every_s)  # fmt: skip
    meta = {"algo": "multitask", "hyperparameters": hp, "schedule": list(jobs[0].points),
            "pretrain_steps": config.pretrain_steps, "train_tasks": config.train_tasks,
            "eval_episodes": config.eval_episodes, "deterministic": config.deterministic}  # fmt: skip
    return scratch.curve_from_results("multitask", config.env, config.env_kwargs, config.seed,
                                      tasks, results, meta)  # fmt: skip
