"""Small helpers to write graphs in tests."""

from playground.core.gan.structure import is_gan_graph
from playground.core.graph import Edge, Graph, Node, load_graph
from playground.core.resources import preset_names


def chain(*layers, dataset="mnist", shape=(1, 28, 28)) -> Graph:
    """input -> layers... -> output; each layer is (id, kind, params)."""
    g = Graph(name="test")
    g.add_node(Node("input", "input", {"shape": list(shape), "dataset": dataset}))
    prev = "input"
    for nid, kind, params in layers:
        g.add_node(Node(nid, kind, dict(params)))
        g.connect(Edge(prev, nid))
        prev = nid
    g.add_node(Node("output", "output", {}))
    g.connect(Edge(prev, "output"))
    return g


def preset(name: str) -> Graph:
    return load_graph(f"preset:{name}")


def messages(analysis) -> dict:
    """node id (or None) -> list of messages."""
    out = {}
    for p in analysis.problems:
        out.setdefault(p.node, []).append(p.message)
    return out


def classifier_presets() -> list[str]:
    """The presets that classify (the GAN presets hold two networks: tests/core/test_gan.py)."""
    return [name for name in preset_names() if not is_gan_graph(preset(name))]
