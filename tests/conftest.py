"""Shared test setup: import paths, Hypothesis settings and torch threads for xdist workers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent

# ``examples.windy_line:WindyLine-v0`` must import however pytest is started (``python -m pytest``
# puts the working directory on sys.path, the ``pytest`` script and xdist workers may not).
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Derandomized: the same examples on every run, so CI never flakes; no deadline, because the
# first call into torch or Gymnasium in a process is slow.
settings.register_profile("metarl", deadline=None, derandomize=True, max_examples=30)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "metarl"))

# One torch thread per xdist worker: ``-n 2`` on 2 cores would otherwise oversubscribe them.
if "PYTEST_XDIST_WORKER" in os.environ:
    torch.set_num_threads(1)
