"""Live shape inference: re-analyse the graph after edits, at most once per event-loop turn.

An edit of parameters only (the Inspector's, an undo of one) re-checks the
edited layers and what their shapes reach (`reanalyze`); anything else that
changes the graph (layers, wires, ids, a new document, or a change this does
not recognise) is analysed afresh. Moving layers and renaming the network
change no shape, so they are not analysed at all.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal

from ...core.analysis import Analysis, analyze, reanalyze
from ...core.graph import Problem
from ..document import Document

log = logging.getLogger(__name__)


class ShapeInference(QObject):
    updated = Signal(object)  # Analysis

    def __init__(self, doc: Document, parent: QObject | None = None):
        super().__init__(parent)
        self.doc = doc
        self.analysis: Analysis | None = None
        self._edited: set[str] = set()  # nodes whose parameters changed since the last analysis
        self._whole = True  # something else changed: analyse the whole graph
        self._explained = False  # the document's last specific signal accounts for its next `changed`
        # A paste of ten layers is many small changes; one analysis after them all is enough.
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self.run_now)
        doc.node_changed.connect(self._params_changed)
        doc.node_moved.connect(self._shapeless_change)
        doc.info_changed.connect(self._shapeless_change)
        doc.changed.connect(self._changed)

    def pending(self) -> bool:
        return self._timer.isActive()

    def _params_changed(self, node_id: str) -> None:
        self._edited.add(node_id)
        self._explained = True

    def _shapeless_change(self, *_) -> None:
        self._explained = True

    def _changed(self) -> None:
        # Every mutator of the document emits its own signal, then `changed`: a `changed` that none of the
        # signals above explains (a layer or a wire added, a rename, a new document...) calls for a fresh analysis.
        if not self._explained:
            self._whole = True
        self._explained = False
        if self._whole or self._edited:
            self._timer.start()

    def run_now(self) -> Analysis:
        self._timer.stop()
        edited, whole = self._edited, self._whole
        self._edited, self._whole = set(), False
        try:
            if whole or self.analysis is None or not edited:
                analysis = analyze(self.doc.graph)
            else:
                analysis = reanalyze(self.doc.graph, self.analysis, edited)
        except Exception as exc:  # a bug in inference must not take the editor down with it
            log.exception("shape inference failed")
            analysis = Analysis(problems=[Problem(None, f"shape inference failed: {exc}")])
        self.analysis = analysis
        self.updated.emit(analysis)
        return analysis
