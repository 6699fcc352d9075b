"""`keep_large_arrays_in_heap` takes effect: a large array comes from the heap.

Each check runs in a child process of its own (the setting is process-wide and would
otherwise change how the rest of the test session allocates)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "src"

CHILD = """
import ctypes, json, sys
import numpy as np
from hotzone.fusion.allocator import keep_large_arrays_in_heap

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]

library = ctypes.CDLL(None)
library.mallinfo2.restype = MallInfo2
applied = keep_large_arrays_in_heap() if sys.argv[1] == "tuned" else None
before = library.mallinfo2()
large = np.ones((100_000, 2, 7, 7))  # 78 MB: an IMM batch's mode covariances
during = library.mallinfo2()
del large
after = library.mallinfo2()
print(json.dumps({
    "applied": applied,
    "mapped_growth": during.hblkhd - before.hblkhd,
    "heap_used_growth": during.uordblks - before.uordblks,
    "heap_trimmed": during.arena - after.arena,
}))
"""


def _allocation(mode: str) -> dict[str, int]:
    environment = {**os.environ, "PYTHONPATH": str(SOURCE)}
    # The variables glibc reads at start would set the thresholds without the call.
    for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES"):
        environment.pop(name, None)
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, mode],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: dict[str, int] = json.loads(completed.stdout)
    return result


def _glibc() -> bool:
    """mallinfo2 and mallopt are glibc's."""
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (AttributeError, ValueError, OSError):
        return False


@pytest.mark.skipif(not _glibc(), reason="the C library is not glibc")
def test_a_large_array_is_mapped_apart_by_default() -> None:
    """The case the setting exists for (and what makes the next check able to fail)."""
    default = _allocation("default")
    assert default["applied"] is None
    assert default["mapped_growth"] >= 78_000_000
    assert default["heap_used_growth"] < 78_000_000


@pytest.mark.skipif(not _glibc(), reason="the C library is not glibc")
def test_a_large_array_comes_from_the_heap_and_stays_there_after_the_call() -> None:
    tuned = _allocation("tuned")
    assert tuned["applied"] is True
    assert tuned["mapped_growth"] == 0
    # Bytes in use in the heap, not the heap's growth: the array may reuse free chunks
    # the imports left there.
    assert tuned["heap_used_growth"] >= 78_000_000
    # Freed, its pages are kept for the next window's temporaries (not trimmed away).
    assert tuned["heap_trimmed"] == 0


def test_a_threshold_glibc_cannot_take_is_refused_before_any_call() -> None:
    from hotzone.fusion.allocator import keep_large_arrays_in_heap

    with pytest.raises(ValueError, match="threshold_bytes"):
        keep_large_arrays_in_heap(1 << 31)
    with pytest.raises(ValueError, match="threshold_bytes"):
        keep_large_arrays_in_heap(0)
