"""metarl.heap: freed heap memory goes back to the system."""

from __future__ import annotations

import platform

import pytest

from metarl.heap import process_memory_mib, release_free_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_small_blocks_are_returned_to_the_system() -> None:
    # 200 MiB in blocks below glibc's mmap threshold stay in the heap once freed, except the last
    # one, which pins the heap's top: only malloc_trim returns the free pages below it
    blocks = [bytearray(64 * 1024) for _ in range(3200)]
    keep = blocks[-1]
    before = process_memory_mib()
    del blocks[:-1]
    freed = process_memory_mib()
    assert release_free_memory()
    after = process_memory_mib()
    assert before - freed < 50, (before, freed)  # free() alone kept the pages
    assert before - after > 150, (before, freed, after)
    assert keep  # still alive: the trim freed only what was free
