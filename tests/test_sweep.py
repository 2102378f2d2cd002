"""``python -m metarl.sweep`` on Ray Tune: a tiny 2-seed × 2-grid-point sweep, resume after a
stop mid-way, a Ray head started by the test (--address), and bad input.

Ray starts slowly, so one local ``ray.init`` serves every test that runs on this machine (the
sweep uses a Ray that is already up, and leaves it up); the --address test comes last."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metarl import cli, sweep
from metarl import progress as progress_cli
from metarl import train as train_cli
from metarl.runs import RunDir

ray = pytest.importorskip("ray", reason="ray[tune] is not installed")

TINY = ["--agent", "rl2", "--env", "nav", "--env-kwargs", "horizon=4", "--episodes-per-trial", "2",
        "--num-envs", "4", "--minibatches", "2", "--epochs", "1", "--eval-tasks", "3",
        "--train-tasks", "8", "--hidden-size", "16", "--checkpoint-every", "1", "--steps", "64"]  # fmt: skip
GRID = ["--seeds", "0,1", "--grid", "lr=1e-3,3e-4"]
POINTS = ("lr=0.001", "lr=0.0003")


def run_cli(argv: list[str], main: Any = sweep.main) -> int:
    try:
        return cli.run_main(main, argv)
    except SystemExit as e:
        return int(e.code)


def numbers(path: Path) -> dict:
    """summary.json without what may differ between two sweeps of the same trials."""
    data = json.loads((path / "summary" / "summary.json").read_text())
    return {g["name"]: g for g in data["grid_points"]}


@pytest.fixture(scope="module")
def local_ray():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def full_sweep(local_ray, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sweep") / "full"
    assert run_cli([*TINY, *GRID, "--out", str(out)]) == 0
    return out


def test_sweep_writes_run_dirs_and_summary(full_sweep: Path) -> None:
    for point in POINTS:
        for seed in (0, 1):
            trial = full_sweep / "trials" / point / f"seed-{seed}"
            for name in ("config.json", "tasks.json", "checkpoint.pt", "metrics.csv", "sweep.log"):
                assert (trial / name).is_file(), trial / name
            assert (trial / "eval" / "adaptation.json").is_file()
            config = RunDir.open(trial).load_config()
            assert config.seed == seed and config.threads == 1
            assert config.lr == pytest.approx(float(point.split("=")[1]))
    for name in ("summary.json", "summary.csv", "summary.png", "ranking.md"):
        assert (full_sweep / "summary" / name).stat().st_size > 0
    summary = numbers(full_sweep)
    assert set(summary) == set(POINTS)
    for point in summary.values():
        assert point["seeds"] == [0, 1] and point["num_tasks"] == 3 and len(point["iqm"]) == 2
        assert all(lo <= m <= hi for lo, m, hi in zip(point["iqm_ci_low"], point["iqm"],
                                                     point["iqm_ci_high"]))  # fmt: skip
    saved = json.loads((full_sweep / "sweep.json").read_text())
    assert saved["seeds"] == [0, 1] and saved["grid"] == [["--lr", ["1e-3", "3e-4"]]]
    # A trial is an ordinary run: metarl.train --resume accepts it (nothing left to train).
    trial = full_sweep / "trials" / POINTS[0] / "seed-0"
    assert cli.run_main(train_cli.main, ["--resume", str(trial), "--print-config"]) == 0


def test_progress_of_a_sweep_draws_each_trial_that_has_begun(
    full_sweep: Path, tmp_path: Path, capsys
) -> None:
    sweep_dir = tmp_path / "s"
    shutil.copytree(full_sweep, sweep_dir)
    late = sweep_dir / "trials" / POINTS[1] / "seed-1"
    (late / "metrics.csv").write_text((late / "metrics.csv").read_text().splitlines()[0] + "\n")
    png = tmp_path / "p.png"
    assert cli.run_main(progress_cli.main, [str(sweep_dir), "--out", str(png)]) == 0
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines()[2:-1]]
    assert rows == [f"s/{POINTS[1]}/seed-0", f"s/{POINTS[0]}/seed-0", f"s/{POINTS[0]}/seed-1"]
    assert png.stat().st_size > 0
    for trial in sweep_dir.glob("trials/*/seed-*"):  # none has begun: one line, exit 2
        (trial / "metrics.csv").unlink()
    assert run_cli([str(sweep_dir), "--out", str(png)], progress_cli.main) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err == f"error: the sweep {sweep_dir} has no trial with a training iteration yet: "
        "wait, or resume it"
    )


def test_work_counts_the_env_steps_of_unfinished_trials() -> None:
    work = sweep.Work({"a/seed-0": 100.0, "a/seed-1": 100.0}, {"a/seed-0": 50.0, "a/seed-1": 0.0})
    assert work.text() == "; 50 of 200 env steps (25%), -:--:-- left"  # no rate yet
    work.update("a/seed-0", 120.0)  # its last iteration overshoots --steps: counted as 100
    assert work.text() == "; 100 of 200 env steps (50%), -:--:-- left"  # the rate starts here
    work.update("a/seed-1", 50.0)
    work.update("b/seed-0", 1e6)  # not a planned trial: ignored
    text = work.text()
    assert text.startswith("; 150 of 200 env steps (75%), ") and text.endswith(" left"), text
    assert "-:--:--" not in text  # 50 steps gained since the first report: a time left
    assert sweep.Work({}, {}).text() == ""  # a baseline's trials: no env steps to count


def test_resume_finishes_only_unfinished_trials(full_sweep: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut"
    shutil.copytree(full_sweep, cut)
    shutil.rmtree(cut / "summary")
    trials = {(p, s): cut / "trials" / p / f"seed-{s}" for p in POINTS for s in (0, 1)}
    # (a) stopped before its first checkpoint: only config.json is left -> starts again
    fresh = trials[POINTS[0], 0]
    for item in fresh.iterdir():
        if item.name != "config.json":
            shutil.rmtree(item) if item.is_dir() else item.unlink()
    # (b) killed mid-way: a checkpoint of the first of its two iterations, no eval -> goes on
    mid = trials[POINTS[1], 1]
    config = RunDir.open(mid).load_config()
    shutil.rmtree(mid)
    run = RunDir.create(mid, dataclasses.replace(config, steps=32))
    train_cli.check_setup(config)
    train_cli.train("rl2", dataclasses.replace(config, steps=32), run, None)
    shutil.rmtree(mid / "eval")
    run.save_config(config)
    # (c) trained, killed during the evaluation -> only evaluates
    shutil.rmtree(trials[POINTS[0], 1] / "eval")
    assert [sweep.trial_status(trials[k]) for k in sorted(trials)] == [
        "done", "resume", "restart", "resume"]  # fmt: skip
    done = trials[POINTS[1], 0]
    before = {f: f.stat().st_mtime_ns for f in done.rglob("*") if f.is_file()}

    assert run_cli(["--resume", str(cut)]) == 0
    assert {f: f.stat().st_mtime_ns for f in done.rglob("*") if f.is_file()} == before
    assert "resumed" in (mid / "sweep.log").read_text()
    assert numbers(cut) == numbers(full_sweep)  # the same summary as the uninterrupted sweep
    assert run_cli(["--resume", str(cut)]) == 0  # nothing left: no Ray, the summary again


def test_failed_trial_is_reported_and_the_rest_go_on(
    full_sweep: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "sweep"
    shutil.copytree(full_sweep, out)
    bad, fine = (out / "trials" / POINTS[0] / f"seed-{s}" for s in (1, 0))
    shutil.rmtree(bad / "eval")
    shutil.rmtree(fine / "eval")
    (bad / "checkpoint.pt").write_bytes(b"not a checkpoint")
    assert run_cli(["--resume", str(out)]) == 1
    text = capsys.readouterr().out
    assert f"FAILED {POINTS[0]}/seed-1" in text
    assert f"trial {POINTS[0]}/seed-1 failed: RunError: " in text and "is corrupt" in text
    assert (fine / "eval" / "adaptation.json").is_file()  # the other trial went on
    assert json.loads((out / "summary" / "summary.json").read_text())["unfinished"] == {
        POINTS[0]: 1}  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--seeds", "0,a"], "--seeds"),
        (["--seeds", "1,1"], "distinct"),
        (["--grid", "lr"], "KEY=V1,V2"),
        (["--grid", "lr=fast"], "--lr"),
        (["--grid", "seed=1,2"], "--seeds"),
        (["--grid", "num_arms=3"], "not a config flag"),
        (["--grid", "lr=1e-3", "--lr", "1e-3"], "both"),
        (["--seed", "3"], "--seed"),
        (["--steps", "many"], "--steps"),
        (["--env-kwargs", "horizon=-1"], "horizon"),
        (["--cpus-per-trial", "0"], "--cpus-per-trial"),
        (["--agent", "nope"], "nope"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys, argv: list, words: str) -> None:
    assert run_cli([*TINY, *argv, "--out", str(tmp_path / "s")]) == 2  # a later flag wins
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1 and words in err, err
    assert not (tmp_path / "s").exists()  # nothing written


@pytest.mark.parametrize(("flag", "value"), [("--cpus-per-trial", "3"), ("--gpus-per-trial", "64")])
def test_more_per_trial_than_the_cluster_has_is_refused(
    local_ray, tmp_path: Path, capsys, flag: str, value: str
) -> None:
    """Before, a trial asking more GPUs than Ray has waited for ever; now one line, exit 2 and
    nothing written (the check needs Ray up, so it comes before the sweep writes anything)."""
    assert run_cli([*TINY, flag, value, "--out", str(tmp_path / "s")]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith(f"error: {flag} {value} is more than the ") and "lower it" in err, err
    assert len(err.splitlines()) == 1 and not captured.out
    assert not (tmp_path / "s").exists()


def test_resume_bad_input(full_sweep: Path, tmp_path: Path, capsys) -> None:
    assert run_cli(["--resume", str(tmp_path)]) == 2
    assert run_cli(["--resume", str(full_sweep), "--lr", "0.1"]) == 2
    assert run_cli([*TINY, *GRID, "--out", str(full_sweep)]) == 2  # already a sweep
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("error: ") for line in lines)
    assert "sweep.json" in lines[0] and "--resume" in lines[2]


@pytest.mark.parametrize("kind", ["file", "run folder"])
def test_out_that_holds_something_else_is_refused_and_kept(
    tmp_path: Path, capsys, kind: str
) -> None:
    out = tmp_path / "s"
    if kind == "file":
        out.write_text("notes")
    else:  # e.g. a metarl.train or metarl.baselines run
        out.mkdir()
        (out / "config.json").write_text("{}")
    before = {p: p.read_bytes() for p in [out, *out.rglob("*")] if p.is_file()}
    assert run_cli([*TINY, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert ("is a file" if kind == "file" else "other files in it") in err
    assert {p: p.read_bytes() for p in [out, *out.rglob("*")] if p.is_file()} == before


CLASSIC = ["--algo", "ucb1", "--env", "bandit", "--eval-tasks", "6", "--seeds", "0,1",
           "--grid", "episodes_per_trial=5,10"]  # fmt: skip


def test_sweep_of_a_baseline_and_its_resume(local_ray, tmp_path: Path, capsys) -> None:
    out = tmp_path / "classic"
    assert run_cli([*CLASSIC, "--out", str(out)]) == 0
    points = ("episodes_per_trial=5", "episodes_per_trial=10")
    for point in points:
        for seed in (0, 1):
            trial = out / "trials" / point / f"seed-{seed}"
            config = json.loads((trial / "config.json").read_text())
            assert config["config"] == "BaselineConfig" and config["algo"] == "ucb1"
            assert config["seed"] == seed and config["episodes_per_trial"] == int(
                point.split("=")[1]
            )
            curve = json.loads((trial / "eval" / "adaptation.json").read_text())
            assert len(curve["mean"]) == config["episodes_per_trial"]
    summary = numbers(out)
    assert set(summary) == set(points) and summary[points[0]]["seeds"] == [0, 1]
    assert json.loads((out / "summary" / "summary.json").read_text())["meta"] == {"algo": "ucb1"}
    # One trial lost its curve: --resume runs only that one and ends with the same summary.
    redo, kept = (out / "trials" / points[1] / f"seed-{s}" for s in (1, 0))
    shutil.rmtree(redo / "eval")
    before = {f: f.stat().st_mtime_ns for f in kept.rglob("*") if f.is_file()}
    assert sweep.trial_status(redo) == "restart"
    assert run_cli(["--resume", str(out)]) == 0
    assert {f: f.stat().st_mtime_ns for f in kept.rglob("*") if f.is_file()} == before
    assert numbers(out) == summary
    # A baseline logs no training curve: metarl.progress says where its curves are instead.
    assert run_cli([str(out), "--out", str(tmp_path / "p.png")], progress_cli.main) == 2
    assert "python -m metarl.compare" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--agent", "rl2", "--algo", "ucb1", "--env", "bandit"], "not both"),
        (["--algo", "ucb1", "--env", "bandit", "--grid", "lr=1e-3,3e-4"],
         "not a config flag of --algo ucb1"),
        (["--algo", "sac", "--env", "bandit"], "sac needs continuous"),
        (["--algo", "ucb1", "--env", "bandit", "--steps", "10"], "--steps has no effect"),
    ],
)  # fmt: skip
def test_baseline_sweep_bad_input(tmp_path: Path, capsys, argv: list, words: str) -> None:
    assert run_cli([*argv, "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1 and words in err, err
    assert not (tmp_path / "s").exists()


def _lines_of(stream: Any) -> queue.Queue[str | None]:
    """A queue that a daemon thread fills with ``stream``'s lines, then None at its end."""
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=lambda: [*map(lines.put, stream), lines.put(None)],
                     daemon=True).start()  # fmt: skip
    return lines


