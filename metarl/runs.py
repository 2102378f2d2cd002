"""The run directory: resolved config, atomic checkpoints, metrics, held-out tasks, resume.

Layout of ``runs/<agent>-<env>-<seed>/``::

    config.json      the fully resolved config
    tasks.json       the held-out test tasks (same seed -> same tasks for every agent)
    checkpoint.pt    written atomically (temp file + rename), periodically and at the end
    metrics.csv      one row per training iteration
    tb/              TensorBoard events
    eval/            adaptation.json, adaptation.csv, adaptation.png
"""

from __future__ import annotations

import csv
import io
import json
import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from metarl import config as cfg
from metarl.agents import agent_of, config_from_json
from metarl.envs.family import Task, TaskError, tasks_from_json, tasks_to_json
from metarl.fileio import atomic_write

CONFIG = "config.json"
CHECKPOINT = "checkpoint.pt"
SWEEP_JSON = "sweep.json"  # marks a folder of metarl.sweep
METRICS = "metrics.csv"
TASKS = "tasks.json"
EVAL = "eval"
# What a run keeps once evaluated: a folder holding one of these lost its checkpoint afterwards
# (results kept without it), rather than stopping before its first.
KEPT_RESULTS = (EVAL, "adaptation.json")
BASELINE_CONFIG = "BaselineConfig"
"""The config class that ``python -m metarl.baselines`` writes into its runs' config.json."""
HELD_OUT_CONFIG = "HeldOutRun"
"""The config class in the config.json of a curve saved with ``metarl.heldout.HeldOut.save``."""


def other_run_message(path: Path) -> str | None:
    """What to say when a run that is not a meta-learner's (a baseline's, or a curve of one's own
    agent saved with ``metarl.heldout``) is given where a meta-learner's run is expected; None
    for any other folder."""
    try:
        kind = json.loads((path / CONFIG).read_text()).get("config")
    except (OSError, ValueError, AttributeError):
        return None
    quoted = shlex.quote(str(path))
    takes = (
        "metarl.train, metarl.evaluate and metarl.progress take a meta-learner's: its curve is "
        f"{path / EVAL}/adaptation.json (python -m metarl.compare {quoted})"
    )
    if kind == BASELINE_CONFIG:
        return (f"{path} is a baseline's run (python -m metarl.baselines), and {takes}, and "
                f"`python -m metarl.baselines --resume {quoted}` continues it")  # fmt: skip
    if kind == HELD_OUT_CONFIG:
        return f"{path} holds a curve saved with metarl.heldout (your own agent's), and {takes}"
    return None


class RunError(ValueError):
    """A run directory is missing, incomplete, corrupt or would be overwritten."""


def default_run_dir(name: str, env: str, seed: int) -> str:
    """``runs/<name>-<env>-<seed>`` with the characters of ids that do not belong in a path
    (``/`` of ``metarl/Nav2D-v0``, ``:`` of ``pkg.module:Id-v0``) replaced by ``_``."""
    safe = env.replace("/", "_").replace(":", "_")
    return f"runs/{name}-{safe}-{seed}"


def _write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, indent=1)
    try:
        atomic_write(path, lambda f: f.write(text.encode()))
    except OSError as e:  # disk full, a read-only folder: the earlier file is kept
        raise RunError(f"cannot write {path} ({e.strerror or e}): free space or fix the folder, "
                       "then run the command again") from None  # fmt: skip


def _refuse_folder_of_runs(path: Path) -> None:
    """Refuse ``--out`` naming a folder of runs or a sweep (``--out runs`` for ``runs/NAME``): the
    new run's files would sit among theirs. A folder with other files is fine (they are kept)."""
    if not path.is_dir():
        return
    if (path / SWEEP_JSON).exists():
        raise RunError(f"--out {path} holds a sweep: name a new folder for this run")
    runs = sorted(d.name for d in path.iterdir() if (d / CONFIG).is_file())
    if runs:
        shown = ", ".join(runs[:3]) + (", ..." if len(runs) > 3 else "")
        raise RunError(f"--out {path} is a folder of runs ({shown}): name a new folder for this "
                       f"run, such as {path / 'NAME'}")  # fmt: skip


