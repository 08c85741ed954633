"""The window's memory over a long run (issue 19): does it stay within the per-run history budget?

    python benchmarks/bench_window_memory.py [MINUTES]     # default 10; offscreen; prints JSON lines

Opens the app on the MLP preset, trains on the bundled sample for MINUTES (as many epochs as that takes),
and samples the window process's resident memory every 30 s: the growth per minute and per 1,000 steps.
Each sample also gives glibc's view (`mallinfo2`, all arenas: bytes in use and free), Python's allocated
blocks and the number of objects the collector tracks, which tell a leak (in use grows) from fragmentation
(free grows).

To find where growth comes from (environment variables):
    PG_BENCH_DROP=Progress,EpochEnded,...  these messages reach the window (read and unpickled) but go nowhere
    PG_BENCH_CLOSE=charts,draw,views       close these docks before the run (views: every view dock)
    PG_BENCH_NO_RUN=1                      no run: the window idles (what grows without training)
    PG_GC_TYPES=1                          the object types whose count grew most from minute 1 to the end
    PG_TRACEMALLOC=1                       the Python allocations that grew most (inflates RSS itself)
"""

from __future__ import annotations

import collections
import ctypes
import ctypes.util
import gc
import json
import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QObject, Slot

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                      "fsmblks", "uordblks", "fordblks", "keepcost")]


def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallinfo2.restype = _Mallinfo2
        return libc
    except (OSError, AttributeError):  # not glibc, or older than 2.33
        return None


def heap_figures(libc) -> dict:
    """glibc's heap (all arenas) in MB: in use (malloc'd and not freed) and free (kept by malloc); Python's
    blocks and the collector's objects, in thousands."""
    figures = {"py_blocks_k": round(sys.getallocatedblocks() / 1000, 1),
               "gc_objects_k": round(len(gc.get_objects()) / 1000, 1)}
    try:  # resident memory: anonymous (heaps, Python's arenas, buffers) and file-backed (libraries' pages touched)
        with open("/proc/self/smaps_rollup") as rollup:
            kb = {line.split(":")[0]: int(line.split()[1]) for line in rollup if line.endswith("kB\n")}
        figures.update(anon_mb=round(kb["Anonymous"] / 1024, 1), file_mb=round((kb["Rss"] - kb["Anonymous"]) / 1024, 1))
    except (OSError, KeyError):
        pass
    if libc is not None:
        info = libc.mallinfo2()
        figures.update(malloc_in_use_mb=round((info.uordblks + info.hblkhd) / 2**20, 1),
                       malloc_free_mb=round(info.fordblks / 2**20, 1))
    return figures


def type_counts() -> collections.Counter:
    return collections.Counter(type(o).__qualname__ for o in gc.get_objects())


class _Filter(QObject):
    """Between the worker's signal and the dispatcher (a QObject of the GUI thread, so the messages are queued)."""

    def __init__(self, drop: tuple[str, ...], routed, parent: QObject):
        super().__init__(parent)
        self.drop, self.routed = drop, routed

    @Slot(object)
    def dispatch(self, message) -> None:
        if type(message).__name__ not in self.drop:
            self.routed(message)


def main() -> None:
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    from app_window import open_window

    from playground.core.run.messages import Progress
    from playground.core.train import TrainConfig

    app, window = open_window()
    window.workbench.files.new_from_preset("mlp")
    window.workbench.shapes.run_now()
    steps = [0]
    window.training.dispatcher.observe(lambda m: steps.__setitem__(0, m.global_step) if isinstance(m, Progress)
                                       else None)
    drop = tuple(name for name in os.environ.get("PG_BENCH_DROP", "").split(",") if name)
    if drop:  # the worker still reads and unpickles them; the dispatcher routes them nowhere
        window.training.session.dispatch = _Filter(drop, window.training.dispatcher.dispatch, window).dispatch
    for name in filter(None, os.environ.get("PG_BENCH_CLOSE", "").split(",")):
        docks = (window.view_docks.values() if name == "views" else [getattr(window, f"{name}_dock")])
        for dock in docks:
            dock.close()
    window.training.panel.set_config(TrainConfig(epochs=10_000, batch_size=128, augment="none", device="cpu"))
    window.training.panel.select_dataset("mnist-sample")
    if os.environ.get("PG_BENCH_NO_RUN") != "1":
        window.acts.start_training.trigger()
    tracing = os.environ.get("PG_TRACEMALLOC") == "1"  # where the growth comes from (Python allocations only)
    if tracing:
        import tracemalloc

        tracemalloc.start(1)
    libc = _libc()
    trim = libc if os.environ.get("PG_MALLOC_TRIM") == "1" else None  # glibc only
    counting = os.environ.get("PG_GC_TYPES") == "1"
    counts = None
    baseline = None
    start, samples = time.monotonic(), []
    next_sample = start
    while time.monotonic() - start < minutes * 60:
        app.processEvents()
        time.sleep(0.005)
        if time.monotonic() >= next_sample:
            samples.append((round(time.monotonic() - start), round(rss_mb(), 1), steps[0]))
            line = {"t_s": samples[-1][0], "rss_mb": samples[-1][1], "steps": samples[-1][2]}
            if trim is not None:  # what the heap holds but no longer uses: given back, then measured again
                trim.malloc_trim(0)
                line["rss_after_malloc_trim_mb"] = round(rss_mb(), 1)
            print(json.dumps({**line, **heap_figures(libc)}), flush=True)
            next_sample += 30
            if counting and counts is None and samples[-1][0] >= 60:
                counts = type_counts()
            if tracing and baseline is None and samples[-1][0] >= 60:
                baseline = tracemalloc.take_snapshot()
    if tracing and baseline is not None:
        snapshot = tracemalloc.take_snapshot()
        for stat in snapshot.compare_to(baseline, "lineno")[:12]:
            print(f"{stat.size_diff / 2**20:+.2f} MB {stat.count_diff:+d} blocks", *stat.traceback.format()[-1:],
                  sep="\n  ")
            sizes = collections.Counter(trace.size for trace in snapshot.traces
                                        if trace.traceback[0] == stat.traceback[0])
            print("  sizes (bytes: blocks):", dict(sizes.most_common(8)))
    if counts is not None:
        grown = type_counts()
        grown.subtract(counts)
        print("object types grown:", ", ".join(f"{name} {n:+d}" for name, n in grown.most_common(15)))
    window.acts.stop_training.trigger()
    # From the first minute on (start-up and the first views' caches are not growth).
    first = next((s for s in samples if s[0] >= 60), samples[0])
    last = samples[-1]
    minutes_run = (last[0] - first[0]) / 60 or 1
    print(json.dumps({"minutes": round(minutes_run, 1), "rss_first_mb": first[1], "rss_last_mb": last[1],
                      "growth_mb_per_minute": round((last[1] - first[1]) / minutes_run, 2),
                      "steps": last[2] - first[2],
                      "growth_mb_per_1000_steps": round(1000 * (last[1] - first[1]) / max(1, last[2] - first[2]), 2)}))
    window.workbench.document.undo_stack.setClean()
    window.close()


if __name__ == "__main__":
    main()
