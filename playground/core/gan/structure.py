"""How a GAN graph is made, and what can be wrong with it (torch-free).

One document holds both networks, as two separate groups of nodes:

    Noise → … → Generated          the generator: random numbers in, an image out
    Input → … → Output             the discriminator: an image in, one value out (how real it looks)

(or, when the Input's dataset is a set of 2-D points, `is_points_gan`: a point out, a point in).

The trainer wires them together itself (generated images go into the
discriminator), so no wire may join the two groups. A graph with a Noise or a
Generated node is a GAN graph; any other graph is a classifier and is checked
exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..data.point_sets import EXTENT, is_points_dataset
from ..graph.model import Graph
from ..graph.validate import Problem
from ..layers import CATALOG, fmt_shape
from ..layers.base import describe
from ..layers.generative import NO_RANGE
from ..layers.io import DATASETS
from ..task import CLASSIFICATION, GAN_KINDS, GENERATION, POINTS, is_gan_graph, is_points_gan, task_of

__all__ = ["CLASSIFICATION", "GAN_KINDS", "GENERATION", "POINTS", "GanParts", "gan_dataset_problems", "gan_parts",
           "gan_structure_problems", "is_gan_graph", "is_points_gan", "task_of"]


@dataclass(frozen=True)
class GanParts:
    """The two networks of a well-formed GAN graph, by node id (each set includes its end nodes)."""

    noise: str
    generated: str
    input: str
    output: str
    generator: frozenset[str]
    discriminator: frozenset[str]

    def network_of(self, node_id: str) -> str | None:
        """"generator", "discriminator" or None."""
        if node_id in self.generator:
            return "generator"
        if node_id in self.discriminator:
            return "discriminator"
        return None


def gan_parts(graph: Graph) -> GanParts | None:
    """The two networks, or None when the graph does not have exactly one of each end node."""
    ends = {kind: graph.nodes_of_kind(kind) for kind in ("noise", "generated", "input", "output")}
    if any(len(found) != 1 for found in ends.values()):
        return None
    noise, generated, input_, output = (ends[k][0].id for k in ("noise", "generated", "input", "output"))
    return GanParts(noise, generated, input_, output,
                    frozenset(graph.ancestors(generated) | {generated}),
                    frozenset(graph.ancestors(output) | {output}))


def gan_structure_problems(graph: Graph) -> list[Problem]:
    """What keeps a GAN graph from being two networks: missing or repeated end nodes, wires joining the two
    networks, wires out of Generated, nodes that feed neither network's end."""
    problems: list[Problem] = []
    add = problems.append
    noises, generateds = graph.nodes_of_kind("noise"), graph.nodes_of_kind("generated")
    inputs, outputs = graph.nodes_of_kind("input"), graph.nodes_of_kind("output")

    for found, title in ((noises, "Noise"), (generateds, "Generated"), (inputs, "Input"), (outputs, "Output")):
        for extra in found[1:]:
            add(Problem(extra.id, f"a GAN may have only one {title} node (the first is '{found[0].id}')"))
    if not noises:
        add(Problem(generateds[0].id, "the generator has no Noise node to start from: add a Noise node (the "
                                      "random numbers each image is made from) and wire it through the "
                                      "generator's layers to this node"))
    if not generateds:
        add(Problem(noises[0].id, "the generator has no Generated node: end it with a Generated node (the "
                                  "images it makes)"))
    if not inputs and not outputs:
        add(Problem(None, "the GAN has a generator but no discriminator: add Input (the real images) → … → "
                          "Output (one value: how real an image looks)"))
    elif not inputs:
        add(Problem(outputs[0].id, "the discriminator has no Input node: add one (the real images) and wire it "
                                   "through the discriminator's layers to this Output"))
    elif not outputs:
        add(Problem(inputs[0].id, "the discriminator has no Output node: end it with Dense(1) → Output (one "
                                  "value: how real an image looks)"))

    for node in generateds:
        for edge in graph.outputs_of(node.id):
            add(Problem(node.id, f"wire {edge}: the Generated node has no outgoing wires (the trainer feeds the "
                                 "generated images to the discriminator itself)"))

    # Which end each node feeds. A node feeding both, or a wire from one network into the other, joins them.
    feeds_g = set().union(*(graph.ancestors(n.id) | {n.id} for n in generateds))
    feeds_d = set().union(*(graph.ancestors(n.id) | {n.id} for n in outputs))
    for edge in graph.edges:
        if edge.source not in graph.nodes or edge.target not in graph.nodes:
            continue
        if edge.source in feeds_g and edge.target in feeds_d - feeds_g:
            add(Problem(edge.target, f"wire {edge} joins the generator to the discriminator; keep the two "
                                     "networks apart (the trainer feeds the generated images to the "
                                     "discriminator itself)"))
        elif edge.source in feeds_d and edge.target in feeds_g - feeds_d:
            add(Problem(edge.target, f"wire {edge} joins the discriminator to the generator; keep the two "
                                     "networks apart (the generator starts from Noise alone)"))
    for node in graph.nodes.values():
        if node.id not in feeds_g and node.id not in feeds_d:
            add(Problem(node.id, "is not connected to the generator's end (Generated) or the discriminator's "
                                 "(Output)"))
    return problems


