"""Hostile graph files (issue 19): too big, too deep, too tangled.

Every case is generated here, none is committed. Each one ends in a clear
message (a `GraphFileError`, or problems named by the analysis), never a
traceback, a hang or a blow-up in memory. Scaling is asserted by counting
work (wires visited), not by timing it: the timing targets live in
`benchmarks/bench_big_graph.py`.
"""

from __future__ import annotations

import json
import os
import tracemalloc
from pathlib import Path

import pytest

from playground.cli import EXIT_USER_ERROR, main
from playground.core.build import analyze
from playground.core.graph import (
    MAX_GRAPH_FILE_BYTES,
    MAX_GRAPH_LAYERS,
    MAX_GRAPH_WIRES,
    GraphFileError,
    load_graph,
    loads_graph,
    structural_problems,
)
from playground.core.graph import io as graph_io
from playground.core.graph.model import EdgeList


def chain_data(layers: int) -> dict:
    """A graph file's data: Input → Flatten → Dense × (layers - 3) → Output, `layers` nodes in all."""
    nodes = [{"id": "input", "kind": "input", "params": {"shape": [1, 28, 28], "dataset": "mnist"}},
             {"id": "flat", "kind": "flatten", "params": {}}]
    edges = [{"from": "input.out", "to": "flat.in"}]
    prev = "flat"
    for i in range(layers - 3):
        nodes.append({"id": f"d{i}", "kind": "dense", "params": {"units": 10}, "position": [0, 90 * i]})
        edges.append({"from": f"{prev}.out", "to": f"d{i}.in"})
        prev = f"d{i}"
    nodes.append({"id": "output", "kind": "output", "params": {}})
    edges.append({"from": f"{prev}.out", "to": "output.in"})
    return {"schema_version": 2, "name": "chain", "nodes": nodes, "edges": edges}


@pytest.fixture
def edge_visits(monkeypatch):
    """Counts every wire visited by a walk over a graph's edge list."""
    count = {"n": 0}
    plain_iter = list.__iter__

    def counting_iter(self):
        count["n"] += len(self)
        return plain_iter(self)

    monkeypatch.setattr(EdgeList, "__iter__", counting_iter)
    return count


# -- the limits ---------------------------------------------------------------------------------


def test_a_chain_over_the_layer_limit_is_refused_before_any_layer_is_read(monkeypatch):
    text = json.dumps(chain_data(MAX_GRAPH_LAYERS + 1))
    built = []
    monkeypatch.setattr(graph_io, "_node", lambda *a: built.append(a))
    with pytest.raises(GraphFileError) as err:
        loads_graph(text, source="big.json")
    assert f"{MAX_GRAPH_LAYERS + 1:,} layers" in str(err.value)
    assert f"up to {MAX_GRAPH_LAYERS:,} layers" in str(err.value)
    assert built == []


def test_a_file_over_the_byte_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "huge.json"
    with open(path, "wb") as f:  # sparse: no 20 MB written to the disk
        f.truncate(MAX_GRAPH_FILE_BYTES + 1)
    monkeypatch.setattr(graph_io.json, "loads", lambda *a, **k: pytest.fail("the file was parsed"))
    with pytest.raises(GraphFileError) as err:
        load_graph(path)
    message = str(err.value)
    assert str(path) in message and "up to 20 MB" in message and f"{MAX_GRAPH_LAYERS:,} layers" in message


def test_text_over_the_byte_limit_is_refused_before_parsing(monkeypatch):
    monkeypatch.setattr(graph_io.json, "loads", lambda *a, **k: pytest.fail("the text was parsed"))
    with pytest.raises(GraphFileError, match="up to 20 MB"):
        loads_graph(" " * (MAX_GRAPH_FILE_BYTES + 1))


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_pipe_or_a_device_is_refused_without_reading_it(tmp_path, kind):
    """A named pipe blocks until someone writes; /dev/zero never ends. Neither is read."""
    if kind == "fifo":
        path = tmp_path / "pipe.json"
        os.mkfifo(path)
    else:
        path = Path("/dev/zero")
    with pytest.raises(GraphFileError, match="not a regular file"):
        load_graph(path)


def test_too_many_wires_are_refused():
    data = chain_data(10)
    data["edges"] = [{"from": "input.out", "to": "flat.in"}] * (MAX_GRAPH_WIRES + 1)
    with pytest.raises(GraphFileError, match=f"up to {MAX_GRAPH_WIRES:,} wires"):
        loads_graph(json.dumps(data))


def test_inspect_refuses_an_over_limit_file_with_the_limit_and_no_traceback(tmp_path, capsys):
    path = tmp_path / "big.json"
    path.write_text(json.dumps(chain_data(MAX_GRAPH_LAYERS + 1)))
    assert main(["inspect", str(path)]) == EXIT_USER_ERROR
    out, err = capsys.readouterr()
    assert f"up to {MAX_GRAPH_LAYERS:,} layers" in err + out
    assert "Traceback" not in err + out


# -- a graph at the limit works, in linear time ------------------------------------------------------


