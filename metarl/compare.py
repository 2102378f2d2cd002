"""``python -m metarl.compare RUN [RUN ...]``: several adaptation curves in one plot and one table.

Each argument is a run directory (its ``eval/adaptation.json`` is read), a directory holding an
``adaptation.json``, or the file itself. The plot overlays the curves' means and 95% bands on the
shared x-axis "env steps on the new task" (or each curve's own adaptation points with
``--x-axis x``). The table gives, per curve, the first and last point and the total over all
points, each with its 95% bootstrap interval over tasks.

Curves evaluated on the *same* held-out tasks (same family id, same task parameters, same number
of points: runs of the same seed and family) are also compared **paired**: the difference to the
reference curve (the first argument, or ``--reference``) is taken task by task and its 95%
bootstrap interval reported. Curves on the same tasks with another number of points (RL²'s
episodes beside MAML's gradient steps, or ``metarl.evaluate --budget N``) are paired at their last
points, each agent's adapted end; their totals sum different things and say "other points".
Curves on other tasks are not paired ("other tasks"). Pairing removes the spread between
tasks, which is most of the spread of a total return, so it separates two agents that unpaired
intervals cannot.

Every interval is over held-out tasks, for the trained agents at hand: none of them says how much
another training seed would change a result. Train several seeds and compare them for that.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from metarl import cli
from metarl.evaluation import (
    JSON_NAME,
    AdaptationCurve,
    EvaluationError,
    bootstrap_ci,
    format_ci,
    plot_curves,
    text_table,
)

__all__ = ["comparison_table", "curve_path", "default_label", "main", "unpaired_reason"]

DEFAULT_OUT = "compare.png"


def curve_path(arg: str) -> Path:
    """The ``adaptation.json`` that ``arg`` names: a run directory, the folder of the file, or
    the file itself (a missing one is reported by :meth:`AdaptationCurve.load`)."""
    path = Path(arg)
    if (path / "eval" / JSON_NAME).is_file():
        return path / "eval" / JSON_NAME
    return path / JSON_NAME if path.is_dir() else path


def default_label(path: Path) -> str:
    """The run's name for ``RUN/eval/adaptation.json``, ``RUN/eval-N-episodes`` for the longer
    evaluations of ``metarl.evaluate --episodes N``, else the name of the file's folder."""
    folder = path.parent
    if folder.name == "eval":
        return folder.parent.name
    if folder.name.startswith("eval-") and (folder.parent / "config.json").is_file():
        return f"{folder.parent.name}/{folder.name}"
    return folder.name


def unpaired_reason(a: AdaptationCurve, b: AdaptationCurve) -> str | None:
    """Why two curves cannot be paired task by task ("other tasks", or "other points" for the
    same tasks evaluated at another number of points), or None when they can."""
    if a.env_id != b.env_id or a.tasks != b.tasks:
        return "other tasks"
    return "other points" if a.num_points != b.num_points else None


def _paired(values: np.ndarray) -> str:
    """Mean and 95% bootstrap interval of per-task differences ``values`` (T,), signed."""
    low, high = bootstrap_ci(values)
    text = format_ci(values.mean(), low, high)
    return text if text.startswith("-") else "+" + text


def _row(curve: AdaptationCurve, label: str, ref: AdaptationCurve, is_ref: bool) -> list[str]:
    total = curve.total_return()
    t_lo, t_hi = bootstrap_ci(total)
    cells = [
        label,
        curve.agent,
        curve.env,
        str(curve.num_tasks),
        format_ci(curve.mean[0], curve.ci_low[0], curve.ci_high[0]),
        format_ci(curve.mean[-1], curve.ci_low[-1], curve.ci_high[-1]),
        format_ci(total.mean(), t_lo, t_hi),
    ]
    if is_ref:
        return [*cells, "(reference)", "(reference)"]
    reason = unpaired_reason(curve, ref)
    if reason == "other tasks":
        return [*cells, reason, reason]
    last = _paired(curve.returns[:, -1] - ref.returns[:, -1])  # each curve's adapted end
    return [*cells, last, reason or _paired(total - ref.total_return())]


def comparison_table(
    curves: Sequence[AdaptationCurve], labels: Sequence[str], reference: int = 0
) -> str:
    """One plain-text row per curve: first point, last point and total return (mean ± 95% CI
    over tasks), and the paired differences of the last point and the total to
    ``curves[reference]`` where both were evaluated on the same tasks."""
    ref = curves[reference]
    header = ["run", "agent", "env", "tasks", "first point", "last point", "total",
              f"Δ last vs {labels[reference]}", f"Δ total vs {labels[reference]}"]  # fmt: skip
    rows = [header] + [
        _row(c, label, ref, i == reference) for i, (c, label) in enumerate(zip(curves, labels))
    ]
    return text_table(rows, left=3)  # run, agent and env are names


def _unique(labels: list[str]) -> list[str]:
    """Labels made distinct by appending ``#2``, ``#3`` to repeats."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label}#{seen[label]}")
    return out


def _parser() -> argparse.ArgumentParser:
    p = cli.ArgumentParser(
        prog="python -m metarl.compare",
        description="Overlay the adaptation curves of several runs in one plot and print one "
        "table; curves on the same held-out tasks (same family and seed) are also compared "
        "task by task (paired differences to the reference, with 95% bootstrap intervals).",
    )
    p.add_argument("runs", nargs="+", metavar="RUN",
                   help="a run directory (reads RUN/eval/adaptation.json) or an adaptation.json")  # fmt: skip
    p.add_argument("--labels", nargs="+", default=None,
                   help="names of the curves in the table and legend (default: the run names)")  # fmt: skip
    p.add_argument("--reference", type=int, default=1,
                   help="which curve (1 = the first RUN) the paired differences are taken to")  # fmt: skip
    p.add_argument("--out", default=DEFAULT_OUT, help=f"the PNG to write (default {DEFAULT_OUT})")
    p.add_argument("--x-axis", choices=("env_steps", "x"), default="env_steps",
                   help="env_steps: env steps on the new task (default); x: each curve's own "
                   "adaptation points (episode, gradient step)")  # fmt: skip
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m metarl.compare``."""
    args = _parser().parse_args(argv)
    paths = [curve_path(a) for a in args.runs]
    labels = args.labels or _unique([default_label(p) for p in paths])
    if len(labels) != len(paths):
        raise EvaluationError(f"--labels names {len(labels)} curves, but {len(paths)} RUNs given")
    if not 1 <= args.reference <= len(paths):
        raise EvaluationError(f"--reference must be between 1 and {len(paths)} (a RUN's position)")
    cli.check_png(args.out)
    curves = [AdaptationCurve.load(p) for p in paths]
    print(comparison_table(curves, labels, args.reference - 1))
    cli.write_plot(
        lambda: plot_curves(curves, args.out, x_axis=args.x_axis, labels=labels), args.out
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run_main(main, None))
