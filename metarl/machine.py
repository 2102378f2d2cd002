"""What a measurement ran on, for the records that benchmarks write.

Speed on this project's CPUs differs by more than 2× between machines of the same size (a
2-core AMD EPYC and a 2-core Intel Xeon), so every benchmark record names the CPU's model.
``platform.processor()`` is empty on Linux; the model name comes from ``/proc/cpuinfo``.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Any

CPUINFO = Path("/proc/cpuinfo")


def cpu_name(cpuinfo: Path = CPUINFO) -> str:
    """The CPU's model name (e.g. ``Intel(R) Xeon(R) Processor``), read from ``cpuinfo``;
    where that file is missing or names none, what ``platform`` knows (e.g. ``x86_64``)."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe() -> dict[str, Any]:
    """CPU model, core count, platform, Python and torch versions, the GPU torch sees (or
    None), the 1-minute load average at the call (or None where unknown) and today's date."""
    import torch

    cuda = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    load = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    return {
        "cpu": cpu_name(), "cpus": os.cpu_count(), "platform": platform.platform(),
        "python": platform.python_version(), "torch": torch.__version__, "cuda": cuda,
        "load_average_1min": load, "date": time.strftime("%Y-%m-%d"),
    }  # fmt: skip