class RunDir:
    """One run's directory (see the module doc for its files)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, path: str | os.PathLike[str], config: Any) -> RunDir:
        """A new run at ``path``; refuses to touch a folder that already holds a run."""
        run = cls(path)
        if run.path.exists() and not run.path.is_dir():
            raise RunError(
                f"--out {run.path} is a file, not a directory: choose a directory for the run"
            )
        if (run.path / CONFIG).exists() or (run.path / CHECKPOINT).exists():
            raise RunError(
                f"{run.path} already holds a run: continue it with --resume {run.path}, "
                "or choose another --out"
            )
        _refuse_folder_of_runs(run.path)
        try:
            run.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:  # a file on the way, a read-only place
            raise RunError(
                f"cannot create {run.path} ({e.strerror}): choose another --out"
            ) from None
        _write_json(run.path / CONFIG, cfg.to_json(config))
        return run

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> RunDir:
        """An existing run; raises :class:`RunError` if ``path`` holds none."""
        run = cls(path)
        if not (run.path / CONFIG).is_file():
            raise RunError(f"{run.path} holds no run (no {CONFIG}): check the path")
        return run

    def load_config(self) -> Any:
        """The run's config (raises :class:`RunError` if unreadable)."""
        try:
            return config_from_json(json.loads((self.path / CONFIG).read_text()))
        except (OSError, ValueError, TypeError) as e:  # ConfigError is a ValueError
            message = other_run_message(self.path)  # a config class the agents do not know
            if message is not None:
                raise RunError(message) from None
            raise RunError(
                f"{self.path / CONFIG} is unreadable ({e}): the run cannot be used"
            ) from None

    def save_config(self, config: Any) -> None:
        """Rewrite config.json (e.g. a resumed run with more --steps)."""
        _write_json(self.path / CONFIG, cfg.to_json(config))

    # --- checkpoints ---------------------------------------------------------------------------
    def save_checkpoint(self, state: dict[str, Any]) -> None:
        """Write checkpoint.pt atomically: a crash leaves the previous one intact."""
        buffer = io.BytesIO()
        torch.save(state, buffer)
        try:
            atomic_write(self.path / CHECKPOINT, lambda f: f.write(buffer.getvalue()))
        except OSError as e:  # disk full, quota, a folder gone read-only
            kept = "the previous checkpoint is intact" if self.has_checkpoint() else "no checkpoint"
            raise RunError(
                f"cannot write {self.path / CHECKPOINT} ({e.strerror or e}): {kept}; free space "
                f"(or fix the folder) and continue with `python -m metarl.train --resume "
                f"{shlex.quote(str(self.path))}`"
            ) from None

    def has_checkpoint(self) -> bool:
        """Whether checkpoint.pt is there."""
        return (self.path / CHECKPOINT).is_file()

    def restore(self, agent: Any, state: dict[str, Any]) -> None:
        """Load ``state["agent"]`` (a :meth:`load_checkpoint` result) into ``agent``; a checkpoint
        that does not fit the agent (another metarl version, an edited config.json) is a
        :class:`RunError`, not a traceback from ``load_state_dict``."""
        try:
            agent.load_state_dict(state["agent"])
        except (RuntimeError, KeyError, ValueError, TypeError, IndexError) as e:
            first = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
            raise RunError(
                f"{self.path / CHECKPOINT} does not fit the run's config.json ({first}): it was "
                "written by another metarl version or config; use that version, or start a new run"
            ) from None

    def lend_weights(self, agent: Any) -> int:
        """Load this run's last weights into a new ``agent`` (``--init-from``, see
        ``MetaLearner.load_weights``); the env steps they were trained for. :class:`RunError`
        where there is no checkpoint or its network does not fit ``agent``'s."""
        if not self.has_checkpoint():
            raise RunError(f"--init-from {self.path} has no {CHECKPOINT} (it stopped before its "
                           "first): give a run that has one, or drop --init-from")  # fmt: skip
        source = agent_of(self.load_config())
        state = self.load_checkpoint()["agent"]
        try:
            agent.load_weights(state)
        except KeyError:
            raise RunError(
                f"--init-from {self.path} holds weights of --agent {source}, which --agent "
                f"{agent.name} cannot use: give a run of --agent {agent.name}"
            ) from None
        except (RuntimeError, ValueError, TypeError, IndexError) as e:
            lines = [line.strip() for line in str(e).splitlines() if line.strip()]
            why = (lines[1] if len(lines) > 1 else lines[0] if lines else type(e).__name__)[:200]
            raise RunError(
                f"--init-from {self.path}: its network does not fit this run's ({why}): give "
                f"the network flags of its {CONFIG}, or drop --init-from"
            ) from None
        return int(state.get("env_steps", 0))

    def load_checkpoint(self) -> dict[str, Any]:
        """The last checkpoint, on the CPU; :class:`RunError` if missing or corrupt."""
        file = self.path / CHECKPOINT
        if not file.is_file():
            kept = [name for name in KEPT_RESULTS if (self.path / name).exists()]
            if kept:  # a results folder kept without its checkpoint (as docs/results/ holds)
                raise RunError(
                    f"{file} does not exist: {self.path} keeps its results ({', '.join(kept)}) "
                    "but not the checkpoint, so there is nothing to resume or evaluate; "
                    "metarl.compare reads its curve, and a new run (another --out) trains it again"
                )
            raise RunError(
                f"{file} does not exist: the run stopped before its first checkpoint, so there is "
                f"nothing to resume or evaluate; delete {self.path} and start it again"
            )
        try:
            state = torch.load(file, map_location="cpu", weights_only=False)
        except Exception as e:  # torch raises many kinds for a damaged file
            raise RunError(
                f"{file} is corrupt ({type(e).__name__}): start a new run, or restore the file"
            ) from None
        if not isinstance(state, dict) or "agent" not in state:
            raise RunError(f"{file} is not a metarl checkpoint: start a new run")
        return state

    # --- tasks ---------------------------------------------------------------------------------
    def save_tasks(self, env_id: str, seed: int, tasks: Sequence[Task]) -> None:
        """Write the held-out test tasks to tasks.json."""
        data = {"env_id": env_id, "split": "test", "seed": seed, "tasks": tasks_to_json(tasks)}
        _write_json(self.path / TASKS, data)

    def has_tasks(self) -> bool:
        """Whether tasks.json is there."""
        return (self.path / TASKS).is_file()

    def load_tasks(self, task_type: type[Task]) -> list[Task]:
        """The held-out test tasks of tasks.json."""
        try:
            data = json.loads((self.path / TASKS).read_text())
            return tasks_from_json(task_type, data["tasks"])
        except (OSError, ValueError, KeyError, TypeError, TaskError) as e:
            raise RunError(
                f"{self.path / TASKS} is unreadable ({e}): delete it, and the next evaluate or "
                "--resume draws the tasks again from config.json's seed"
            ) from None

    # --- metrics -------------------------------------------------------------------------------
    def metrics_log(self, resume_iteration: int = 0) -> MetricsLog:
        """The metrics.csv writer; on resume, rows past ``resume_iteration`` are dropped."""
        return MetricsLog(self.path / METRICS, resume_iteration)

    def tensorboard(self, resume_iteration: int = 0) -> Any:
        """A TensorBoard ``SummaryWriter`` in ``tb/`` (events past the resume point purged)."""
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter(str(self.path / "tb"), purge_step=resume_iteration or None)


