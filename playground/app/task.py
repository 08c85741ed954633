"""What the open network is trained to do, for the parts of the window that differ by task.

The core decides (`core.gan.structure.task_of`: a graph with a Noise or a
Generated node is a GAN, "generation"; any other is "classification"); this
watches the document and says when the answer changes, so that the Training
panel, the Charts dock and the views ask one place instead of testing the
graph themselves.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ..core.gan.structure import CLASSIFICATION, GENERATION, task_of

__all__ = ["CLASSIFICATION", "GENERATION", "TaskWatch", "task_of"]


class TaskWatch(QObject):
    changed = Signal(str)  # the document's task now: "classification" or "generation"

    def __init__(self, document, parent: QObject | None = None):
        super().__init__(parent)
        self.document = document
        self.task = task_of(document.graph)
        # Only adding or removing a node can change the task (a node's kind never changes): not every move.
        document.node_added.connect(self._check)
        document.node_removed.connect(self._check)
        document.reset.connect(self._check)

    @property
    def gan(self) -> bool:
        return self.task == GENERATION

    def _check(self, *_args) -> None:
        task = task_of(self.document.graph)
        if task != self.task:
            self.task = task
            self.changed.emit(task)
