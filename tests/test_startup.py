"""``metarl.startup``: Ctrl-C while a ``python -m metarl.<tool>`` command is still importing ends
with one line and status 130, and importing metarl as a library leaves Ctrl-C alone."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from metarl import cli, startup


@pytest.mark.parametrize(
    ("argv", "orig_argv", "expected"),
    [
        (["-m"], ["python", "-m", "metarl.train", "--env", "nav"], True),
        (["-m"], ["python", "-X", "importtime", "-m", "metarl.envs"], True),
        (["-m"], ["python", "-mmetarl.compare"], True),
        (["-m"], ["python", "-m", "metarlx.train"], False),  # another package's tool
        (["-m"], ["python", "-m", "pytest"], False),
        (["/usr/bin/pytest"], ["python", "-m", "metarl.train"], False),  # already started
        (["-c"], ["python", "-c", "import metarl"], False),
    ],
)
def test_only_a_starting_metarl_tool_is_recognised(
    argv: list[str], orig_argv: list[str], expected: bool
) -> None:
    assert startup.runs_a_metarl_tool(argv, orig_argv) is expected


def _python(code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", textwrap.dedent(code)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def test_importing_metarl_as_a_library_leaves_ctrl_c_alone() -> None:
    proc = _python(
        """
        import signal
        import metarl
        print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)
        """
    )
    assert proc.stdout.strip() == "True", proc.stderr


def test_ctrl_c_while_a_tool_imports_prints_one_line_and_exits_130() -> None:
    # The state Python is in while `python -m metarl.train` imports the package; then a Ctrl-C
    # in the imports that follow.
    proc = _python(
        """
        import os, signal, sys, time
        sys.argv[0] = "-m"
        sys.orig_argv = [sys.executable, "-m", "metarl.train"]
        import metarl
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(30)
        print("not stopped")
        """
    )
    assert proc.returncode == startup.STARTING_STATUS, proc.stderr
    assert proc.stderr.splitlines() == [startup.STARTING_MESSAGE]
    assert proc.stdout == ""


def test_a_tool_started_with_ctrl_c_ignored_keeps_ignoring_it() -> None:
    # as `nohup` or `cmd &` in a script start it; run_main must not make it interruptible either
    proc = _python(
        """
        import signal, sys
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        sys.argv[0] = "-m"
        sys.orig_argv = [sys.executable, "-m", "metarl.train"]
        import metarl
        print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)
        from metarl import cli
        cli.run_main(lambda argv: 0, None)
        print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)
        """
    )
    assert proc.stdout.split() == ["True", "True"], proc.stderr


def test_run_main_gives_ctrl_c_back_to_keyboard_interrupt() -> None:
    seen = []

    def main(argv: object) -> int:
        seen.append(signal.getsignal(signal.SIGINT))
        return 0

    previous = signal.getsignal(signal.SIGINT)
    try:
        startup.quiet_interrupts_while_starting()
        assert cli.run_main(main, None) == 0
    finally:
        signal.signal(signal.SIGINT, previous)
    assert seen == [signal.default_int_handler]


def test_run_main_leaves_another_ctrl_c_handler_alone() -> None:
    def own(signum: int, frame: object) -> None:
        pass

    seen = []
    previous = signal.signal(signal.SIGINT, own)
    try:
        assert (
            cli.run_main(lambda argv: seen.append(signal.getsignal(signal.SIGINT)) or 0, None) == 0
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    assert seen == [own]


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux's /proc")
def test_ctrl_c_during_the_torch_import_of_a_real_command(tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "metarl.train",
        "--agent",
        "rl2",
        "--env",
        "nav",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # torch's library mapped: its import has begun
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
        if "libtorch" in maps:
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    # Nearly always still importing; on a machine slow to deliver the signal, the training's
    # own interrupt line instead. Never a traceback.
    assert len(err.splitlines()) == 1 and err.startswith("error: interrupted"), err
    if err.strip() == startup.STARTING_MESSAGE:
        assert not out.exists()