def gan_dataset_problems(graph: Graph, analysis) -> list[Problem]:
    """With shapes known (`analysis`: build.Analysis): the generator must make the dataset's images (or its 2-D
    points, left as they are: range "none"), and the discriminator must end in one value."""
    problems: list[Problem] = []
    inputs, outputs = graph.nodes_of_kind("input"), graph.nodes_of_kind("output")
    generateds = graph.nodes_of_kind("generated")
    if len(inputs) != 1 or inputs[0].id not in analysis.shapes:
        return problems
    params = CATALOG["input"].resolve(inputs[0].params) if not CATALOG["input"].param_errors(inputs[0].params) \
        else None
    if params is None:
        return problems
    dataset = params["dataset"]
    sample_shape, _ = DATASETS[dataset]
    if sample_shape is None:  # an image folder: the images' shape is known once it is loaded
        sample_shape = tuple(params["shape"])
    points = is_points_dataset(dataset)
    what = "point" if points else "image"
    if tuple(params["shape"]) != sample_shape:
        samples = "points are x, y: 2" if points else f"samples are {fmt_shape(sample_shape)}"
        problems.append(Problem(inputs[0].id, f"{dataset} {samples}, not {fmt_shape(tuple(params['shape']))}"))
    if len(generateds) == 1 and generateds[0].id in analysis.shapes:
        node = generateds[0]
        made = analysis.shapes[node.id]
        spec = CATALOG["generated"]
        value_range = spec.resolve(node.params)["range"] if not spec.param_errors(node.params) else None
        if made != sample_shape:
            if points:
                problems.append(Problem(node.id, f"the generator must make 2-D points like {dataset}'s (x, y: 2 "
                                                 f"values), not {describe(made)} — end it with Dense(2)"))
            else:
                problems.append(Problem(node.id, f"generator makes {fmt_shape(made)}, the data is "
                                                 f"{fmt_shape(sample_shape)}"))
        elif points and value_range not in (None, NO_RANGE):
            problems.append(Problem(node.id, f"range {value_range} would squash the generated points into "
                                             f"{'-1…1' if value_range == 'tanh' else '0…1'}, while {dataset}'s lie "
                                             f"between -{EXTENT:g} and {EXTENT:g}: choose range none (the points as "
                                             "they are)"))
        elif not points and value_range == NO_RANGE:
            problems.append(Problem(node.id, "images need a pixel range: choose tanh (after a Tanh: -1…1) or "
                                             "sigmoid (after a Sigmoid: 0…1); range none is for 2-D points"))
    if len(outputs) == 1 and outputs[0].id in analysis.shapes:
        shape = analysis.shapes[outputs[0].id]
        if shape != (1,):
            problems.append(Problem(outputs[0].id, f"the discriminator must end in one value (how real the "
                                                   f"{what} looks), not {fmt_shape(shape)} — end with Dense(1)"))
    return problems
