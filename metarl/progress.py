"""``python -m metarl.progress RUN [RUN ...]``: the training curves of several runs, side by side.

Reads each run's ``metrics.csv`` (one row per training iteration), so it works on runs still in
flight; a sweep directory of ``metarl.sweep`` stands for each of its trials that has begun. The
table gives, per run, a metric (``--column``, default the training return: RL²'s trial return,
MAML's post-update return, pretrained's return) averaged over ``--window`` iterations at each of
the env-step marks ``--at`` (by default quarters of the shortest run, which every run has
reached), and the same average at the run's last iteration; the plot draws the
metric against env steps, the moving average over the raw values. Runs with different
``--steps`` anneal their rates on different schedules: compare them at the same env steps, as
the table does, not at the same share of their budgets.

    python -m metarl.progress runs/rl2-tabular-mdp-0 runs/rl2-tabular-mdp-1 --at 10M 20M 40M
    python -m metarl.progress runs/rl2-nav-0 --column entropy --out entropy.png
    python -m metarl.progress runs/sweep-nav --out sweep-progress.png     # a sweep in flight

These are training numbers, on training tasks with a sampling policy: the held-out adaptation
curves of ``metarl.evaluate`` and ``metarl.compare`` are what to report.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from metarl import cli
from metarl.evaluation import Table, markdown_table, save_png, text_table
from metarl.progressbar import format_count
from metarl.runs import METRICS, SWEEP_JSON, RunError, other_run_message

__all__ = [
    "expand_sweeps",
    "load_metrics",
    "main",
    "parse_steps",
    "progress_table",
    "return_columns",
    "value_at",
]

DEFAULT_OUT = "progress.png"
RETURN_COLUMNS = ("trial_return", "post_return", "return")
"""The training returns the agents log: RL²'s trial, MAML's post-update, pretrained's episode."""


def return_columns(runs: Sequence[dict[str, np.ndarray]]) -> list[str]:
    """Each run's training return, the first of :data:`RETURN_COLUMNS` it logs, so that a MAML
    run (post_return) and its pretrained comparison (return) are drawn together; a run that
    logs none gets the first name, and the column check then lists what it has."""
    return [next((c for c in RETURN_COLUMNS if c in m), RETURN_COLUMNS[0]) for m in runs]


def load_metrics(arg: str) -> dict[str, np.ndarray]:
    """The columns of ``RUN/metrics.csv`` (or of the CSV file ``arg``) as float arrays (I,).

    Empty cells (columns that a resumed run's older rows lack) are NaN.
    """
    path = Path(arg) / METRICS if Path(arg).is_dir() else Path(arg)
    try:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        message = other_run_message(Path(arg)) if Path(arg).is_dir() else None
        if message is not None:  # a baseline's or one's own agent's run has no metrics.csv
            raise RunError(message) from None
        raise RunError(
            f"{path} is missing or unreadable ({exc.strerror}): give a run directory"
        ) from None
    if not rows or "env_steps" not in rows[0]:
        raise RunError(f"{path} holds no training iterations yet (no rows with env_steps)")
    try:
        return {k: np.array([float(r[k] or "nan") for r in rows]) for k in rows[0]}
    except ValueError as exc:
        raise RunError(f"{path} is not a metarl metrics.csv ({exc})") from None


