"""Validation and shape inference: every kind of mistake is caught and pinned on the right node."""

import pytest

from playground.core.analysis import analyze
from playground.core.graph import Edge, Node

from .graphs import chain, messages, preset


def problems_of(graph):
    return messages(analyze(graph))


def test_all_presets_are_valid_and_classify_into_ten():
    for name in ("mlp", "mnist-cnn", "lenet5", "resnet-mini", "rnn-rows", "lstm-rows", "gru-rows", "vit-mini"):
        analysis = analyze(preset(name))
        assert analysis.ok, (name, analysis.problems)
        assert analysis.shapes["output"] == (10,)
        assert analysis.shapes["input"] == (1, 28, 28)


def test_mnist_cnn_has_the_keras_shapes_and_93322_parameters():
    analysis = analyze(preset("mnist-cnn"))
    assert analysis.total_params == 93_322
    expected = {"conv1": (32, 26, 26), "pool1": (32, 13, 13), "conv2": (64, 11, 11), "pool2": (64, 5, 5),
                "conv3": (64, 3, 3), "flatten": (576,), "dense1": (64,), "dense2": (10,)}
    assert {k: analysis.shapes[k] for k in expected} == expected


def test_kernel_too_large_is_explained_in_plain_words():
    graph = preset("mnist-cnn")
    graph.nodes["conv3"].params["kernel_size"] = 7
    analysis = analyze(graph)
    assert [str(p) for p in analysis.problems] == ["conv3: a 7×7 kernel does not fit a 5×5 input"]
    assert "conv3" not in analysis.shapes and "dense1" not in analysis.shapes, "no cascade of follow-up errors"
    assert analysis.shapes["pool2"] == (64, 5, 5), "shapes upstream of the error are still known"


@pytest.mark.parametrize(
    ("layers", "node", "fragment"),
    [
        ([("x1", "warp_drive", {})], "x1", "unknown layer kind 'warp_drive'"),
        ([("d", "dense", {"units": "ten"})], "d", "parameter 'units' must be a whole number"),
        ([("d", "dense", {"units": 0})], "d", "parameter 'units' must be at least 1"),
        ([("d", "dense", {"unit": 10})], "d", "has no parameter 'unit'"),
        ([("c", "conv2d", {"padding": 99})], "c", "parameter 'padding' must be at most 15"),
        ([("drop", "dropout", {"p": 1.5})], "drop", "parameter 'p' must be at most 0.95"),
        ([("f", "flatten", {}), ("c", "conv2d", {})], "c", "needs an image"),
        ([("d", "dense", {"units": 10})], "d", "add a Flatten before it"),
        ([("p", "maxpool2d", {"kernel_size": 4, "padding": 3})], "p", "more than half"),
        ([("r", "reshape", {"shape": [5, 5]})], "r", "cannot reshape 1×28×28 (784 values) into 5×5"),
        ([("pe", "patch_embedding", {"patch_size": 5})], "pe", "do not tile a 28×28 image"),
        ([("pe", "patch_embedding", {"dim": 30}), ("t", "transformer_block", {"heads": 4})], "t",
         "cannot be split evenly into 4 heads"),
        ([("f", "flatten", {}), ("l", "lstm", {})], "l", "needs a sequence or an image"),
        ([("f", "flatten", {}), ("d", "dense", {"units": 7})], "output", "must end in 10 scores, not 7"),
        ([("conv", "conv2d", {})], "output", "cross-entropy needs a vector of class scores"),
        ([("self", "relu", {}), ("f", "flatten", {}), ("d", "dense", {"units": 10})], "self", "reserved name"),
        ([("2x", "relu", {}), ("f", "flatten", {}), ("d", "dense", {"units": 10})], "2x", "not a valid id"),
    ],
)
def test_each_mistake_names_its_node(layers, node, fragment):
    found = problems_of(chain(*layers))
    assert node in found, found
    assert any(fragment in m for m in found[node]), found[node]


def test_wrong_input_shape_for_the_dataset():
    graph = chain(("f", "flatten", {}), ("d", "dense", {"units": 10}), shape=(3, 32, 32))
    assert "mnist samples are 1×28×28, not 3×32×32" in problems_of(graph)["input"]


