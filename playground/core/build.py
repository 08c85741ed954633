"""Graph -> torch: shape inference on the meta device, and the module builder.

`analyze` is cheap enough to run on every edit: every layer is instantiated on
PyTorch's meta device (shapes only, no memory) and per-layer results are cached
by (kind, parameters, input shapes), so an edit re-runs only what changed.
"""

from __future__ import annotations

import functools
import math
import threading
import zlib
from dataclasses import dataclass, field

import torch
from torch import nn

from .gan.structure import gan_dataset_problems, is_gan_graph
from .graph import Graph, Problem, structural_problems
from .layers import CATALOG, Ctor, Shape, fmt_shape
from .layers.io import DATASETS

# Anything above these is a mistake on a digit playground, not an experiment;
# refusing it up front beats an out-of-memory crash mid-build.
MAX_PARAMS = 100_000_000
MAX_ACTIVATION_BYTES_PER_SAMPLE = 256 * 2**20


@dataclass
class Analysis:
    """What the editor and `inspect` show: per-node shapes, parameter counts and problems."""

    order: list[str] = field(default_factory=list)
    shapes: dict[str, Shape] = field(default_factory=dict)
    param_counts: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
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


def resolved_params(node) -> dict:
    return CATALOG[node.kind].resolve(node.params)


@functools.lru_cache(maxsize=8192)
def _infer_layer(kind: str, params_key: tuple, in_shapes: tuple[Shape, ...]) -> tuple[Shape | None, int, str | None]:
    """(output shape, parameter count, error) of one layer, computed on the meta device."""
    spec = CATALOG[kind]
    params = dict(params_key)
    shapes = list(in_shapes)
    if (problem := spec.check(params, shapes)) is not None:
        return None, 0, problem
    ctor = spec.make(params, shapes)
    if ctor is None:  # input/output: pass-through
        return in_shapes[0], 0, None
    try:
        with torch.device("meta"):
            module = ctor()
            # A batch of 2: BatchNorm refuses to train on a single value per channel.
            out = module(*(torch.empty(2, *s) for s in in_shapes))
    except Exception as exc:  # torch's message, reduced to its first line, is the best we have
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, 0, f"cannot compute the output: {first_line}"
    return tuple(out.shape[1:]), sum(p.numel() for p in module.parameters()), None


def analyze(graph: Graph) -> Analysis:
    analysis = Analysis(problems=structural_problems(graph))
    order, _ = graph.topological_order()
    analysis.order = order
    bad_nodes = {p.node for p in analysis.problems if p.node}
    for node_id in order:
        node = graph.nodes[node_id]
        if node_id in bad_nodes or node.kind not in CATALOG:
            continue
        params = resolved_params(node)
        if node.kind == "input":
            analysis.shapes[node_id] = tuple(params["shape"])
            continue
        if node.kind == "noise":  # a GAN generator's source: a vector of `dim` random numbers
            analysis.shapes[node_id] = (params["dim"],)
            continue
        sources = [e.source for e in graph.inputs_of(node_id)]
        if not all(s in analysis.shapes for s in sources):
            continue  # an upstream problem is already reported; don't pile on
        in_shapes = tuple(analysis.shapes[s] for s in sources)
        shape, count, error = _infer_layer(node.kind, tuple(sorted(params.items())), in_shapes)
        if error:
            analysis.problems.append(Problem(node_id, error))
        else:
            analysis.shapes[node_id] = shape
            analysis.param_counts[node_id] = count
    _check_dataset(graph, analysis)
    _check_size(graph, analysis)
    return analysis


def _check_dataset(graph: Graph, analysis: Analysis) -> None:
    if is_gan_graph(graph):  # the generator must make the data's images; the discriminator end in one value
        analysis.problems += gan_dataset_problems(graph, analysis)
        return
    inputs, outputs = graph.nodes_of_kind("input"), graph.nodes_of_kind("output")
    if len(inputs) != 1 or inputs[0].kind not in CATALOG or CATALOG["input"].param_errors(inputs[0].params):
        return
    params = resolved_params(inputs[0])
    sample_shape, classes = DATASETS[params["dataset"]]
    if tuple(params["shape"]) != sample_shape:
        analysis.problems.append(Problem(inputs[0].id, f"{params['dataset']} samples are {fmt_shape(sample_shape)}, "
                                                       f"not {fmt_shape(tuple(params['shape']))}"))
    if len(outputs) == 1 and outputs[0].id in analysis.shapes:
        shape = analysis.shapes[outputs[0].id]
        if shape != (classes,):
            analysis.problems.append(Problem(outputs[0].id, f"{params['dataset']} has {classes} classes, so the "
                                             f"network must end in {classes} scores, not {fmt_shape(shape)} "
                                             f"— end with Dense({classes})"))


