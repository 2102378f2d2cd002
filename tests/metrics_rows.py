"""The deterministic part of training metrics, for tests that compare two runs row by row."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TypeVar

V = TypeVar("V")


def without_wall_times(row: dict[str, V]) -> dict[str, V]:
    """``row`` (a metrics row) without its wall-clock columns (``sps`` and every ``*_s``: time_s,
    MAML's collect_s ...), which differ between two runs that are otherwise identical."""
    return {k: v for k, v in row.items() if k != "sps" and not k.endswith("_s")}


def metrics_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a run's ``metrics.csv`` at ``path``, each :func:`without_wall_times`."""
    with path.open() as f:
        return [without_wall_times(row) for row in csv.DictReader(f)]