def test_port_problems():
    graph = chain(("f", "flatten", {}), ("d", "dense", {"units": 10}))
    graph.connect(Edge("input", "d"))  # a second wire into a single port
    graph.add_node(Node("lonely", "relu", {}))  # an unconnected input port, not feeding the output
    graph.add_node(Node("sum", "add", {}))
    graph.connect(Edge("f", "sum"))  # a merge with one input
    graph.connect(Edge("f", "d", target_port="weights"))  # a port that does not exist
    graph.connect(Edge("ghost", "d"))  # a wire from a node that does not exist
    found = problems_of(graph)
    assert any("takes one wire but has 3 (from f, input, ghost)" in m for m in found["d"])
    assert any("has no input port 'weights'" in m for m in found["d"])
    assert "input port 'in' is not connected" in found["lonely"]
    assert "is not connected to the output" in found["lonely"]
    assert any("needs at least 2 inputs but has 1" in m for m in found["sum"])
    assert any("'ghost' that does not exist" in m for m in found[None])


def test_cycles_are_named():
    graph = chain(("f", "flatten", {}), ("d", "dense", {"units": 10}))
    graph.disconnect(Edge("input", "f"))
    graph.add_node(Node("sum", "add", {}))
    graph.add_node(Node("act", "relu", {}))
    for source, target in (("input", "sum"), ("act", "sum"), ("sum", "act"), ("act", "f")):
        graph.connect(Edge(source, target))
    found = problems_of(graph)
    cycle = [m for ms in found.values() for m in ms if "form a cycle" in m]
    assert cycle == ["the wires form a cycle through sum, act; data must flow one way"]


def test_missing_and_duplicate_input_and_output_nodes():
    graph = chain(("f", "flatten", {}), ("d", "dense", {"units": 10}))
    graph.remove_node("output")
    assert "the graph has no Output node" in problems_of(graph)[None]
    graph = chain(("f", "flatten", {}), ("d", "dense", {"units": 10}))
    graph.add_node(Node("input2", "input", {}))
    assert any("only one Input node" in m for m in problems_of(graph)["input2"])


def test_merges_of_incompatible_shapes():
    graph = preset("resnet-mini")
    graph.nodes["b1_conv2"].params["filters"] = 16
    found = problems_of(graph)
    assert found == {"b1_add": ["cannot add 16×28×28 and 32×28×28: all inputs need the same shape"]}
    graph = chain(("f", "flatten", {}), ("d", "dense", {"units": 10}))
    graph.add_node(Node("cat", "concatenate", {"axis": 0}))
    graph.add_node(Node("c", "conv2d", {"filters": 4}))
    graph.connect(Edge("input", "c"))
    graph.connect(Edge("input", "cat"))
    graph.connect(Edge("c", "cat"))
    graph.disconnect(Edge("input", "f"))
    graph.connect(Edge("cat", "f"))
    assert "the other axes differ" in problems_of(graph)["cat"][0]
    graph.nodes["c"].params["padding"] = 1
    analysis = analyze(graph)
    assert analysis.shapes["cat"] == (5, 28, 28)


def test_absurd_sizes_are_refused_before_anything_is_allocated():
    graph = chain(("c", "conv2d", {"filters": 1024, "padding": 1}), ("f", "flatten", {}),
                  ("d", "dense", {"units": 16384}), ("d2", "dense", {"units": 10}))
    found = problems_of(graph)
    assert any("parameters; the limit is 100,000,000" in m for m in found[None])
    graph = chain(("c", "conv2d", {"filters": 64, "padding": 1}), ("g", "global_avgpool", {}),
                  ("d", "dense", {"units": 10}), shape=(1, 4096, 4096))
    found = problems_of(graph)
    assert any("MiB per sample (the largest is c, 64×4096×4096)" in m for m in found["c"])


def test_a_wire_listed_twice_in_a_file_is_named():
    graph = chain(("f", "flatten", {}), ("d", "dense", {"units": 10}))
    graph.edges.append(Edge("f", "d"))  # what a hand-edited file can hold; Graph.connect refuses it
    assert "wire f.out → d.in appears twice" in problems_of(graph)["d"]


def test_reserved_ids_cover_every_attribute_of_torchs_module():
    """The list is written out so that checking a graph needs no torch; a newer torch may add names."""
    import torch.nn as nn

    from playground.core.graph.validate import RESERVED_IDS

    missing = sorted(set(dir(nn.Module)) - RESERVED_IDS)
    assert not missing, f"add these to MODULE_ATTRIBUTES in playground/core/graph/validate.py: {missing}"
