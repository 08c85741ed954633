"""What a graph is, short of building it: every node's output shape, parameter count and problems.

Shapes are worked out by arithmetic (each kind's `LayerSpec.infer`), so checking a
graph needs no torch: `playground inspect` and the editor's live checks run without
it. `build.py` turns a graph that passes into modules.

`analyze` checks a whole graph. `reanalyze` follows an edit that changed only some
nodes' parameters: it re-checks those nodes and re-infers shapes downstream of them,
stopping wherever an output shape comes out as before, so editing one layer of a
10,000-layer chain costs about one layer. Both give the same `Analysis`
(tests/core/test_reanalyze.py compares them over random edits).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from .gan.structure import gan_dataset_problems, is_gan_graph
from .graph import Graph, Node, Problem
from .graph.validate import duplicate_problems, node_problems, wiring_problems
from .layers import CATALOG, LayerSpec, Shape, fmt_shape
from .layers.io import DATASETS

# Anything above these is a mistake on a digit playground, not an experiment;
# refusing it up front beats an out-of-memory crash mid-build.
MAX_PARAMS = 100_000_000
MAX_ACTIVATION_BYTES_PER_SAMPLE = 256 * 2**20

_serials = itertools.count(1)


@dataclass
class _State:
    """What `reanalyze` needs of the analysis it starts from, beyond its results. Never mutated once made."""

    topo_index: dict[str, int]  # node id -> position in `order`
    file_index: dict[str, int]  # node id -> position in the graph's nodes (the order of structural problems)
    head: list[Problem]  # duplicate ids: before the nodes' own problems
    node_problems: dict[str, list[Problem]]  # each node's own problems (id, kind, parameters), nodes with some only
    wiring: list[Problem]  # wires, ports, cycles, reach: after the nodes' own problems
    wiring_bad: frozenset[str]  # nodes named by `head` or `wiring`: no shape is inferred for them
    shape_problems: dict[str, Problem]  # the problem shape inference found at a node, if any
    late: list[Problem]  # the dataset's and the size limits' problems, last
    input_id: str | None  # the one Input node (None when there is not exactly one)
    output_id: str | None  # the one Output node (likewise)
    activation_values: int  # sum of the values of every output shape (the size limit's measure)


@dataclass
class Analysis:
    """What the editor and `inspect` show: per-node shapes, parameter counts and problems."""

    order: list[str] = field(default_factory=list)
    shapes: dict[str, Shape] = field(default_factory=dict)
    param_counts: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # A number of its own, and, for one made by `reanalyze`, the number of the analysis it started from and the
    # nodes whose shape, count or problems may differ from that one's (the editor repaints only those).
    serial: int = field(default_factory=lambda: next(_serials), compare=False)
    base_serial: int | None = field(default=None, compare=False)
    changed: frozenset[str] | None = field(default=None, repr=False, compare=False)
    _state: _State | None = field(default=None, repr=False, compare=False)
    _by_node: tuple[tuple[int, int], dict] | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def total_params(self) -> int:
        return sum(self.param_counts.values())

    def problems_of(self, node_id: str) -> list[Problem]:
        # Grouped once per change of the list, not scanned per node (the editor asks for every node).
        key = (id(self.problems), len(self.problems))
        if self._by_node is None or self._by_node[0] != key:
            grouped: dict[str | None, list[Problem]] = {}
            for p in self.problems:
                grouped.setdefault(p.node, []).append(p)
            self._by_node = (key, grouped)
        return list(self._by_node[1].get(node_id, ()))


class GraphError(ValueError):
    """The graph cannot be built; `problems` says where and why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def resolved_params(node: Node) -> dict:
    return CATALOG[node.kind].resolve(node.params)


def infer_node(graph: Graph, node: Node, shapes: dict[str, Shape]) -> tuple[Shape | None, int | None, str | None]:
    """(output shape, parameter count, problem) of one node whose own checks passed, from its inputs' shapes.

    All None when an input has no shape: an upstream problem is already reported; don't pile on.
    """
    spec = CATALOG[node.kind]
    params = spec.resolve(node.params)
    if node.kind == "input":
        return tuple(params["shape"]), None, None
    in_shapes = []
    for edge in graph.inputs_of(node.id):
        shape = shapes.get(edge.source)
        if shape is None:
            return None, None, None
        in_shapes.append(shape)
    return infer_layer(spec, params, in_shapes)


