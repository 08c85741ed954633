"""The window's memory over a long run (issue 19): does it stay within the per-run history budget?

    python benchmarks/bench_window_memory.py [MINUTES]     # default 10; offscreen; prints JSON lines

Opens the app on the MLP preset, trains on the bundled sample for MINUTES (as many epochs as that takes),
and samples the window process's resident memory every 30 s: the growth per minute and per 1,000 steps.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    os.environ["PLAYGROUND_SETTINGS_DIR"] = tempfile.mkdtemp(prefix="pg-bench-")
    from playground.app.launch import application
    from playground.app.main_window import MainWindow
    from playground.core.run.messages import Progress
    from playground.core.train import TrainConfig

    app = application()
    window = MainWindow()
    window.resize(1280, 800)
    window.show()
    window.start(None)
    window.workbench.files.new_from_preset("mlp")
    window.workbench.shapes.run_now()
    steps = [0]
    window.training.dispatcher.observe(lambda m: steps.__setitem__(0, m.global_step) if isinstance(m, Progress)
                                       else None)
    window.training.panel.set_config(TrainConfig(epochs=10_000, batch_size=128, augment="none", device="cpu"))
    window.training.panel.select_dataset("mnist-sample")
    window.acts.start_training.trigger()
    tracing = os.environ.get("PG_TRACEMALLOC") == "1"  # where the growth comes from (Python allocations only)
    if tracing:
        import tracemalloc

        tracemalloc.start(1)
    baseline = None
    trim = None
    if os.environ.get("PG_MALLOC_TRIM") == "1":  # glibc only
        import ctypes

        trim = ctypes.CDLL("libc.so.6")
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
            print(json.dumps(line), flush=True)
            next_sample += 30
            if tracing and baseline is None and samples[-1][0] >= 60:
                baseline = tracemalloc.take_snapshot()
    if tracing and baseline is not None:
        for stat in tracemalloc.take_snapshot().compare_to(baseline, "lineno")[:12]:
            print(f"{stat.size_diff / 2**20:+.2f} MB {stat.count_diff:+d} blocks", *stat.traceback.format()[-1:],
                  sep="\n  ")
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
