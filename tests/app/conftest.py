"""Fixtures for the app tests: a fresh settings folder, no real dialogs, no threads left running."""

from __future__ import annotations

import threading
import traceback
from weakref import WeakKeyDictionary

import pytest
from PySide6.QtCore import QThread, QThreadPool
from PySide6.QtWidgets import QFileDialog, QMessageBox

from playground.app import dialogs as app_dialogs
from playground.app.settings import ENV_VAR, AppSettings


@pytest.fixture(scope="session", autouse=True)
def _release_clipboard_at_exit(qapp):
    """What the app does on aboutToQuit; without it PySide6 6.11 crashes at interpreter exit."""
    yield
    from playground.app.editor.clipboard import release_clipboard  # imports the core: only after the tests

    release_clipboard()


@pytest.fixture(autouse=True)
def _fail_on_dangling_threads(monkeypatch, qtbot):
    """Fail a test that leaves a QThread (or a thread pool task, or a Python thread) running, as napari does."""
    started: WeakKeyDictionary = WeakKeyDictionary()
    original_start = QThread.start

    def start(self, *args, **kwargs):
        started[self] = "".join(traceback.format_stack(limit=6)[:-1])
        return original_start(self, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", start)
    before = set(threading.enumerate())
    yield
    dangling = []
    for thread, where in list(started.items()):
        try:
            if thread.isRunning():
                dangling.append(where)
                thread.quit()
                qtbot.waitUntil(thread.isFinished, timeout=2000)
        except RuntimeError:  # the C++ object is gone: it certainly is not running
            pass
    assert not dangling, "QThreads left running, started at:\n" + "\n".join(dangling)
    assert QThreadPool.globalInstance().waitForDone(2000), "thread pool tasks left running"
    # A QThread that ran Python code shows up as a _DummyThread that never goes away; the QThread check covers it.
    leftover = [t for t in threading.enumerate() if t not in before and t.is_alive()
                and not isinstance(t, threading._DummyThread)]
    for t in leftover:
        t.join(2)
    assert not [t for t in leftover if t.is_alive()], f"Python threads left running: {leftover}"


@pytest.fixture(autouse=True)
def settings_dir(tmp_path, monkeypatch):
    """Every test gets its own settings folder; the user's real configuration is never touched."""
    folder = tmp_path / "settings"
    monkeypatch.setenv(ENV_VAR, str(folder))
    return folder


@pytest.fixture
def settings(settings_dir) -> AppSettings:
    return AppSettings(settings_dir)


class Dialogs:
    """Stands in for QMessageBox and QFileDialog: records what was shown, answers what the test queued."""

    def __init__(self):
        self.shown: list[tuple[str, str, str]] = []  # (kind, title, text)
        self.answers: list[QMessageBox.StandardButton] = []
        self.files: list[str] = []

    def answer(self, *buttons: QMessageBox.StandardButton) -> None:
        self.answers.extend(buttons)

    def choose_file(self, *paths: str) -> None:
        self.files.extend(paths)

    def texts(self, kind: str | None = None) -> list[str]:
        return [text for k, _, text in self.shown if kind is None or k == kind]

    def _ask(self, kind):
        def ask(parent, title, text, *args, **kwargs):
            self.shown.append((kind, title, text))
            if not self.answers:
                raise AssertionError(f"unexpected {kind} dialog: {title}: {text}")
            return self.answers.pop(0)

        return ask

    def _tell(self, kind):
        def tell(parent, title, text="", *args, **kwargs):
            self.shown.append((kind, title, text))
            return QMessageBox.StandardButton.Ok

        return tell

    def _file(self, kind):
        def choose(parent, caption="", folder="", filters="", *args, **kwargs):
            self.shown.append((kind, caption, folder))
            return (self.files.pop(0) if self.files else "", filters)

        return choose


@pytest.fixture(autouse=True)
def dialogs(monkeypatch) -> Dialogs:
    d = Dialogs()
    monkeypatch.setattr(QMessageBox, "warning", d._ask("warning"))
    monkeypatch.setattr(QMessageBox, "question", d._ask("question"))
    monkeypatch.setattr(QMessageBox, "critical", d._tell("critical"))
    monkeypatch.setattr(QMessageBox, "information", d._tell("information"))
    monkeypatch.setattr(QMessageBox, "about", d._tell("about"))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", d._file("open"))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", d._file("save"))
    monkeypatch.setattr(app_dialogs, "get_open_file_name", d._file("open"))  # every file dialog of the app
    monkeypatch.setattr(app_dialogs, "get_save_file_name", d._file("save"))
    return d


def make_window(qtbot, settings: AppSettings, path: str | None = None, start: bool = True, resize: bool = True):
    from playground.app.main_window import MainWindow

    window = MainWindow(settings, path=path)
    # pytest-qt closes the window before fixtures are torn down: forget unsaved changes first, so that
    # closing does not ask (tests of the question close the window themselves).
    qtbot.addWidget(window, before_close_func=_forget_changes)
    if resize:
        window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    if start:
        window.start(path)
    return window


def _forget_changes(window) -> None:
    if window.workbench is not None:
        window.workbench.document.undo_stack.setClean()


@pytest.fixture
def window(qtbot, settings):
    """The main window with the default mnist-cnn preset, shown offscreen."""
    return make_window(qtbot, settings)


@pytest.fixture
def empty_window(qtbot, settings, window):
    """The main window with an empty network (File > New)."""
    window.acts.new.trigger()
    assert not window.workbench.document.graph.nodes
    return window