def infer_layer(spec: LayerSpec, params: dict, in_shapes: list[Shape]) -> tuple[Shape | None, int | None, str | None]:
    """(output shape, parameter count, problem) of one layer of kind `spec` with resolved `params`."""
    if (problem := spec.check(params, in_shapes)) is not None:
        return None, None, problem
    if spec.infer is None:
        return None, None, f"{spec.title} cannot work out its output shape (its kind has no `infer`)"
    try:
        shape, count = spec.infer(params, in_shapes)
    except ValueError as exc:  # what `check` leaves to the arithmetic, in plain words
        return None, None, str(exc) or f"{spec.title} cannot take {', '.join(fmt_shape(s) for s in in_shapes)}"
    shape = tuple(shape)
    if not all(d > 0 for d in shape):
        return None, None, f"the output would be empty ({fmt_shape(shape)})"
    return shape, count, None


def analyze(graph: Graph) -> Analysis:
    order, blocked = graph.topological_order()
    head = duplicate_problems(graph)
    own = {node.id: found for node in graph.nodes.values() if (found := node_problems(node))}
    wiring = wiring_problems(graph, blocked)
    wiring_bad = frozenset(p.node for p in itertools.chain(head, wiring) if p.node)
    inputs, outputs = graph.nodes_of_kind("input"), graph.nodes_of_kind("output")
    state = _State(topo_index={n: i for i, n in enumerate(order)}, file_index={n: i for i, n in enumerate(graph.nodes)},
                   head=head, node_problems=own, wiring=wiring, wiring_bad=wiring_bad, shape_problems={}, late=[],
                   input_id=inputs[0].id if len(inputs) == 1 else None,
                   output_id=outputs[0].id if len(outputs) == 1 else None, activation_values=0)
    analysis = Analysis(order=order, _state=state)
    shapes, counts = analysis.shapes, analysis.param_counts
    for node_id in order:
        node = graph.nodes[node_id]
        if node_id in wiring_bad or node_id in own:
            continue
        shape, count, problem = infer_node(graph, node, shapes)
        if problem is not None:
            state.shape_problems[node_id] = Problem(node_id, problem)
        elif shape is not None:
            shapes[node_id] = shape
            state.activation_values += math.prod(shape)
            if count is not None:
                counts[node_id] = count
    _finish(graph, analysis)
    return analysis


def reanalyze(graph: Graph, previous: Analysis, changed: Iterable[str]) -> Analysis:
    """The analysis of `graph` after an edit of the parameters (or trainable flags) of the nodes `changed`.

    `previous` must be the analysis of the graph just before: the same nodes, kinds and wires. Anything else
    (a node added or renamed, a wire moved, an analysis without the state this needs) calls for `analyze`,
    which is what this falls back to when it can tell.
    """
    changed = set(changed)
    old = previous._state
    if old is None or not changed <= graph.nodes.keys() or len(old.file_index) != len(graph.nodes):
        return analyze(graph)
    state = _State(**{**old.__dict__, "node_problems": dict(old.node_problems),
                      "shape_problems": dict(old.shape_problems)})
    analysis = Analysis(order=previous.order, shapes=dict(previous.shapes), param_counts=dict(previous.param_counts),
                        base_serial=previous.serial, _state=state)
    shapes, counts = analysis.shapes, analysis.param_counts
    for node_id in changed:
        found = node_problems(graph.nodes[node_id])
        if found:
            state.node_problems[node_id] = found
        else:
            state.node_problems.pop(node_id, None)

    # Re-infer in execution order from the edited nodes; a node whose output shape is unchanged stops the wave.
    topo, order = state.topo_index, analysis.order
    todo = [topo[n] for n in changed if n in topo]
    heapq.heapify(todo)
    touched = set(changed)
    done = -1
    while todo:
        position = heapq.heappop(todo)
        if position <= done:
            continue  # queued twice (a node with several inputs)
        done = position
        node_id = order[position]
        touched.add(node_id)
        before = shapes.get(node_id)
        shape = count = problem = None
        if node_id not in state.wiring_bad and node_id not in state.node_problems:
            shape, count, problem = infer_node(graph, graph.nodes[node_id], shapes)
        _put(shapes, node_id, shape)
        _put(counts, node_id, count)
        _put(state.shape_problems, node_id, None if problem is None else Problem(node_id, problem))
        if shape != before:
            state.activation_values += (math.prod(shape) if shape else 0) - (math.prod(before) if before else 0)
            for edge in graph.outputs_of(node_id):
                if edge.target in topo:
                    heapq.heappush(todo, topo[edge.target])
    touched.update(p.node for p in state.late if p.node)  # the dataset's and the size limits' verdicts may move
    _finish(graph, analysis)
    touched.update(p.node for p in state.late if p.node)
    analysis.changed = frozenset(touched)
    return analysis