def _read_until(lines: queue.Queue[str | None], prefix: str, timeout: float) -> list[str]:
    """The lines up to the first that starts with ``prefix`` (or all, if the stream ends or
    ``timeout`` seconds pass first)."""
    seen, deadline = [], time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if line.startswith(prefix):
            break
    return seen


STOPS = [(signal.SIGTERM, 143, "SIGTERM", False), (signal.SIGINT, 130, "Ctrl-C", False),
         (signal.SIGTERM, 143, "SIGTERM", True)]  # fmt: skip
"""(signal, exit status, its name in the sweep's lines, sent to the whole process group)"""


@contextlib.contextmanager
def _sweep_process(tmp_path: Path, argv: list[str]) -> Iterator[subprocess.Popen]:
    """``python -m metarl.sweep argv`` leading a process group of its own (stdout a text pipe,
    stderr to ``tmp_path/stderr``); the group is killed if it is still running at the end."""
    with (tmp_path / "stderr").open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "metarl.sweep", *argv], cwd=tmp_path, stdout=subprocess.PIPE,
            stderr=stderr, text=True, start_new_session=True,
        )  # fmt: skip
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _send(proc: subprocess.Popen, sig: int, group: bool) -> None:
    """``sig`` to ``proc`` alone, or to its whole process group (Ray's processes too)."""
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)


