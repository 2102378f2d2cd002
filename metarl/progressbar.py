"""Progress of long work that reads well anywhere: a live bar on a terminal, plain lines in a log.

On a terminal, :class:`ProgressReport` draws a rich bar laid out to fit 80 columns: the bar
shrinks first, then the counts, the rate, the metrics and the time left stay whole. When output
goes to a file or a pipe (``make train > log``, a cluster job), a live bar would print only once
at the very end, so it prints one plain line every ``every_s`` seconds instead, and one at the end::

    train 1.23M/10M env steps (12%), 12.3k steps/s, trial return -12.3, 0:01:40 elapsed, 0:11:53 left

Time left is at the rate of the last ``window_s`` seconds, not of the whole run: a training run's
rate changes as its agent learns (nav's trials fill with shorter episodes), and the average since
the start would keep promising the early pace.
"""

from __future__ import annotations

import math
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn
from rich.table import Column
from rich.text import Text

__all__ = ["ProgressReport", "format_count", "format_duration"]

DEFAULT_EVERY_S = 30.0
DEFAULT_WINDOW_S = 300.0


def format_count(value: float, digits: int = 3) -> str:
    """``1_228_800`` → ``"1.23M"``, ``20_480`` → ``"20.5k"``, ``512`` → ``"512"``; at most
    ``digits`` significant digits before the suffix."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.{digits}g}{suffix}"
    return f"{value:.0f}"


def format_duration(seconds: float) -> str:
    """``3725`` → ``"1:02:05"``; ``"-:--:--"`` when unknown."""
    if not math.isfinite(seconds) or seconds < 0:
        return "-:--:--"
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class _Left(ProgressColumn):
    """Time left at the recent rate, ``"0:05:12 left"`` (never cut: it is one short word)."""

    def render(self, task: Task) -> Text:
        return Text(f"{format_duration(task.time_remaining or math.nan)} left")


class ProgressReport:
    """Progress of ``total`` units of work with a rate and some named metrics.

    ``metrics`` are the names :meth:`update` passes values for (shown as ``name value``, with
    ``_`` as a space). ``stream`` is where it goes (default stdout); ``every_s`` is the interval
    of the plain lines when ``stream`` is not a terminal; ``window_s`` is how far back the rate
    behind their time left looks; ``clock`` is for tests.
    """

    def __init__(
        self,
        label: str,
        total: int,
        metrics: Sequence[str] = (),
        unit: str = "env steps",
        every_s: float = DEFAULT_EVERY_S,
        stream: IO[str] | None = None,
        completed: int = 0,
        clock: Callable[[], float] = time.monotonic,
        window_s: float = DEFAULT_WINDOW_S,
    ) -> None:
        self.label, self.total, self.metrics, self.unit = label, total, tuple(metrics), unit
        self.every_s, self.window_s, self.clock = every_s, window_s, clock
        self.stream = stream or sys.stdout
        self.completed = completed
        self.rate, self.values = math.nan, {k: math.nan for k in self.metrics}
        self.live = self.stream.isatty()
        self._bar: Progress | None = None
        self._started = self._last_line = clock()
        self._printed: int | None = None
        # (time, completed) of each update back to the newest one at least window_s old.
        self._samples: deque[tuple[float, int]] = deque([(self._started, completed)])

    # --- context -----------------------------------------------------------------------------
    def __enter__(self) -> ProgressReport:
        if self.live:
            self._bar = self._make_bar()
            self._bar.__enter__()
            self._task = self._bar.add_task(self.label, total=self.total, completed=self.completed,
                                            text=self._live_fields())  # fmt: skip
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, exc, trace)
        elif kind is None and self._printed != self.completed:
            self._print_line()

    # --- updates -----------------------------------------------------------------------------
    def update(self, completed: int, rate: float, values: Mapping[str, float]) -> None:
        """``completed`` units done so far, at ``rate`` units/s, with the metrics' ``values``."""
        self.completed, self.rate = completed, rate
        self._remember(completed)
        self.values.update({k: float(values[k]) for k in self.metrics if k in values})
        if self._bar is not None:
            self._bar.update(self._task, completed=completed, text=self._live_fields())
        elif self.clock() - self._last_line >= self.every_s:
            self._print_line()

    def line(self) -> str:
        """The plain progress line (what a log gets every ``every_s`` seconds)."""
        elapsed = self.clock() - self._started
        remaining = max(0, self.total - self.completed)
        left = remaining / self._recent_rate() if remaining else 0.0
        share = 100.0 * self.completed / self.total if self.total else 100.0
        return (
            f"{self.label} {self._counts()} ({share:.0f}%), {self._fields()}, "
            f"{format_duration(elapsed)} elapsed, {format_duration(left)} left"
        )

    def _remember(self, completed: int) -> None:
        now = self.clock()
        self._samples.append((now, completed))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.window_s:
            self._samples.popleft()

    def _recent_rate(self) -> float:
        """Units/s since the newest update at least ``window_s`` old (or the start); NaN when
        nothing was done in that time."""
        (then, done_then), (now, done_now) = self._samples[0], self._samples[-1]
        done, span = done_now - done_then, now - then
        return done / span if done > 0 and span > 0 else math.nan

    # --- layout ------------------------------------------------------------------------------
    def _counts(self) -> str:
        return f"{format_count(self.completed)}/{format_count(self.total)} {self.unit}"

    def _fields(self, sep: str = ", ", rate_unit: str = "steps/s") -> str:
        rate = format_count(self.rate) if math.isfinite(self.rate) else "-"
        shown = [f"{k.replace('_', ' ')} {self.values[k]:.3g}" for k in self.metrics]
        return sep.join([f"{rate} {rate_unit}", *shown])

    def _live_fields(self) -> str:
        return self._fields(sep="  ", rate_unit="/s").replace(" /s", "/s")

    def _make_bar(self) -> Progress:
        """Bar, counts, rate and metrics, time left (and the label on a wide terminal); only the
        bar gives way when the line is short (at 80 columns: a bar of a few cells)."""
        console = Console(file=self.stream)
        label = [TextColumn("{task.description}")] if console.width >= 100 else []
        return Progress(
            *label,
            BarColumn(bar_width=None, table_column=Column(ratio=1, min_width=3)),
            _Counts(self.unit.split()[-1], table_column=Column(no_wrap=True)),
            TextColumn("{task.fields[text]}", table_column=Column(no_wrap=True)),
            _Left(table_column=Column(no_wrap=True)),
            console=console,
            expand=True,
        )

    def _print_line(self) -> None:
        print(self.line(), file=self.stream, flush=True)
        self._last_line, self._printed = self.clock(), self.completed


class _Counts(ProgressColumn):
    """``1.23M/10M env steps``: counts short enough for an 80-column bar."""

    def __init__(self, unit: str, table_column: Column | None = None) -> None:
        super().__init__(table_column=table_column)
        self.unit = unit

    def render(self, task: Task) -> Text:
        total = task.total or 0
        return Text(f"{format_count(task.completed)}/{format_count(total)} {self.unit}")
