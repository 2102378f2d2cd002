"""``metarl.cli``: how every command ends when the reader of its output goes away, what every
command's ``--help`` prints, and stop signals held back during a write."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from metarl import cli
from tests.test_progress import write_run


def test_a_closed_stdout_ends_quietly_with_status_141(tmp_path: Path) -> None:
    run = write_run(tmp_path, "a", 5)
    cmd = [sys.executable, "-m", "metarl.progress", str(run), "--out", str(tmp_path / "p.png")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader leaves before the command's first line (`| head -0`)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == cli.BROKEN_PIPE_STATUS, err
    assert err == ""  # no traceback, no "Exception ignored" at the flush on exit


def test_run_main_returns_141_where_stdout_has_no_file(capsys) -> None:
    # capsys puts an object without a file descriptor in sys.stdout, as notebooks do
    def main(argv: object) -> int:
        raise BrokenPipeError

    assert cli.run_main(main, None) == cli.BROKEN_PIPE_STATUS


HELP = [
    ("metarl.train", ["--agent", "rl2", "--help"]),
    ("metarl.train", ["--agent", "maml", "--help"]),
    ("metarl.train", ["--agent", "pretrained", "--help"]),
    ("metarl.evaluate", ["--help"]),
    ("metarl.compare", ["--help"]),
    ("metarl.progress", ["--help"]),
    ("metarl.aggregate", ["--help"]),
    ("metarl.sweep", ["--help"]),
    ("metarl.baselines.__main__", ["--help"]),
    ("metarl.envs.__main__", ["--help"]),
]


@pytest.mark.parametrize(("module", "argv"), HELP, ids=[f"{m} {' '.join(a)}" for m, a in HELP])
def test_help_prints_no_argparse_escapes(module: str, argv: list[str], capsys) -> None:
    # argparse %-formats argument help but not a description without %(prog): a "%%" written
    # for the one reaches the reader of the other as "%%"
    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: ")
    assert "%%" not in out and "%(" not in out


@pytest.mark.parametrize(
    ("signum", "stop"), [(signal.SIGTERM, cli.SigTerm), (signal.SIGINT, KeyboardInterrupt)]
)
def test_a_stop_signal_during_a_held_write_arrives_after_it(signum: int, stop: type) -> None:
    written = []
    with cli.TerminateAsInterrupt(), pytest.raises(stop):
        with cli.signals_held():
            os.kill(os.getpid(), signum)
            written.append("all of it")  # not cut short by the signal
        written.append("after the hold")  # the signal's exception came first
    assert written == ["all of it"]
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    with cli.TerminateAsInterrupt(), pytest.raises(cli.SigTerm):  # without the hold: at once
        os.kill(os.getpid(), signal.SIGTERM)
        written.append("never")
    assert written == ["all of it"]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
