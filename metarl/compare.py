"""``python -m metarl.compare RUN [RUN ...]``: several adaptation curves in one plot and one table.

Each argument is a run directory (its ``eval/adaptation.json`` is read), a directory holding an
``adaptation.json``, the file itself, or a sweep directory of ``metarl.sweep`` (one curve per
grid point, pooling every seed's held-out tasks: :func:`pooled`). The plot overlays the curves'
means and 95% bands on the shared x-axis "env steps on the new task" (or each curve's own
adaptation points with ``--x-axis x``). The table gives, per curve, the first and last point and
the total over all points, each with its 95% bootstrap interval over tasks.

Curves evaluated on the *same* held-out tasks (same family id, same task parameters, same number
of points: runs of the same seed and family) are also compared **paired**: the difference to the
reference curve (the first argument, or ``--reference``) is taken task by task and its 95%
bootstrap interval reported. Curves on the same tasks with another number of points (RL²'s
episodes beside MAML's gradient steps, or ``metarl.evaluate --budget N``) are paired at their last
points, each agent's adapted end; their totals sum different things and say "other points".
Curves on other tasks are not paired ("other tasks"). Pairing removes the spread between
tasks, which is most of the spread of a total return, so it separates two agents that unpaired
intervals cannot.

Curves of different families, family parameters or held-out tasks (another seed) are refused
with one line: their difference mixes the agents with the tasks. ``--allow-different-tasks``
overlays them anyway, never paired. A second table gives each curve's return at common budgets
of env steps on the new task (10², 10³, ...: the curve's last point within the budget), and
``--steps-to R`` the env steps each curve needs to first reach return ``R`` (at its first point
whose mean is at least ``R``; the point before it, still below, is shown too, as the curve
reached ``R`` somewhere between the two) and their ratio to the reference's: how many more env
steps on the new task learning from scratch costs than adapting.

Every interval is over held-out tasks, for the trained agents at hand: none of them says how much
another training seed would change a result. Train several seeds and compare them for that.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from metarl import cli
from metarl.evaluation import (
    JSON_NAME,
    AdaptationCurve,
    EvaluationError,
    Table,
    bootstrap_ci,
    curve_file,
    format_ci,
    markdown_table,
    plot_curves,
    text_table,
)

__all__ = [
    "budget_table",
    "comparison_table",
    "default_label",
    "different_tasks",
    "last_below",
    "main",
    "steps_to",
    "steps_to_table",
    "unpaired_reason",
]

DEFAULT_OUT = "compare.png"


def default_label(path: Path) -> str:
    """The run's name for ``RUN/eval/adaptation.json`` (``<grid point>/seed-<s>`` for a trial of a
    sweep, ``DIR/trials/<grid point>/seed-<s>``), ``RUN/eval-N-episodes`` for the longer
    evaluations of ``metarl.evaluate --episodes N``, else the name of the file's folder."""
    folder = path.parent
    if folder.name == "eval" and folder.parent.parent.parent.name == "trials":
        return f"{folder.parent.parent.name}/{folder.parent.name}"  # a sweep's point/seed-s
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


def run_env_kwargs(path: Path) -> dict[str, Any] | None:
    """The family parameters of the run that ``path`` (``RUN/eval*/adaptation.json``) belongs to,
    from its config.json; None for a curve file outside a run directory."""
    config = path.parent.parent / "config.json"
    try:
        return dict(json.loads(config.read_text()).get("env_kwargs", {}))
    except (OSError, ValueError, AttributeError):
        return None


def different_tasks(
    curves: Sequence[AdaptationCurve],
    labels: Sequence[str],
    env_kwargs: Sequence[dict[str, Any] | None],
    reference: int = 0,
) -> str | None:
    """Why some curve is not on the reference's held-out tasks (another family, other family
    parameters, other tasks), or None when all are on the same ones."""
    ref, ref_kwargs = curves[reference], env_kwargs[reference]
    for curve, label, kwargs in zip(curves, labels, env_kwargs):
        if curve.env_id != ref.env_id:
            what = f"another family ({curve.env_id}, not {ref.env_id})"
        elif None not in (kwargs, ref_kwargs) and kwargs != ref_kwargs:
            what = (
                f"other family parameters ({kwargs or 'defaults'}, not {ref_kwargs or 'defaults'})"
            )
        elif curve.tasks != ref.tasks:
            what = f"other held-out tasks ({curve.num_tasks} tasks of seed {curve.seed}, not " \
                   f"{ref.num_tasks} of seed {ref.seed})"  # fmt: skip
        else:
            continue
        return f"{label} is on {what} than {labels[reference]}"
    return None


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
    curves: Sequence[AdaptationCurve],
    labels: Sequence[str],
    reference: int = 0,
    table: Table = text_table,
) -> str:
    """One row per curve: first point, last point and total return (mean ± 95% CI over tasks),
    and the paired differences of the last point and the total to ``curves[reference]`` where
    both were evaluated on the same tasks; laid out by ``table``."""
    ref = curves[reference]
    header = ["run", "agent", "env", "tasks", "first point", "last point", "total",
              f"Δ last vs {labels[reference]}", f"Δ total vs {labels[reference]}"]  # fmt: skip
    rows = [header] + [
        _row(c, label, ref, i == reference) for i, (c, label) in enumerate(zip(curves, labels))
    ]
    return table(rows, 3)  # run, agent and env are names


