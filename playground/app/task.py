"""What the open network is trained to do, for the parts of the window that differ by task.

The core decides (`core.task.task_of`: a graph with a Noise or a Generated node
is a GAN, "generation"; one whose Input names a 2-D points dataset is "points";
any other is "classification"); this watches the document and says when the
answer changes, so that the Training panel, the Charts dock and the views ask
one place instead of testing the graph themselves. It also says whether the
network's pictures are drawn over the input plane (`plane`: task "points", or
a GAN on 2-D points, `core.task.on_plane`), which the Decision view follows.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ..core.task import CLASSIFICATION, GENERATION, POINTS, on_plane, task_of

__all__ = ["CLASSIFICATION", "GENERATION", "POINTS", "TaskWatch", "task_of"]


class TaskWatch(QObject):
    changed = Signal(str)  # the document's task now: "classification", "generation" or "points"
    plane_changed = Signal(bool)  # whether its pictures are drawn over the plane now (`plane`)

    def __init__(self, document, parent: QObject | None = None):
        super().__init__(parent)
        self.document = document
        self.task = task_of(document.graph)
        self.plane = on_plane(document.graph)
        # Adding or removing a node can change the task (a node's kind never changes), and so can the Input's
        # dataset (a points dataset makes it "points", or a GAN one on points): not every move or other parameter.
        document.node_added.connect(self._check)
        document.node_removed.connect(self._check)
        document.node_changed.connect(self._input_changed)
        document.reset.connect(self._check)

    @property
    def gan(self) -> bool:
        return self.task == GENERATION

    @property
    def points(self) -> bool:
        return self.task == POINTS

    @property
    def points_gan(self) -> bool:
        """A GAN on 2-D points (task "generation", drawn over the plane)."""
        return self.task == GENERATION and self.plane

    def _input_changed(self, node_id: str) -> None:
        node = self.document.graph.nodes.get(node_id)
        if node is not None and node.kind == "input":  # only the Input's dataset can change the task
            self._check()

    def _check(self, *_args) -> None:
        task, plane = task_of(self.document.graph), on_plane(self.document.graph)
        task_changed, plane_changed = task != self.task, plane != self.plane
        self.task, self.plane = task, plane  # both, before either is said
        if task_changed:
            self.changed.emit(task)
        if plane_changed:
            self.plane_changed.emit(plane)
