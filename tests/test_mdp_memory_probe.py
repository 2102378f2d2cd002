"""scripts/mdp_memory_probe.py on a tiny tabular-MDP run trained with the network options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from test_train import run_cli, tiny_train


def test_probe_sorts_every_step_of_a_trial(tmp_path: Path, load_script) -> None:
    out = tmp_path / "run"
    options = ["--transition-input", "true", "--chrono-init", "true", "--head-hidden", "8"]
    options += ["--critic-gru", "true", "--time-input", "true"]
    args = ["--episodes-per-trial", "3", "--env-kwargs", "horizon=4", *options]
    assert tiny_train(out, "tabular-mdp", 48, *args) == 0
    script = load_script("mdp_memory_probe")
    result, episodes, horizon = script.probe(str(out), num_tasks=3, seed=0)
    assert (episodes, horizon) == (3, 4)
    shares = result.best_tried + result.other_tried + result.untried
    assert np.allclose(shares, 1.0) and shares.shape == (12,)
    assert result.untried[0] == 1.0  # nothing has been tried before the first step


def test_probe_rejects_a_run_of_another_family(tmp_path: Path, load_script) -> None:
    out = tmp_path / "run"
    assert tiny_train(out, "bandit", 24, "--episodes-per-trial", "3") == 0
    assert run_cli(load_script("mdp_memory_probe"), [str(out)]) == 2
