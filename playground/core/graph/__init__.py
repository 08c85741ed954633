"""The network as data."""

from .io import (
    MAX_GRAPH_FILE_BYTES,
    MAX_GRAPH_LAYERS,
    MAX_GRAPH_WIRES,
    PRESET_PREFIX,
    SCHEMA_VERSION,
    GraphFileError,
    dumps_graph,
    graph_from_dict,
    graph_to_dict,
    load_graph,
    loads_graph,
    save_graph,
)
from .model import OUT_PORT, Edge, Graph, Node
from .validate import Problem, structural_problems

__all__ = [
    "MAX_GRAPH_FILE_BYTES", "MAX_GRAPH_LAYERS", "MAX_GRAPH_WIRES",
    "OUT_PORT", "PRESET_PREFIX", "SCHEMA_VERSION", "Edge", "Graph", "GraphFileError", "Node", "Problem",
    "dumps_graph", "graph_from_dict", "graph_to_dict", "load_graph", "loads_graph", "save_graph",
    "structural_problems",
]
