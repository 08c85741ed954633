"""Live shape inference: re-analyse the graph after edits, at most once per event-loop turn."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal

from ...core.analysis import Analysis, analyze
from ...core.graph import Problem
from ..document import Document

log = logging.getLogger(__name__)


class ShapeInference(QObject):
    updated = Signal(object)  # Analysis

    def __init__(self, doc: Document, parent: QObject | None = None):
        super().__init__(parent)
        self.doc = doc
        self.analysis: Analysis | None = None
        # A paste of ten layers is many small changes; one analysis after them all is enough.
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self.run_now)
        doc.changed.connect(self._timer.start)

    def pending(self) -> bool:
        return self._timer.isActive()

    def run_now(self) -> Analysis:
        self._timer.stop()
        try:
            analysis = analyze(self.doc.graph)
        except Exception as exc:  # a bug in inference must not take the editor down with it
            log.exception("shape inference failed")
            analysis = Analysis(problems=[Problem(None, f"shape inference failed: {exc}")])
        self.analysis = analysis
        self.updated.emit(analysis)
        return analysis
