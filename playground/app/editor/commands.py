"""Undo commands: every change to the graph is one of these, pushed on the document's stack.

A command's work is a function of a `Recorder`, which performs primitive
mutations on the document and remembers how to reverse each one. Undo replays
the reversals backwards, so wire order (which merges depend on) and node order
in the file come back exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtGui import QUndoCommand

from ...core.graph import Edge, Node
from ..document import Document

MERGE_ID = 1


class Recorder:
    def __init__(self, doc: Document):
        self.doc = doc
        self.inverse: list[Callable[[], Any]] = []

    def add_node(self, node: Node) -> None:
        self.doc.insert_node(node)
        self.inverse.append(lambda: self.doc.take_node(node.id))

    def remove_node(self, node_id: str) -> None:
        """Remove a node together with its wires."""
        for edge in [e for e in self.doc.graph.edges if node_id in (e.source, e.target)][::-1]:
            self.disconnect(edge)
        node, index = self.doc.take_node(node_id)
        self.inverse.append(lambda: self.doc.insert_node(node, index))

    def connect(self, edge: Edge) -> None:
        index = self.doc.insert_edge(edge)
        self.inverse.append(lambda: self.doc.take_edge(edge, index))

    def disconnect(self, edge: Edge) -> None:
        if edge not in self.doc.graph.edges:
            return
        index = self.doc.take_edge(edge)
        self.inverse.append(lambda: self.doc.insert_edge(edge, index))

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        old = self.doc.set_param(node_id, name, value)
        self.inverse.append(lambda: self.doc.set_param(node_id, name, old))

    def set_trainable(self, node_id: str, value: bool) -> None:
        old = self.doc.set_trainable(node_id, value)
        self.inverse.append(lambda: self.doc.set_trainable(node_id, old))

    def move(self, node_id: str, position: tuple[float, float]) -> None:
        old = self.doc.set_position(node_id, position)
        self.inverse.append(lambda: self.doc.set_position(node_id, old))

    def rename(self, old: str, new: str) -> None:
        self.doc.rename(old, new)
        self.inverse.append(lambda: self.doc.rename(new, old))

    def set_info(self, name: str, description: str) -> None:
        old = self.doc.set_info(name, description)
        self.inverse.append(lambda: self.doc.set_info(*old))

    def set_points(self, points) -> None:
        old = self.doc.set_points(points)
        self.inverse.append(lambda: self.doc.set_points(old))


class Edit(QUndoCommand):
    """One undoable step. Steps with the same `merge_key` merge while not `sealed` (spin box clicks)."""

    def __init__(self, doc: Document, text: str, work: Callable[[Recorder], None], merge_key: tuple | None = None):
        super().__init__(text)
        self._doc = doc
        self._work = [work]
        self._inverse: list[Callable[[], Any]] = []
        self.merge_key = merge_key
        self.sealed = False
        self.changes_model = True  # False for layout and naming: allowed while training locks the model

    def redo(self) -> None:
        recorder = Recorder(self._doc)
        for work in self._work:
            work(recorder)
        self._inverse = recorder.inverse

    def undo(self) -> None:
        for reverse in reversed(self._inverse):
            reverse()
        self._inverse = []

    def id(self) -> int:
        return MERGE_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if self.sealed or not isinstance(other, Edit) or other.merge_key != self.merge_key:
            return False
        self._work += other._work
        self._inverse += other._inverse
        return True


# -- the edits the editor makes ---------------------------------------------------------------


def add_nodes(doc: Document, nodes: list[Node], edges: Iterable[Edge] = (), text: str | None = None,
              replaced: Iterable[Edge] = ()) -> Edit:
    nodes, edges, replaced = list(nodes), list(edges), list(replaced)

    def work(r: Recorder):
        for edge in replaced:
            r.disconnect(edge)
        for node in nodes:
            r.add_node(Node(node.id, node.kind, dict(node.params), node.position, node.trainable))
        for edge in edges:
            r.connect(edge)

    if text is None:
        text = f"Add {nodes[0].id}" if len(nodes) == 1 else f"Add {len(nodes)} layers"
    return Edit(doc, text, work)


def remove(doc: Document, node_ids: Iterable[str] = (), edges: Iterable[Edge] = (), text: str | None = None) -> Edit:
    node_ids, edges = list(node_ids), list(edges)

    def work(r: Recorder):
        for edge in edges:
            r.disconnect(edge)
        for node_id in node_ids:
            r.remove_node(node_id)

    if text is None:
        count = len(node_ids) + len(edges)
        text = (f"Delete {node_ids[0]}" if node_ids and count == 1 else "Delete wire" if count == 1
                else f"Delete {count} items")
    return Edit(doc, text, work)


def rewire(doc: Document, remove_edges: Iterable[Edge], add_edges: Iterable[Edge], text: str) -> Edit:
    remove_edges, add_edges = list(remove_edges), list(add_edges)

    def work(r: Recorder):
        for edge in remove_edges:
            r.disconnect(edge)
        for edge in add_edges:
            r.connect(edge)

    return Edit(doc, text, work)


def set_param(doc: Document, node_id: str, name: str, value: Any) -> Edit:
    return Edit(doc, f"Set {node_id}.{name}", lambda r: r.set_param(node_id, name, value),
                merge_key=("param", node_id, name))


def set_trainable(doc: Document, node_id: str, value: bool) -> Edit:
    return Edit(doc, f"{'Unfreeze' if value else 'Freeze'} {node_id}", lambda r: r.set_trainable(node_id, value))


def set_frozen(doc: Document, frozen, text: str) -> Edit | None:
    """One edit (one undo step) that freezes the nodes in `frozen` and unfreezes every other layer (the Input and
    Output have no weights to freeze); None when the flags are already so."""
    frozen = set(frozen)
    changes = [(nid, nid not in frozen) for nid, node in doc.graph.nodes.items()
               if node.kind not in ("input", "output") and node.trainable != (nid not in frozen)]
    if not changes:
        return None

    def work(r) -> None:
        for nid, value in changes:
            r.set_trainable(nid, value)

    return Edit(doc, text, work)


def rename(doc: Document, old: str, new: str) -> Edit:
    return Edit(doc, f"Rename {old} to {new}", lambda r: r.rename(old, new))


def move(doc: Document, positions: dict[str, tuple[float, float]], text: str | None = None) -> Edit:
    positions = dict(positions)

    def work(r: Recorder):
        for node_id, position in positions.items():
            r.move(node_id, position)

    edit = Edit(doc, text or (f"Move {next(iter(positions))}" if len(positions) == 1 else
                              f"Move {len(positions)} layers"), work)
    edit.changes_model = False
    return edit


def set_info(doc: Document, name: str, description: str) -> Edit:
    edit = Edit(doc, "Edit network name", lambda r: r.set_info(name, description), merge_key=("info",))
    edit.changes_model = False
    return edit


def set_points(doc: Document, points, text: str = "Edit points", merge_key: tuple | None = None) -> Edit:
    """Replace the document's own 2-D points (core.data.points.Points or None). They are data, not the model:
    allowed while a run trains (the run keeps the points it started with). `merge_key`: one spray stroke's
    edits become one undo step."""
    edit = Edit(doc, text, lambda r: r.set_points(points), merge_key=merge_key)
    edit.changes_model = False
    return edit