@pytest.mark.parametrize("sig, status, name, group", STOPS)
def test_a_signal_stops_the_trials_and_says_how_to_go_on(
    tmp_path: Path, sig: int, status: int, name: str, group: bool
) -> None:
    """Ctrl-C, or the SIGTERM a scheduler sends, stops a sweep mid-trial: one line with the
    --resume command and exit 130 / 143, no traceback, the sweep and its trials kept for --resume
    (before, SIGTERM killed the driver silently and left Ray's processes running). The same when
    SIGTERM reaches the whole process group, Ray's GCS and raylet too (GNU timeout, kill -- -PGID;
    before, the driver hung for a minute and then Ray ended it with its own error)."""
    out = tmp_path / "stopped"
    argv = [*TINY[:-1], "100000000", "--seeds", "0,1", "--out", str(out)]  # far too long to end
    with _sweep_process(tmp_path, argv) as proc:
        lines = _lines_of(proc.stdout)
        seen = _read_until(lines, "sweep: start", timeout=180)
        assert seen and seen[-1].startswith("sweep: start"), "".join(seen)
        saved = (out / "sweep.json").read_bytes()
        time.sleep(2)  # into training
        _send(proc, sig, group)
        proc.wait(timeout=50)  # Ray's own end, on a lost GCS, comes after 60 s
    err = (tmp_path / "stderr").read_text()
    assert proc.returncode == status, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    assert "Token authentication" not in err, err[-3000:]  # Ray's warning on a local cluster
    errors = [x for x in err.splitlines() if x.startswith("error:")]
    assert len(errors) == 1, err[-3000:]
    assert errors[0].startswith(f"error: sweep stopped ({name}) with 2 of 2 trials unfinished: "
                                f"`python -m metarl.sweep --resume {out}` goes on")  # fmt: skip
    stopping = _read_until(lines, "sweep: stopping", timeout=10)
    assert stopping and stopping[-1].startswith(f"sweep: stopping ({name})"), "".join(stopping)
    assert (out / "sweep.json").read_bytes() == saved
    assert {sweep.trial_status(out / "trials" / "default" / f"seed-{s}") for s in (0, 1)} <= {
        "resume", "restart"}  # fmt: skip
    assert _group_ends(proc.pid, timeout=20)  # Ray's processes went with the sweep


