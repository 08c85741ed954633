"""The network as data: nodes, edges between named ports, and graph queries.

A `Graph` is the single source of truth that the editor edits (through undo
commands), the builder turns into a module and the file format stores.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

OUT_PORT = "out"  # every layer has exactly one output port


@dataclass
class Node:
    id: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    position: tuple[float, float] = (0.0, 0.0)
    trainable: bool = True


@dataclass(frozen=True)
class Edge:
    """A wire from `source`'s output port to the input port `target_port` of `target`."""

    source: str
    target: str
    target_port: str = "in"
    source_port: str = OUT_PORT

    def __str__(self) -> str:
        return f"{self.source}.{self.source_port} → {self.target}.{self.target_port}"


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    name: str = ""
    description: str = ""
    # Ids that appeared more than once in a loaded file; kept so the validator
    # can name them instead of silently dropping a node.
    duplicate_ids: list[str] = field(default_factory=list)

    # -- editing -------------------------------------------------------------------------
    def add_node(self, node: Node) -> Node:
        if node.id in self.nodes:
            raise ValueError(f"a node with id '{node.id}' already exists")
        self.nodes[node.id] = node
        return node

    def remove_node(self, node_id: str) -> tuple[Node, list[Edge]]:
        """Remove a node and its wires; returns both so that an undo can put them back."""
        node = self.nodes.pop(node_id)
        removed = [e for e in self.edges if node_id in (e.source, e.target)]
        self.edges = [e for e in self.edges if node_id not in (e.source, e.target)]
        return node, removed

    def connect(self, edge: Edge) -> Edge:
        if edge in self.edges:
            raise ValueError(f"wire {edge} already exists")
        self.edges.append(edge)
        return edge

    def disconnect(self, edge: Edge) -> None:
        self.edges.remove(edge)

    def unique_id(self, stem: str) -> str:
        """The first free id of the form stem1, stem2, ..."""
        n = 1
        while f"{stem}{n}" in self.nodes:
            n += 1
        return f"{stem}{n}"

    def copy(self) -> Graph:
        return copy.deepcopy(self)

    # -- queries --------------------------------------------------------------------------
    def inputs_of(self, node_id: str, port: str | None = None) -> list[Edge]:
        """Wires into a node (optionally one port), in file order: the order merges see them."""
        return [e for e in self.edges if e.target == node_id and (port is None or e.target_port == port)]

    def outputs_of(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.source == node_id]

    def nodes_of_kind(self, kind: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind == kind]

    def input_dataset(self) -> str:
        """The dataset the Input node names ("mnist" when there is not exactly one Input node to ask)."""
        inputs = self.nodes_of_kind("input")
        return str(inputs[0].params.get("dataset", "mnist")) if len(inputs) == 1 else "mnist"

    def topological_order(self) -> tuple[list[str], list[str]]:
        """Kahn's algorithm over known nodes. Returns (order, nodes_left_in_cycles)."""
        indegree = {nid: 0 for nid in self.nodes}
        children = defaultdict(list)
        for e in self.edges:
            if e.source in self.nodes and e.target in self.nodes:
                indegree[e.target] += 1
                children[e.source].append(e.target)
        ready = [nid for nid, d in indegree.items() if d == 0]
        order = []
        while ready:
            nid = ready.pop(0)
            order.append(nid)
            for child in children[nid]:
                indegree[child] -= 1
                if indegree[child] == 0:
                    ready.append(child)
        return order, [nid for nid, d in indegree.items() if d > 0]

    def ancestors(self, node_id: str) -> set[str]:
        """Every node from which `node_id` can be reached."""
        return self._reachable(node_id, upstream=True)

    def descendants(self, node_id: str) -> set[str]:
        """Every node reachable from `node_id` (itself only if it sits on a cycle)."""
        return self._reachable(node_id, upstream=False)

    def _reachable(self, node_id: str, upstream: bool) -> set[str]:
        neighbours = defaultdict(list)
        for e in self.edges:
            if upstream:
                neighbours[e.target].append(e.source)
            else:
                neighbours[e.source].append(e.target)
        seen, stack = set(), [node_id]
        while stack:
            for n in neighbours[stack.pop()]:
                if n not in seen:
                    seen.add(n)
                    stack.append(n)
        return seen
