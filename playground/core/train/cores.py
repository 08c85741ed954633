"""Which cores a CPU run trains on, and which one the window keeps (Linux; elsewhere the OS decides alone).

A CPU run trains with a torch thread per core but one (`training_threads`).
Left to itself, the scheduler still runs the window's threads on the training
core now and then (Linux likes to wake a thread on its waker's core), and a
training step then waits for its own core. So while a CPU run trains, its
training process keeps to the training cores, and the GUI thread, the relay
threads and the inference process keep to the window's core. A CUDA run leaves
everything where the OS puts it. (What it measured: docs/performance.md.)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CoreSplit:
    training: frozenset[int]  # the training process (its training thread and the torch threads it starts)
    window: frozenset[int]  # the GUI thread, the predictor's relay thread, the inference process


def _usable() -> frozenset[int] | None:
    if not hasattr(os, "sched_getaffinity"):  # macOS, Windows
        return None
    try:
        return frozenset(os.sched_getaffinity(0))
    except OSError:
        return None


_AT_START = _usable()  # read at import, before anything here confined the calling thread


def at_start() -> frozenset[int] | None:
    """The cores this process could use when it started (None: no affinity API)."""
    return _AT_START


def core_split(cores: Iterable[int] | None = None) -> CoreSplit | None:
    """The split for a CPU run, or None where there is nothing to split (one core, or no affinity API).

    `cores`: the cores to split (default: those the process could use when it started)."""
    usable = frozenset(cores) if cores is not None else _AT_START
    if usable is None or len(usable) < 2 or not hasattr(os, "sched_setaffinity"):
        return None
    ordered = sorted(usable)
    return CoreSplit(training=frozenset(ordered[:-1]), window=frozenset(ordered[-1:]))


def pin(cores: Iterable[int] | None, pid: int = 0) -> bool:
    """Keep thread or process `pid` (0: the calling thread; a thread's `native_id` works too) to `cores`
    (None: give back every core the process could use when it started).

    A hint for the scheduler: False (and a debug line) when the OS refuses, say for a process that has exited."""
    cores = _AT_START if cores is None else frozenset(cores)
    if not cores:
        return False
    try:
        os.sched_setaffinity(pid, cores)
    except (OSError, ValueError, AttributeError) as exc:
        log.debug("could not keep %s to cores %s: %s", pid or "this thread", sorted(cores), exc)
        return False
    return True
