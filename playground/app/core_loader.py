"""Import the core (torch, the layer catalog) in the background while the window appears.

Importing torch takes a second or two, so it happens here: the window shows
first, and the editor is built when this reports back. (Shape inference itself
needs no torch: `core/analysis.py` is arithmetic.) The GUI thread polls a plain thread rather
than receiving a signal from it, so no Qt object is touched off the GUI thread.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
import traceback

from PySide6.QtCore import QObject, QTimer, Signal

CORE_MODULES = ("torch", "playground.core.build", "playground.core.analysis", "playground.core.graph",
                "playground.core.layers")
POLL_MS = 20


def warm_up(path: str | None) -> None:
    """Analyse the network about to be opened: the editor then finds the modules it needs imported."""
    from ..core.analysis import analyze
    from ..core.graph import load_graph
    from .titles import DEFAULT_PRESET

    with contextlib.suppress(Exception):  # the editor reports a bad file properly; this is only a head start
        analyze(load_graph(path or f"preset:{DEFAULT_PRESET}"))


class CoreLoader(QObject):
    loaded = Signal()
    failed = Signal(str)

    def __init__(self, path: str | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self._path = path
        self._thread: threading.Thread | None = None
        self._error: str | None = None
        self._poll = QTimer(self, interval=POLL_MS)
        self._poll.timeout.connect(self._check)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._import, name="playground-core-import", daemon=True)
        self._thread.start()
        self._poll.start()

    def _import(self) -> None:
        try:
            for name in CORE_MODULES:
                importlib.import_module(name)
        except BaseException as exc:
            self._error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            return
        warm_up(self._path)

    def _check(self) -> None:
        if self._thread is None or self._thread.is_alive():
            return
        self._poll.stop()
        self._thread.join()
        self._thread = None
        if self._error:
            self.failed.emit(self._error)
        else:
            self.loaded.emit()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the import has finished (for tests and for quitting early)."""
        if self._thread is not None:
            self._thread.join(timeout)
