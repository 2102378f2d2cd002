"""The task pool's workers do not outlive a killed ``metarl.baselines`` (no orphans)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_workers_exit_when_the_runner_is_killed(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "metarl.baselines", "--algo", "ppo", "--env", "nav",
            "--eval-tasks", "2", "--steps", "1M", "--threads", "2", "--out", str(tmp_path / "r")]  # fmt: skip
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        workers: list[int] = []
        while time.monotonic() < deadline and len(workers) < 2:  # the spawn pool's 2 workers
            time.sleep(0.5)
            workers = [p for p in _children(proc.pid) if "spawn_main" in
                       (Path("/proc") / str(p) / "cmdline").read_bytes().decode(errors="replace")]  # fmt: skip
        assert len(workers) == 2, "the pool did not start"
        time.sleep(5)  # let them import and begin their tasks
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.2)
        assert not any(_alive(w) for w in workers), "workers outlived the runner"
    finally:
        proc.kill()
        for w in _children(proc.pid):
            os.kill(w, signal.SIGKILL)
