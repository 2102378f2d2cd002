"""metarl: meta-reinforcement learning task families and agents on Gymnasium and torch."""

import sys as _sys

__version__ = "0.1.0"

if _sys.argv[:1] == ["-m"]:  # a `python -m ...` command is starting: maybe one of our tools
    from metarl import startup as _startup

    if _startup.runs_a_metarl_tool(_sys.argv, getattr(_sys, "orig_argv", ())):
        _startup.quiet_interrupts_while_starting()
