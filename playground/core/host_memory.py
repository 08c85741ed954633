"""Keep the training step's big CPU buffers in the heap instead of fresh pages every step (glibc only).

A CPU step allocates and frees tens of megabytes of activations and gradients.
With glibc's defaults, a buffer above the mmap threshold (which glibc raises as
such buffers are freed, but never above 32 MB) is mapped fresh from the OS at
each allocation, and the top of the heap goes back to the OS after frees, so
every step faults its pages in again and the kernel zeroes each one; torch's
worker threads also get arenas of their own, whose heaps come and go.

So, once per process, before any thread starts (the training process and every
CLI command call this first): buffers up to 256 MB come from the heap, the heap
keeps up to 512 MB of free memory for the next step, and all threads share the
main arena. Once the heap has grown to a step's peak (the first epoch), a step
faults in no fresh pages. The cost: memory freed by a finished run stays with
the process (as with PyTorch's CUDA caching allocator); a training process runs
one run and exits. `playground bench --ab malloc` measures what it gains
(docs/performance.md).
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
