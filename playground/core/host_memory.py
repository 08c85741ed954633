"""Keep the training step's big CPU buffers in the heap instead of fresh pages every step (glibc only).

A CPU step allocates and frees tens of megabytes of activations and gradients.
With glibc's defaults, buffers that large are mapped fresh from the OS (or the
heap top is handed back after each free), so every step pays for hundreds to
thousands of page faults: measured on mnist-cnn (batch 128), 700–2,000 minor
faults a step and about a tenth of the training thread's CPU time in the kernel.
In a thread of its own (the window's QThread) it is worse: each thread gets its
own arena, capped at 64 MB, whose heaps come and go with the step's peak.

So, once per process, before any thread starts: buffers up to 256 MB come from
the heap, the heap keeps up to 512 MB of free memory for the next step, and
all threads share the main arena (whose heap may grow as far as it needs).
The faults fall at once (~120 a step in a new thread's first steps) and are
gone once the heap has grown to the peak (0–10 in a 150-step run). The cost:
memory freed by a finished run stays with the process for its next one, as
with PyTorch's CUDA caching allocator.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # glibc's malloc.h
MMAP_THRESHOLD = 256 << 20
TRIM_THRESHOLD = 512 << 20

_tuned: bool | None = None


def keep_buffers_in_the_heap() -> bool:
    """Set glibc's malloc for training (see the module doc); True when it took. Idempotent; a no-op elsewhere."""
    global _tuned
    if _tuned is not None:
        return _tuned
    _tuned = False
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _tuned = all(mallopt(option, value) == 1 for option, value in (
        (M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD), (M_ARENA_MAX, 1)))
    if not _tuned:
        log.debug("glibc's mallopt refused the training settings")
    return _tuned
