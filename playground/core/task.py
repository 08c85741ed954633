"""What a graph is trained to do: the one place that decides (torch-free).

- "generation": a GAN (a graph with a Noise or a Generated node: two networks, core/gan), on images or, when its
  Input's dataset is a points set (`is_points_gan`), on 2-D points (GAN Lab's lesson);
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


def is_points_gan(graph: Graph) -> bool:
    """A GAN on 2-D points: its Input's dataset is one of core/data/points.py's (the generator makes points, the
    discriminator judges them, and the Decision view shows both over the plane). Its task is still "generation"."""
    return is_gan_graph(graph) and is_points_dataset(graph.input_dataset())


def on_plane(graph: Graph) -> bool:
    """What the network computes is drawn over the input plane (the Decision view): task "points", or a GAN on
    points."""
    return is_points_dataset(graph.input_dataset())