def test_a_chain_at_the_layer_limit_loads_validates_and_analyzes():
    tracemalloc.start()
    graph = loads_graph(json.dumps(chain_data(MAX_GRAPH_LAYERS)))
    problems = structural_problems(graph)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert problems == []
    assert peak < 200 * 2**20  # the report: 2.4 GB for 20,000 layers
    analysis = analyze(graph)
    assert analysis.ok, analysis.problems[:3]
    assert len(analysis.order) == MAX_GRAPH_LAYERS
    assert analysis.shapes["output"] == (10,)


@pytest.mark.parametrize("step", ["validate", "analyze"])
def test_checking_a_graph_visits_its_wires_a_bounded_number_of_times(edge_visits, step):
    """Twice the layers must cost about twice the work: it was `inputs_of` scanning every wire per node."""
    check = structural_problems if step == "validate" else analyze
    visits = []
    for layers in (1000, 2000):
        graph = loads_graph(json.dumps(chain_data(layers)))
        edge_visits["n"] = 0
        check(graph)
        visits.append(edge_visits["n"])
    assert visits[1] < 2.5 * visits[0], visits
    assert visits[1] < 20 * 2000, visits  # a few passes over the wires, not one per node


def test_the_edge_index_follows_every_change_to_the_wires():
    graph = loads_graph(json.dumps(chain_data(6)))
    first = graph.edges[0]
    assert graph.inputs_of("flat") == [first]
    del graph.edges[0]
    assert graph.inputs_of("flat") == []
    graph.edges.insert(0, first)
    assert graph.inputs_of("flat") == [first] and graph.outputs_of("input") == [first]
    graph.disconnect(first)
    assert graph.outputs_of("input") == []
    graph.connect(first)
    assert graph.outputs_of("input") == [first]
    copy = graph.copy()
    copy.remove_node("flat")
    assert copy.inputs_of("d0") == [] and graph.inputs_of("d0") != []
    graph.edges = [e for e in graph.edges if e.target != "output"]
    assert graph.inputs_of("output") == []


# -- the corpus: each case ends in a clear message ----------------------------------------------------


def _cycle(n: int) -> dict:
    data = chain_data(n)
    data["edges"].append({"from": f"d{n - 4}.out", "to": "d0.in"})  # the last Dense feeds the first
    return data


def _fan_in(n: int) -> dict:
    data = chain_data(4)
    data["nodes"] += [{"id": f"s{i}", "kind": "flatten", "params": {}} for i in range(n)]
    data["edges"] += [{"from": "input.out", "to": f"s{i}.in"} for i in range(n)]
    data["edges"] += [{"from": f"s{i}.out", "to": "d0.in"} for i in range(n)]
    return data


def _loose(n: int) -> dict:
    data = chain_data(4)
    data["nodes"] += [{"id": f"x{i}", "kind": "dense", "params": {"units": 3}} for i in range(n)]
    return data


def _dangling(n: int) -> dict:
    data = chain_data(4)
    data["edges"] += [{"from": f"ghost{i}.out", "to": f"nowhere{i}.in"} for i in range(n)]
    return data


def _duplicates(n: int) -> dict:
    data = chain_data(4)
    data["nodes"] += [{"id": "d0", "kind": "dense", "params": {"units": 3}}] * n
    return data


def _long_id(n: int) -> dict:
    data = chain_data(4)
    data["nodes"][2]["id"] = "d" * 1_000_000
    return data


def _wide_layers(n: int) -> dict:
    data = chain_data(n)
    for node in data["nodes"]:
        if node["kind"] == "dense":
            node["params"]["units"] = 10**9
    return data


CORPUS = {  # name: (text, where the message comes from, a word it must contain)
    "deep nesting": (lambda: "[" * 100_000 + "]" * 100_000, "file", "nested too deeply"),
    "not a graph": (lambda: json.dumps(list(range(100_000))), "file", "JSON object"),
    "a cycle through every layer": (lambda: json.dumps(_cycle(MAX_GRAPH_LAYERS)), "analysis", "cycle"),
    "10,000 wires into one port": (lambda: json.dumps(_fan_in(MAX_GRAPH_LAYERS - 4)), "analysis", "takes one wire"),
    "10,000 loose layers": (lambda: json.dumps(_loose(MAX_GRAPH_LAYERS - 4)), "analysis", "not connected"),
    "wires to missing layers": (lambda: json.dumps(_dangling(MAX_GRAPH_WIRES - 4)), "analysis", "does not exist"),
    "one id 10,000 times": (lambda: json.dumps(_duplicates(MAX_GRAPH_LAYERS - 4)), "analysis", "more than one"),
    "a megabyte id": (lambda: json.dumps(_long_id(0)), "analysis", "not connected"),
    "a billion units per layer": (lambda: json.dumps(_wide_layers(2000)), "analysis", "at most"),
    "a NaN position": (lambda: json.dumps(chain_data(4)).replace('"position": [0, 0]', '"position": [NaN, 0]'),
                       "file", "NaN"),
}


@pytest.mark.parametrize("name", list(CORPUS))
def test_hostile_corpus(name):
    make, source, word = CORPUS[name]
    text = make()
    if source == "file":
        with pytest.raises(GraphFileError) as err:
            loads_graph(text, source="hostile.json")
        assert word in str(err.value) and str(err.value).startswith("hostile.json: ")
        return
    analysis = analyze(loads_graph(text, source="hostile.json"))
    assert not analysis.ok
    assert any(word in p.message for p in analysis.problems), [str(p)[:200] for p in analysis.problems[:5]]