def _check_size(graph: Graph, analysis: Analysis) -> None:
    if analysis.total_params > MAX_PARAMS:
        analysis.problems.append(Problem(None, f"the network would have {analysis.total_params:,} parameters; "
                                               f"the limit is {MAX_PARAMS:,}"))
    activation_bytes = 4 * sum(math.prod(s) for s in analysis.shapes.values())
    if activation_bytes > MAX_ACTIVATION_BYTES_PER_SAMPLE:
        largest = max(analysis.shapes, key=lambda n: math.prod(analysis.shapes[n]))
        analysis.problems.append(Problem(largest, f"the activations would take {activation_bytes / 2**20:,.0f} MiB "
                                                  f"per sample (the largest is {largest}, "
                                                  f"{fmt_shape(analysis.shapes[largest])}); the limit is "
                                                  f"{MAX_ACTIVATION_BYTES_PER_SAMPLE // 2**20} MiB"))


# -- building -----------------------------------------------------------------------------


def node_seed(seed: int, node_id: str) -> int:
    """A per-node seed, so that adding or removing one node leaves the others' initial weights alone."""
    return (seed * 1_000_003 + zlib.crc32(node_id.encode())) % 2**63


class GraphModule(nn.Module):
    """Runs a graph: each layer is a submodule named after its node id.

    Weights can therefore be matched by name across graphs (checkpoints,
    transfer learning), and forward hooks on `getattr(model, node_id)` see
    exactly one node's output.
    """

    def __init__(self, input_id: str, output_id: str, plan: list[tuple[str, list[str]]], result_id: str):
        super().__init__()
        self.input_id = input_id
        self.output_id = output_id
        self.plan = plan  # (node id, ids of its inputs) in execution order
        self.result_id = result_id  # the node feeding the Output
        # When each value is no longer needed, so intermediates are freed early.
        last_use: dict[str, int] = {}
        for step, (_, sources) in enumerate(plan):
            for s in sources:
                last_use[s] = step
        self._free_after = [[s for s in sources if last_use[s] == step and s != result_id]
                            for step, (_, sources) in enumerate(plan)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = {self.input_id: x}
        for (node_id, sources), done in zip(self.plan, self._free_after, strict=True):
            values[node_id] = self._modules[node_id](*(values[s] for s in sources))
            for s in done:
                del values[s]
        return values[self.result_id]


@dataclass
class BuildPlan:
    """What running a valid graph takes: its layers in execution order, each with its inputs and constructor.

    The builder and the Python exporter both follow it, so they cannot disagree.
    """

    analysis: Analysis
    input_id: str
    output_id: str
    result_id: str  # the node feeding the Output
    steps: list[tuple[str, list[str], Ctor]]  # (node id, ids of its inputs in wire order, constructor)


def plan_graph(graph: Graph) -> BuildPlan:
    """Raises GraphError if the graph is not valid."""
    analysis = analyze(graph)
    if not analysis.ok:
        raise GraphError(analysis.problems)
    if is_gan_graph(graph):  # two networks: core/gan/model.py builds them
        raise GraphError([Problem(None, "a GAN graph holds two networks (a generator and a discriminator); "
                                        "this needs one network")])
    (input_node,) = graph.nodes_of_kind("input")
    (output_node,) = graph.nodes_of_kind("output")
    (result_edge,) = graph.inputs_of(output_node.id)
    steps = [(node_id, [e.source for e in graph.inputs_of(node_id)], ctor_for(graph, analysis, node_id))
             for node_id in analysis.order if graph.nodes[node_id].kind not in ("input", "output")]
    return BuildPlan(analysis, input_node.id, output_node.id, result_edge.source, steps)


_INIT_LOCK = threading.Lock()


def build_module(graph: Graph, device: str | torch.device = "cpu", seed: int = 0) -> GraphModule:
    """Build the graph as a module on `device`, initialised deterministically from `seed`.

    Raises GraphError if the graph is not valid.
    """
    plan = plan_graph(graph)
    model = GraphModule(plan.input_id, plan.output_id, [(nid, sources) for nid, sources, _ in plan.steps],
                        plan.result_id)
    for node_id, _, ctor in plan.steps:
        # Initialise on the CPU with a per-node seed: identical weights on every device. Layers draw their
        # initial weights from torch's one global generator, so two threads building at once (the app's
        # predictor and its training worker) must take turns, or each would get the other's numbers.
        with _INIT_LOCK, torch.random.fork_rng(devices=[]):
            # The CPU generator only: torch.manual_seed also queues a seed (with a stack trace) per GPU kind.
            torch.default_generator.manual_seed(node_seed(seed, node_id))
            module = ctor()
        if not graph.nodes[node_id].trainable:
            module.requires_grad_(False)
        model.add_module(node_id, module)
    return model.to(device)


def ctor_for(graph: Graph, analysis: Analysis, node_id: str):
    """The constructor call of one node (for exporters)."""
    node = graph.nodes[node_id]
    sources = [e.source for e in graph.inputs_of(node_id)]
    return CATALOG[node.kind].make(resolved_params(node), [analysis.shapes[s] for s in sources])