@pytest.mark.parametrize("sig, status, name, group", STOPS)
def test_a_signal_while_ray_starts_ends_the_sweep_at_once(
    tmp_path: Path, sig: int, status: int, name: str, group: bool
) -> None:
    """A stop signal while Ray starts (its GCS is up, the sweep has written nothing) ends the
    sweep within seconds with one line and exit 130 / 143, and Ray's processes go with it.
    Before, ray.init's own SIGTERM handler ended the driver silently with status 15, or, with the
    GCS stopped by the same signal, the driver waited a minute for it and ended in Ray's errors."""
    out = tmp_path / "never"
    with _sweep_process(tmp_path, [*TINY, "--seeds", "0", "--out", str(out)]) as proc:
        assert _wait_for_in_group(proc, "gcs_server", timeout=180), "Ray's GCS never started"
        _send(proc, sig, group)
        proc.wait(timeout=20)
    err = (tmp_path / "stderr").read_text()
    assert proc.returncode == status, err[-3000:]
    assert "Traceback" not in err and "GCS" not in err, err[-3000:]
    assert err.strip().splitlines() == [
        f"error: sweep stopped ({name}) while Ray was starting, before anything was written: run "
        "the same command again"]  # fmt: skip
    assert not out.exists()
    assert _group_ends(proc.pid, timeout=20)


