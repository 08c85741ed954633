"""Copy and paste of a selection with its internal wires.

The clipboard holds an ordinary graph file (JSON) under a private MIME type and
as plain text, so a selection can also be pasted into a text editor, or a
graph file's text pasted into the editor.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QGuiApplication

from ...core.graph import Edge, Graph, GraphFileError, Node, dumps_graph, loads_graph

MIME_GRAPH = "application/x-playground-graph"


def subgraph(graph: Graph, node_ids: list[str]) -> Graph:
    keep = set(node_ids)
    part = Graph(name=graph.name)
    for node_id in node_ids:
        n = graph.nodes[node_id]
        part.nodes[node_id] = Node(n.id, n.kind, dict(n.params), n.position, n.trainable)
    part.edges = [e for e in graph.edges if e.source in keep and e.target in keep]
    return part


def to_clipboard(graph: Graph, node_ids: list[str]) -> str:
    text = dumps_graph(subgraph(graph, node_ids))
    data = QMimeData()
    data.setData(MIME_GRAPH, text.encode("utf-8"))
    data.setText(text)
    QGuiApplication.clipboard().setMimeData(data)
    return text


def from_clipboard() -> Graph | None:
    data = QGuiApplication.clipboard().mimeData()
    if data is None:
        return None
    if data.hasFormat(MIME_GRAPH):
        text = bytes(data.data(MIME_GRAPH)).decode("utf-8", errors="replace")
    elif data.hasText() and data.text().lstrip().startswith("{"):
        text = data.text()
    else:
        return None
    try:
        graph = loads_graph(text, source="the clipboard")
    except GraphFileError:
        return None
    return graph if graph.nodes else None


def clipboard_has_graph() -> bool:
    data = QGuiApplication.clipboard().mimeData()
    return data is not None and (data.hasFormat(MIME_GRAPH) or (data.hasText() and data.text().lstrip()[:1] == "{"))


def _stem(node_id: str) -> str:
    return re.sub(r"_?\d+$", "", node_id) or "layer"


def fresh_copy(target: Graph, pasted: Graph, offset: tuple[float, float]) -> tuple[list[Node], list[Edge]]:
    """The pasted nodes with ids that are free in `target`, moved by `offset`, and their wires renamed to match."""
    taken = set(target.nodes)
    renamed: dict[str, str] = {}
    nodes = []
    for node in pasted.nodes.values():
        new_id = node.id
        if new_id in taken:
            stem, n = _stem(node.id), 1
            while f"{stem}{n}" in taken:
                n += 1
            new_id = f"{stem}{n}"
        taken.add(new_id)
        renamed[node.id] = new_id
        x, y = node.position
        nodes.append(Node(new_id, node.kind, dict(node.params), (x + offset[0], y + offset[1]), node.trainable))
    edges = [Edge(renamed[e.source], renamed[e.target], e.target_port, e.source_port)
             for e in pasted.edges if e.source in renamed and e.target in renamed]
    return nodes, edges


def release_clipboard() -> None:
    """Hand the clipboard's graph over as plain text before the app quits.

    PySide6 6.11 segfaults at interpreter exit while the clipboard still holds
    a QMimeData made in Python; text set through setText is Qt's own object.
    Pasting still works: the text is the same graph JSON.
    """
    board = QGuiApplication.clipboard()
    data = board.mimeData()
    if data is not None and data.hasFormat(MIME_GRAPH):
        board.setText(data.text())
