"""App timings: start-up to a visible window, and a parameter edit to repainted shapes on 100 nodes.

    python benchmarks/bench_app_editor.py            # offscreen

Prints medians; nothing is asserted (speed targets live here, not in unit tests).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Run in a fresh interpreter: prints seconds from the launch to the window shown, and to the editor ready.
STARTUP_CHILD = """
import sys, time
from PySide6.QtCore import QTimer
from playground.app.launch import application, open_main_window
app = application()
window = open_main_window(None)
shown = []
def poll():
    if not shown and window.isVisible():
        shown.append(time.time())
    if window.workbench is not None and window.workbench.shapes.analysis is not None:
        print(shown[0], time.time(), "torch" in sys.modules)
        window.workbench.document.undo_stack.setClean()
        window.close()
        app.quit()
    else:
        QTimer.singleShot(5, poll)
QTimer.singleShot(0, poll)
app.exec()
window.loader.wait()
"""


def startup(runs: int = 5) -> None:
    shown, ready = [], []
    for _ in range(runs):
        env = dict(os.environ, PLAYGROUND_SETTINGS_DIR=tempfile.mkdtemp(prefix="pg-bench-"))
        start = time.time()
        out = subprocess.run([sys.executable, "-c", STARTUP_CHILD], capture_output=True, text=True, env=env,
                             cwd=ROOT, check=True).stdout.split()
        shown.append(float(out[0]) - start)
        ready.append(float(out[1]) - start)
    print(f"start-up, process start → window shown: median {statistics.median(shown):.2f} s "
          f"({', '.join(f'{s:.2f}' for s in shown)})")
    print(f"start-up, process start → shapes shown:  median {statistics.median(ready):.2f} s "
          f"({', '.join(f'{s:.2f}' for s in ready)})")


def edit_latency(edits: int = 30) -> None:
    from app_window import open_window
    from PySide6.QtWidgets import QApplication

    from playground.core.analysis import analyze
    from tests.app.helpers import big_graph

    app, window = open_window()
    wb = window.workbench
    graph = big_graph()
    wb.document.load(graph)
    wb.shapes.run_now()
    wb.view.fit_all(min_zoom=0.15)  # the whole graph on screen: every label repaints
    app.processEvents()
    wb.scene.select_nodes(["stem"])
    spin = wb.inspector.editors["padding"]
    totals, analyses = [], []
    for i in range(edits):
        t0 = time.perf_counter()
        spin.setValue(2 if i % 2 == 0 else 1)  # changes every shape downstream of the stem
        while wb.shapes.pending():
            app.processEvents()
        wb.view.viewport().repaint()
        totals.append(time.perf_counter() - t0)
        t1 = time.perf_counter()
        analyze(wb.document.graph)
        analyses.append(time.perf_counter() - t1)
    n_nodes, n_edges = len(graph.nodes), len(graph.edges)
    print(f"edit → repainted shapes, {n_nodes} nodes / {n_edges} wires: median "
          f"{statistics.median(totals) * 1000:.1f} ms (max {max(totals) * 1000:.1f} ms); "
          f"analyze() alone: {statistics.median(analyses) * 1000:.1f} ms")
    wb.document.undo_stack.setClean()
    window.close()
    QApplication.processEvents()


if __name__ == "__main__":
    startup()
    edit_latency()
