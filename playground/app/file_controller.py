"""File commands: new, open, open recent, save, save as, new from preset; unsaved-change prompts; restore.

Errors never change the open document: a file that cannot be read is reported
with the loader's own message and the current network stays as it was.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, wait
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QWidget

from ..core.graph import Graph, GraphFileError, load_graph, save_graph
from ..core.resources import preset_names
from . import dialogs
from .autosave import Autosaver, find_leftovers
from .document import Document
from .settings import AppSettings
from .titles import DEFAULT_PRESET

BIG_GRAPH_LAYERS = 1000  # from here the status bar says how long a file took to open
READ_POLL_S = 0.02  # how often the window looks up from waiting for a file to be read


def _read_in_background(path: str) -> Future:
    """`load_graph(path)` on a daemon thread: a read that hangs (a stuck network drive) cannot hold up quitting."""
    future: Future = Future()

    def read() -> None:
        try:
            future.set_result(load_graph(path))
        except BaseException as exc:  # handed to the GUI thread, which reports it
            future.set_exception(exc)

    threading.Thread(target=read, name="graph-reader", daemon=True).start()
    return future


class FileController(QObject):
    recent_changed = Signal()
    message = Signal(str)  # for the status bar

    def __init__(self, window: QWidget, doc: Document, settings: AppSettings, autosaver: Autosaver,
                 prepare_view: Callable[[Graph], Iterator[tuple[int, int]]] | None = None):
        super().__init__(window)
        self.window, self.doc, self.settings, self.autosaver = window, doc, settings, autosaver
        # Makes the editor's items for a graph in slices, yielding (done, total): GraphScene.prepare.
        self.prepare_view = prepare_view

    # -- start-up -----------------------------------------------------------------------------
    def start(self, path: str | None = None) -> None:
        """Offer to restore a crashed session's autosave, else open `path` (or the default preset)."""
        leftovers = find_leftovers(self.settings.autosave_dir)
        if leftovers:
            newest = leftovers[0]
            name = Path(newest.source_path).name if newest.source_path else (
                f"{newest.preset} (preset)" if newest.preset else "Untitled")
            when = time.strftime("%H:%M on %d %b", time.localtime(newest.saved_at))
            restore = dialogs.ask_restore(self.window, name, when)
            for leftover in leftovers:
                leftover.discard()
            if restore:
                self.doc.load(newest.graph, newest.source_path, newest.preset, modified=True)
                self.autosaver.save_now()  # this session now protects the restored work
                self.message.emit("Restored unsaved changes from the autosave")
                return
        if path is None:
            self.open_preset(DEFAULT_PRESET)
        elif not self._load_path(path):
            self.doc.load(Graph())

    # -- asking before work is lost -----------------------------------------------------------------
    def confirm_discard(self, doing: str = "closing") -> bool:
        """True if the current document may be replaced or closed (saved, or the user chose to discard)."""
        if not self.doc.modified:
            return True
        answer = dialogs.ask_save_changes(self.window, self.doc.display_name, doing)
        if answer == "save":
            return self.save()
        return answer == "discard"

    # -- new and open ---------------------------------------------------------------------------------
    def new(self) -> bool:
        if not self.confirm_discard("starting a new network"):
            return False
        self.doc.load(Graph())
        return True

    def new_from_preset(self, name: str) -> bool:
        if not self.confirm_discard("opening a preset"):
            return False
        return self.open_preset(name)

    def open_preset(self, name: str) -> bool:
        try:
            graph = load_graph(f"preset:{name}")
        except GraphFileError as exc:
            dialogs.error(self.window, "Cannot open preset", str(exc))
            return False
        self.doc.load(graph, preset=name)
        return True

    def open(self) -> bool:
        if not self.confirm_discard("opening another network"):
            return False
        path = dialogs.open_file_name(self.window, self.settings.last_folder())
        return bool(path) and self._load_path(path)

    def open_path(self, path: str) -> bool:
        """Open a file (asking about unsaved changes first)."""
        if not self.confirm_discard("opening another network"):
            return False
        return self._load_path(path)

    def open_recent(self, path: str) -> bool:
        if not Path(path).is_file():
            self.settings.remove_recent_files([path])
            self.recent_changed.emit()
            dialogs.error(self.window, "File not found",
                          f"{path} no longer exists; it has been removed from the recent files.")
            return False
        return self.open_path(path)

    def _load_path(self, path: str) -> bool:
        """Read the file on a worker thread, then make its editor items a slice at a time, then switch documents.

        A big file (a few seconds at the limit, docs/performance.md) shows a progress bar with Cancel after half
        a second and the window keeps repainting; Cancel, like an unreadable file, leaves the open network as it was.
        """
        name, start = Path(path).name, time.perf_counter()
        progress = dialogs.Progress(self.window, f"Opening {name}…")
        try:
            reading = _read_in_background(path)
            while not reading.done():
                if not progress.step():
                    self.message.emit(f"Opening {name} cancelled; nothing changed")
                    return False
                wait([reading], timeout=READ_POLL_S)
            try:
                graph = reading.result()
            except GraphFileError as exc:
                progress.close()
                dialogs.error(self.window, "Cannot open file", str(exc))
                return False
            if self.prepare_view is not None:
                for done, total in self.prepare_view(graph):
                    if not progress.step(done, total):
                        self.message.emit(f"Opening {name} cancelled; nothing changed")
                        return False
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)  # the last step, switching, is one block
            try:
                self.doc.load(graph, str(Path(path).resolve()))
            finally:
                QApplication.restoreOverrideCursor()
        finally:
            progress.close()
        if len(graph.nodes) > BIG_GRAPH_LAYERS:
            self.message.emit(f"Opened {name}: {len(graph.nodes):,} layers in {time.perf_counter() - start:.1f} s")
        self._remember(path)
        return True

    # -- saving -------------------------------------------------------------------------------------------
    def save(self) -> bool:
        if self.doc.path is None:
            return self.save_as()
        return self._save_to(self.doc.path)

    def save_as(self) -> bool:
        stem = Path(self.doc.path).stem if self.doc.path else (self.doc.preset or "network")
        folder = str(Path(self.doc.path).parent) if self.doc.path else self.settings.last_folder()
        path = dialogs.save_file_name(self.window, str(Path(folder) / f"{stem}.json"))
        return bool(path) and self._save_to(path)

    def _save_to(self, path: str) -> bool:
        try:
            save_graph(self.doc.graph, path)
        except OSError as exc:
            dialogs.error(self.window, "Cannot save", f"{path}: {exc.strerror or exc}")
            return False
        self.doc.mark_saved(str(Path(path).resolve()))
        self._remember(path)
        self.message.emit(f"Saved {Path(path).name}")
        return True

    # -- recent files -----------------------------------------------------------------------------------
    def _remember(self, path: str) -> None:
        self.settings.add_recent_file(path)
        self.settings.set_last_folder(str(Path(path).resolve().parent))
        self.recent_changed.emit()

    def recent_files(self) -> list[str]:
        """The recent files that still exist; missing ones are pruned (and the status bar says so)."""
        recent = self.settings.recent_files()
        missing = [p for p in recent if not Path(p).is_file()]
        if missing:
            self.settings.remove_recent_files(missing)
            names = ", ".join(Path(p).name for p in missing)
            self.message.emit(f"Removed from recent files (no longer found): {names}")
        return [p for p in recent if p not in missing]

    def clear_recent(self) -> None:
        self.settings.set_recent_files([])
        self.recent_changed.emit()

    def preset_names(self) -> list[str]:
        return preset_names()
