"""Graph files: round trips, migration, refusal of newer versions, and clear errors for bad files."""

import contextlib
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.core.analysis import analyze
from playground.core.graph import (
    SCHEMA_VERSION,
    GraphFileError,
    dumps_graph,
    graph_to_dict,
    load_graph,
    loads_graph,
    save_graph,
)
from playground.core.resources import preset_names, preset_path

from .graphs import preset

REQUIRED_PRESETS = {"mlp", "mnist-cnn", "lenet5", "resnet-mini", "rnn-rows", "lstm-rows", "gru-rows", "vit-mini"}


def test_every_required_preset_ships_and_round_trips(tmp_path):
    assert REQUIRED_PRESETS <= set(preset_names())
    for name in preset_names():
        graph = preset(name)
        assert graph.name and graph.description, f"{name} needs a name and a short description"
        path = tmp_path / f"{name}.json"
        save_graph(graph, path)
        assert graph_to_dict(load_graph(path)) == graph_to_dict(graph)
        # The shipped file is exactly what the writer produces: no hand-edited drift.
        assert preset_path(name).read_text(encoding="utf-8") == dumps_graph(graph)


def test_saved_file_is_readable_json_with_one_line_per_node(tmp_path):
    graph = preset("mnist-cnn")
    text = dumps_graph(graph)
    data = json.loads(text)
    assert data["schema_version"] == SCHEMA_VERSION
    lines = text.splitlines()
    for node_id in graph.nodes:
        assert sum(f'"id": "{node_id}"' in line for line in lines) == 1
    assert {"from": "conv1.out", "to": "relu1.in"} in data["edges"]


def test_version_1_files_are_migrated():
    old = {
        "schema_version": 1,
        "name": "old",
        "nodes": [
            {"id": "input", "kind": "input", "params": {"shape": [1, 28, 28]}, "x": 10, "y": 20},
            {"id": "flat", "kind": "flatten"},
            {"id": "dense", "kind": "dense", "params": {"units": 10}},
            {"id": "output", "kind": "output"},
        ],
        "edges": [["input", "flat"], ["flat", "dense"], ["dense", "output"]],
    }
    graph = loads_graph(json.dumps(old))
    assert graph.nodes["input"].position == (10.0, 20.0)
    assert str(graph.edges[0]) == "input.out → flat.in"
    assert analyze(graph).ok
    assert graph_to_dict(graph)["schema_version"] == SCHEMA_VERSION


def test_newer_versions_are_refused_with_a_clear_message():
    with pytest.raises(GraphFileError, match=r"newer Playground \(schema version 99"):
        loads_graph(json.dumps({"schema_version": 99, "nodes": []}), source="future.json")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "the file is empty"),
        ("   \n", "the file is empty"),
        ('{"schema_version": 2, "nodes": [', "not valid JSON"),
        ("[1, 2]", "JSON object, not a list"),
        ('{"nodes": []}', "schema_version: missing"),
        ('{"schema_version": "2", "nodes": []}', "schema_version: must be a positive whole number"),
        ('{"schema_version": 2, "nodes": {}}', "nodes: must be a list"),
        ('{"schema_version": 2, "nodes": [{"kind": "relu"}]}', r"nodes\[0\]\.id: missing"),
        ('{"schema_version": 2, "nodes": [{"id": "a", "kind": "relu", "params": []}]}', "node 'a': params"),
        ('{"schema_version": 2, "nodes": [{"id": "a", "kind": "relu", "position": [1]}]}', "node 'a': position"),
        ('{"schema_version": 2, "nodes": [], "edges": [{"from": "a", "to": "b.in"}]}', r"edges\[0\]\.from"),
        ('{"schema_version": 2, "nodes": [], "edges": [["a", "b"]]}', r"edges\[0\]: must be an object"),
        ('{"schema_version": 2, "nodes": [], "name": NaN}', "NaN is not allowed"),
    ],
)
def test_malformed_files_give_a_message_naming_file_and_field(tmp_path, content, expected):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(GraphFileError, match=expected) as info:
        load_graph(path)
    assert str(path) in str(info.value)


def test_truncated_binary_missing_and_folder_paths(tmp_path):
    full = dumps_graph(preset("resnet-mini"))
    (tmp_path / "cut.json").write_text(full[: len(full) // 2], encoding="utf-8")
    (tmp_path / "bin.json").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    cases = {"cut.json": "not valid JSON", "bin.json": "not a text file", "nope.json": "no such file",
             ".": "is a folder"}
    for name, expected in cases.items():
        with pytest.raises(GraphFileError, match=expected):
            load_graph(tmp_path / name)
    with pytest.raises(GraphFileError, match="no such preset"):
        load_graph("preset:does-not-exist")


def test_saving_never_replaces_a_good_file_with_a_partial_one(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    save_graph(preset("mlp"), path)
    good = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        save_graph(preset("resnet-mini"), path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"], "no temporary file is left behind"


def test_duplicate_ids_survive_loading_so_the_validator_can_name_them():
    text = json.dumps({"schema_version": 2, "nodes": [{"id": "a", "kind": "relu"}, {"id": "a", "kind": "tanh"}]})
    graph = loads_graph(text)
    assert graph.duplicate_ids == ["a"]
    assert any(p.node == "a" and "more than one node" in p.message for p in analyze(graph).problems)


# -- property-based: whatever the bytes, the loader and validator answer calmly -------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
kinds = st.sampled_from(["input", "output", "dense", "conv2d", "relu", "add", "flatten", "maxpool2d", "bogus"])
node_ids = st.sampled_from(["input", "output", "a", "b", "c", "d", "1bad", "self"])
param_values = st.one_of(st.integers(-3, 2000), st.floats(-1, 5), st.booleans(), st.text(max_size=3),
                         st.lists(st.integers(-2, 40), max_size=4))
nodes = st.fixed_dictionaries(
    {"id": node_ids, "kind": kinds},
    optional={"params": st.dictionaries(st.sampled_from(["units", "filters", "kernel_size", "shape", "p", "x"]),
                                        param_values, max_size=3),
              "position": st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=2),
              "trainable": st.booleans()},
)
edges = st.builds(lambda a, b, port: {"from": f"{a}.out", "to": f"{b}.{port}"}, node_ids, node_ids,
                  st.sampled_from(["in", "in", "x"]))
graph_docs = st.fixed_dictionaries({"schema_version": st.sampled_from([1, 2]),
                                    "nodes": st.lists(nodes, max_size=7), "edges": st.lists(edges, max_size=9)})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, graph_docs))
def test_loader_either_loads_or_raises_its_own_error(document):
    try:
        graph = loads_graph(json.dumps(document), source="fuzz.json")
    except GraphFileError as exc:
        assert str(exc).startswith("fuzz.json: ")
        return
    analysis = analyze(graph)  # never raises, whatever the graph holds
    assert all(p.message for p in analysis.problems)
    assert all(p.node is None or p.node in graph.nodes or p.node in graph.duplicate_ids
               for p in analysis.problems)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_loader_survives_arbitrary_text(text):
    with contextlib.suppress(GraphFileError):
        loads_graph(text, source="t.json")


def test_saved_files_get_normal_permissions(tmp_path):
    path = tmp_path / "model.json"
    save_graph(preset("mlp"), path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    path.chmod(0o640)
    save_graph(preset("mlp"), path)
    assert path.stat().st_mode & 0o777 == 0o640, "replacing a file keeps its mode"