def expand_sweeps(args: Sequence[str], labels: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(runs, labels)``: each RUN argument as given, but a sweep directory of
    ``metarl.sweep`` as its trials that have logged an iteration
    (``DIR/trials/<grid point>/seed-<s>/``), labelled ``<label>/<grid point>/seed-<s>``."""
    runs: list[str] = []
    names: list[str] = []
    for arg, label in zip(args, labels, strict=True):
        if not (Path(arg) / SWEEP_JSON).is_file():
            runs.append(arg)
            names.append(label)
            continue
        begun = [t for t in sorted(Path(arg).glob("trials/*/seed-*")) if _has_rows(t / METRICS)]
        if not begun and _is_baseline_sweep(Path(arg)):
            raise RunError(f"the sweep {arg} is of a baseline (--algo), whose runs log no "
                           f"training curve: its held-out curves are `python -m metarl.compare "
                           f"{arg}`")  # fmt: skip
        if not begun:
            raise RunError(f"the sweep {arg} has no trial with a training iteration yet: wait, "
                           "or resume it")  # fmt: skip
        runs += [str(t) for t in begun]
        names += [f"{label}/{t.parent.name}/{t.name}" for t in begun]
    return runs, names


def _is_baseline_sweep(path: Path) -> bool:
    """Whether ``path/sweep.json`` is a sweep of a baseline (``--algo``)."""
    try:
        return "algo" in json.loads((path / SWEEP_JSON).read_text())
    except (OSError, ValueError, TypeError):
        return False


def _has_rows(path: Path) -> bool:
    """Whether the CSV file ``path`` exists and has a row below its header."""
    try:
        with path.open() as f:
            return sum(1 for line in itertools.islice(f, 2) if line.strip()) > 1
    except OSError:
        return False


def parse_steps(text: str) -> int:
    """``"3M"`` → 3_000_000, ``"500k"`` → 500_000, ``"1e6"`` → 1_000_000 (:func:`cli.count`)."""
    try:
        value = cli.count(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise RunError(f"--at takes env steps such as 3M, 500k or 2000000, got {text!r}")
    return value


def value_at(metrics: dict[str, np.ndarray], column: str, steps: int, window: int) -> float:
    """Mean of ``column`` over the ``window`` iterations ending at the last one with at most
    ``steps`` env steps; NaN when the run has not reached ``steps`` env steps yet."""
    env_steps = metrics["env_steps"]
    reached = np.flatnonzero(env_steps <= steps)
    if env_steps[-1] < steps or reached.size == 0:
        return math.nan
    end = reached[-1] + 1
    return float(np.nanmean(metrics[column][max(0, end - window) : end]))


def _fmt_steps(steps: float) -> str:
    """``71_940_000`` → ``"71.94M"``, ``1500`` → ``"1.5k"`` (also the plot's x tick labels)."""
    return format_count(steps, digits=4)


def _decimals(values: Sequence[float]) -> int:
    """Decimals that give the table's largest finite value four significant digits, so that a
    column reads 357.6, 387.0, 403.9 rather than 357.6, 387, 403.9."""
    finite = [abs(v) for v in values if math.isfinite(v) and v != 0]
    return max(0, 3 - math.floor(math.log10(max(finite)))) if finite else 0


def progress_table(
    runs: Sequence[dict[str, np.ndarray]],
    labels: Sequence[str],
    columns: Sequence[str],
    marks: Sequence[int],
    window: int,
    table: Table = text_table,
) -> str:
    """One row per run: its column of ``columns`` at each env-step mark and at the last
    iteration, laid out by ``table``."""
    header = ["run", "env steps", *(f"@{_fmt_steps(m)}" for m in marks), "last"]
    values = []
    for metrics, column in zip(runs, columns, strict=True):
        at = [value_at(metrics, column, m, window) for m in marks]
        values.append([*at, value_at(metrics, column, int(metrics["env_steps"][-1]), window)])
    digits = _decimals([v for row in values for v in row])
    rows = [header]
    for metrics, label, row in zip(runs, labels, values):
        cells = [f"{v:.{digits}f}" if math.isfinite(v) else "-" for v in row]
        rows.append([label, _fmt_steps(metrics["env_steps"][-1]), *cells])
    return table(rows, 1)


def plot_progress(
    runs: Sequence[dict[str, np.ndarray]],
    labels: Sequence[str],
    columns: Sequence[str],
    window: int,
    path: str,
) -> Path:
    """Each run's column of ``columns`` against env steps, raw (faint) and its moving average
    over ``window`` iterations, one colour per run, in one PNG at ``path`` (atomic write)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    name = columns[0] if len(set(columns)) == 1 else "training return"
    fig = Figure(figsize=(7.2, 4.4), layout="constrained")
    ax = fig.subplots()
    for i, (metrics, label, column) in enumerate(zip(runs, labels, columns, strict=True)):
        x, y = metrics["env_steps"], metrics[column]
        smooth = np.convolve(y, np.ones(window), "valid") / window if len(y) >= window else y
        ax.plot(x, y, color=f"C{i}", alpha=0.25, lw=0.8)
        ax.plot(x[len(x) - len(smooth) :], smooth, color=f"C{i}", lw=1.8, label=label)
    ax.set_title(f"training progress: {name}")
    ax.set_xlabel("env steps of training")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _fmt_steps(v)))
    ax.set_ylabel(f"{name} (moving mean of {window} iterations)")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_png(fig, out)
    return out


def _default_marks(runs: Sequence[dict[str, np.ndarray]]) -> list[int]:
    """Quarters of the shortest run, rounded down to two significant digits: the env steps that
    every run has reached, so that a run in flight is compared with a finished one at equal
    env steps in every column (each run's own end is the table's "last")."""
    shortest = min(float(m["env_steps"][-1]) for m in runs)
    marks = set()
    for quarter in (shortest * q / 4 for q in (1, 2, 3, 4)):
        unit = 10 ** max(0, math.floor(math.log10(quarter)) - 1)
        marks.add(int(quarter // unit * unit))
    return sorted(m for m in marks if m > 0)


def _parser() -> argparse.ArgumentParser:
    p = cli.ArgumentParser(
        prog="python -m metarl.progress",
        description="Compare the training curves (metrics.csv) of several runs, finished or in "
        "flight: a table of a metric at the same env steps and a plot against env steps.",
    )
    p.add_argument("runs", nargs="+", metavar="RUN",
                   help="a run directory, a metrics.csv, or a sweep directory of metarl.sweep "
                   "(each of its trials that has begun, labelled by grid point and seed)")  # fmt: skip
    p.add_argument("--column", default=None,
                   help="the metrics.csv column to compare (default: each run's training "
                   f"return, the first of {', '.join(RETURN_COLUMNS)} it logs, named beside "
                   "the run where they differ; e.g. entropy, value_loss, kl, sps)")  # fmt: skip
    p.add_argument("--at", nargs="+", default=None, metavar="STEPS",
                   help="env-step marks of the table, e.g. 3M 6M 12M (default: quarters of the "
                   "shortest run, so that every run has a value at every mark)")  # fmt: skip
    p.add_argument(
        "--window",
        type=int,
        default=10,
        help="iterations averaged at each mark and in the plot (default 10)",
    )
    p.add_argument(
        "--labels", nargs="+", default=None, help="names of the runs (default: their folders)"
    )
    p.add_argument("--out", default=DEFAULT_OUT,
                   help=f"the PNG to write (default {DEFAULT_OUT} in the current directory; an "
                   "earlier plot of metarl's is replaced, any other file needs --force)")  # fmt: skip
    p.add_argument(
        "--force", action="store_true", help="overwrite --out even if it is not a plot of metarl's"
    )
    p.add_argument("--markdown", action="store_true",
                   help="print the table as Markdown instead of aligned text, and nothing else on "
                   "stdout (the plot's path goes to stderr)")  # fmt: skip
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m metarl.progress``."""
    args = _parser().parse_args(argv)
    if args.window < 1:
        raise RunError(f"--window must be a positive number of iterations, got {args.window}")
    labels = args.labels or [
        Path(a).name if Path(a).is_dir() else Path(a).parent.name for a in args.runs
    ]
    if len(labels) != len(args.runs):
        raise RunError(f"--labels names {len(labels)} runs, but {len(args.runs)} RUNs given")
    replaces = cli.check_png(args.out, args.force)
    paths, labels = expand_sweeps(args.runs, labels)
    runs = [load_metrics(a) for a in paths]
    columns = [args.column] * len(runs) if args.column else return_columns(runs)
    for arg, metrics, column in zip(paths, runs, columns):
        if column not in metrics:
            raise RunError(f"{arg} has no column {column!r}: use one of {', '.join(metrics)}")
    if len(set(columns)) > 1:  # say which return each run's row and line show
        labels = [f"{label} ({column})" for label, column in zip(labels, columns)]
    marks = [parse_steps(a) for a in args.at] if args.at else _default_marks(runs)
    table = markdown_table if args.markdown else text_table
    print(progress_table(runs, labels, columns, marks, args.window, table))
    cli.write_plot(
        lambda: plot_progress(runs, labels, columns, args.window, args.out),
        args.out,
        replaces,
        sys.stderr if args.markdown else None,  # stdout holds only the Markdown
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run_main(main, None))
