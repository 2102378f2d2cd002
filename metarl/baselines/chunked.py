"""Long SB3 trainings in chunks, with a checkpoint after each: a stopped run goes on from the last.

multitask's task-blind pretraining and recurrent-ppo's meta-training run for the meta-learner's
whole budget (millions of env steps, an hour or more on a CPU). :func:`learn` runs SB3's
``learn`` in chunks of about ``every`` env steps (rounded up to whole rollouts, so a run in
chunks collects and trains exactly as one ``learn`` call does while the learning rate and clip
range are constants, SB3's defaults and rl-zoo3's for the families here), and after each chunk
writes one file, ``checkpoint.pkl``, atomically: the model with its optimizer state and env step
count, and the env-side state of :class:`EnvState` (the task samplers' generators,
VecNormalize's statistics). A run that starts with that file there loads it and trains only what
is left. The episodes in progress at the checkpoint are not kept (MuJoCo's simulator state is not
in it): the resumed run resets its envs, seeded from the run's seed and the checkpoint's env step
count, so it is deterministic but not step-for-step the uninterrupted run.
"""

from __future__ import annotations

import io
import math
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metarl.agents import seeding
from metarl.cli import signals_held
from metarl.fileio import atomic_write
from metarl.progressbar import ProgressReport
from metarl.runs import RunError

CHECKPOINT = "checkpoint.pkl"
VERSION = 1


@dataclass(frozen=True)
class EnvState:
    """How to read and restore what a checkpoint keeps of the training envs (``get`` returns a
    picklable value that ``set`` takes back)."""

    get: Callable[[], Any]
    set: Callable[[Any], None]


def rollout_steps(model: Any) -> int:
    """Env steps of one rollout of an on-policy SB3 model (``n_steps × n_envs``)."""
    return int(model.n_steps) * int(model.n_envs)


def chunk_steps(model: Any, every: int) -> int:
    """``every`` rounded up to whole rollouts (at least one)."""
    unit = rollout_steps(model)
    return max(1, math.ceil(every / unit)) * unit


def save_checkpoint(path: Path, model: Any, env_state: EnvState) -> None:
    """Write the model (weights, optimizer, ``num_timesteps``) and the env state to ``path``; a
    stop signal meanwhile is delivered once it is written (:func:`metarl.cli.signals_held`)."""
    with signals_held():
        buffer = io.BytesIO()
        model.save(buffer)
        data = pickle.dumps({"version": VERSION, "model": buffer.getvalue(),
                             "num_timesteps": int(model.num_timesteps), "env": env_state.get()})  # fmt: skip
        atomic_write(path, lambda f: f.write(data))


def save_finished(model: Any, path: Path) -> None:
    """Write the trained ``model`` to ``path`` (atomically: its presence marks the training
    done), then remove the checkpoint beside it; a stop signal meanwhile is delivered after."""
    with signals_held():
        buffer = io.BytesIO()
        model.save(buffer)
        atomic_write(path, lambda f: f.write(buffer.getvalue()))
        (path.parent / CHECKPOINT).unlink(missing_ok=True)


def load_checkpoint(path: Path, model: Any, env_state: EnvState, seed: int) -> Any:
    """The model of the checkpoint at ``path``, on ``model``'s env and device, with the env
    state restored and the envs reseeded from ``seed`` and the checkpoint's env steps; a
    :class:`RunError` naming the file if it is unreadable."""
    try:
        data = pickle.loads(path.read_bytes())
        if data.get("version") != VERSION:
            raise ValueError(f"version {data.get('version')!r}, this metarl writes {VERSION}")
        loaded = type(model).load(io.BytesIO(data["model"]), env=model.get_env(),
                                  device=model.device)  # fmt: skip
    except Exception as e:  # a truncated pickle raises anything from EOFError to KeyError
        raise RunError(f"{path} is not a readable checkpoint ({type(e).__name__}: {e}): delete "
                       "it, and --resume starts this training again") from None  # fmt: skip
    env_state.set(data["env"])
    steps = int(data["num_timesteps"])
    loaded.set_random_seed(seeding.stream_seed(seed, steps, seeding.POLICY))
    loaded.get_env().seed(seeding.stream_seed(seed, steps, seeding.ENV))
    loaded._last_obs = None  # the next learn resets the (fresh) envs
    return loaded


def silence(model: Any) -> None:
    """Give ``model`` a logger that writes nothing. Without one, every SB3
    ``learn`` call configures SB3's default logger, which creates an empty ``SB3-<date>``
    folder in the system's temp directory each time (one per task and point of a curve)."""
    from stable_baselines3.common.logger import Logger

    model.set_logger(Logger(folder=None, output_formats=[]))


def learn(
    model: Any,
    total: int,
    folder: Path,
    every: int,
    env_state: EnvState,
    seed: int,
    label: str,
    every_s: float,
) -> Any:
    """Train ``model`` to ``total`` env steps, a checkpoint in ``folder`` after every chunk of
    about ``every`` env steps, going on from the checkpoint already there; returns the trained
    model (a new object when it was loaded). The checkpoint stays until :func:`save_finished`
    replaces it. ``label`` and ``every_s`` are the progress bar's."""
    from stable_baselines3.common.callbacks import BaseCallback

    path = folder / CHECKPOINT
    if path.is_file():
        model = load_checkpoint(path, model, env_state, seed)
    started, first = time.perf_counter(), int(model.num_timesteps)
    report = ProgressReport(label, total, every_s=every_s, completed=first)

    class Progress(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps % 256 == 0:
                self._report()
            return True

        def _on_rollout_end(self) -> None:
            self._report()

        def _report(self) -> None:
            rate = (self.num_timesteps - first) / max(time.perf_counter() - started, 1e-9)
            report.update(self.num_timesteps, rate, {})

    silence(model)
    chunk = chunk_steps(model, every)
    with report:
        while model.num_timesteps < total:
            model.learn(min(chunk, total - model.num_timesteps), callback=Progress(),
                        reset_num_timesteps=False)  # fmt: skip
            if model.num_timesteps < total:
                folder.mkdir(parents=True, exist_ok=True)
                save_checkpoint(path, model, env_state)
    return model
