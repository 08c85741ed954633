"""Which wires may be drawn, and the drag that draws them.

A wire runs from a node's output port to an input port of another node. A
drop target is offered only when the wire would be legal: not onto its own
node, not output to output, not closing a cycle, not a wire that already
exists. Dropping onto a single-input port that is already taken replaces its
wire, in the same undo step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QLineF, QPointF, Qt
from PySide6.QtGui import QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from ...core.graph import Edge, Graph
from ...core.layers import CATALOG
from . import commands

if TYPE_CHECKING:
    from .port_item import PortItem
    from .scene import GraphScene

SNAP_RADIUS_PX = 30  # on screen, whatever the zoom


def connection_plan(graph: Graph, source: str, target: str, port: str, *, closes_cycle: bool,
                    ignore: Edge | None = None) -> list[Edge] | None:
    """The wires that must go for `source` → `target.port` to be added, or None if it may not be added."""
    src, dst = graph.nodes.get(source), graph.nodes.get(target)
    if src is None or dst is None or source == target or closes_cycle or src.kind == "output":
        return None
    spec = CATALOG.get(dst.kind)
    port_spec = next((p for p in spec.inputs if p.name == port), None) if spec else None
    if port_spec is None:
        return None
    existing = [e for e in graph.inputs_of(target, port) if e != ignore]
    if Edge(source, target, port) in existing:
        return None
    return [] if port_spec.multiple else existing


class WireDrag:
    """A rubber-band wire following the mouse from a port, snapping to the nearest legal port."""

    def __init__(self, scene: GraphScene, port: PortItem):
        self.scene = scene
        graph = scene.doc.graph
        self.picked: Edge | None = None  # an existing wire lifted off its input port
        self.origin = port
        candidates: dict[PortItem, list[Edge]] = {}
        if not port.is_output:
            wires = [e for e in graph.inputs_of(port.node_id, port.name) if scene.output_port(e.source) is not None]
            if wires:
                self.picked = wires[-1]
                port = scene.output_port(self.picked.source)
        self.fixed = port
        if port.is_output:
            upstream = graph.ancestors(port.node_id) | {port.node_id}
            for target in scene.input_ports():
                plan = connection_plan(graph, port.node_id, target.node_id, target.name,
                                       closes_cycle=target.node_id in upstream, ignore=self.picked)
                if plan is not None:
                    candidates[target] = plan
            if self.picked is not None:
                candidates[self.origin] = []  # dropping it back where it was changes nothing
                scene.set_edge_hidden(self.picked, True)
        else:
            below = graph.descendants(port.node_id) | {port.node_id}
            for source in scene.output_ports():
                plan = connection_plan(graph, source.node_id, port.node_id, port.name,
                                       closes_cycle=source.node_id in below)
                if plan is not None:
                    candidates[source] = plan
        self.candidates = candidates
        self.target: PortItem | None = None
        for candidate in candidates:
            candidate.set_candidate(True)
        self.item = QGraphicsPathItem()
        pen = QPen(scene.theme.selection, 2, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self.item.setPen(pen)
        self.item.setZValue(10)
        scene.addItem(self.item)

    def move(self, pos: QPointF) -> None:
        self.target = self._snap(pos)
        for candidate in self.candidates:
            candidate.set_snapped(candidate is self.target)
        end = self.target.anchor() if self.target is not None else pos
        start = self.fixed.anchor()
        if not self.fixed.is_output:
            start, end = end, start
        dy = max(30.0, abs(end.y() - start.y()) / 2)
        path = QPainterPath(start)
        path.cubicTo(start + QPointF(0, dy), end - QPointF(0, dy), end)
        self.item.setPath(path)

    def _snap(self, pos: QPointF) -> PortItem | None:
        radius = SNAP_RADIUS_PX / max(self.scene.view_scale(), 1e-3)
        best, best_distance = None, radius
        for candidate in self.candidates:
            distance = QLineF(candidate.anchor(), pos).length()
            if distance < best_distance:
                best, best_distance = candidate, distance
        if best is None:  # over a node's body: its only legal port
            node = self.scene.node_at(pos)
            ports = [c for c in self.candidates if node is not None and c.node_item is node]
            if len(ports) == 1:
                best = ports[0]
        return best

    def finish(self, pos: QPointF) -> None:
        self.move(pos)
        target, picked = self.target, self.picked
        self._clear()
        doc = self.scene.doc
        if picked is not None:
            if target is self.origin:
                return
            if target is None:
                doc.push(commands.remove(doc, edges=[picked], text=f"Disconnect {picked.source} → {picked.target}"))
                return
            new = Edge(picked.source, target.node_id, target.name)
            doc.push(commands.rewire(doc, [picked, *self.candidates[target]], [new],
                                     f"Reconnect {picked.source} → {target.node_id}"))
            return
        if target is None:
            return
        if self.fixed.is_output:
            new = Edge(self.fixed.node_id, target.node_id, target.name)
        else:
            new = Edge(target.node_id, self.fixed.node_id, self.fixed.name)
        replaced = self.candidates[target]
        text = f"{'Replace wire' if replaced else 'Connect'} {new.source} → {new.target}"
        doc.push(commands.rewire(doc, replaced, [new], text))

    def cancel(self) -> None:
        self._clear()

    def _clear(self) -> None:
        for candidate in self.candidates:
            candidate.set_candidate(False)
            candidate.set_snapped(False)
        if self.picked is not None:
            self.scene.set_edge_hidden(self.picked, False)
        self.scene.removeItem(self.item)
        self.scene.wire_drag = None
