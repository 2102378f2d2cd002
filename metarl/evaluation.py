"""Adaptation curves on held-out tasks: the data type every agent and baseline writes.

An :class:`AdaptationCurve` holds the return of each of ``T`` held-out tasks at each of ``P``
adaptation points (episode 1..N of an RL² trial, gradient step 0..K of MAML, env-step checkpoints
of a from-scratch baseline), the x-axis of those points and the mean env steps spent on the new
task up to and including each point. It is agent-independent: RL², MAML and the baselines all
produce one, and ``metarl.compare`` overlays them on the shared axis "env steps on the new task".

Summary statistics are over tasks: the mean and a 95% percentile-bootstrap confidence interval
(:func:`bootstrap_ci`, a fixed seeded generator, so the same curve always gets the same band).
Where the task family states per-task ``random`` and ``oracle`` reference returns, the normalized
score ``(R - random) / (oracle - random)`` is reported too (0 = random policy, 1 = oracle).

Files (:meth:`AdaptationCurve.save`, all written atomically into one directory):

- ``adaptation.json``: every field, plus the derived ``mean``/``ci_low``/``ci_high`` (and the
  normalized ones) for readers that do not use metarl; :meth:`AdaptationCurve.load` reads it back.
- ``adaptation.csv``: one row per adaptation point.
- ``adaptation.png``: mean with a shaded 95% band, references as dashed lines, and a second panel
  with the normalized score when references are available.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np

from metarl.fileio import atomic_write

__all__ = [
    "CSV_NAME",
    "FORMAT_VERSION",
    "JSON_NAME",
    "PNG_NAME",
    "AdaptationCurve",
    "EvaluationError",
    "Table",
    "bootstrap_ci",
    "build_curve",
    "checkpoint_text",
    "curve_file",
    "format_ci",
    "is_metarl_png",
    "markdown_table",
    "plot_curves",
    "save_png",
    "summary_table",
    "text_table",
]

JSON_NAME = "adaptation.json"
CSV_NAME = "adaptation.csv"
PNG_NAME = "adaptation.png"
FORMAT_VERSION = 1

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95
# The normalized score divides by (oracle - random). Where the two references (nearly) coincide the
# task cannot separate a good policy from a random one; the denominator is then pushed away from
# zero to NORMALIZE_EPS * max(1, |oracle|, |random|) (keeping its sign), so the score stays finite
# (and near 0 for a return near the references) instead of becoming inf/NaN.
NORMALIZE_EPS = 1e-6

_INPUT_FIELDS = ("agent", "env", "env_id", "split", "seed", "x_label", "x", "env_steps", "returns")
_REGENERATE = "re-run `python -m metarl.evaluate RUN_DIR` to write it again"


class EvaluationError(ValueError):
    """An adaptation curve is malformed, or its file is missing or unreadable."""


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


def bootstrap_ci(
    values: np.ndarray,
    confidence: float = CONFIDENCE,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile-bootstrap confidence interval of the mean over the first axis.

    ``values`` has shape ``(T, ...)`` (``T`` tasks); returns ``(low, high)``, each of shape
    ``(...)``. Tasks are resampled with replacement ``n_resamples`` times with a fresh
    ``np.random.default_rng(seed)`` (no global RNG: the same input always gives the same interval).
    Resampling is vectorized as multinomial counts times the values, so memory is
    ``O(n_resamples * (T + prod(...)))``. The interval is widened, if need be, to contain the sample
    mean (a percentile interval can miss it by rounding, e.g. when all values are equal). With
    ``T == 1`` the interval is the single value.
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise EvaluationError(
            f"bootstrap_ci needs values of shape (T, ...) with T >= 1, got {arr.shape}"
        )
    if not 0.0 < confidence < 1.0:
        raise EvaluationError(f"confidence must be in (0, 1), got {confidence}")
    if n_resamples < 1:
        raise EvaluationError(f"n_resamples must be >= 1, got {n_resamples}")
    num = arr.shape[0]
    flat = arr.reshape(num, -1)
    mean = flat.mean(axis=0)
    if num == 1:
        return mean.reshape(arr.shape[1:]), mean.reshape(arr.shape[1:]).copy()
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(num, np.full(num, 1.0 / num), size=n_resamples)  # (B, T)
    means = counts.astype(np.float64) @ flat / num  # (B, prod(...))
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha], axis=0)
    low, high = np.minimum(low, mean), np.maximum(high, mean)
    return low.reshape(arr.shape[1:]), high.reshape(arr.shape[1:])


def _normalize(returns: np.ndarray, random: np.ndarray, oracle: np.ndarray) -> np.ndarray:
    """``(R - random) / (oracle - random)`` per task: ``returns`` (T, P), references (T,)."""
    denom = oracle - random
    scale = NORMALIZE_EPS * np.maximum(1.0, np.maximum(np.abs(oracle), np.abs(random)))
    denom = np.where(np.abs(denom) < scale, np.where(denom < 0, -scale, scale), denom)
    return (returns - random[:, None]) / denom[:, None]


# --------------------------------------------------------------------------------------------
# The curve
# --------------------------------------------------------------------------------------------


def curve_file(path: str | os.PathLike[str]) -> Path:
    """The ``adaptation.json`` that ``path`` names: a run directory (its ``eval/adaptation.json``),
    the folder of the file, or the file itself (whether it exists is the caller's check)."""
    path = Path(path)
    if (path / "eval" / JSON_NAME).is_file():
        return path / "eval" / JSON_NAME
    return path / JSON_NAME if path.is_dir() else path


@dataclasses.dataclass(frozen=True, eq=False)
class AdaptationCurve:
    """Returns of ``T`` held-out tasks at ``P`` adaptation points.

    Array fields are stored as read-only float64 copies; ``tasks`` and ``meta`` are stored as
    their JSON round trip (so they must be JSON-serializable; numpy scalars/arrays and paths in
    ``meta`` are converted). Equality compares every field exactly.
    """

    agent: str  # "rl2", "maml", "ppo", "ucb1", ...
    env: str  # the short name or what the user passed to --env
    env_id: str  # Gymnasium id, e.g. "metarl/Nav2D-v0"
    split: str  # "test" normally
    seed: int
    x_label: str  # "episode" (RL²), "gradient step" (MAML), "env steps" (from-scratch baselines)
    x: np.ndarray  # (P,) adaptation points
    env_steps: np.ndarray  # (P,) mean env steps on the new task up to and including each point
    returns: np.ndarray  # (T, P) per-episode return of each task at each point
    tasks: list[dict]  # the T tasks as JSON dicts (Task.to_json())
    random_returns: np.ndarray | None = None  # (T,) per-episode return of a random policy
    oracle_returns: np.ndarray | None = None  # (T,) per-episode return of an oracle
    meta: dict = dataclasses.field(default_factory=dict)  # train steps, wall time, device, config

    def __post_init__(self) -> None:
        for name in ("agent", "env", "env_id", "split", "x_label"):
            if not isinstance(getattr(self, name), str):
                raise EvaluationError(
                    f"AdaptationCurve.{name} must be a str, got {getattr(self, name)!r}"
                )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer):
            raise EvaluationError(f"AdaptationCurve.seed must be an int, got {self.seed!r}")
        object.__setattr__(self, "seed", int(self.seed))
        returns = _float_array("returns", self.returns, ndim=2)
        num_tasks, num_points = returns.shape
        if num_tasks == 0 or num_points == 0:
            raise EvaluationError(
                f"AdaptationCurve.returns must have shape (T, P) with T, P >= 1, got {returns.shape}"
            )
        x = _float_array("x", self.x, ndim=1, length=num_points)
        env_steps = _float_array("env_steps", self.env_steps, ndim=1, length=num_points)
        if np.any(env_steps < 0) or np.any(np.diff(env_steps) < 0):
            raise EvaluationError(
                "AdaptationCurve.env_steps must be cumulative (non-negative and non-decreasing), "
                f"got {env_steps.tolist()}"
            )
        refs = {}
        for name in ("random_returns", "oracle_returns"):
            value = getattr(self, name)
            refs[name] = None if value is None else _float_array(name, value, 1, num_tasks)
        tasks = self._checked_tasks(num_tasks)
        for name, value in [
            ("x", x),
            ("env_steps", env_steps),
            ("returns", returns),
            *refs.items(),
        ]:
            object.__setattr__(self, name, value)
        object.__setattr__(self, "tasks", tasks)
        object.__setattr__(self, "meta", self._checked_meta())

    def _checked_tasks(self, num_tasks: int) -> list[dict]:
        if not isinstance(self.tasks, list | tuple) or len(self.tasks) != num_tasks:
            got = (
                len(self.tasks)
                if isinstance(self.tasks, list | tuple)
                else type(self.tasks).__name__
            )
            raise EvaluationError(
                f"AdaptationCurve.tasks must be a list of {num_tasks} task dicts (one per row of "
                f"returns), got {got}"
            )
        if not all(isinstance(t, dict) for t in self.tasks):
            raise EvaluationError("AdaptationCurve.tasks must hold dicts (use Task.to_json())")
        try:
            return json.loads(json.dumps(list(self.tasks), default=_json_default))
        except (TypeError, ValueError) as exc:
            raise EvaluationError(
                f"AdaptationCurve.tasks must be JSON-serializable: {exc}"
            ) from exc

    def _checked_meta(self) -> dict:
        if not isinstance(self.meta, dict):
            raise EvaluationError(
                f"AdaptationCurve.meta must be a dict, got {type(self.meta).__name__}"
            )
        try:
            return json.loads(json.dumps(self.meta, default=_json_default))
        except (TypeError, ValueError) as exc:
            raise EvaluationError(f"AdaptationCurve.meta must be JSON-serializable: {exc}") from exc

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AdaptationCurve):
            return NotImplemented
        for f in dataclasses.fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if a is None or b is None or not np.array_equal(a, b):
                    return False
            elif a != b:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    # ---- sizes ----------------------------------------------------------------------------

    @property
    def num_tasks(self) -> int:
        """``T``, the number of held-out tasks."""
        return self.returns.shape[0]

    @property
    def num_points(self) -> int:
        """``P``, the number of adaptation points."""
        return self.returns.shape[1]

    @property
    def has_references(self) -> bool:
        """Whether both random and oracle reference returns are present."""
        return self.random_returns is not None and self.oracle_returns is not None

    # ---- raw returns ----------------------------------------------------------------------

    @cached_property
    def mean(self) -> np.ndarray:
        """(P,) mean return over tasks at each point."""
        return self.returns.mean(axis=0)

    @cached_property
    def _ci(self) -> tuple[np.ndarray, np.ndarray]:
        return bootstrap_ci(self.returns)

    @property
    def ci_low(self) -> np.ndarray:
        """(P,) lower end of the 95% bootstrap CI of the mean over tasks."""
        return self._ci[0]

    @property
    def ci_high(self) -> np.ndarray:
        """(P,) upper end of the 95% bootstrap CI of the mean over tasks."""
        return self._ci[1]

    def total_return(self) -> np.ndarray:
        """(T,) sum of each task's returns over all points (a bandit's "total reward")."""
        return self.returns.sum(axis=1)

    # ---- normalized score -----------------------------------------------------------------

    def normalized(self) -> np.ndarray | None:
        """(T, P) ``(R - random) / (oracle - random)`` per task, or None without references.

        A denominator smaller in magnitude than ``NORMALIZE_EPS * max(1, |oracle|, |random|)`` is
        replaced by that value (sign kept), so the score is always finite.
        """
        if not self.has_references:
            return None
        return self._normalized

    @cached_property
    def _normalized(self) -> np.ndarray:
        assert self.random_returns is not None and self.oracle_returns is not None
        return _normalize(self.returns, self.random_returns, self.oracle_returns)

    @property
    def normalized_mean(self) -> np.ndarray | None:
        """(P,) mean normalized score over tasks, or None without references."""
        norm = self.normalized()
        return None if norm is None else norm.mean(axis=0)

    @cached_property
    def _normalized_ci(self) -> tuple[np.ndarray, np.ndarray] | None:
        norm = self.normalized()
        return None if norm is None else bootstrap_ci(norm)

    @property
    def normalized_ci_low(self) -> np.ndarray | None:
        """(P,) lower end of the 95% bootstrap CI of the normalized score, or None."""
        return None if self._normalized_ci is None else self._normalized_ci[0]

    @property
    def normalized_ci_high(self) -> np.ndarray | None:
        """(P,) upper end of the 95% bootstrap CI of the normalized score, or None."""
        return None if self._normalized_ci is None else self._normalized_ci[1]

    # ---- JSON -----------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field plus the derived statistics (lists for arrays)."""
        data: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "agent": self.agent,
            "env": self.env,
            "env_id": self.env_id,
            "split": self.split,
            "seed": self.seed,
            "x_label": self.x_label,
            "num_tasks": self.num_tasks,
            "num_points": self.num_points,
            "x": self.x.tolist(),
            "env_steps": self.env_steps.tolist(),
            "returns": self.returns.tolist(),
            "mean": self.mean.tolist(),
            "ci_low": self.ci_low.tolist(),
            "ci_high": self.ci_high.tolist(),
            "tasks": self.tasks,
        }
        if self.random_returns is not None:
            data["random_returns"] = self.random_returns.tolist()
        if self.oracle_returns is not None:
            data["oracle_returns"] = self.oracle_returns.tolist()
        if self.has_references:
            data["normalized_mean"] = self.normalized_mean.tolist()  # type: ignore[union-attr]
            data["normalized_ci_low"] = self.normalized_ci_low.tolist()  # type: ignore[union-attr]
            data["normalized_ci_high"] = self.normalized_ci_high.tolist()  # type: ignore[union-attr]
        data["meta"] = self.meta
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AdaptationCurve:
        """Rebuild a curve from :meth:`to_json` output (derived statistics are recomputed)."""
        if not isinstance(data, dict):
            raise EvaluationError(
                f"an adaptation curve must be a JSON object, got {type(data).__name__}"
            )
        missing = [k for k in (*_INPUT_FIELDS, "tasks") if k not in data]
        if missing:
            raise EvaluationError(f"adaptation curve JSON lacks the keys {missing}")
        version = data.get("format_version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise EvaluationError(
                f"adaptation curve format_version {version!r} is not supported (expected "
                f"{FORMAT_VERSION}); upgrade metarl or {_REGENERATE}"
            )
        return cls(
            **{k: data[k] for k in _INPUT_FIELDS},
            tasks=data["tasks"],
            random_returns=data.get("random_returns"),
            oracle_returns=data.get("oracle_returns"),
            meta=data.get("meta", {}),
        )

    # ---- files ----------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``adaptation.json``, ``adaptation.csv`` and ``adaptation.png`` into ``directory``.

        Creates the directory; each file is written to a temporary file and moved into place, so a
        crash never leaves a half-written file. Returns the path of ``adaptation.json``.
        """
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_json(), indent=1, default=_json_default)
        atomic_write(out / JSON_NAME, lambda f: f.write(text.encode()))
        atomic_write(out / CSV_NAME, lambda f: f.write(self.to_csv().encode()))
        fig = self.figure()
        save_png(fig, out / PNG_NAME)
        return out / JSON_NAME

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> AdaptationCurve:
        """Read ``adaptation.json``: ``path`` is the file, the directory holding it, or a run
        directory (its ``eval/adaptation.json``).

        Raises :class:`EvaluationError` when the file is missing, not JSON or not a valid curve.
        """
        file = curve_file(path)
        if not file.is_file():
            raise EvaluationError(
                f"no adaptation curve at {file}: evaluate the run first with "
                "`python -m metarl.evaluate RUN_DIR` (it writes RUN_DIR/eval/adaptation.json)"
            )
        try:
            data = json.loads(file.read_text())
            return cls.from_json(data)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, EvaluationError) as exc:
            if file.name != JSON_NAME:  # not one of ours: never suggest deleting it
                raise EvaluationError(
                    f"{file} is not an adaptation curve ({exc}): give a run directory or its "
                    f"eval/{JSON_NAME}"
                ) from None
            raise EvaluationError(
                f"{file} is not a valid adaptation curve ({exc}); delete it and {_REGENERATE}"
            ) from exc

    def to_csv(self) -> str:
        """The per-point table: x, env_steps, mean, ci_low, ci_high [, normalized_*]."""
        columns = {
            "x": self.x,
            "env_steps": self.env_steps,
            "mean": self.mean,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
        }
        if self.has_references:
            columns["normalized_mean"] = self.normalized_mean  # type: ignore[assignment]
            columns["normalized_ci_low"] = self.normalized_ci_low  # type: ignore[assignment]
            columns["normalized_ci_high"] = self.normalized_ci_high  # type: ignore[assignment]
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for i in range(self.num_points):
            writer.writerow([repr(float(col[i])) for col in columns.values()])
        return buf.getvalue()

    def figure(self) -> Any:
        """A matplotlib ``Figure`` of the curve (no pyplot, no global state; Agg-renderable)."""
        from matplotlib.figure import Figure

        panels = 2 if self.has_references else 1
        fig = Figure(figsize=(6.4 * panels, 4.4), layout="constrained")
        axes = fig.subplots(1, panels, squeeze=False)[0]
        _plot_band(axes[0], self.x, self.mean, self.ci_low, self.ci_high, label=self.agent)
        # each reference the family states is drawn, also one without the other (ant-goal: random)
        if self.random_returns is not None:
            axes[0].axhline(float(self.random_returns.mean()), ls="--", c="0.5", label="random")
        if self.oracle_returns is not None:
            axes[0].axhline(float(self.oracle_returns.mean()), ls="--", c="k", label="oracle")
        if self.has_references:
            nm, lo, hi = self.normalized_mean, self.normalized_ci_low, self.normalized_ci_high
            _plot_band(axes[1], self.x, nm, lo, hi, label=self.agent)  # type: ignore[arg-type]
            axes[1].axhline(0.0, ls="--", c="0.5", label="random")
            axes[1].axhline(1.0, ls="--", c="k", label="oracle")
            axes[1].set_ylabel("normalized score")
            axes[1].set_title("(R - random) / (oracle - random)")
        axes[0].set_ylabel("return per episode (mean, 95% CI)")
        for ax in axes:
            ax.set_xlabel(self.x_label)
            ax.grid(alpha=0.3)
            _ticks_at_points(ax, [self.x])
            _legend_below(ax)
        title = f"{self.agent} on {self.env} ({self.env_id}): {self.num_tasks} {self.split} tasks"
        checkpoint = checkpoint_text(self.meta)
        fig.suptitle(f"{title}\n{checkpoint}" if checkpoint else title)
        return fig


def build_curve(
    *,
    agent: str,
    env: str,
    env_id: str,
    family: Any,
    seed: int,
    x_label: str,
    x: np.ndarray,
    env_steps: np.ndarray,
    returns: np.ndarray,
    tasks: Sequence[Any],
    meta: dict[str, Any],
) -> AdaptationCurve:
    """An :class:`AdaptationCurve` of held-out ``tasks`` (test split) with the references filled in.

    ``family`` is the tasks' :class:`~metarl.envs.family.MetaEnv`: its per-task
    ``random_return``/``oracle_return`` become the references where it states them for every
    task (one missing drops that reference). Every agent builds its
    curve here, so references are computed in one place. Shapes as in :class:`AdaptationCurve`.
    """
    rand = [family.random_return(t) for t in tasks]
    orac = [family.oracle_return(t) for t in tasks]
    return AdaptationCurve(
        agent=agent,
        env=env,
        env_id=env_id,
        split="test",
        seed=seed,
        x_label=x_label,
        x=x,
        env_steps=env_steps,
        returns=returns,
        tasks=[t.to_json() for t in tasks],
        random_returns=None if None in rand else np.asarray(rand, dtype=np.float64),
        oracle_returns=None if None in orac else np.asarray(orac, dtype=np.float64),
        meta=meta,
    )


# --------------------------------------------------------------------------------------------
# Text and plots over several curves
# --------------------------------------------------------------------------------------------


def checkpoint_text(meta: dict[str, Any]) -> str:
    """Which checkpoint a curve scored, from its ``meta``: ``"checkpoint at 2,048,000 env steps
    of training"``, with ``"of 10,000,000 planned"`` for an unfinished run; "" when unknown.
    ``"most likely actions scored"`` is added for a deterministic evaluation."""
    parts = []
    trained = meta.get("train_env_steps")
    planned = meta.get("planned_env_steps")
    if trained is not None and planned is not None and int(planned) > int(trained):
        parts.append(f"checkpoint at {int(trained):,} of {int(planned):,} planned env steps")
    elif trained is not None:
        parts.append(f"checkpoint at {int(trained):,} env steps of training")
    if meta.get("deterministic"):
        parts.append("most likely actions scored")
    return ", ".join(parts)


def summary_table(curve: AdaptationCurve, max_rows: int = 12) -> str:
    """A short plain-text table of the curve: x, env steps (unless x is them), mean ± CI
    half-width, normalized.

    With more than ``max_rows`` points, evenly spaced rows (always the first and last) are shown.
    The last line gives the total return over all points (mean and 95% CI over tasks).
    """
    rows_idx = _row_indices(curve.num_points, max_rows)
    # a from-scratch baseline's x is its env steps: one column, not the same one twice
    steps_column = curve.x_label != "env steps" or not np.array_equal(curve.x, curve.env_steps)
    header = [curve.x_label, *(["env steps"] if steps_column else []), "mean return (95% CI)"]
    if curve.has_references:
        header.append("normalized (95% CI)")
    rows = [header]
    for i in rows_idx:
        row = [_fmt(curve.x[i]), *([_fmt(curve.env_steps[i])] if steps_column else [])]
        row.append(format_ci(curve.mean[i], curve.ci_low[i], curve.ci_high[i]))
        if curve.has_references:
            nm, lo, hi = curve.normalized_mean, curve.normalized_ci_low, curve.normalized_ci_high
            row.append(format_ci(nm[i], lo[i], hi[i]))  # type: ignore[index]
        rows.append(row)
    title = f"{curve.agent} on {curve.env} ({curve.env_id}), {curve.num_tasks} {curve.split} tasks"
    checkpoint = checkpoint_text(curve.meta)
    lines = [f"{title}, {checkpoint}" if checkpoint else title, text_table(rows)]
    if len(rows_idx) < curve.num_points:
        lines.append(f"({len(rows_idx)} of {curve.num_points} points shown)")
    total = curve.total_return()
    t_lo, t_hi = bootstrap_ci(total)
    lines.append(
        f"total return over {curve.num_points} points: {format_ci(total.mean(), t_lo, t_hi)}"
    )
    return "\n".join(lines)


def plot_curves(
    curves: Sequence[AdaptationCurve],
    path: str | os.PathLike[str],
    x_axis: Literal["env_steps", "x"] = "env_steps",
    log_x: bool | None = None,
    title: str | None = None,
    labels: Sequence[str] | None = None,
) -> Path:
    """Overlay the mean and 95% band of several curves in one PNG at ``path`` (atomic write).

    ``x_axis="env_steps"`` (default) puts every curve on the shared axis "env steps on the new
    task"; ``"x"`` uses each curve's own adaptation points. ``log_x=None`` picks a log axis when
    the plotted x values span more than two orders of magnitude. ``labels`` name the curves in
    the legend (default: agent and number of tasks). A second panel shows the normalized score
    when every curve has references. Returns the path written.
    """
    from matplotlib.figure import Figure

    if not curves:
        raise EvaluationError("plot_curves needs at least one curve")
    if x_axis not in ("env_steps", "x"):
        raise EvaluationError(f"x_axis must be 'env_steps' or 'x', got {x_axis!r}")
    if labels is None:
        labels = [f"{c.agent} ({c.num_tasks} tasks)" for c in curves]
    if len(labels) != len(curves):
        raise EvaluationError(f"plot_curves got {len(labels)} labels for {len(curves)} curves")
    xs = [c.env_steps if x_axis == "env_steps" else c.x for c in curves]
    normalized = all(c.has_references for c in curves)
    panels = 2 if normalized else 1
    fig = Figure(figsize=(6.4 * panels, 4.4), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]
    for curve, x, label in zip(curves, xs, labels):
        _plot_band(axes[0], x, curve.mean, curve.ci_low, curve.ci_high, label=label)
        if normalized:
            nm, lo, hi = curve.normalized_mean, curve.normalized_ci_low, curve.normalized_ci_high
            _plot_band(axes[1], x, nm, lo, hi, label=label)  # type: ignore[arg-type]
    if x_axis == "env_steps":
        x_label = "env steps on the new task"
    else:
        x_label = " / ".join(dict.fromkeys(c.x_label for c in curves))
    use_log = _wants_log(np.concatenate(xs)) if log_x is None else log_x
    axes[0].set_ylabel("return per episode (mean, 95% CI)")
    if normalized:
        axes[1].set_ylabel("normalized score")
        axes[1].axhline(0.0, ls="--", c="0.5", label="random")
        axes[1].axhline(1.0, ls="--", c="k", label="oracle")
    for ax in axes:
        ax.set_xlabel(x_label)
        if use_log:
            _log_axis(ax, np.concatenate(xs))
        ax.grid(alpha=0.3)
        _ticks_at_points(ax, xs)
        _legend_below(ax)
    envs = ", ".join(dict.fromkeys(c.env for c in curves))
    fig.suptitle(title or f"adaptation on {envs}")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_png(fig, out)
    return out


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


_PNG_SOFTWARE = "metarl"


def save_png(fig: Any, path: Path) -> None:
    """Write ``fig`` to ``path`` atomically, tagged as metarl's (:func:`is_metarl_png`)."""
    metadata = {"Software": _PNG_SOFTWARE}
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=120, metadata=metadata))


