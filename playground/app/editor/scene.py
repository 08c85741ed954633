"""The editor's scene: one item per node and per wire, kept in step with the document's graph.

The scene never holds its own copy of the truth: it follows the document's
signals, and user gestures (moving nodes, drawing wires) end in undo commands.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent, QPainter, QPainterPath, QPainterPathStroker, QPolygonF
from PySide6.QtWidgets import QGraphicsScene, QGraphicsSceneMouseEvent

from ...core.graph import Edge, Graph
from ...core.layers import fmt_shape
from ..document import Document
from . import commands
from .edge_item import EdgeItem, route
from .node_item import NodeItem
from .port_item import PortItem
from .theme import theme
from .unit_maps import UnitMaps
from .wiring import WireDrag

GRID_DOT_SPACING = 20.0
BIG_SCENE_WIRES = 1000  # from here, moving a node re-plans the other wires' detours only after a pause
BIG_SCENE_REROUTE_MS = 250
PREPARE_SLICE = 250  # items made between two looks at the event loop while a big file opens (~30 ms)


class NodeGrid:
    """The nodes bucketed by square cells of the scene, for finding those near a wire in time proportional to it."""

    CELL = 200.0

    def __init__(self, nodes):
        self.cells: dict[tuple[int, int], list[NodeItem]] = defaultdict(list)
        for node in nodes:
            for cell in self._cells(node.sceneBoundingRect()):
                self.cells[cell].append(node)

    def _cells(self, rect: QRectF):
        c = self.CELL
        for i in range(math.floor(rect.left() / c), math.floor(rect.right() / c) + 1):
            for j in range(math.floor(rect.top() / c), math.floor(rect.bottom() / c) + 1):
                yield i, j

    def near(self, rect: QRectF) -> list[NodeItem]:
        """The nodes whose cells overlap `rect`, each once, in no particular order."""
        found: dict[int, NodeItem] = {}
        for cell in self._cells(rect):
            for node in self.cells.get(cell, ()):
                found.setdefault(id(node), node)
        return list(found.values())


class GraphScene(QGraphicsScene):
    node_activated = Signal(str)  # a node was double-clicked
    unit_hovered = Signal(str, int)  # (node id, unit index) of the unit thumbnail under the pointer; ("", -1) off them

    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.theme = theme(QGuiApplication.palette())
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[Edge, list[EdgeItem]] = defaultdict(list)
        self.analysis = None
        self.wire_drag: WireDrag | None = None
        self._press_positions: dict[str, QPointF] = {}
        self._grid: NodeGrid | None = None  # while every wire is rerouted
        self._prepared: tuple[Graph, dict, dict] | None = None  # items made ahead of the next rebuild
        self._reroute = QTimer(self, singleShot=True, interval=0)
        self._reroute.timeout.connect(self.reroute_all)
        self._unit_maps = UnitMaps(self)
        doc.reset.connect(self.rebuild)
        doc.node_added.connect(self._on_node_added)
        doc.node_removed.connect(self._on_node_removed)
        doc.node_changed.connect(self._on_node_changed)
        doc.node_moved.connect(self._on_node_moved)
        doc.node_renamed.connect(self._on_node_renamed)
        doc.edge_added.connect(self._on_edge_added)
        doc.edge_removed.connect(self._on_edge_removed)
        self.rebuild()

    # -- queries --------------------------------------------------------------------------
    def view_scale(self) -> float:
        views = self.views()
        return views[0].transform().m11() if views else 1.0

    def selected_node_ids(self) -> list[str]:
        """Selected nodes, in the graph's order."""
        selected = {i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)}
        return [n for n in self.doc.graph.nodes if n in selected]

    def selected_edges(self) -> list[Edge]:
        return [i.edge for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def select_nodes(self, node_ids, edges=()) -> None:
        self.clearSelection()
        for node_id in node_ids:
            if node_id in self.nodes:
                self.nodes[node_id].setSelected(True)
        for edge in edges:
            for item in self.edges.get(edge, []):
                item.setSelected(True)

    def node_at(self, pos: QPointF) -> NodeItem | None:
        for item in self.items(pos):
            if isinstance(item, NodeItem):
                return item
        return None

    def input_ports(self) -> list[PortItem]:
        return [p for n in self.nodes.values() for p in n.inputs.values()]

    def output_ports(self) -> list[PortItem]:
        return [n.output for n in self.nodes.values() if n.output is not None]

    def output_port(self, node_id: str) -> PortItem | None:
        node = self.nodes.get(node_id)
        return node.output if node else None

    def nodes_rect(self) -> QRectF:
        """What fitting the view shows: every node, with the neuron thumbnails beside them."""
        rect = QRectF()
        for item in self.nodes.values():
            rect = rect.united(item.sceneBoundingRect())
        for strip in self._unit_maps.strips.values():
            rect = rect.united(strip.sceneBoundingRect())
        return rect

    # -- document → items -----------------------------------------------------------------
    def prepare(self, graph: Graph) -> Iterator[tuple[int, int]]:
        """Make and route the items of `graph` off the scene, a slice at a time: yields (done, total).

        The next rebuild for that same graph adopts them. A big file is thus drawn between event-loop
        turns with a progress bar (the file controller drives this), and a cancelled open leaves the
        scene as it was.
        """
        total = len(graph.nodes) + len(graph.edges)
        nodes: dict[str, NodeItem] = {}
        for done, node in enumerate(graph.nodes.values(), 1):
            nodes[node.id] = NodeItem(node)
            if done % PREPARE_SLICE == 0:
                yield done, total
        edges: dict[Edge, list[EdgeItem]] = defaultdict(list)
        grid = NodeGrid(nodes.values())
        for done, edge in enumerate(graph.edges, len(nodes) + 1):
            if edge.source in nodes and edge.target in nodes:  # else: reported by the validator, nothing to draw
                item = EdgeItem(edge)
                edges[edge].append(item)
                self._route(item, nodes, grid)
            if done % PREPARE_SLICE == 0:
                yield done, total
        index = graph.edges.by_node()
        for node_id, item in nodes.items():
            if item.output is not None:
                item.output.set_wires(len(index.outputs.get(node_id, ())))
            for port_name, port in item.inputs.items():
                port.set_wires(sum(e.target_port == port_name for e in index.inputs.get(node_id, ())))
        self._prepared = (graph, nodes, edges)
        yield total, total

    def rebuild(self) -> None:
        if self.wire_drag is not None:
            self.wire_drag.cancel()
        self._unit_maps.forget_all()  # clear() below deletes the strips with their nodes
        prepared, self._prepared = self._prepared, None
        if prepared is None or prepared[0] is not self.doc.graph:
            for _ in self.prepare(self.doc.graph):
                pass
            prepared, self._prepared = self._prepared, None
        self.clear()
        self.nodes.clear()
        self.edges.clear()
        _, nodes, edges = prepared
        self.nodes.update(nodes)
        self.edges.update(edges)
        for item in nodes.values():
            self.addItem(item)  # its ports come with it
        for items in edges.values():
            for item in items:
                self.addItem(item)
        # Shapes and problems follow from the new graph's analysis (ShapeInference runs on the change).

    def _add_node_item(self, node_id: str) -> NodeItem:
        item = NodeItem(self.doc.graph.nodes[node_id])
        self.nodes[node_id] = item
        self.addItem(item)
        return item

    def _add_edge_item(self, edge: Edge) -> None:
        if edge.source not in self.nodes or edge.target not in self.nodes:
            return  # a wire to a missing node: reported by the validator, nothing to draw
        item = EdgeItem(edge)
        self.edges[edge].append(item)
        self.addItem(item)
        self._route(item)
        self._label(item)
        self._count_wires(edge)

    def _count_wires(self, edge: Edge) -> None:
        graph = self.doc.graph
        source, target = self.nodes.get(edge.source), self.nodes.get(edge.target)
        if source is not None and source.output is not None:
            source.output.set_wires(len(graph.outputs_of(edge.source)))
        if target is not None and edge.target_port in target.inputs:
            target.inputs[edge.target_port].set_wires(len(graph.inputs_of(edge.target, edge.target_port)))

    def _on_node_added(self, node_id: str) -> None:
        self._add_node_item(node_id)
        self._reroute.start()

    def _on_node_removed(self, node_id: str) -> None:
        self._unit_maps.forget(node_id)
        item = self.nodes.pop(node_id)
        self.removeItem(item)
        self._reroute.start()

    def _on_node_changed(self, node_id: str) -> None:
        self.nodes[node_id].sync(self.doc.graph.nodes[node_id])

    def _on_node_moved(self, node_id: str) -> None:
        self.nodes[node_id].setPos(QPointF(*self.doc.graph.nodes[node_id].position))

    def _on_node_renamed(self, old: str, new: str) -> None:
        self._unit_maps.forget(old)
        item = self.nodes.pop(old)
        self.nodes[new] = item
        item.sync(self.doc.graph.nodes[new])
        for edge in [e for e in self.edges if old in (e.source, e.target)]:
            for edge_item in self.edges.pop(edge):
                self.removeItem(edge_item)
        for edge in self.doc.graph.edges:
            if new in (edge.source, edge.target):
                self._add_edge_item(edge)

    def _on_edge_added(self, edge: Edge) -> None:
        self._add_edge_item(edge)

    def _on_edge_removed(self, edge: Edge) -> None:
        items = self.edges.get(edge)
        if items:
            self.removeItem(items.pop())
            if not items:
                del self.edges[edge]
        self._count_wires(edge)

    # -- analysis ---------------------------------------------------------------------------
    def apply_analysis(self, analysis) -> None:
        previous, self.analysis = self.analysis, analysis
        if previous is not None and analysis.changed is not None and analysis.base_serial == previous.serial:
            self._apply_changes(previous, analysis)  # after a parameter edit: only what it may have changed
            return
        problems = defaultdict(list)
        for p in analysis.problems:
            problems[p.node].append(p)
        for node_id, item in self.nodes.items():
            item.set_result(analysis.shapes.get(node_id), problems.get(node_id, []),
                            analysis.param_counts.get(node_id))
        for edge, items in self.edges.items():
            shape = analysis.shapes.get(edge.source)
            for item in items:
                item.set_label(fmt_shape(shape) if shape is not None else "")

    def _apply_changes(self, previous, analysis) -> None:
        """Show the verdicts of the nodes `analysis.changed` names, and the labels of their wires."""
        graph = self.doc.graph
        for node_id in analysis.changed:
            item = self.nodes.get(node_id)
            if item is None:
                continue
            shape = analysis.shapes.get(node_id)
            item.set_result(shape, analysis.problems_of(node_id), analysis.param_counts.get(node_id))
            if shape != previous.shapes.get(node_id):
                label = fmt_shape(shape) if shape is not None else ""
                for edge in graph.outputs_of(node_id):
                    for edge_item in self.edges.get(edge, ()):
                        edge_item.set_label(label)

    def _label(self, item: EdgeItem) -> None:
        if self.analysis is not None and item.edge.source in self.analysis.shapes:
            item.set_label(fmt_shape(self.analysis.shapes[item.edge.source]))

    # -- unit maps (2-D points: each neuron's output over the input plane) ---------------------------
    def set_unit_maps(self, units: dict, totals: dict[str, int]) -> None:
        """The latest maps, node id -> [u, r, r] (u ≤ 8), and each node's unit count; shown from a timer, only for
        the nodes named (the others lose their strips)."""
        self._unit_maps.set(units, totals)

    def clear_unit_maps(self) -> None:
        self._unit_maps.clear()

    @property
    def unit_map_refreshes(self) -> int:
        """How many times the strips were redrawn (however many frames came)."""
        return self._unit_maps.refreshes

    # -- wire geometry ------------------------------------------------------------------------
    def _route(self, item: EdgeItem, nodes: dict[str, NodeItem] | None = None, grid: NodeGrid | None = None) -> None:
        nodes = self.nodes if nodes is None else nodes
        grid = self._grid if grid is None else grid
        source, target = nodes[item.edge.source], nodes[item.edge.target]
        ends = (source, target)

        def obstacles(path: QPainterPath) -> list[QRectF]:
            if path.isEmpty():
                return []
            stroker = QPainterPathStroker()
            stroker.setWidth(6)
            area = stroker.createStroke(path)
            if grid is not None:
                return [i.sceneBoundingRect() for i in grid.near(area.boundingRect())
                        if i not in ends and area.intersects(i.mapToScene(i.shape()))]
            return [i.sceneBoundingRect() for i in self.items(area, Qt.ItemSelectionMode.IntersectsItemShape)
                    if isinstance(i, NodeItem) and i not in ends]

        item.set_path(route(source.output_anchor(), target.input_anchor(item.edge.target_port), obstacles,
                            [source.sceneBoundingRect(), target.sceneBoundingRect()]))

    def node_geometry_changed(self, node: NodeItem) -> None:
        """A node moved: its own wires follow at once, detours elsewhere are re-planned soon after."""
        graph = self.doc.graph
        for edge in dict.fromkeys(graph.inputs_of(node.node_id) + graph.outputs_of(node.node_id)):
            for item in self.edges.get(edge, ()):
                self._route(item)
        # Re-planning every detour costs about 0.1 ms a wire: in a big graph, wait for a drag to pause.
        self._reroute.setInterval(0 if len(self.edges) < BIG_SCENE_WIRES else BIG_SCENE_REROUTE_MS)
        self._reroute.start()

    def reroute_all(self) -> None:
        # Obstacles come from a grid of the nodes built once here, not from the scene's own index:
        # that one re-measures every item whenever a wire's path changes, which made routing
        # every wire quadratic in the graph's size (minutes for 20,000 layers).
        self._grid = NodeGrid(self.nodes.values())
        try:
            for items in self.edges.values():
                for item in items:
                    self._route(item)
        finally:
            self._grid = None

    def set_edge_hidden(self, edge: Edge, hidden: bool) -> None:
        for item in self.edges.get(edge, [])[-1:]:
            item.setVisible(not hidden)

    # -- gestures -----------------------------------------------------------------------------
    def start_wire_drag(self, port: PortItem, pos: QPointF) -> None:
        self.wire_drag = WireDrag(self, port)
        self.wire_drag.move(pos)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton:
            self._press_positions = {i.node_id: i.pos() for i in self.selectedItems() if isinstance(i, NodeItem)}

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        if event.button() != Qt.MouseButton.LeftButton:
            return
        moved = {}
        for node_id, old in self._press_positions.items():
            item = self.nodes.get(node_id)
            if item is not None and item.pos() != old:
                moved[node_id] = (item.pos().x(), item.pos().y())
        self._press_positions = {}
        if moved:
            self.doc.push(commands.move(self.doc, moved))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.wire_drag is not None:
            self.wire_drag.cancel()
            event.accept()
            return
        super().keyPressEvent(event)

    # -- appearance ---------------------------------------------------------------------------
    def refresh_theme(self) -> None:
        self.theme = theme(QGuiApplication.palette())
        self.update()

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, self.theme.background)
        spacing = GRID_DOT_SPACING
        while spacing * self.view_scale() < 12:  # keep dots at least 12 px apart
            spacing *= 2
        left, top = math.floor(rect.left() / spacing) * spacing, math.floor(rect.top() / spacing) * spacing
        columns, rows = int(rect.width() / spacing) + 2, int(rect.height() / spacing) + 2
        if columns * rows > 40000:
            return
        points = QPolygonF([QPointF(left + i * spacing, top + j * spacing)
                            for i in range(columns) for j in range(rows)])
        pen = painter.pen()
        pen.setColor(self.theme.grid)
        pen.setWidthF(1.5)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawPoints(points)
