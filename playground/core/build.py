"""Graph -> torch.nn.Module: a DAG executor over the layers, built deterministically.

What a graph is without building it (shapes, parameter counts, problems) is
`analysis.py`'s work, which needs no torch; building starts from its verdict.
"""

from __future__ import annotations

import threading
import zlib
from dataclasses import dataclass

import torch
from torch import nn

from .analysis import Analysis, GraphError, analyze, resolved_params
from .gan.structure import is_gan_graph
from .graph import Graph, Problem
from .layers import CATALOG, Ctor


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
