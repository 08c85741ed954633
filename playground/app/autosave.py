"""Autosave: a copy of unsaved work, kept beside the settings, never over the user's file.

Each session writes `autosave-<id>.json` a few seconds after an edit and holds
`autosave-<id>.lock` (a QLockFile) while it runs. On a clean exit, and
whenever the document is saved, the copy is deleted. At start-up, a copy whose
lock nobody holds was left by a session that crashed, and is offered back; a
lock nobody holds with no copy beside it (a session killed with nothing
unsaved) is removed.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QTimer

from ..core.files import atomic_write
from ..core.graph import Graph, graph_from_dict, graph_to_dict
from .document import Document

DELAY_MS = 3000


@dataclass
class Leftover:
    """An autosave left by a session that did not exit cleanly."""

    path: Path
    graph: Graph
    source_path: str | None
    preset: str | None
    saved_at: float

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
        self.path.with_suffix(".lock").unlink(missing_ok=True)


def remove_unheld_locks(folder: Path) -> list[Path]:
    """Remove the locks of sessions that ended without unlocking (killed) and left no autosave behind; returns them.

    A lock is removed only when no process holds it (its holder's pid is dead: QLockFile finds it stale) and
    there is no `autosave-<id>.json` beside it, so that unsaved work a person could recover is never touched.
    """
    removed = []
    for lock_path in sorted(Path(folder).glob("autosave-*.lock")):
        if lock_path.with_suffix(".json").exists():
            continue  # a leftover (or a live session's copy): find_leftovers decides about it
        lock = QLockFile(str(lock_path))
        lock.setStaleLockTime(0)  # stale only when its holder has gone, never by age alone
        if not lock.tryLock(0):
            continue  # a running session holds it
        lock.unlock()  # removes the file
        removed.append(lock_path)
    return removed


def find_leftovers(folder: Path) -> list[Leftover]:
    """Autosaves nobody is holding, newest first. Unreadable ones are removed, and so are the locks of sessions
    that were killed with nothing unsaved (remove_unheld_locks)."""
    remove_unheld_locks(folder)
    found = []
    for path in sorted(Path(folder).glob("autosave-*.json")):
        lock = QLockFile(str(path.with_suffix(".lock")))
        lock.setStaleLockTime(0)
        if not lock.tryLock(0):
            continue  # another running session owns it
        lock.unlock()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            meta = data.pop("autosave", {})
            graph = graph_from_dict(data, source=str(path))
        except Exception:  # a half-written or foreign file: nothing worth offering
            path.unlink(missing_ok=True)
            continue
        found.append(Leftover(path, graph, meta.get("path"), meta.get("preset"),
                              float(meta.get("saved_at", path.stat().st_mtime))))
    return sorted(found, key=lambda f: f.saved_at, reverse=True)


class Autosaver(QObject):
    def __init__(self, doc: Document, folder: Path, delay_ms: int = DELAY_MS, parent: QObject | None = None):
        super().__init__(parent)
        self.doc = doc
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        session = uuid.uuid4().hex[:12]
        self.path = self.folder / f"autosave-{session}.json"
        self._lock = QLockFile(str(self.path.with_suffix(".lock")))
        self._lock.tryLock(0)
        self._timer = QTimer(self, singleShot=True, interval=delay_ms)
        self._timer.timeout.connect(self.save_now)
        doc.changed.connect(self._timer.start)  # `save_now` checks whether there is anything to protect
        doc.modified_changed.connect(self._modified_changed)

    def _modified_changed(self, modified: bool) -> None:
        if not modified:  # saved, or undone back to the saved state
            self._timer.stop()
            self.path.unlink(missing_ok=True)

    def save_now(self) -> None:
        self._timer.stop()
        if not self.doc.modified:
            return
        data = graph_to_dict(self.doc.graph)
        data["autosave"] = {"path": self.doc.path, "preset": self.doc.preset, "saved_at": time.time()}
        with contextlib.suppress(OSError):  # a full disk must not interrupt editing; the next edit tries again
            atomic_write(self.path, json.dumps(data, ensure_ascii=False).encode("utf-8"))

    def close(self) -> None:
        """A clean exit: nothing to restore next time."""
        self._timer.stop()
        self.path.unlink(missing_ok=True)
        self._lock.unlock()