def _put(results: dict, node_id: str, value) -> None:
    """Set or (None) remove one node's result, keeping its place in the dict when it has one."""
    if value is None:
        results.pop(node_id, None)
    else:
        results[node_id] = value


def _finish(graph: Graph, analysis: Analysis) -> None:
    """The checks of the whole network (dataset, size), then every problem in its place in the list."""
    state = analysis._state
    state.late = _dataset_problems(graph, analysis, state) + _size_problems(analysis, state)
    own = state.node_problems
    by_file = sorted(own, key=state.file_index.__getitem__) if len(own) > 1 else own
    by_order = (sorted(state.shape_problems, key=state.topo_index.__getitem__) if len(state.shape_problems) > 1
                else state.shape_problems)
    analysis.problems = [*state.head, *(p for n in by_file for p in own[n]), *state.wiring,
                         *(state.shape_problems[n] for n in by_order), *state.late]


def _dataset_problems(graph: Graph, analysis: Analysis, state: _State) -> list[Problem]:
    if is_gan_graph(graph):  # the generator must make the data's images; the discriminator end in one value
        return gan_dataset_problems(graph, analysis)
    if state.input_id is None:
        return []
    input_node = graph.nodes[state.input_id]
    if CATALOG["input"].param_errors(input_node.params):
        return []
    params = resolved_params(input_node)
    sample_shape, classes = DATASETS[params["dataset"]]
    if sample_shape is None:  # an image folder: its shape and classes are known once it is loaded (the Trainer)
        return []
    problems = []
    if tuple(params["shape"]) != sample_shape:
        what = "points are x, y: 2" if sample_shape == (2,) else f"samples are {fmt_shape(sample_shape)}"
        problems.append(Problem(input_node.id, f"{params['dataset']} {what}, not {fmt_shape(tuple(params['shape']))}"))
    if classes is None:  # the document's own points: their classes, or one value for regression
        classes = graph.points.num_classes if graph.points is not None and len(graph.points) else 2
    if state.output_id is not None and state.output_id in analysis.shapes:
        shape = analysis.shapes[state.output_id]
        loss = resolved_params(graph.nodes[state.output_id]).get("loss")
        if classes == 1 and (shape != (1,) or loss != "mse"):
            problems.append(Problem(state.output_id, f"{params['dataset']} is a regression (one value per point), "
                                    f"so the network must end in one value with the MSE loss, not "
                                    f"{fmt_shape(shape)} with {loss} — end with Dense(1) and choose mse"))
        elif classes != 1 and shape != (classes,):
            problems.append(Problem(state.output_id, f"{params['dataset']} has {classes} classes, so the "
                                    f"network must end in {classes} scores, not {fmt_shape(shape)} "
                                    f"— end with Dense({classes})"))
    return problems


def _size_problems(analysis: Analysis, state: _State) -> list[Problem]:
    problems = []
    if analysis.total_params > MAX_PARAMS:
        problems.append(Problem(None, f"the network would have {analysis.total_params:,} parameters; "
                                      f"the limit is {MAX_PARAMS:,}"))
    activation_bytes = 4 * state.activation_values
    if activation_bytes > MAX_ACTIVATION_BYTES_PER_SAMPLE:
        # The first in execution order of the largest (`reanalyze` may have re-added some shapes at the end).
        largest = max(analysis.shapes, key=lambda n: (math.prod(analysis.shapes[n]), -state.topo_index[n]))
        problems.append(Problem(largest, f"the activations would take {activation_bytes / 2**20:,.0f} MiB "
                                         f"per sample (the largest is {largest}, "
                                         f"{fmt_shape(analysis.shapes[largest])}); the limit is "
                                         f"{MAX_ACTIVATION_BYTES_PER_SAMPLE // 2**20} MiB"))
    return problems
