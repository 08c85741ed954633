"""A GAN graph as torch modules: one `GanModule` holding every layer, keyed by node id.

    gan = build_gan(graph, device, seed=0)
    images = gan.generator(noise)            # a GraphModule: Noise → … → Generated
    logits = gan.discriminator(images)       # a GraphModule: Input → … → Output
    gan.state_dict()                         # {"g_dense.weight": …, "d_conv1.weight": …}: one dict, both networks

The two networks are ordinary `GraphModule`s (the class classifiers are built
as), so whatever works on a classifier's module (export, activations, weight
views) works on either. They share their layers with the `GanModule`, whose
own children are the layers themselves: its state_dict is keyed by node id
exactly like a classifier's, and a checkpoint or a transfer by name covers
both networks at once.
"""

from __future__ import annotations

import torch
from torch import nn

from ..build import _INIT_LOCK, Analysis, GraphError, GraphModule, analyze, ctor_for, node_seed
from ..graph import Graph, Problem
from ..layers import CATALOG
from .structure import GanParts, gan_parts, is_gan_graph


class GanModule(nn.Module):
    """Every layer of both networks as a child named after its node id; `generator` and `discriminator` run them.

    Calling the module runs the generator (noise -> images)."""

    def __init__(self, parts: GanParts, generator: GraphModule, discriminator: GraphModule):
        super().__init__()
        for network in (generator, discriminator):
            for name, layer in network.named_children():
                self.add_module(name, layer)
        # Kept out of the module tree (a plain dict), so that each layer is saved once, under its node id.
        self._networks = {"generator": generator, "discriminator": discriminator}
        self.parts = parts

    @property
    def generator(self) -> GraphModule:
        return self._networks["generator"]

    @property
    def discriminator(self) -> GraphModule:
        return self._networks["discriminator"]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)

    def train(self, mode: bool = True) -> GanModule:  # eval() too: the networks' own flags follow their layers'
        super().train(mode)
        for network in self._networks.values():
            network.training = mode
        return self


def gan_analysis(graph: Graph) -> tuple[Analysis, GanParts]:
    """The analysis of a valid GAN graph and its two networks; raises GraphError otherwise."""
    analysis = analyze(graph)
    if not analysis.ok:
        raise GraphError(analysis.problems)
    parts = gan_parts(graph) if is_gan_graph(graph) else None
    if parts is None:
        raise GraphError([Problem(None, "not a GAN graph: it has no Noise → … → Generated generator")])
    return analysis, parts


def network_steps(graph: Graph, analysis: Analysis, members: frozenset[str], start: str, end: str):
    """(node id, ids of its inputs, constructor) of one network's layers in execution order, and the id of the
    node feeding its end node."""
    steps = [(nid, [e.source for e in graph.inputs_of(nid)], ctor_for(graph, analysis, nid))
             for nid in analysis.order if nid in members and nid not in (start, end)]
    (result_edge,) = graph.inputs_of(end)
    return steps, result_edge.source


def _build_network(graph: Graph, analysis: Analysis, members: frozenset[str], start: str, end: str,
                   seed: int) -> GraphModule:
    steps, result_id = network_steps(graph, analysis, members, start, end)
    model = GraphModule(start, end, [(nid, sources) for nid, sources, _ in steps], result_id)
    for node_id, _, ctor in steps:
        # As build.build_module: per-node seeds on the CPU generator, one builder at a time.
        with _INIT_LOCK, torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(node_seed(seed, node_id))
            module = ctor()
        if not graph.nodes[node_id].trainable:
            module.requires_grad_(False)
        model.add_module(node_id, module)
    return model


def build_gan(graph: Graph, device: str | torch.device = "cpu", seed: int = 0) -> GanModule:
    """Both networks of a GAN graph on `device`, initialised deterministically from `seed` (each layer from its
    own node's seed, as classifiers are). Raises GraphError for a graph that is not a valid GAN."""
    analysis, parts = gan_analysis(graph)
    generator = _build_network(graph, analysis, parts.generator, parts.noise, parts.generated, seed)
    discriminator = _build_network(graph, analysis, parts.discriminator, parts.input, parts.output, seed)
    return GanModule(parts, generator, discriminator).to(device)


def noise_params(graph: Graph) -> dict:
    """The Noise node's resolved parameters: {"dim": …, "distribution": …}."""
    (node,) = graph.nodes_of_kind("noise")
    return CATALOG["noise"].resolve(node.params)


def pixel_range(graph: Graph) -> str:
    """"tanh" (generated pixels -1..1) or "sigmoid" (0..1), as the Generated node says."""
    (node,) = graph.nodes_of_kind("generated")
    return CATALOG["generated"].resolve(node.params)["range"]


def split_state_dict(parts: GanParts, state_dict: dict[str, torch.Tensor]
                     ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """One GAN state_dict as (the generator's, the discriminator's), by node id."""
    generator, discriminator = {}, {}
    for key, value in state_dict.items():
        node = key.split(".", 1)[0]
        if node in parts.generator:
            generator[key] = value
        elif node in parts.discriminator:
            discriminator[key] = value
    return generator, discriminator
