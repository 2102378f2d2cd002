"""scripts/bench_rl2.py and scripts/profile_rl2.py run end to end on a tiny CPU budget."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / name), *args],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip


def test_bench_rl2_on_nav_writes_its_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = ["--env", "nav", "--steps", "3000", "--num-envs", "8", "--test-tasks", "5"]
    result = run_script("bench_rl2.py", *args, "--skip-sb3", "--json", str(out))
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(out.read_text())["results"]
    assert row["env_steps"] >= 3000 and row["num_envs"] == 8 and row["steps_per_s"] > 0


def test_bench_rl2_compares_with_recurrent_ppo_on_the_bandit_only(tmp_path: Path) -> None:
    result = run_script("bench_rl2.py", "--env", "nav", "--json", str(tmp_path / "b.json"))
    assert result.returncode == 2
    assert "--skip-sb3" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "b.json").exists()


def test_profile_rl2_prints_one_row_per_size() -> None:
    args = ["--device", "cpu", "--num-envs", "8", "16", "--minibatches", "2", "--repeats", "1"]
    result = run_script("profile_rl2.py", *args, "--epochs", "3", "--threads", "2")
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| 8 ")]
    assert len(rows) == 1 and "/step" in rows[0]
    # trials, epochs, minibatches, GRU width, torch threads
    assert rows[0].startswith("| 8 | 3 | 2 | 128 | 2 |")
    assert any(line.startswith("| 16 ") for line in result.stdout.splitlines())


def test_profile_rl2_rejects_a_bad_setting_in_one_line() -> None:
    result = run_script("profile_rl2.py", "--device", "cpu", "--env", "no-such-family")
    assert result.returncode == 2
    assert "unknown env" in result.stderr and "Traceback" not in result.stderr


def test_bench_maml_times_each_variant_and_writes_its_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    small = '{"meta_batch": 2, "fast_batch": 2, "hidden_sizes": [8, 8], "cg_iters": 2}'
    args = ["--variants", "trpo-2nd", "ppo", "--iterations", "1", "--overrides", small]
    peer = f"{sys.executable} -c \"print('peer_seconds_per_iteration=2.5')\""
    result = run_script("bench_maml.py", *args, "--peer", peer, "--json", str(out))
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert [r["variant"] for r in data["rows"]] == ["trpo-2nd", "ppo"]
    assert all(r["median_s"] > 0 and 0 < r["env_steps_per_iteration"] <= 800 for r in data["rows"])
    assert data["peer_seconds_per_iteration"] == 2.5 and "faster" in result.stdout


def test_bench_memory_samples_rss_through_a_run(tmp_path: Path) -> None:
    out = tmp_path / "mem.json"
    result = run_script("bench_memory.py", "--env", "bandit", "--steps", "30k", "--json", str(out))
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    steps = [s["env_steps"] for s in data["samples"]]
    assert steps == sorted(steps) and steps[-1] >= 30_000 and data["rss_mib_at_10pct"] > 0
    assert data["ratio"] == data["rss_mib_at_100pct"] / data["rss_mib_at_10pct"]
