"""Graph files: human-readable JSON with a schema version, written atomically.

The loader is strict about *form* (it must be a graph file) and lenient about
*meaning*: unknown kinds or bad parameter values load fine and are reported by
the validator on the node concerned, so the editor can open and repair them.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from ..data.errors import DatasetError
from ..files import atomic_write
from ..resources import preset_names, preset_path
from .model import OUT_PORT, Edge, Graph, Node

SCHEMA_VERSION = 2
PRESET_PREFIX = "preset:"

# What Playground opens, in the app and on the command line alike. A graph beyond
# these is refused at once with a message naming the limit, rather than hanging
# the editor: the largest presets have a few dozen layers, and 10,000 layers
# (about 1.3 MB of JSON for a chain) still open in a few seconds and edit smoothly.
MAX_GRAPH_FILE_BYTES = 20 * 2**20  # 20 MiB: checked before the file is read
MAX_GRAPH_LAYERS = 10_000  # nodes (layers, Input and Output included)
MAX_GRAPH_WIRES = 5 * MAX_GRAPH_LAYERS  # wires: room for every layer to merge several inputs


class GraphFileError(Exception):
    """A graph file that cannot be read; the message names the file and the field."""


# -- migrations ---------------------------------------------------------------------------


def _migrate_v1(data: dict) -> dict:
    """Version 1 stored wires as [source, target] pairs and positions as x/y keys."""
    data = dict(data)
    nodes = []
    for node in data.get("nodes", []):
        node = dict(node)
        if isinstance(node, dict) and ("x" in node or "y" in node):
            node["position"] = [node.pop("x", 0), node.pop("y", 0)]
        nodes.append(node)
    data["nodes"] = nodes
    edges = []
    for edge in data.get("edges", []):
        if isinstance(edge, list) and len(edge) == 2:
            edge = {"from": f"{edge[0]}.{OUT_PORT}", "to": f"{edge[1]}.in"}
        edges.append(edge)
    data["edges"] = edges
    data["schema_version"] = 2
    return data


MIGRATIONS = {1: _migrate_v1}  # version -> function producing version + 1


# -- reading ------------------------------------------------------------------------------


def load_graph(ref: str | os.PathLike) -> Graph:
    """Load a graph from a file path or `preset:NAME`."""
    ref = str(ref)
    if ref.startswith(PRESET_PREFIX):
        name = ref[len(PRESET_PREFIX):]
        if name not in preset_names():
            raise GraphFileError(f"{ref}: no such preset (available: {', '.join(preset_names())})")
        return load_graph(preset_path(name))
    path = Path(ref)
    try:
        if path.exists() and not path.is_file() and not path.is_dir():
            # /dev/zero, a named pipe, a socket: reading them could last for ever or never end
            raise GraphFileError(f"{path}: not a regular file (a device, pipe or socket), so not a graph file")
        size = path.stat().st_size if path.is_file() else 0
        if size > MAX_GRAPH_FILE_BYTES:
            raise GraphFileError(f"{path}: the file is {_mib(size)}; Playground opens graph files of up to "
                                 f"{_mib(MAX_GRAPH_FILE_BYTES)} (and {MAX_GRAPH_LAYERS:,} layers)")
        with path.open("rb") as file:  # at most one byte over the limit, whatever the file does meanwhile
            data = file.read(MAX_GRAPH_FILE_BYTES + 1)
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise GraphFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise GraphFileError(f"{path}: is a folder, not a graph file") from None
    except UnicodeDecodeError:
        raise GraphFileError(f"{path}: not a text file (a graph file is UTF-8 JSON)") from None
    except OSError as exc:
        raise GraphFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return loads_graph(text, source=str(path))


def _mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MB" if size % 2**20 else f"{size // 2**20} MB"


def loads_graph(text: str, source: str = "<graph>") -> Graph:
    if len(text) > MAX_GRAPH_FILE_BYTES:  # characters, at least as many bytes: refused before parsing
        raise GraphFileError(f"{source}: the graph is over {_mib(MAX_GRAPH_FILE_BYTES)}; Playground opens graph "
                             f"files of up to {_mib(MAX_GRAPH_FILE_BYTES)} (and {MAX_GRAPH_LAYERS:,} layers)")
    if not text.strip():
        raise GraphFileError(f"{source}: the file is empty")
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise GraphFileError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                             "the file may be truncated or damaged") from None
    except ValueError as exc:
        raise GraphFileError(f"{source}: {exc}") from None
    except RecursionError:
        raise GraphFileError(f"{source}: the JSON is nested too deeply to be a graph file") from None
    return graph_from_dict(data, source)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not allowed in a graph file")


def graph_from_dict(data: Any, source: str = "<graph>") -> Graph:
    def fail(where: str, problem: str):
        raise GraphFileError(f"{source}: {where}: {problem}")

    if not isinstance(data, dict):
        raise GraphFileError(f"{source}: a graph file holds a JSON object, not {_kind(data)}")
    version = data.get("schema_version")
    if version is None:
        fail("schema_version", "missing (is this a Playground graph file?)")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        fail("schema_version", f"must be a positive whole number, not {version!r}")
    if version > SCHEMA_VERSION:
        raise GraphFileError(f"{source}: was saved by a newer Playground (schema version {version}; this version "
                             f"reads up to {SCHEMA_VERSION}). Update Playground to open it.")
    while version < SCHEMA_VERSION:
        data = MIGRATIONS[version](data)
        version = data["schema_version"]

    graph = Graph(name=_text(data, "name", fail), description=_text(data, "description", fail))
    nodes = data.get("nodes")
    if not isinstance(nodes, list):
        fail("nodes", f"must be a list, not {_kind(nodes)}")
    if len(nodes) > MAX_GRAPH_LAYERS:
        raise GraphFileError(f"{source}: the graph has {len(nodes):,} layers; Playground opens graphs of up to "
                             f"{MAX_GRAPH_LAYERS:,} layers")
    edges = data.get("edges", [])
    if isinstance(edges, list) and len(edges) > MAX_GRAPH_WIRES:
        raise GraphFileError(f"{source}: the graph has {len(edges):,} wires; Playground opens graphs of up to "
                             f"{MAX_GRAPH_WIRES:,} wires")
    for i, raw in enumerate(nodes):
        node = _node(raw, f"nodes[{i}]", fail)
        if node.id in graph.nodes:
            graph.duplicate_ids.append(node.id)
        else:
            graph.nodes[node.id] = node
    edges = data.get("edges", [])
    if not isinstance(edges, list):
        fail("edges", f"must be a list, not {_kind(edges)}")
    for i, raw in enumerate(edges):
        graph.edges.append(_edge(raw, f"edges[{i}]", fail))
    if (rows := data.get("points")) is not None:
        if not isinstance(rows, list):
            fail("points", f"must be a list of [x, y, label], not {_kind(rows)}")
        from ..data.points import Points  # NumPy: only for a graph that has points

        try:
            graph.points = Points.from_rows(rows, "points") if rows else None
        except DatasetError as exc:
            raise GraphFileError(f"{source}: {exc}") from None
    return graph


def _text(data: dict, key: str, fail) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        fail(key, f"must be text, not {_kind(value)}")
    return value


def _node(raw: Any, where: str, fail) -> Node:
    if not isinstance(raw, dict):
        fail(where, f"must be an object, not {_kind(raw)}")
    for key in ("id", "kind"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            fail(f"{where}.{key}", "missing" if key not in raw else f"must be non-empty text, not {raw[key]!r}")
    where = f"node '{raw['id']}'"
    params = raw.get("params", {})
    if not isinstance(params, dict):
        fail(f"{where}: params", f"must be an object, not {_kind(params)}")
    position = raw.get("position", [0, 0])
    if (not isinstance(position, list) or len(position) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                       for v in position)):
        fail(f"{where}: position", f"must be two numbers [x, y], not {position!r}")
    trainable = raw.get("trainable", True)
    if not isinstance(trainable, bool):
        fail(f"{where}: trainable", f"must be true or false, not {trainable!r}")
    return Node(id=raw["id"], kind=raw["kind"], params=dict(params),
                position=(float(position[0]), float(position[1])), trainable=trainable)


def _edge(raw: Any, where: str, fail) -> Edge:
    if not isinstance(raw, dict):
        fail(where, f"must be an object like {{\"from\": \"conv1.out\", \"to\": \"pool1.in\"}}, not {_kind(raw)}")
    ends = []
    for key in ("from", "to"):
        value = raw.get(key)
        if not isinstance(value, str) or value.count(".") != 1 or "" in value.split("."):
            fail(f"{where}.{key}", f"must be 'node.port', not {value!r}")
        ends.append(value.split("."))
    (source, source_port), (target, target_port) = ends
    return Edge(source=source, target=target, target_port=target_port, source_port=source_port)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


# -- writing ------------------------------------------------------------------------------


def graph_to_dict(graph: Graph) -> dict:
    nodes = []
    for node in graph.nodes.values():
        entry = {"id": node.id, "kind": node.kind, "params": _jsonable(node.params),
                 "position": [_coordinate(v) for v in node.position]}
        if not node.trainable:
            entry["trainable"] = False
        nodes.append(entry)
    data = {
        "schema_version": SCHEMA_VERSION,
        "name": graph.name,
        "description": graph.description,
        "nodes": nodes,
        "edges": [{"from": f"{e.source}.{e.source_port}", "to": f"{e.target}.{e.target_port}"} for e in graph.edges],
    }
    if graph.points is not None and len(graph.points):
        data["points"] = graph.points.to_rows()
    return data


def _coordinate(value: float) -> float | int:
    value = round(float(value), 2)
    return int(value) if value.is_integer() else value


def _jsonable(params: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}


def dumps_graph(graph: Graph) -> str:
    """Pretty JSON with one line per node and per wire: easy to read and to diff."""
    data = graph_to_dict(graph)
    lines = ["{"]
    for key in ("schema_version", "name", "description"):
        lines.append(f"  {json.dumps(key)}: {json.dumps(data[key], ensure_ascii=False)},")
    keys = [key for key in ("nodes", "edges", "points") if key in data]
    for key in keys:
        items = [f"    {json.dumps(item, ensure_ascii=False)}" for item in data[key]]
        body = ",\n".join(items)
        comma = "," if key != keys[-1] else ""
        lines.append(f"  {json.dumps(key)}: [\n{body}\n  ]{comma}" if items else f"  {json.dumps(key)}: []{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def save_graph(graph: Graph, path: str | os.PathLike) -> None:
    """Write atomically: a crash mid-write never leaves a half-written file behind."""
    atomic_write(Path(path), dumps_graph(graph).encode("utf-8"))
