"""The open document: its graph, where it came from, its undo history and modified state.

The graph is the single source of truth. Nothing edits it but the undo
commands, which call the primitive mutators below; each mutator emits a signal
so the scene, the inspector and shape inference can follow. No widgets here.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from ..core.graph import Edge, Graph, Node
from .titles import display_name

MISSING = object()  # a parameter that is not set (so takes its default)


class Document(QObject):
    reset = Signal()  # a new graph replaced the old one
    node_added = Signal(str)
    node_removed = Signal(str)
    node_changed = Signal(str)  # parameters or trainable
    node_moved = Signal(str)
    node_renamed = Signal(str, str)
    edge_added = Signal(object)
    edge_removed = Signal(object)
    info_changed = Signal()  # graph name / description
    points_changed = Signal()  # the document's own 2-D points (graph.points)
    changed = Signal()  # after any change to the graph
    title_changed = Signal()
    modified_changed = Signal(bool)
    lock_changed = Signal(bool)  # the model is locked (training) or editable again
    edit_refused = Signal(str)  # an edit that would change the model was refused while locked: why

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.graph = Graph()
        self.path: str | None = None
        self.preset: str | None = None
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self.lock_reason: str | None = None

    def _clean_changed(self, clean: bool) -> None:
        self.modified_changed.emit(not clean)

    # -- identity -------------------------------------------------------------------------
    @property
    def display_name(self) -> str:
        return display_name(self.path, self.preset)

    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()

    def load(self, graph: Graph, path: str | None = None, preset: str | None = None, modified: bool = False):
        """Replace the whole document (open, new, restore); the undo history starts afresh."""
        self.graph, self.path, self.preset = graph, path, preset
        self.undo_stack.clear()
        if modified:  # e.g. restored from an autosave: nothing on disk matches it
            self.undo_stack.resetClean()
        self.reset.emit()
        self.changed.emit()
        self.title_changed.emit()
        self.modified_changed.emit(self.modified)

    def mark_saved(self, path: str) -> None:
        self.path, self.preset = path, None
        self.undo_stack.setClean()
        self.title_changed.emit()
        self.modified_changed.emit(False)

    # -- the model lock (while training) --------------------------------------------------------
    @property
    def locked(self) -> bool:
        return self.lock_reason is not None

    def set_locked(self, reason: str | None) -> None:
        """Refuse edits that change the model (layers, wires, parameters) while `reason` is set.
        Moving layers and editing the network's name stay allowed: they change no weights."""
        was = self.locked
        self.lock_reason = reason
        if was != self.locked:
            self.lock_changed.emit(self.locked)

    def _refused(self, command) -> bool:
        if self.locked and getattr(command, "changes_model", True):
            self.edit_refused.emit(self.lock_reason)
            return True
        return False

    def push(self, command) -> bool:
        """Do `command` and put it on the undo stack; False (and `edit_refused`) when the lock forbids it."""
        if self._refused(command):
            return False
        self.undo_stack.push(command)
        return True

    def can_undo(self) -> bool:
        index = self.undo_stack.index()
        return index > 0 and not (self.locked and getattr(self.undo_stack.command(index - 1), "changes_model", True))

    def can_redo(self) -> bool:
        index = self.undo_stack.index()
        return (index < self.undo_stack.count()
                and not (self.locked and getattr(self.undo_stack.command(index), "changes_model", True)))

    def undo(self) -> None:
        if self.undo_stack.canUndo() and not self._refused(self.undo_stack.command(self.undo_stack.index() - 1)):
            self.undo_stack.undo()

    def redo(self) -> None:
        if self.undo_stack.canRedo() and not self._refused(self.undo_stack.command(self.undo_stack.index())):
            self.undo_stack.redo()

    def seal_merging(self) -> None:
        """The next edit of the same field starts a new undo step (an editor lost focus, Enter was pressed)."""
        index = self.undo_stack.index()
        if index > 0:
            top = self.undo_stack.command(index - 1)
            if hasattr(top, "sealed"):
                top.sealed = True

    # -- primitive mutators: called by undo commands only ---------------------------------
    def insert_node(self, node: Node, index: int | None = None) -> None:
        if node.id in self.graph.nodes:
            raise ValueError(f"a node with id '{node.id}' already exists")
        items = list(self.graph.nodes.items())
        items.insert(len(items) if index is None else index, (node.id, node))
        self.graph.nodes = dict(items)
        self.node_added.emit(node.id)
        self.changed.emit()

    def take_node(self, node_id: str) -> tuple[Node, int]:
        """Remove a node that has no wires left; returns it and its position in the file."""
        index = list(self.graph.nodes).index(node_id)
        node = self.graph.nodes.pop(node_id)
        self.node_removed.emit(node_id)
        self.changed.emit()
        return node, index

    def insert_edge(self, edge: Edge, index: int | None = None) -> int:
        index = len(self.graph.edges) if index is None else index
        self.graph.edges.insert(index, edge)
        self.edge_added.emit(edge)
        self.changed.emit()
        return index

    def take_edge(self, edge: Edge, index: int | None = None) -> int:
        """Remove a wire (the one at `index` when the same wire appears twice); returns its index."""
        index = self.graph.edges.index(edge) if index is None else index
        if self.graph.edges[index] != edge:
            raise ValueError(f"wire {edge} is not at position {index}")
        del self.graph.edges[index]
        self.edge_removed.emit(edge)
        self.changed.emit()
        return index

    def set_param(self, node_id: str, name: str, value: Any) -> Any:
        """Set (or, with MISSING, unset) a parameter; returns the previous value or MISSING."""
        params = self.graph.nodes[node_id].params
        old = params.get(name, MISSING)
        if value is MISSING:
            params.pop(name, None)
        else:
            params[name] = value
        self.node_changed.emit(node_id)
        self.changed.emit()
        return old

    def set_trainable(self, node_id: str, trainable: bool) -> bool:
        node = self.graph.nodes[node_id]
        old, node.trainable = node.trainable, trainable
        self.node_changed.emit(node_id)
        self.changed.emit()
        return old

    def set_position(self, node_id: str, position: tuple[float, float]) -> tuple[float, float]:
        node = self.graph.nodes[node_id]
        old, node.position = node.position, (float(position[0]), float(position[1]))
        self.node_moved.emit(node_id)
        self.changed.emit()
        return old

    def rename(self, old: str, new: str) -> None:
        if new in self.graph.nodes:
            raise ValueError(f"a node with id '{new}' already exists")
        node = self.graph.nodes[old]
        node.id = new
        self.graph.nodes = {(new if k == old else k): v for k, v in self.graph.nodes.items()}
        self.graph.edges = [
            Edge(new if e.source == old else e.source, new if e.target == old else e.target, e.target_port,
                 e.source_port) if old in (e.source, e.target) else e
            for e in self.graph.edges
        ]
        self.node_renamed.emit(old, new)
        self.changed.emit()

    def set_points(self, points):
        """Replace the own points (core.data.points.Points, or None); returns the previous ones."""
        old, self.graph.points = self.graph.points, points if points is not None and len(points) else None
        self.points_changed.emit()
        self.changed.emit()
        return old

    def set_info(self, name: str, description: str) -> tuple[str, str]:
        old = self.graph.name, self.graph.description
        self.graph.name, self.graph.description = name, description
        self.info_changed.emit()
        self.changed.emit()
        return old
