"""Ctrl-C while a ``python -m metarl.<tool>`` command is still starting.

Importing torch, Gymnasium and MuJoCo takes a second or two before a tool's ``main`` runs and
:func:`metarl.cli.run_main` can turn Ctrl-C into one line. Without this module a Ctrl-C in that
time printed a traceback from deep inside an import. ``metarl/__init__.py`` calls
:func:`quiet_interrupts_while_starting` only when the process was started as ``python -m
metarl.<tool>`` (never when metarl is imported as a library), and ``run_main`` calls
:func:`started` to give Ctrl-C back to Python's ``KeyboardInterrupt``. This module imports
nothing heavy, so it is in place before the slow imports begin.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

STARTING_STATUS = 130
"""Exit status of a Ctrl-C while starting: 128 + SIGINT, as after any interrupted command."""

STARTING_MESSAGE = "error: interrupted while starting: nothing was written"


def runs_a_metarl_tool(argv: Sequence[str], orig_argv: Sequence[str]) -> bool:
    """True while ``python -m metarl.<tool>`` is importing the package: Python sets
    ``sys.argv[0]`` to ``"-m"`` until the module is found, and the interpreter's own arguments
    (``sys.orig_argv``) name a module of this package after ``-m``."""
    if argv[:1] != ["-m"]:
        return False
    for i, arg in enumerate(orig_argv):
        if arg == "-m":
            module = orig_argv[i + 1] if i + 1 < len(orig_argv) else ""
        elif arg.startswith("-m"):
            module = arg[2:]
        else:
            continue
        return module == "metarl" or module.startswith("metarl.")
    return False


def _stop_starting(signum: int, frame: FrameType | None) -> None:
    print(STARTING_MESSAGE, file=sys.stderr)
    raise SystemExit(STARTING_STATUS)


def quiet_interrupts_while_starting() -> None:
    """Make Ctrl-C print :data:`STARTING_MESSAGE` and exit with :data:`STARTING_STATUS` (no
    traceback) until :func:`started` is called. Only where Ctrl-C has Python's default handler:
    a process started with SIGINT ignored (``nohup``, ``cmd &`` in a script) keeps ignoring it.
    Outside the main thread it does nothing."""
    main = threading.current_thread() is threading.main_thread()
    if main and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _stop_starting)


def started() -> None:
    """Give Ctrl-C back to Python's default handler (``KeyboardInterrupt``), if
    :func:`quiet_interrupts_while_starting` had taken it; any other handler is left alone."""
    main = threading.current_thread() is threading.main_thread()
    if main and signal.getsignal(signal.SIGINT) is _stop_starting:
        signal.signal(signal.SIGINT, signal.default_int_handler)