def is_metarl_png(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a PNG that metarl wrote (its ``Software`` text chunk says so), so that
    a plot command may replace it without ``--force``."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return head.startswith(b"\x89PNG") and b"Software\x00" + _PNG_SOFTWARE.encode() in head


def _float_array(name: str, value: Any, ndim: int, length: int | None = None) -> np.ndarray:
    """``value`` as a finite, read-only float64 copy of ``ndim`` dims (and first dim ``length``)."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise EvaluationError(f"AdaptationCurve.{name} must be numeric: {exc}") from exc
    if arr.ndim != ndim or (length is not None and arr.shape[0] != length):
        want = "(T, P)" if ndim == 2 else f"({length},)"
        raise EvaluationError(f"AdaptationCurve.{name} must have shape {want}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise EvaluationError(f"AdaptationCurve.{name} holds NaN or inf values")
    arr.setflags(write=False)
    return arr


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON-serializable")


def _plot_band(
    ax: Any, x: np.ndarray, mean: np.ndarray, low: np.ndarray, high: np.ndarray, label: str
) -> None:
    marker = "o" if len(x) <= 30 else None
    (line,) = ax.plot(x, mean, marker=marker, ms=3, label=label)
    if np.all(x == np.round(x)):
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(x) == 1:
        ax.errorbar(
            x, mean, yerr=[mean - low, high - mean], fmt="none", c=line.get_color(), capsize=4
        )
    else:
        ax.fill_between(x, low, high, color=line.get_color(), alpha=0.25, lw=0)


def _ticks_at_points(ax: Any, xs: Sequence[np.ndarray], most: int = 6) -> None:
    """Ticks exactly at the x values when the curves have only a few (a two-point curve gets
    two ticks, not an axis of made-up round numbers between them)."""
    points = np.unique(np.concatenate([np.asarray(x, dtype=np.float64) for x in xs]))
    if ax.get_xscale() == "log":
        points = points[points > 0]
    if ax.get_xscale() in ("log", "symlog") and points.size > most:  # decades, plus a 0 tick
        low, high = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if max(low, 0) <= t <= high]
        ax.set_xticks(ticks, labels=[_fmt_tick(v) for v in ticks])
        return
    if 0 < points.size <= most:
        ax.set_xticks(points, labels=[_fmt_tick(v) for v in points])
        ax.minorticks_off()


def _fmt_tick(value: float) -> str:
    if value >= 1e6 and value % 1e5 == 0:
        return f"{value / 1e6:g}M"
    if value >= 1e3 and value % 100 == 0:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def _legend_below(ax: Any) -> None:
    """The legend under the axes, where it cannot hide a curve or a reference line."""
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(
        loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=min(3, max(1, len(handles))),
        fontsize="small", frameon=False,
    )  # fmt: skip


def _log_axis(ax: Any, x: np.ndarray) -> None:
    """A log x-axis; where a curve has a point at x = 0 (a from-scratch curve before training),
    a symmetric-log one, linear from 0 to the smallest positive x, so that point is drawn at 0
    instead of being clipped to a tiny value whose line would look flat across the decades."""
    positive = x[x > 0]
    if np.any(x == 0) and positive.size:
        ax.set_xscale("symlog", linthresh=float(positive.min()), linscale=0.5)
        ax.set_xlim(left=0)
    else:
        ax.set_xscale("log")


def _wants_log(x: np.ndarray) -> bool:
    positive = x[x > 0]
    return positive.size > 1 and positive.max() / positive.min() > 100.0


def _row_indices(num_points: int, max_rows: int) -> list[int]:
    if num_points <= max(max_rows, 2):
        return list(range(num_points))
    return sorted(
        set(np.linspace(0, num_points - 1, max(max_rows, 2)).round().astype(int).tolist())
    )


def _fmt(value: float) -> str:
    value = float(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"


def text_table(rows: Sequence[Sequence[str]], left: int = 0) -> str:
    """``rows`` (the first is the header) as aligned plain text with a dashed rule under the
    header: the first ``left`` columns left-aligned (names), the others right-aligned (numbers)."""
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = [
        "  ".join(c.ljust(w) if j < left else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths)))
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


Table = Callable[[Sequence[Sequence[str]], int], str]
"""How a table's rows (header first) are laid out, given the number of left-aligned columns:
:func:`text_table` or :func:`markdown_table`."""


def markdown_table(rows: Sequence[Sequence[str]], left: int = 0) -> str:
    """``rows`` (the first is the header) as a Markdown table, the first ``left`` columns
    left-aligned and the others right-aligned, as :func:`text_table` lays them out."""
    cell = lambda c: c.replace("|", "\\|")  # noqa: E731
    rule = [":---" if j < left else "---:" for j in range(len(rows[0]))]
    lines = ["| " + " | ".join(cell(c) for c in r) + " |" for r in (rows[0], rule, *rows[1:])]
    return "\n".join(lines)


def format_ci(mean: float, low: float, high: float) -> str:
    """``"mean ± half-width"`` of an interval, with as many digits as its width warrants."""
    half = max(float(high) - float(mean), float(mean) - float(low))
    digits = 3 if half == 0 else max(1, min(6, 1 - math.floor(math.log10(half))))
    return f"{float(mean):.{digits}f} ± {half:.{digits}f}"
