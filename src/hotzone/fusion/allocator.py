"""How this process's C allocator serves the tracker's large arrays.

A window at 100,000 tracks makes and drops dozens of temporaries of tens of megabytes
(an (N, r, d, d) stack of IMM mode covariances is 78 MB). glibc's malloc maps every
block above its mmap threshold (32 MB at most when it adjusts it by itself) with a fresh
``mmap`` and unmaps it on ``free``: each such temporary then faults in and zeroes every
page again: about a fifth of the IMM tracker's CPU time a scan at 100,000 tracks.
Raised thresholds keep those blocks in the heap, and the freed memory there for the
next window's temporaries, which reuse the same pages.

Called explicitly by `hotzone track` and the tracking bench (never at import: it
changes the whole process); a no-op, with the reason logged, where the C library is not
glibc.
"""

from __future__ import annotations

import ctypes
import logging

logger = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
"""glibc's ``mallopt`` parameter: free memory at the heap's top kept up to this many bytes."""
M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter: blocks of at least this many bytes are mapped apart."""

LARGE_ARRAY_BYTES = 1 << 30
"""Blocks below 1 GiB come from the heap: every temporary of a window at 100,000 tracks
(the largest about 80 MB) does; a larger one, rare, is mapped apart and returned on free."""


def keep_large_arrays_in_heap(threshold_bytes: int = LARGE_ARRAY_BYTES) -> bool:
    """Raise glibc's mmap and trim thresholds to ``threshold_bytes``; whether it took.

    The process keeps up to ``threshold_bytes`` of freed heap instead of returning it to
    the system: its resident memory stays at its peak, which the next window reaches
    again anyway."""
    if not 0 < threshold_bytes < 1 << 31:
        raise ValueError(f"threshold_bytes must lie in (0, 2**31), got {threshold_bytes}")
    library = ctypes.CDLL(None)
    if not hasattr(library, "gnu_get_libc_version") or not hasattr(library, "mallopt"):
        logger.info("allocator left as it is: the C library is not glibc (no mallopt)")
        return False
    library.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    library.mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success, 0 where glibc refuses the value.
    mapped = library.mallopt(M_MMAP_THRESHOLD, threshold_bytes)
    trimmed = library.mallopt(M_TRIM_THRESHOLD, threshold_bytes)
    if mapped != 1 or trimmed != 1:
        logger.info(
            "allocator left as it is: glibc refused mallopt (mmap threshold %d, trim %d)",
            mapped,
            trimmed,
        )
        return False
    return True
