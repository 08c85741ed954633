"""What a graph is trained to do: the one place that decides (torch-free).

- "generation": a GAN (a graph with a Noise or a Generated node: two networks, core/gan);
- "points": a network on 2-D points (its Input's dataset is one of core/data/points.py's), classification or
  regression, whose every neuron can be drawn over the input plane;
- "classification": any other graph (images).

The window follows the answer (app/task.py) instead of testing graphs itself.
"""

from __future__ import annotations

from .data.point_sets import is_points_dataset
from .graph.model import Graph

CLASSIFICATION = "classification"
GENERATION = "generation"
POINTS = "points"

GAN_KINDS = frozenset({"noise", "generated"})


def is_gan_graph(graph: Graph) -> bool:
    """A graph with a Noise or a Generated node: two networks, trained as a GAN."""
    return any(node.kind in GAN_KINDS for node in graph.nodes.values())


def task_of(graph: Graph) -> str:
    """"generation", "points" or "classification" (see the module's doc)."""
    if is_gan_graph(graph):
        return GENERATION
    if is_points_dataset(graph.input_dataset()):
        return POINTS
    return CLASSIFICATION
