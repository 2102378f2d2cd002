"""Give the process's freed heap memory back to the system after each training iteration.

Every iteration allocates and frees the same large buffers (rollouts, minibatches, gradients).
glibc's allocator keeps freed memory in its heap for reuse instead of returning it, and over a
long run the heap fragments, so the resident set grows although nothing leaks; trimming after
every iteration keeps it flat (docs/BENCHMARKS.md, "Memory over a long run")."""

from __future__ import annotations

import ctypes
from pathlib import Path


def release_free_memory() -> bool:
    """Return the free memory at the top and inside of the C heap to the OS (glibc's
    ``malloc_trim(0)``); a few milliseconds. Whether it ran: False where the C library has no
    ``malloc_trim`` (macOS, musl, Windows), where it is a no-op."""
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the symbols already loaded: libc's among them
    except (OSError, AttributeError):
        return False
    trim(0)
    return True


def process_memory_mib(key: str = "VmRSS") -> float:
    """A memory figure of this process from Linux ``/proc/self/status``, MiB: ``VmRSS`` (resident
    now) or ``VmHWM`` (the peak resident set so far). Raises RuntimeError elsewhere."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} in /proc/self/status (Linux only)")