def _wait_for_in_group(proc: subprocess.Popen, name: str, timeout: float) -> bool:
    """Whether a process whose command line holds ``name`` appears in ``proc``'s process group
    (``proc`` leads it) within ``timeout`` seconds, while ``proc`` runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if (
                    os.getpgid(int(entry.name)) == proc.pid
                    and name.encode() in (entry / "cmdline").read_bytes()
                ):
                    return True
            except (ProcessLookupError, FileNotFoundError, PermissionError):
                continue
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("lost_while_running", [True, False])
def test_the_ray_watcher_hands_over_only_while_tune_runs(lost_while_running: bool) -> None:
    """After a SIGTERM, GracefulStop hands the stop to ``on_lost`` once the local cluster is
    lost, and not if the cluster goes only after Tune has stopped (the context has exited)."""
    lost, handed = threading.Event(), []
    stop = sweep.GracefulStop("RESUME", lost.is_set, handed.append)
    previous = signal.signal(signal.SIGUSR1, lambda *_: None)  # Tune's stop, which it asks for
    try:
        with stop:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(2 * stop.WATCH_S)  # the watcher checks, finds the cluster alive
            assert stop.received == "SIGTERM" and not handed
            if lost_while_running:
                lost.set()
                deadline = time.monotonic() + 10
                while not handed and time.monotonic() < deadline:
                    time.sleep(0.05)
        lost.set()
        time.sleep(4 * stop.WATCH_S)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert handed == (["SIGTERM"] if lost_while_running else [])


def _group_ends(pgid: int, timeout: float) -> bool:
    """Whether process group ``pgid`` is empty within ``timeout`` seconds (the Ray workers that
    lose their raylet end on their own, and init reaps those the sweep no longer can)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def test_address_to_a_ray_head_gives_the_same_summary(full_sweep: Path, tmp_path: Path) -> None:
    ray.shutdown()  # the module's local Ray: the sweep connects to the head instead
    ray_bin = Path(sys.executable).with_name("ray")
    port = sweep.free_port()
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # Ray's socket paths must stay short
    env = {**os.environ, "RAY_AUTH_MODE": "token"}
    head = subprocess.Popen(
        [str(ray_bin), "start", "--head", "--block", "--port", str(port), "--num-cpus", "2",
         "--node-ip-address", "127.0.0.1", "--include-dashboard", "false", "--temp-dir", temp],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if head.poll() is not None:
                pytest.skip(f"`ray start --head` exited with status {head.returncode}")
            time.sleep(1)
        else:
            pytest.skip("the Ray head did not listen within 90 s on this machine")
        out = tmp_path / "remote"
        argv = [*TINY, "--seeds", "0,1", "--grid", "lr=1e-3", "--out", str(out)]
        # the command a user types (the sweep module runs as __main__, whose functions Ray must
        # still be able to send to its workers)
        done = subprocess.run(
            [sys.executable, "-m", "metarl.sweep", *argv, "--address", f"127.0.0.1:{port}"],
            env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert numbers(out)[POINTS[0]] == numbers(full_sweep)[POINTS[0]]
    finally:
        os.killpg(head.pid, signal.SIGTERM)  # the head and the Ray processes it started
        try:
            head.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.parametrize("users", [None, "", "6399"])
def test_a_local_cluster_gets_a_free_gcs_port_unless_the_user_chose_one(
    monkeypatch: pytest.MonkeyPatch, users: str | None
) -> None:
    """ray.init of a local cluster sees a port for the GCS in RAY_GCS_SERVER_PORT (which spares
    it Ray's GIL-holding wait for the GCS's port file), one free to bind, or the user's own; the
    variable is as before afterwards, also when init raises."""
    if users is None:
        monkeypatch.delenv(sweep.GCS_PORT_ENV, raising=False)
    else:
        monkeypatch.setenv(sweep.GCS_PORT_ENV, users)
    seen = sweep._with_gcs_port(lambda: os.environ[sweep.GCS_PORT_ENV])
    if not users:  # unset or empty: a port is chosen
        with socket.socket() as s:
            s.bind(("", int(seen)))  # free: no one listens there
    else:
        assert seen == users
    assert os.environ.get(sweep.GCS_PORT_ENV) == users

    def fails() -> None:
        raise RuntimeError("init failed")

    with pytest.raises(RuntimeError, match="init failed"):
        sweep._with_gcs_port(fails)
    assert os.environ.get(sweep.GCS_PORT_ENV) == users
