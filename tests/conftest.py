"""Shared test setup: import paths, Hypothesis settings, torch threads for xdist workers, and a
loader for the scripts in ``scripts/``."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
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


@pytest.fixture
def load_script() -> Callable[[str], types.ModuleType]:
    """Import ``scripts/<name>.py`` as a module (the scripts are files, not a package)."""

    def load(name: str) -> types.ModuleType:
        spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
        assert spec is not None and spec.loader is not None
        script = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
        return script

    return load


@pytest.fixture
def preset_differences() -> Callable[[str, str, str], tuple[Any, list[str]]]:
    """The config of the committed run ``docs/results/<run>`` and the fields in which it differs
    from the preset of ``(agent, env)``."""
    from metarl.agents import config_from_json, preset

    def differ(run: str, agent: str, env: str) -> tuple[Any, list[str]]:
        path = ROOT / "docs" / "results" / run / "config.json"
        saved, want = config_from_json(json.loads(path.read_text())), preset(agent, env)
        return saved, [f.name for f in dataclasses.fields(saved)
                       if getattr(saved, f.name) != getattr(want, f.name)]  # fmt: skip

    return differ
