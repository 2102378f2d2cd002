"""Faults of long jobs (issue 21, section 3), each produced for real: a SIGTERM and a SIGKILL sent
to a training process, a checkpoint write that fails mid-file, a checkpoint that does not fit the
config, corrupt run files, and fuzzed command lines. Nothing already written may be lost."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metarl import compare, evaluate, fileio, progress, train
from metarl.evaluation import AdaptationCurve
from tests.metrics_rows import metrics_rows
from tests.test_train import TINY, run_cli, tiny_train

NAV = ["--agent", "rl2", "--env", "nav", "--env-kwargs", "horizon=4", *TINY]


def _start(out: Path, steps: int) -> subprocess.Popen:
    argv = [sys.executable, "-m", "metarl.train", *NAV, "--steps", str(steps), "--out", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).parents[1])  # fmt: skip


def _wait_for_rows(metrics: Path, rows: int, proc: subprocess.Popen, limit_s: float = 120) -> None:
    start = time.monotonic()
    while time.monotonic() - start < limit_s:
        if metrics.is_file() and len(metrics.read_text().splitlines()) > rows:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    raise AssertionError(f"no {rows} iterations within {limit_s} s")


def test_sigterm_checkpoints_and_exits_cleanly_within_seconds(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = _start(out, 10_000_000)
    _wait_for_rows(out / "metrics.csv", 2, proc)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 10
    assert proc.returncode == 143 and "Traceback" not in err
    line = err.strip()
    assert len(line.splitlines()) == 1 and "terminated (SIGTERM) at" in line
    assert f"python -m metarl.train --resume {out}" in line
    trained = torch.load(out / "checkpoint.pt", weights_only=False)["agent"]["env_steps"]
    last = int(float(metrics_rows(out / "metrics.csv")[-1]["env_steps"]))
    assert trained == last  # the checkpoint holds every logged iteration: nothing is redone


def test_sigkill_then_resume_ends_as_an_uninterrupted_run(tmp_path: Path) -> None:
    """Killed without warning after a few iterations (checkpoints every iteration), resumed to
    the same budget: the same metrics and curve as a run that was never killed."""
    steps = 32 * 60  # 60 iterations: seconds, so that the kill lands mid-run
    assert tiny_train(tmp_path / "full", "nav", steps, "--env-kwargs", "horizon=4") == 0
    killed = tmp_path / "killed"
    proc = _start(killed, steps)
    _wait_for_rows(killed / "metrics.csv", 3, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    trained = torch.load(killed / "checkpoint.pt", weights_only=False)["agent"]["env_steps"]
    assert 0 < trained < steps and not (killed / "eval").exists()  # really killed mid-run
    assert run_cli(train, ["--resume", str(killed)]) == 0
    assert metrics_rows(killed / "metrics.csv") == metrics_rows(tmp_path / "full" / "metrics.csv")
    full = AdaptationCurve.load(tmp_path / "full" / "eval")
    assert (AdaptationCurve.load(killed / "eval").returns == full.returns).all()


def test_a_checkpoint_write_failing_mid_file_keeps_the_previous(tmp_path: Path, capsys,
                                                                 monkeypatch) -> None:  # fmt: skip
    """The third checkpoint write raises ENOSPC after half the bytes (a full disk)."""
    out = tmp_path / "run"
    assert tiny_train(out, "nav", 64, "--env-kwargs", "horizon=4") == 0
    before = (out / "checkpoint.pt").read_bytes()
    real = fileio.atomic_write

    def full_disk(path, write):
        if path.name != "checkpoint.pt":
            return real(path, write)

        def half_then_enospc(f):
            class Half:
                def write(self, data: bytes) -> int:
                    f.write(data[: len(data) // 2])
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

            return write(Half())

        return real(path, half_then_enospc)

    monkeypatch.setattr("metarl.runs.atomic_write", full_disk)
    capsys.readouterr()
    assert run_cli(train, ["--resume", str(out), "--steps", "128"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "No space left on device" in err
    assert "the previous checkpoint is intact" in err and "--resume" in err
    assert (out / "checkpoint.pt").read_bytes() == before
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]  # no half file left
    monkeypatch.setattr("metarl.runs.atomic_write", real)
    assert run_cli(evaluate, [str(out)]) == 0  # the kept checkpoint still loads


def test_a_checkpoint_of_another_config_is_one_line(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert tiny_train(out, "nav", 32, "--env-kwargs", "horizon=4") == 0
    config = json.loads((out / "config.json").read_text())
    config["hidden_size"] = 32  # as if written by another version: the weights do not fit
    (out / "config.json").write_text(json.dumps(config))
    checkpoint = (out / "checkpoint.pt").read_bytes()
    for module, argv in ((train, ["--resume", str(out)]), (evaluate, [str(out)])):
        capsys.readouterr()
        assert run_cli(module, argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "does not fit the run's config.json" in err
    assert (out / "checkpoint.pt").read_bytes() == checkpoint


def test_corrupt_files_given_to_any_cli_are_one_line(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert tiny_train(out, "nav", 32, "--env-kwargs", "horizon=4") == 0
    files = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    cases = [
        ("eval/adaptation.json", compare, [str(out), "--out", str(tmp_path / "c.png")]),
        ("metrics.csv", progress, [str(out), "--out", str(tmp_path / "p.png")]),
        ("config.json", evaluate, [str(out)]),
        ("checkpoint.pt", train, ["--resume", str(out)]),
    ]
    for name, module, argv in cases:
        good = (out / name).read_bytes()
        (out / name).write_bytes(good[: len(good) // 3])  # truncated
        capsys.readouterr()
        assert run_cli(module, argv) == 2, name
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err, err
        assert name.split("/")[-1] in err, err
        (out / name).write_bytes(good)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == files


FLAGS = ["--agent", "--env", "--steps", "--lr", "--num-envs", "--seed", "--env-kwargs",
         "--episodes-per-trial", "--anneal-lr", "--hidden-sizes", "--device", "--inner-lr",
         "--bogus", "--resume", "--threads", "--gamma"]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(
        [
            "0",
            "-1",
            "1e5",
            "3M",
            "nan",
            "inf",
            "abc",
            "",
            "true",
            "rl2",
            "maml",
            "nav",
            "bandit",
            "num_arms=3",
            "x=1",
            "1,2",
            "cuda",
            "/nonexistent",
        ]
    ),
    st.text(alphabet="abc=0123456789.,-_:/", max_size=8),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.sampled_from(FLAGS), VALUES), max_size=4))
def test_fuzzed_command_lines_run_or_say_one_line(capsys, pairs) -> None:
    """Every command line either resolves (--print-config: nothing is trained or written) or is
    refused with one line and exit status 2; never a traceback."""
    argv = [a for flag, value in pairs for a in (flag, value)] + ["--print-config"]
    code = run_cli(train, argv)
    err = capsys.readouterr().err.strip()
    assert code in (0, 2), (argv, code, err)
    if code == 2:
        assert len(err.splitlines()) == 1 and "Traceback" not in err, (argv, err)
