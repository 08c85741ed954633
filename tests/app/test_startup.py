"""Start-up: the window appears before torch is imported, then the editor fills in."""

import subprocess
import sys

from playground.app.launch import open_main_window
from playground.app.titles import window_title


def _modules_after(code: str) -> set[str]:
    result = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                            capture_output=True, text=True, env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin"})
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_the_package_imports_neither_qt_nor_torch():
    loaded = _modules_after("import playground.app")
    assert "torch" not in loaded
    assert not any(m.startswith("PySide6") for m in loaded)


def test_the_window_frame_is_built_without_torch():
    loaded = _modules_after("import playground.app.launch, playground.app.main_window")
    assert "PySide6.QtWidgets" in loaded
    assert "torch" not in loaded


def test_window_shows_at_once_and_the_editor_arrives_after_the_core(qtbot, settings):
    window = open_main_window(None, settings)
    qtbot.addWidget(window)
    # Before the core has loaded: the frame, the title, and a promise of shapes.
    assert window.isVisible()
    assert window.windowTitle() == window_title("mnist-cnn (preset)") == "Playground — mnist-cnn (preset)[*]"
    assert window.workbench is None
    assert window.status.validity.text() == "Computing shapes…"
    assert not window.acts.save.isEnabled()

    qtbot.waitUntil(lambda: window.workbench is not None, timeout=30000)
    wb = window.workbench
    assert len(wb.document.graph.nodes) == 14
    assert wb.document.preset == "mnist-cnn" and not window.isWindowModified()
    assert window.status.validity.text() == "Valid network"
    assert window.status.params.text() == "93,322 parameters"
    assert wb.scene.nodes["output"].shape_text == "→ 10"
    assert window.acts.save.isEnabled()
    window.loader.wait()
    window.close()


def test_the_canvas_takes_the_inference_process_started_with_the_window(qtbot, settings, monkeypatch):
    from playground.app import launch
    from playground.core.run.launcher import INFERENCE_MODULE, start_spare_process, take_spare

    if (left := take_spare(INFERENCE_MODULE)) is not None:  # an earlier test's, never taken: this test is about its own
        left[1].close()
    started = []

    def start(module):
        if module == INFERENCE_MODULE:
            started.append(start_spare_process(module))

    monkeypatch.setattr(launch, "start_spare_process", start)
    window = open_main_window(None, settings)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.workbench is not None, timeout=30000)
    assert len(started) == 1 and started[0] is not None  # at launch, whether or not the core was there yet
    predictor = window.training.predictor
    qtbot.waitUntil(lambda: predictor._inference.pid is not None, timeout=30000)  # the relay has started it
    assert predictor._inference.pid == started[0]
    window.loader.wait()
    window.close()


def test_opening_a_file_from_the_command_line(qtbot, settings, tmp_path):
    from playground.core.graph import load_graph, save_graph

    path = tmp_path / "mine.json"
    save_graph(load_graph("preset:mlp"), path)
    window = open_main_window(str(path), settings)
    qtbot.addWidget(window)
    assert window.windowTitle() == "Playground — mine.json[*]"
    qtbot.waitUntil(lambda: window.workbench is not None, timeout=30000)
    assert window.workbench.document.path == str(path.resolve())
    assert window.workbench.document.graph.name == "MLP"
    window.loader.wait()
    window.close()


def test_a_file_that_cannot_be_opened_at_start_is_reported_and_the_editor_starts_empty(qtbot, settings, tmp_path,
                                                                                        dialogs):
    from tests.app.conftest import make_window

    window = make_window(qtbot, settings, str(tmp_path / "missing.json"))
    assert dialogs.texts("critical") == [f"{tmp_path / 'missing.json'}: no such file"]
    assert window.workbench.document.graph.nodes == {}
    assert window.windowTitle() == "Playground — Untitled[*]"
    window.close()


RUN_APP = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from playground.app import run_app

app = QApplication(sys.argv[:1])  # run_app uses the existing application

def close_when_ready():
    windows = [w for w in app.topLevelWidgets() if getattr(w, "workbench", None) is not None]
    if windows and windows[0].workbench.shapes.analysis is not None:
        print(windows[0].windowTitle(), windows[0].status.validity.text(), sep="|")
        windows[0].close()
    else:
        QTimer.singleShot(20, close_when_ready)

QTimer.singleShot(0, close_when_ready)
sys.exit(run_app(sys.argv[1] if len(sys.argv) > 1 else None))
"""


def test_run_app_runs_until_the_window_closes_and_returns_0(settings_dir):
    import os

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PLAYGROUND_SETTINGS_DIR=str(settings_dir))
    result = subprocess.run([sys.executable, "-c", RUN_APP], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Playground — mnist-cnn (preset)[*]|Valid network"
