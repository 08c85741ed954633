"""Big graphs (issue 19): a 10,000-layer chain inspected, opened and edited; a 200,000-layer file refused.

    python benchmarks/bench_big_graph.py            # offscreen; prints one JSON object
    python benchmarks/bench_big_graph.py --open-only FILE   # only the app's figures, for FILE

Targets: inspect ≤ 2 s, open and show ≤ 5 s, a parameter edit repainted ≤ 100 ms, the refusal ≤ 2 s.
Nothing is asserted (speed targets live here, not in unit tests); the files are generated in a
temporary folder.
"""

from __future__ import annotations

import json
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


def chain_file(folder: Path, layers: int) -> Path:
    """Input → Flatten → Dense(10) × (layers - 3) → Output, one node per line as the app saves it."""
    nodes = [{"id": "input", "kind": "input", "params": {"shape": [1, 28, 28], "dataset": "mnist"},
              "position": [0, 0]},
             {"id": "flat", "kind": "flatten", "params": {}, "position": [0, 90]}]
    edges = [{"from": "input.out", "to": "flat.in"}]
    prev = "flat"
    for i in range(layers - 3):
        nodes.append({"id": f"d{i}", "kind": "dense", "params": {"units": 10}, "position": [0, 180 + 90 * i]})
        edges.append({"from": f"{prev}.out", "to": f"d{i}.in"})
        prev = f"d{i}"
    nodes.append({"id": "output", "kind": "output", "params": {}, "position": [0, 90 * layers]})
    edges.append({"from": f"{prev}.out", "to": "output.in"})
    path = folder / f"chain-{layers}.json"
    path.write_text(json.dumps({"schema_version": 2, "name": f"chain of {layers}", "description": "",
                                "nodes": nodes, "edges": edges}, indent=1))
    return path


def timed_inspect(path: Path) -> tuple[float, int, str]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "playground", "inspect", str(path)], cwd=ROOT,
                          capture_output=True, text=True)
    return time.perf_counter() - start, done.returncode, (done.stdout + done.stderr).strip().splitlines()[-1]


def app_figures(path: Path, edits: int = 10) -> dict:
    from app_window import open_window
    from PySide6.QtWidgets import QApplication

    app, window = open_window()
    while window.workbench is None or window.workbench.shapes.analysis is None:
        app.processEvents()  # the core loaded and the default preset shown: the app is ready
    wb = window.workbench

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QProgressDialog

    ticks, shown = [], []  # event-loop turns while opening: the longest gap is the longest freeze
    beat = QTimer(interval=0)
    beat.timeout.connect(lambda: (ticks.append(time.perf_counter()),
                                  shown.extend(d for d in window.findChildren(QProgressDialog) if d.isVisible())))
    beat.start()
    start = time.perf_counter()
    opened = wb.files.open_path(str(path))
    while wb.shapes.pending():
        app.processEvents()
    app.processEvents()
    wb.view.viewport().repaint()
    open_s = time.perf_counter() - start
    beat.stop()
    gaps = [b - a for a, b in zip([start, *ticks], [*ticks, time.perf_counter()], strict=True)]
    assert opened and len(wb.scene.nodes) == len(wb.document.graph.nodes)
    assert wb.shapes.analysis.ok, wb.shapes.analysis.problems[:3]

    wb.scene.select_nodes(["d0"])
    app.processEvents()
    spin = wb.inspector.editors["units"]
    edit_ms = []
    for i in range(edits):
        t0 = time.perf_counter()
        spin.setValue(12 if i % 2 == 0 else 10)  # changes the shape of d0 and the parameter count of d1
        while wb.shapes.pending():
            app.processEvents()
        wb.view.viewport().repaint()
        edit_ms.append((time.perf_counter() - t0) * 1000)
    wb.document.undo_stack.setClean()
    window.close()
    QApplication.processEvents()
    return {"app_open_and_show_s": round(open_s, 2), "open_longest_freeze_ms": round(1000 * max(gaps)),
            "open_progress_bar_shown": bool(shown),
            "param_edit_repaint_ms_median": round(statistics.median(edit_ms)),
            "param_edit_repaint_ms_max": round(max(edit_ms))}


def main() -> None:
    from playground.core.graph import MAX_GRAPH_LAYERS

    if sys.argv[1:2] == ["--open-only"]:
        print(json.dumps(app_figures(Path(sys.argv[2]), edits=2)))
        return

    folder = Path(tempfile.mkdtemp(prefix="pg-big-"))
    at_limit = chain_file(folder, MAX_GRAPH_LAYERS)
    huge = chain_file(folder, 200_000)
    inspect_s, inspect_rc, _ = timed_inspect(at_limit)
    refuse_s, refuse_rc, refusal = timed_inspect(huge)
    figures = {"layers": MAX_GRAPH_LAYERS, "file_mb": round(at_limit.stat().st_size / 2**20, 1),
               "inspect_s": round(inspect_s, 2), "inspect_exit": inspect_rc,
               "refuse_200k_s": round(refuse_s, 2), "refuse_200k_exit": refuse_rc,
               "refuse_200k_file_mb": round(huge.stat().st_size / 2**20, 1), "refusal": refusal}
    figures.update(app_figures(at_limit))
    print(json.dumps(figures, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