def budgets(curves: Sequence[AdaptationCurve]) -> list[int]:
    """Powers of ten from the smallest to past the largest env steps of the curves' points."""
    steps = np.concatenate([c.env_steps for c in curves])
    steps = steps[steps > 0]
    if steps.size == 0:
        return []
    low, high = math.ceil(math.log10(steps.min())), math.ceil(math.log10(steps.max()))
    return [10**k for k in range(low, high + 1)]


def _fmt_budget(steps: int) -> str:
    exponent = round(math.log10(steps))
    return f"1e{exponent}" if exponent > 3 else str(steps)


def _at_budget(curve: AdaptationCurve, budget: int) -> str:
    within = np.flatnonzero(curve.env_steps <= budget)
    if within.size == 0:
        return "-"
    i = int(within[-1])
    text = f"{curve.mean[i]:.4g}"
    if curve.normalized_mean is not None:
        text += f" ({curve.normalized_mean[i]:.2f})"
    return text


def budget_table(
    curves: Sequence[AdaptationCurve], labels: Sequence[str], table: Table = text_table
) -> str:
    """Each curve's mean return (normalized in brackets, where the family has references) at
    its last point within 10², 10³, ... env steps on the new task; "-" where it has none."""
    marks = budgets(curves)
    header = ["run", *[f"≤{_fmt_budget(b)} steps" for b in marks]]
    rows = [header] + [
        [label, *[_at_budget(c, b) for b in marks]] for c, label in zip(curves, labels)
    ]
    title = "return at common budgets of env steps on the new task"
    sep = "\n" if table is text_table else "\n\n"  # Markdown: a paragraph, then the table
    return title + sep + table(rows, 1)


def steps_to(curve: AdaptationCurve, target: float) -> float | None:
    """Mean env steps on the new task up to the curve's first point whose mean return is at
    least ``target``; None when no point reaches it. The answer is as fine as the curve's
    points: the target may be reached somewhere after the previous point."""
    reached = np.flatnonzero(curve.mean >= target)
    return float(curve.env_steps[reached[0]]) if reached.size else None


def last_below(curve: AdaptationCurve, target: float) -> float | None:
    """Mean env steps at the point just before the curve's first point that reaches ``target``:
    the target was reached somewhere after it, so with :func:`steps_to` it brackets the true
    crossing. None when the first point already reaches it or no point does."""
    reached = np.flatnonzero(curve.mean >= target)
    return float(curve.env_steps[reached[0] - 1]) if reached.size and reached[0] > 0 else None


def steps_to_table(
    curves: Sequence[AdaptationCurve],
    labels: Sequence[str],
    target: float,
    reference: int = 0,
    table: Table = text_table,
) -> str:
    """Per curve, :func:`steps_to` ``target``, the point before it (:func:`last_below`: the
    target was reached between the two) and its ratio to the reference curve's."""
    ref = steps_to(curves[reference], target)
    rows = [["run", f"env steps to return {target:g}", "last point below",
             f"× {labels[reference]}"]]  # fmt: skip
    for curve, label in zip(curves, labels):
        steps = steps_to(curve, target)
        if steps is None:
            best = float(curve.mean.max())
            rows.append([label, f"not reached (best {best:.4g})", "-", "-"])
            continue
        before = last_below(curve, target)
        ratio = "-" if not ref else f"{steps / ref:.3g}"
        rows.append([label, f"{steps:,.0f}", "-" if before is None else f"{before:,.0f}", ratio])
    return table(rows, 1)


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
                   help="a run directory (reads RUN/eval/adaptation.json), an adaptation.json, or "
                   "a sweep directory (one pooled curve per grid point: every seed's tasks)")  # fmt: skip
    p.add_argument("--labels", nargs="+", default=None,
                   help="names of the curves in the table and legend (default: the run names)")  # fmt: skip
    p.add_argument("--reference", type=int, default=1,
                   help="which curve (1 = the first RUN) the paired differences are taken to")  # fmt: skip
    p.add_argument("--out", default=DEFAULT_OUT,
                   help=f"the PNG to write (default {DEFAULT_OUT} in the current directory; an "
                   "earlier plot of metarl's is replaced, any other file needs --force)")  # fmt: skip
    p.add_argument("--force", action="store_true",
                   help="overwrite --out even if it is not a plot of metarl's")  # fmt: skip
    p.add_argument("--allow-different-tasks", action="store_true",
                   help="overlay curves of other families, parameters or held-out tasks (they are "
                   "refused by default) without pairing them")  # fmt: skip
    p.add_argument("--steps-to", type=float, default=None, metavar="R",
                   help="also print the env steps on the new task each curve needs to first reach "
                   "mean return R, and the ratio to the reference's")  # fmt: skip
    p.add_argument("--markdown", action="store_true",
                   help="print the tables as Markdown instead of aligned text, and nothing else "
                   "on stdout (the plot's path goes to stderr): `... --markdown > results.md`")  # fmt: skip
    p.add_argument("--x-axis", choices=("env_steps", "x"), default="env_steps",
                   help="env_steps: env steps on the new task (default); x: each curve's own "
                   "adaptation points (episode, gradient step)")  # fmt: skip
    return p