class MetricsLog:
    """Appends one CSV row per iteration to ``metrics.csv`` (header from the first row)."""

    def __init__(self, path: Path, resume_iteration: int = 0) -> None:
        self.path = path
        self.fields: list[str] | None = None
        if resume_iteration and path.exists():
            self._truncate(resume_iteration)
        elif path.exists():
            path.unlink()

    def _truncate(self, last_iteration: int) -> None:
        with self.path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows:
            self.path.unlink()
            return
        keep = [r for r in rows if int(float(r["iteration"])) <= last_iteration]
        self._rewrite(list(rows[0].keys()), keep)

    def _rewrite(self, fields: list[str], rows: list[dict[str, str]]) -> None:
        """Replace the file (atomically) by ``rows`` under the header ``fields``."""
        self.fields = fields
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write(self.path, lambda f: f.write(buffer.getvalue().encode()))

    def append(self, row: dict[str, float]) -> None:
        """Write ``row``. Keys the header lacks (a run begun by an older metarl, resumed) extend
        the header; the earlier rows leave those columns empty."""
        if self.fields is not None and any(k not in self.fields for k in row):
            with self.path.open(newline="") as f:
                rows = list(csv.DictReader(f))
            self._rewrite(self.fields + [k for k in row if k not in self.fields], rows)
        new = self.fields is None
        if new:
            self.fields = list(row)
        with self.path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.fields, restval="")
            if new:
                writer.writeheader()
            writer.writerow(row)
