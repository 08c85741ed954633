"""Editing actions in the network editor: add, delete, copy/paste, duplicate, tidy, select, find problems."""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, QRectF, Signal

from ...core.graph import Edge, Node
from ...core.layers import CATALOG
from ..document import Document
from . import clipboard, commands
from .layout import tidy_positions
from .node_item import GRID, WIDTH, node_height
from .scene import GraphScene
from .view import GraphView

ID_STEMS = {
    "conv2d": "conv", "maxpool2d": "pool", "avgpool2d": "avgpool", "global_avgpool": "gap", "batchnorm": "bn",
    "layernorm": "ln", "dropout": "drop", "self_attention": "attn", "transformer_block": "block",
    "positional_embedding": "pos", "patch_embedding": "patches", "token_pool": "tokens", "concatenate": "concat",
    "leaky_relu": "lrelu",
}
PASTE_OFFSET = 30.0
V_GAP = 30.0


def default_params(kind: str) -> dict:
    """Every parameter written out, so a file keeps its meaning if a default ever changes."""
    return {p.name: list(p.default) if p.type == "shape" else p.default for p in CATALOG[kind].params}


class EditorController(QObject):
    selection_changed = Signal()

    def __init__(self, doc: Document, scene: GraphScene, view: GraphView, parent: QObject | None = None):
        super().__init__(parent)
        self.doc, self.scene, self.view = doc, scene, view
        self._pasted_text: str | None = None
        self._paste_count = 0
        scene.selectionChanged.connect(self.selection_changed.emit)

    # -- queries for enabling actions -------------------------------------------------------------
    def has_selection(self) -> bool:
        return bool(self.scene.selectedItems())

    def has_selected_nodes(self) -> bool:
        return bool(self.scene.selected_node_ids())

    # -- adding -------------------------------------------------------------------------------------
    def new_id(self, kind: str) -> str:
        if kind in ("input", "output") and kind not in self.doc.graph.nodes:
            return kind
        return self.doc.graph.unique_id(ID_STEMS.get(kind, kind))

    def add_kind(self, kind: str, scene_pos: QPointF | None = None) -> str | None:
        """Add a layer: centred at `scene_pos` (a drop), or below the selected layer and wired from it."""
        if kind not in CATALOG:
            return None
        spec = CATALOG[kind]
        height = node_height()
        edges: list[Edge] = []
        selected = self.scene.selected_node_ids()
        node_id = self.new_id(kind)
        if scene_pos is not None:
            position = (scene_pos.x() - WIDTH / 2, scene_pos.y() - height / 2)
        elif len(selected) == 1:
            above = self.doc.graph.nodes[selected[0]]
            position = (above.position[0], above.position[1] + height + V_GAP)
            if above.kind != "output" and spec.inputs:
                edges.append(Edge(above.id, node_id, spec.inputs[0].name))
        else:
            centre = self.view.mapToScene(self.view.viewport().rect().center())
            position = (centre.x() - WIDTH / 2, centre.y() - height / 2)
        position = self._free_spot(self._snap(position), height)
        node = Node(node_id, kind, default_params(kind), position)
        self.doc.push(commands.add_nodes(self.doc, [node], edges, text=f"Add {spec.title}"))
        self.scene.select_nodes([node_id])
        self.view.ensureVisible(self.scene.nodes[node_id], 40, 40)
        return node_id

    @staticmethod
    def _snap(position: tuple[float, float]) -> tuple[float, float]:
        return round(position[0] / GRID) * GRID, round(position[1] / GRID) * GRID

    def _free_spot(self, position: tuple[float, float], height: float) -> tuple[float, float]:
        """`position`, or the nearest place to its right where the new node overlaps nothing."""
        x, y = position
        for _ in range(50):
            rect = QRectF(x, y, WIDTH, height).adjusted(-10, -10, 10, 10)
            if not any(item.sceneBoundingRect().intersects(rect) for item in self.scene.nodes.values()):
                break
            x += WIDTH + 40
        return x, y

    # -- removing -----------------------------------------------------------------------------------
    def delete_selection(self) -> None:
        node_ids, edges = self.scene.selected_node_ids(), self.scene.selected_edges()
        edges = [e for e in edges if e.source not in node_ids and e.target not in node_ids]
        if node_ids or edges:
            self.doc.push(commands.remove(self.doc, node_ids, edges))

    # -- clipboard ----------------------------------------------------------------------------------
    def copy(self) -> bool:
        node_ids = self.scene.selected_node_ids()
        if not node_ids:
            return False
        self._pasted_text = clipboard.to_clipboard(self.doc.graph, node_ids)
        self._paste_count = 0
        return True

    def cut(self) -> None:
        node_ids = self.scene.selected_node_ids()
        if self.copy():
            self.doc.push(commands.remove(self.doc, node_ids, text=f"Cut {len(node_ids)} "
                                                                     f"layer{'s' * (len(node_ids) != 1)}"))
            self._paste_count = -1  # the first paste goes back where the layers were

    def paste(self) -> list[str]:
        pasted = clipboard.from_clipboard()
        if pasted is None:
            return []
        text = clipboard.dumps_graph(pasted)
        if text != self._pasted_text:  # something new on the clipboard: start the offsets afresh
            self._pasted_text, self._paste_count = text, 0
        self._paste_count += 1
        offset = PASTE_OFFSET * self._paste_count
        return self._insert(pasted, (offset, offset), "Paste")

    def duplicate(self) -> list[str]:
        node_ids = self.scene.selected_node_ids()
        if not node_ids:
            return []
        return self._insert(clipboard.subgraph(self.doc.graph, node_ids), (PASTE_OFFSET, PASTE_OFFSET), "Duplicate")

    def _insert(self, part, offset: tuple[float, float], verb: str) -> list[str]:
        nodes, edges = clipboard.fresh_copy(self.doc.graph, part, offset)
        count = len(nodes)
        self.doc.push(commands.add_nodes(self.doc, nodes, edges, text=f"{verb} {count} layer{'s' * (count != 1)}"))
        ids = [n.id for n in nodes]
        self.scene.select_nodes(ids, edges)
        return ids

    # -- selection, layout, problems --------------------------------------------------------------
    def select_all(self) -> None:
        self.scene.select_nodes(self.doc.graph.nodes, self.doc.graph.edges)

    def tidy(self) -> None:
        graph = self.doc.graph
        positions = tidy_positions(graph, WIDTH, node_height(), v_gap=V_GAP, grid=GRID)
        if not positions:
            return
        # Keep the drawing where it was: the new layout starts at the old top-left corner.
        left = min(n.position[0] for n in graph.nodes.values())
        top = min(n.position[1] for n in graph.nodes.values())
        left, top = self._snap((left, top))
        moved = {n: (x + left, y + top) for n, (x, y) in positions.items() if graph.nodes[n].position != (x + left,
                                                                                                           y + top)}
        if moved:
            self.doc.push(commands.move(self.doc, moved, text="Tidy layout"))

    def next_problem(self, analysis) -> str | None:
        """Select and show the next layer (in file order) that has a problem."""
        if analysis is None:
            return None
        bad = [n for n in self.doc.graph.nodes if analysis.problems_of(n)]
        if not bad:
            return None
        selected = self.scene.selected_node_ids()
        current = bad.index(selected[0]) if len(selected) == 1 and selected[0] in bad else -1
        node_id = bad[(current + 1) % len(bad)]
        self.scene.select_nodes([node_id])
        self.view.centerOn(self.scene.nodes[node_id])
        return node_id