def pooled(curves: Sequence[AdaptationCurve]) -> AdaptationCurve:
    """One curve of a sweep's grid point: the held-out tasks of every seed side by side
    (``T = seeds × tasks``, each task tagged with its seed, in seed order), so two sweeps of the
    same seeds pair seed by seed and task by task. Its intervals are over those pooled tasks; the
    sweep's ``summary/`` has the stratified-over-seeds ones."""
    ordered = sorted(curves, key=lambda c: c.seed)
    first = ordered[0]
    if any(c.env_id != first.env_id or c.num_points != first.num_points for c in ordered):
        raise EvaluationError(
            f"the trials of {first.agent}'s grid point differ in family or points"
        )
    refs = {}
    for name in ("random_returns", "oracle_returns"):
        if all(getattr(c, name) is not None for c in ordered):
            refs[name] = np.concatenate([getattr(c, name) for c in ordered])
    return dataclasses.replace(
        first,
        returns=np.concatenate([c.returns for c in ordered]),
        tasks=[{"seed": c.seed, **t} for c in ordered for t in c.tasks],
        env_steps=np.mean([c.env_steps for c in ordered], axis=0),
        random_returns=refs.get("random_returns"),
        oracle_returns=refs.get("oracle_returns"),
        meta={"seeds": [c.seed for c in ordered], "pooled_trials": len(ordered)},
    )


def load_inputs(args: Sequence[str]) -> list[tuple[AdaptationCurve, str, dict[str, Any] | None]]:
    """``(curve, default label, family parameters)`` of each RUN argument; a sweep directory
    (one with ``trials/``) gives one pooled curve per grid point with finished trials."""
    out: list[tuple[AdaptationCurve, str, dict[str, Any] | None]] = []
    for arg in args:
        trials = Path(arg) / "trials"
        if not trials.is_dir():
            path = curve_file(arg)
            out.append((AdaptationCurve.load(path), default_label(path), run_env_kwargs(path)))
            continue
        before = len(out)
        for point in sorted(p for p in trials.iterdir() if p.is_dir()):
            files = sorted(point.glob(f"seed-*/eval/{JSON_NAME}"))
            if files:
                curve = pooled([AdaptationCurve.load(f) for f in files])
                out.append((curve, f"{Path(arg).name}/{point.name}", run_env_kwargs(files[0])))
        if len(out) == before:
            raise EvaluationError(f"the sweep {arg} has no finished trial yet: wait, or resume it")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m metarl.compare``."""
    args = _parser().parse_args(argv)
    replaces = cli.check_png(args.out, args.force)
    inputs = load_inputs(args.runs)
    curves = [c for c, _, _ in inputs]
    labels = args.labels or _unique([label for _, label, _ in inputs])
    if len(labels) != len(curves):
        raise EvaluationError(f"--labels names {len(labels)} curves, but there are {len(curves)}")
    if not 1 <= args.reference <= len(curves):
        raise EvaluationError(
            f"--reference must be between 1 and {len(curves)} (a curve's position)"
        )
    ref = args.reference - 1
    mismatch = different_tasks(curves, labels, [k for _, _, k in inputs], ref)
    if mismatch and not args.allow_different_tasks:
        raise EvaluationError(
            f"{mismatch}: compare runs of one family, parameters and seed (python -m "
            "metarl.baselines and metarl.train with the same --env, --env-kwargs and --seed), or "
            "add --allow-different-tasks to overlay them unpaired"
        )
    table = markdown_table if args.markdown else text_table
    gap = "\n" if args.markdown else ""  # Markdown needs a blank line between tables
    print(comparison_table(curves, labels, ref, table))
    if budgets(curves):
        print(gap + budget_table(curves, labels, table))
    if args.steps_to is not None:
        print(gap + steps_to_table(curves, labels, args.steps_to, ref, table))
    cli.write_plot(
        lambda: plot_curves(curves, args.out, x_axis=args.x_axis, labels=labels),
        args.out,
        replaces,
        sys.stderr if args.markdown else None,  # stdout holds only the Markdown
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run_main(main, None))
