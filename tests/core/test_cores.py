"""Which cores a CPU run trains on, and which the window keeps (core/train/cores.py)."""

from __future__ import annotations

import os
import threading

import pytest

from playground.core.train.cores import core_split, pin

linux_affinity = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no thread affinity on this OS")


def test_the_last_core_is_the_windows_and_the_rest_train():
    split = core_split([3, 0, 2, 1])
    assert split.training == {0, 1, 2} and split.window == {3}
    assert core_split([5, 7]).training == {5} and core_split([5, 7]).window == {7}
    assert core_split([0]) is None  # one core: nothing to split, the OS shares it
    assert core_split([]) is None


@linux_affinity
def test_pin_keeps_a_thread_to_its_cores_and_none_gives_them_back():
    everything = os.sched_getaffinity(0)
    if len(everything) < 2:
        pytest.skip("needs two cores")
    one = min(everything)
    seen = {}

    def thread():
        assert pin({one})
        seen["pinned"] = os.sched_getaffinity(0)
        assert pin(None)
        seen["back"] = os.sched_getaffinity(0)

    t = threading.Thread(target=thread)
    t.start()
    t.join()
    assert seen == {"pinned": {one}, "back": everything}
    assert os.sched_getaffinity(0) == everything  # another thread's pin leaves this one alone


@linux_affinity
def test_pin_of_a_process_that_is_gone_is_refused_quietly():
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    assert pin({min(os.sched_getaffinity(0))}, process.pid) is False
