"""metarl.heap: freed heap memory goes back to the system."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from metarl.heap import release_free_memory


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_small_blocks_are_returned_to_the_system() -> None:
    # 200 MiB in blocks below glibc's mmap threshold stay in the heap once freed, except the last
    # one, which pins the heap's top: only malloc_trim returns the free pages below it
    blocks = [bytearray(64 * 1024) for _ in range(3200)]
    keep = blocks[-1]
    before = _rss_kib()
    del blocks[:-1]
    freed = _rss_kib()
    assert release_free_memory()
    after = _rss_kib()
    assert before - freed < 50 * 1024, (before, freed)  # free() alone kept the pages
    assert before - after > 150 * 1024, (before, freed, after)
    assert keep  # still alive: the trim freed only what was free
