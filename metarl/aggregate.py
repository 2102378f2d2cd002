"""Aggregates of a sweep's adaptation curves over seeds × held-out tasks (``DIR/summary/``).

    python -m metarl.aggregate SWEEP_DIR     # (re)write SWEEP_DIR/summary/ from its trials

A grid point's trials (one per training seed ``s = 1..S``) each evaluated ``T`` held-out tasks
at ``P`` adaptation points: a score array ``(S, T, P)``. Task ``t`` of seed ``s`` is drawn from
the seed, so two seeds never share tasks; the seeds are the runs and the tasks within a seed the
repeated measurements. Per adaptation point this module reports, over all ``S × T`` scores:

- the **mean** (equal to the mean of the per-seed means, as every seed has ``T`` tasks), and
- the **interquartile mean** (IQM: the mean of the middle 50% of the ``S × T`` scores after
  cutting ``floor(0.25 · S · T)`` from each end, as ``scipy.stats.trim_mean(x, 0.25)``; Agarwal
  et al. 2021, "Deep RL at the edge of the statistical precipice"),

each with a 95% **stratified bootstrap** percentile interval: in each of ``n_resamples``
resamples, for every task index ``t`` independently, ``S`` seeds are drawn with replacement and
column ``t`` of the resampled ``(S, T)`` matrix is those seeds' task-``t`` scores. That is
rliable's ``StratifiedBootstrap`` with the seeds as its runs and the task index as its strata
(what resamples is the seeds; the tasks within a seed are not resampled, each column keeps its
``S`` draws). The generator is ``np.random.default_rng(seed)`` with a fixed seed, so the same
scores always give the same interval; the interval is widened, if need be, to contain the point
estimate. With ``S == 1`` the interval is the estimate itself.

Files of :func:`write_summary`: ``summary.json`` (every number, plus each seed's mean curve),
``summary.csv`` (one row per grid point and adaptation point), ``summary.png`` (the IQM and its
band, one per grid point; for families with random/oracle references a normalized panel and the
performance profile at the final point: the fraction of the ``S × T`` normalized scores above
each threshold, with the same bootstrap band) and ``ranking.md`` (grid points ranked by the IQM
at the final adaptation point).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from metarl import cli
from metarl.evaluation import JSON_NAME, AdaptationCurve, EvaluationError, save_png
from metarl.fileio import atomic_write

__all__ = [
    "GridPointSummary",
    "iqm",
    "main",
    "mean",
    "performance_profile",
    "profiles_at_final_point",
    "ranking_table",
    "stratified_bootstrap_ci",
    "summarize",
    "sweep_curves",
    "write_summary",
]

SUMMARY = "summary"
CONFIDENCE = 0.95
RESAMPLES = 2000
BOOTSTRAP_SEED = 0
_CHUNK = 250  # resamples per vectorized batch (memory ~ _CHUNK * S * T * P floats)

Statistic = Callable[[np.ndarray], np.ndarray]
"""Maps scores ``(..., S, T, P)`` to ``(..., P)``."""


def iqm(scores: np.ndarray) -> np.ndarray:
    """Interquartile mean over the seed and task axes: ``(..., S, T, P)`` → ``(..., P)``.

    The ``n = S · T`` scores of each point are sorted and ``floor(0.25 · n)`` are cut from each end
    (``scipy.stats.trim_mean(x, 0.25)``, rliable's ``aggregate_iqm``)."""
    arr = np.asarray(scores, dtype=np.float64)
    flat = arr.reshape(*arr.shape[:-3], -1, arr.shape[-1])  # (..., n, P)
    n = flat.shape[-2]
    cut = int(0.25 * n)
    ordered = np.sort(flat, axis=-2)
    return ordered[..., cut : n - cut, :].mean(axis=-2)


def mean(scores: np.ndarray) -> np.ndarray:
    """Mean over the seed and task axes: ``(..., S, T, P)`` → ``(..., P)``."""
    arr = np.asarray(scores, dtype=np.float64)
    return arr.mean(axis=(-3, -2))


def stratified_bootstrap_ci(
    scores: np.ndarray,
    statistic: Statistic,
    confidence: float = CONFIDENCE,
    n_resamples: int = RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of ``statistic`` under the stratified bootstrap of the module doc.

    ``scores`` has shape ``(S, T, P)`` (seeds, tasks, adaptation points); ``statistic`` maps
    ``(B, S, T, P)`` to ``(B, P)`` (:func:`mean`, :func:`iqm`). Returns ``(low, high)``, each
    ``(P,)``, widened to contain ``statistic(scores)``."""
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 3 or 0 in arr.shape:
        raise EvaluationError(
            f"scores must have shape (S, T, P) with S, T, P >= 1, got {arr.shape}"
        )
    if not 0.0 < confidence < 1.0:
        raise EvaluationError(f"confidence must be in (0, 1), got {confidence}")
    if n_resamples < 1:
        raise EvaluationError(f"n_resamples must be >= 1, got {n_resamples}")
    point = statistic(arr[None])[0]
    num_seeds, num_tasks, _ = arr.shape
    if num_seeds == 1:
        return point, point.copy()
    rng = np.random.default_rng(seed)
    columns = np.arange(num_tasks)[None, None, :]
    stats = []
    for start in range(0, n_resamples, _CHUNK):
        size = min(_CHUNK, n_resamples - start)
        rows = rng.integers(0, num_seeds, size=(size, num_seeds, num_tasks))  # (B, S, T)
        stats.append(statistic(arr[rows, columns]))  # arr[rows, cols]: (B, S, T, P)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(np.concatenate(stats), [alpha, 1.0 - alpha], axis=0)
    return np.minimum(low, point), np.maximum(high, point)


def performance_profile(
    scores: np.ndarray, taus: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score distribution (rliable's performance profile): the fraction of the ``S × T`` scores
    ``(S, T)`` above each threshold of ``taus`` ``(K,)``, with its stratified bootstrap 95%
    interval; returns ``(fraction, low, high)``, each ``(K,)``."""
    thresholds = np.asarray(taus, dtype=np.float64)

    def above(x: np.ndarray) -> np.ndarray:  # (B, S, T, 1) -> (B, K)
        return (x[..., 0][..., None] > thresholds).mean(axis=(-3, -2))

    arr = np.asarray(scores, dtype=np.float64)[..., None]
    low, high = stratified_bootstrap_ci(arr, above)
    return above(arr[None])[0], low, high


@dataclasses.dataclass(frozen=True)
class GridPointSummary:
    """The aggregate curve of one grid point over its seeds (arrays are ``(P,)``)."""

    name: str  # "lr=0.001,hidden_size=64" or "default"
    seeds: list[int]  # S training seeds, in order
    num_tasks: int  # T held-out tasks per seed
    x_label: str
    x: np.ndarray  # (P,) adaptation points
    env_steps: np.ndarray  # (P,) env steps on the new task, mean over seeds
    per_seed_mean: np.ndarray  # (S, P) each seed's mean over its tasks
    stats: dict[str, np.ndarray]  # "mean", "mean_ci_low", ..., "iqm_ci_high", "normalized_*"
    final_normalized: np.ndarray | None = None  # (S, T) normalized scores at the final point

    def final(self, key: str = "iqm") -> float:
        """``stats[key]`` at the final adaptation point."""
        return float(self.stats[key][-1])

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (lists for arrays)."""
        return {
            "name": self.name,
            "seeds": self.seeds,
            "num_tasks": self.num_tasks,
            "x_label": self.x_label,
            "x": self.x.tolist(),
            "env_steps": self.env_steps.tolist(),
            **{k: v.tolist() for k, v in self.stats.items()},
            "per_seed_mean": self.per_seed_mean.tolist(),
        }


def _interval_stats(prefix: str, scores: np.ndarray) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name, fn in (("mean", mean), ("iqm", iqm)):
        low, high = stratified_bootstrap_ci(scores, fn)
        out[f"{prefix}{name}"] = fn(scores[None])[0]
        out[f"{prefix}{name}_ci_low"], out[f"{prefix}{name}_ci_high"] = low, high
    return out


def summarize(name: str, curves: Sequence[AdaptationCurve]) -> GridPointSummary:
    """The aggregate of one grid point's curves (one per seed; same ``T`` and ``P``)."""
    if not curves:
        raise EvaluationError(f"grid point {name} has no finished trial to aggregate")
    shapes = {c.returns.shape for c in curves}
    if len(shapes) != 1:
        raise EvaluationError(
            f"the trials of grid point {name} have different (tasks, points) shapes "
            f"{sorted(shapes)}: their curves cannot be aggregated; re-run `python -m "
            "metarl.evaluate` on the odd ones without --budget"
        )
    curves = sorted(curves, key=lambda c: c.seed)
    scores = np.stack([c.returns for c in curves])  # (S, T, P)
    stats = _interval_stats("", scores)
    norm = None
    if all(c.has_references for c in curves):
        norm = np.stack([c.normalized() for c in curves])  # type: ignore[misc]
        stats.update(_interval_stats("normalized_", norm))
    return GridPointSummary(
        name=name,
        seeds=[c.seed for c in curves],
        num_tasks=scores.shape[1],
        x_label=curves[0].x_label,
        x=curves[0].x,
        env_steps=np.mean([c.env_steps for c in curves], axis=0),
        per_seed_mean=scores.mean(axis=1),
        stats=stats,
        final_normalized=None if norm is None else norm[:, :, -1],
    )


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def _csv_text(summaries: Sequence[GridPointSummary]) -> str:
    keys = list(dict.fromkeys(k for s in summaries for k in s.stats))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["grid_point", "seeds", "tasks_per_seed", "x", "env_steps", *keys])
    for s in summaries:
        for p in range(len(s.x)):
            values = [f"{s.stats[k][p]:.6g}" if k in s.stats else "" for k in keys]
            writer.writerow([s.name, len(s.seeds), s.num_tasks, f"{s.x[p]:g}",
                             f"{s.env_steps[p]:.6g}", *values])  # fmt: skip
    return buffer.getvalue()


def ranking_table(summaries: Sequence[GridPointSummary], missing: dict[str, int]) -> str:
    """Markdown: grid points ranked by the IQM at the final adaptation point (best first)."""
    norm = all("normalized_iqm" in s.stats for s in summaries)
    head = "| rank | grid point | seeds × tasks | final IQM [95% CI] | final mean [95% CI] |"
    rule = "|---:|---|---:|---|---|"
    if norm:
        head += " final normalized IQM [95% CI] |"
        rule += "---|"
    lines = [head, rule]

    def ci(s: GridPointSummary, key: str) -> str:
        return (f"{s.final(key):.4g} [{s.final(key + '_ci_low'):.4g}, "
                f"{s.final(key + '_ci_high'):.4g}]")  # fmt: skip

    ranked = sorted(summaries, key=lambda s: -s.final("iqm"))
    for rank, s in enumerate(ranked, 1):
        seeds = f"{len(s.seeds)} × {s.num_tasks}"
        if missing.get(s.name):
            seeds += f" ({missing[s.name]} unfinished)"
        row = f"| {rank} | `{s.name}` | {seeds} | {ci(s, 'iqm')} | {ci(s, 'mean')} |"
        lines.append(row + (f" {ci(s, 'normalized_iqm')} |" if norm else ""))
    x = ranked[0]
    lines.append("")
    lines.append(
        f"Final point: {x.x_label} {x.x[-1]:g}. Intervals: stratified bootstrap over seeds "
        f"({RESAMPLES} resamples, seeds drawn per task index; see metarl.aggregate)."
    )
    return "\n".join(lines) + "\n"


def _figure(summaries: Sequence[GridPointSummary], profiles: dict[str, dict]) -> Any:
    from matplotlib.figure import Figure

    norm = all("normalized_iqm" in s.stats for s in summaries)
    panels = (2 if norm else 1) + bool(profiles)
    fig = Figure(figsize=(6.4 * panels, 4.6), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]
    for s in summaries:
        label = f"{s.name} ({len(s.seeds)} seeds)"
        for ax, prefix in zip(axes, ("", "normalized_")):
            st = s.stats
            (line,) = ax.plot(s.x, st[f"{prefix}iqm"], marker="o", ms=3, label=label)
            low, high = st[f"{prefix}iqm_ci_low"], st[f"{prefix}iqm_ci_high"]
            ax.fill_between(s.x, low, high, color=line.get_color(), alpha=0.25, lw=0)
    axes[0].set_ylabel("return (IQM over seeds × tasks)")
    if norm:
        axes[1].set_ylabel("normalized score (IQM)")
    if profiles:
        _profile_panel(axes[-1], summaries, profiles)
    for ax in axes[: 2 if norm else 1]:
        if all(np.all(s.x == np.round(s.x)) for s in summaries):
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(" / ".join(dict.fromkeys(s.x_label for s in summaries)))
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle("sweep: IQM with 95% stratified bootstrap band over seeds")
    return fig


def _profile_panel(ax: Any, summaries: Sequence[GridPointSummary], profiles: dict) -> None:
    """Performance profiles at the final point, one band per grid point."""
    for s in summaries:
        prof = profiles[s.name]
        (line,) = ax.plot(prof["tau"], prof["fraction"], label=s.name)
        ax.fill_between(prof["tau"], prof["ci_low"], prof["ci_high"], color=line.get_color(),
                        alpha=0.25, lw=0)  # fmt: skip
    ax.set_xlabel("normalized score τ (final point)")
    ax.set_ylabel("fraction of seeds × tasks with score > τ")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")


def profiles_at_final_point(summaries: Sequence[GridPointSummary]) -> dict[str, dict]:
    """Each grid point's performance profile of the normalized score at the final point, on
    common thresholds (41 from min(0, lowest score) to max(1, highest)); {} without references."""
    finals = [s.final_normalized for s in summaries]
    if any(f is None for f in finals):
        return {}
    every = np.concatenate([f.ravel() for f in finals])  # type: ignore[union-attr]
    taus = np.linspace(min(0.0, every.min()), max(1.0, every.max()), 41)
    out = {}
    for s in summaries:
        fraction, low, high = performance_profile(s.final_normalized, taus)  # type: ignore[arg-type]
        out[s.name] = {"tau": taus.tolist(), "fraction": fraction.tolist(),
                       "ci_low": low.tolist(), "ci_high": high.tolist()}  # fmt: skip
    return out


def write_summary(
    out: str | os.PathLike[str],
    points: dict[str, Sequence[AdaptationCurve]],
    missing: dict[str, int] | None = None,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Aggregate each grid point's curves and write ``out/summary.{json,csv,png}`` and
    ``out/ranking.md`` (atomically). ``missing`` counts each grid point's unfinished trials.
    Returns ``out``."""
    missing = missing or {}
    summaries = [summarize(name, curves) for name, curves in points.items() if curves]
    if not summaries:
        raise EvaluationError("no finished trial to aggregate: run or --resume the sweep first")
    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    data = {
        "format_version": 1,
        "confidence": CONFIDENCE,
        "resamples": RESAMPLES,
        "bootstrap": "stratified over seeds: per task index, seeds drawn with replacement",
        "meta": meta or {},
        "ranking": [s.name for s in sorted(summaries, key=lambda s: -s.final("iqm"))],
        "unfinished": {k: v for k, v in missing.items() if v},
        "grid_points": [s.to_json() for s in summaries],
    }
    profiles = profiles_at_final_point(summaries)
    for point in data["grid_points"]:
        if point["name"] in profiles:
            point["performance_profile"] = profiles[point["name"]]
    text = json.dumps(data, indent=1)
    atomic_write(path / "summary.json", lambda f: f.write(text.encode()))
    atomic_write(path / "summary.csv", lambda f: f.write(_csv_text(summaries).encode()))
    table = ranking_table(summaries, missing)
    atomic_write(path / "ranking.md", lambda f: f.write(table.encode()))
    save_png(_figure(summaries, profiles), path / "summary.png")
    return path


def sweep_curves(
    sweep_dir: str | os.PathLike[str],
) -> tuple[dict[str, list[AdaptationCurve]], dict[str, int]]:
    """The finished curves of ``sweep_dir/trials/<grid point>/seed-<s>/`` by grid point, and the
    number of unfinished trials (no ``eval/adaptation.json``) of each."""
    trials = Path(sweep_dir) / "trials"
    if not trials.is_dir():
        raise EvaluationError(f"{sweep_dir} is not a sweep directory (no trials/): check the path")
    points: dict[str, list[AdaptationCurve]] = {}
    missing: dict[str, int] = {}
    for point in sorted(p for p in trials.iterdir() if p.is_dir()):
        points[point.name], missing[point.name] = [], 0
        for trial in sorted(point.glob("seed-*")):
            file = trial / "eval" / JSON_NAME
            if file.is_file():
                points[point.name].append(AdaptationCurve.load(file))
            else:
                missing[point.name] += 1
    return points, missing


def build_parser() -> cli.ArgumentParser:
    """The parser of ``python -m metarl.aggregate``."""
    p = cli.ArgumentParser(
        prog="python -m metarl.aggregate",
        description="Aggregate a sweep's finished trials over seeds × held-out tasks (mean and "
        "IQM with stratified bootstrap 95% intervals) into SWEEP_DIR/summary/.",
    )
    p.add_argument("sweep_dir", help="a directory written by python -m metarl.sweep")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m metarl.aggregate``."""
    args = build_parser().parse_args(argv)
    points, missing = sweep_curves(args.sweep_dir)
    out = write_summary(Path(args.sweep_dir) / SUMMARY, points, missing)
    print((out / "ranking.md").read_text(), end="")
    print(f"summary: {out}/summary.json, summary.csv, summary.png, ranking.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run_main(main, None))
