"""The network as data: nodes, edges between named ports, and graph queries.

A `Graph` is the single source of truth that the editor edits (through undo
commands), the builder turns into a module and the file format stores.
"""

from __future__ import annotations

import copy
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # NumPy is not imported to read a graph without points (`playground inspect`)
    from ..data.points import Points

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


class EdgeIndex:
    """The wires by node, built in one pass over the edge list: `inputs[node]`, `outputs[node]`, in file order."""

    builds = 0  # how many indexes were built, in all: tests count work with it instead of timing it

    def __init__(self, edges: list[Edge]):
        EdgeIndex.builds += 1
        self.inputs: dict[str, list[Edge]] = defaultdict(list)
        self.outputs: dict[str, list[Edge]] = defaultdict(list)
        for e in edges:
            self.inputs[e.target].append(e)
            self.outputs[e.source].append(e)


class EdgeList(list):
    """A graph's wires: a plain list that keeps an `EdgeIndex` and drops it on every change.

    Queries by node (`Graph.inputs_of`, `outputs_of`) were a scan of every wire each,
    so checking a graph was quadratic in its size; the index makes each one a lookup
    and stays correct however the list is changed (the editor's undo commands insert
    and delete wires in place).
    """

    _index: EdgeIndex | None = None

    def by_node(self) -> EdgeIndex:
        if self._index is None:
            self._index = EdgeIndex(self)
        return self._index

    def append(self, edge: Edge) -> None:
        super().append(edge)
        if self._index is not None:  # an append keeps file order, so the index can follow it
            self._index.inputs[edge.target].append(edge)
            self._index.outputs[edge.source].append(edge)

    def __reduce__(self):  # copies and pickles carry the wires, not the index
        return (EdgeList, (list(self),))

    def __deepcopy__(self, memo):
        return EdgeList(copy.deepcopy(list(self), memo))

    def __copy__(self):
        return EdgeList(self)


def _invalidating(name: str):
    method = getattr(list, name)

    def wrapper(self, *args, **kwargs):
        self._index = None
        return method(self, *args, **kwargs)

    wrapper.__name__ = name
    return wrapper


for _name in ("extend", "insert", "remove", "pop", "clear", "sort", "reverse",
              "__setitem__", "__delitem__", "__iadd__", "__imul__"):
    setattr(EdgeList, _name, _invalidating(_name))


def _copy_plain(value: Any) -> Any:
    """A copy of parameters as a file holds them (dicts, lists, numbers, strings): 10× quicker than deepcopy,
    which matters when a 10,000-layer graph is copied; anything else still goes through deepcopy."""
    if isinstance(value, dict):
        return {k: _copy_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_plain(v) for v in value]
    if value is None or type(value) in (str, int, float, bool):
        return value
    return copy.deepcopy(value)


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=EdgeList)
    name: str = ""
    description: str = ""
    # Ids that appeared more than once in a loaded file; kept so the validator
    # can name them instead of silently dropping a node.
    duplicate_ids: list[str] = field(default_factory=list)
    # A person's own 2-D points (drawn on the Decision view or loaded from a CSV file): the data of the
    # "own-points" dataset, saved with the network. Immutable, so copies share it.
    points: Points | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "edges" and not isinstance(value, EdgeList):
            value = EdgeList(value)  # `graph.edges = [...]` still gets an index
        super().__setattr__(name, value)

    # -- editing -------------------------------------------------------------------------
    def add_node(self, node: Node) -> Node:
        if node.id in self.nodes:
            raise ValueError(f"a node with id '{node.id}' already exists")
        self.nodes[node.id] = node
        return node

    def remove_node(self, node_id: str) -> tuple[Node, list[Edge]]:
        """Remove a node and its wires; returns both so that an undo can put them back."""
        node = self.nodes.pop(node_id)
        index = self.edges.by_node()
        removed = []
        if node_id in index.inputs or node_id in index.outputs:
            removed = [e for e in self.edges if node_id in (e.source, e.target)]
            self.edges = [e for e in self.edges if node_id not in (e.source, e.target)]
        return node, removed

    def connect(self, edge: Edge) -> Edge:
        if edge in self.edges.by_node().outputs.get(edge.source, ()):
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
        """A copy that shares nothing mutable (wires are immutable, so the new list holds the same ones)."""
        return Graph(nodes={k: Node(n.id, n.kind, _copy_plain(n.params), n.position, n.trainable)
                            for k, n in self.nodes.items()},
                     edges=EdgeList(self.edges), name=self.name, description=self.description,
                     duplicate_ids=list(self.duplicate_ids), points=self.points)

    # -- queries --------------------------------------------------------------------------
    def inputs_of(self, node_id: str, port: str | None = None) -> list[Edge]:
        """Wires into a node (optionally one port), in file order: the order merges see them."""
        wires = self.edges.by_node().inputs.get(node_id, ())
        return [e for e in wires if port is None or e.target_port == port]

    def outputs_of(self, node_id: str) -> list[Edge]:
        return list(self.edges.by_node().outputs.get(node_id, ()))

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
        ready = deque(nid for nid, d in indegree.items() if d == 0)
        order = []
        while ready:
            nid = ready.popleft()
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

    def nodes_on_cycles(self) -> set[str]:
        """Every known node on a cycle of wires, found in one pass (Tarjan's strongly connected components)."""
        index = self.edges.by_node()
        children = {nid: [e.target for e in index.outputs.get(nid, ()) if e.target in self.nodes] for nid in self.nodes}
        number: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()
        cyclic: set[str] = set()
        for root in self.nodes:
            if root in number:
                continue
            number[root] = low[root] = len(number)
            stack.append(root)
            on_stack.add(root)
            work = [(root, iter(children[root]))]  # iterative, so a long chain cannot overflow the stack
            while work:
                nid, it = work[-1]
                for child in it:
                    if child not in number:
                        number[child] = low[child] = len(number)
                        stack.append(child)
                        on_stack.add(child)
                        work.append((child, iter(children[child])))
                        break
                    if child in on_stack:
                        low[nid] = min(low[nid], number[child])
                else:
                    work.pop()
                    if work:
                        parent = work[-1][0]
                        low[parent] = min(low[parent], low[nid])
                    if low[nid] == number[nid]:
                        component = []
                        while True:
                            member = stack.pop()
                            on_stack.discard(member)
                            component.append(member)
                            if member == nid:
                                break
                        if len(component) > 1 or nid in children[nid]:
                            cyclic.update(component)
        return cyclic

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
