"""Held-out tasks in parallel: one job per task in a spawn process pool, results saved as they end.

:func:`run_tasks` runs ``fn(job, report)`` for every job whose result file is not already in
``folder`` (``task-0007.json``, written atomically), in a
``concurrent.futures.ProcessPoolExecutor`` with the ``spawn`` start method (no fork of a process
holding torch threads, and the same start on every platform), each worker with one torch thread.
With one worker the jobs run in this process instead (no start-up cost; the same numbers, since
every job seeds everything it draws). Workers report env steps through a queue, so one
progress bar covers tasks × env steps. A stopped run keeps the finished tasks' files, and the next
:func:`run_tasks` on the same folder runs only the rest.
"""

from __future__ import annotations

import concurrent.futures as futures
import json
import multiprocessing
import os
import queue as queue_module
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from metarl.fileio import atomic_write
from metarl.progressbar import DEFAULT_EVERY_S, ProgressReport
from metarl.runs import RunError

Report = Callable[[int, int], None]
"""``report(task_index, env_steps_done_on_it)``: a job's progress."""
JobFn = Callable[[Any, Report], dict[str, Any]]
"""``fn(job, report) -> result``: a module-level function (workers import it by name); ``job``
has an ``index`` and is picklable, ``result`` is JSON-ready."""


def result_path(folder: Path, index: int) -> Path:
    """Where the result of held-out task ``index`` goes."""
    return folder / f"task-{index:04d}.json"


def load_results(folder: Path, count: int) -> dict[int, dict[str, Any]]:
    """The results already in ``folder`` among tasks ``0..count-1``; an unreadable file is a
    :class:`RunError` that names it (delete it and the task runs again)."""
    found: dict[int, dict[str, Any]] = {}
    for index in range(count):
        path = result_path(folder, index)
        if not path.is_file():
            continue
        try:
            found[index] = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise RunError(f"{path} is unreadable ({e}): delete it, and --resume runs that "
                           "task again") from None  # fmt: skip
    return found


def save_result(folder: Path, index: int, result: dict[str, Any]) -> None:
    """Write one task's result atomically."""
    text = json.dumps(result, indent=1)
    atomic_write(result_path(folder, index), lambda f: f.write(text.encode()))


_WORKER_PROGRESS: list[Any] = []
"""In a worker process only: the queue its jobs report progress to (given at its start, the one
way a multiprocessing queue may reach a pool's worker)."""


def _init_worker(progress: Any = None, parent: int | None = None) -> None:
    import torch

    torch.set_num_threads(1)
    if progress is not None:
        _WORKER_PROGRESS[:] = [progress]
    if parent is not None:
        _exit_with_parent(parent)


def _exit_with_parent(parent: int, poll_s: float = 0.5) -> None:
    """In a pool worker: exit within ``poll_s`` once ``parent`` (the runner's pid, passed at
    spawn time, so a runner that died while the worker was still starting counts too) is no
    longer its parent, instead of running on as an orphan."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _call(fn: JobFn, job: Any) -> dict[str, Any]:
    progress = _WORKER_PROGRESS[0]
    return fn(job, lambda index, steps: progress.put((index, steps)))


def run_tasks(
    fn: JobFn,
    jobs: Sequence[Any],
    folder: Path,
    workers: int,
    steps_per_job: int,
    label: str = "tasks",
    every_s: float = DEFAULT_EVERY_S,
) -> dict[int, dict[str, Any]]:
    """Every job's result by task index: the ones in ``folder``, then the others run.

    ``steps_per_job`` is the env steps each job reports when done (the progress total).
    """
    done = load_results(folder, max((j.index for j in jobs), default=-1) + 1)
    pending = [j for j in jobs if j.index not in done]
    steps = {j.index: steps_per_job for j in jobs if j.index in done}
    report = ProgressReport(label, steps_per_job * len(jobs), ("tasks_done",), every_s=every_s,
                            completed=sum(steps.values()))  # fmt: skip
    started, start_steps = time.perf_counter(), sum(steps.values())

    def update(index: int, value: int) -> None:
        if index in done and value < steps_per_job:  # a late report of a finished job
            return
        steps[index] = value
        total = sum(steps.values())
        rate = (total - start_steps) / max(time.perf_counter() - started, 1e-9)
        report.update(total, rate, {"tasks_done": len(done)})

    def finish(job: Any, result: dict[str, Any]) -> None:
        save_result(folder, job.index, result)
        done[job.index] = result
        update(job.index, steps_per_job)

    with report:
        if workers <= 1 or len(pending) <= 1:
            _init_worker()
            for job in pending:
                finish(job, fn(job, update))
        else:
            _run_pool(fn, pending, min(workers, len(pending)), update, finish)
    return done


def _run_pool(
    fn: JobFn,
    jobs: Sequence[Any],
    workers: int,
    update: Report,
    finish: Callable[[Any, dict[str, Any]], None],
) -> None:
    ctx = multiprocessing.get_context("spawn")
    progress = ctx.Queue()
    pool = futures.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                       initargs=(progress, os.getpid()))  # fmt: skip
    try:
        running = {pool.submit(_call, fn, job): job for job in jobs}
        while running:
            ended, _ = futures.wait(running, timeout=0.5, return_when=futures.FIRST_COMPLETED)
            _drain(progress, update)
            for future in ended:
                finish(running.pop(future), future.result())
    except BaseException:  # Ctrl-C, SIGTERM or a failed task: the others' work is not waited for
        _terminate(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        progress.close()


def _terminate(pool: futures.ProcessPoolExecutor) -> None:
    """Stop ``pool``'s workers now (Python 3.14's ``terminate_workers``, or the same by hand)."""
    if hasattr(pool, "terminate_workers"):
        pool.terminate_workers()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()


def _drain(progress: Any, update: Report) -> None:
    while True:
        try:
            index, steps = progress.get_nowait()
        except queue_module.Empty:
            return
        update(index, steps)
