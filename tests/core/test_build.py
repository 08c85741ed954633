"""Building modules: names, determinism, devices, frozen nodes, and agreement with shape inference."""

import pytest
import torch

from playground.core.build import GraphError, analyze, build_module
from playground.core.graph import Edge, Node

from .graphs import chain, classifier_presets, preset


@pytest.mark.parametrize("name", classifier_presets())
def test_real_forward_shapes_match_meta_inference(name):
    graph = preset(name)
    analysis = analyze(graph)
    model = build_module(graph).eval()
    seen = {}
    for node_id, module in model.named_children():
        module.register_forward_hook(lambda m, i, out, node_id=node_id: seen.__setitem__(node_id, out.shape[1:]))
    (input_node,) = graph.nodes_of_kind("input")
    (output_node,) = graph.nodes_of_kind("output")
    out = model(torch.randn(3, *analysis.shapes[input_node.id]))  # digits, or 2-D points
    assert out.shape == (3, *analysis.shapes[output_node.id])
    assert seen == {nid: analysis.shapes[nid] for nid in seen}
    assert set(seen) == set(analysis.shapes) - {"input", "output"}
    assert sum(p.numel() for p in model.parameters()) == analysis.total_params


def test_submodules_are_named_after_node_ids():
    model = build_module(preset("mnist-cnn"))
    assert [name for name, _ in model.named_children()] == [
        "conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "conv3", "relu3", "flatten", "dense1", "relu4", "dense2"]
    assert set(model.state_dict()) == {f"{n}.{w}" for n in ("conv1", "conv2", "conv3", "dense1", "dense2")
                                       for w in ("weight", "bias")}


def test_initialisation_is_seeded_and_per_node():
    a = build_module(preset("resnet-mini"), seed=7).state_dict()
    b = build_module(preset("resnet-mini"), seed=7).state_dict()
    c = build_module(preset("resnet-mini"), seed=8).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["stem.weight"], c["stem.weight"])
    # Adding a node elsewhere leaves every other node's initial weights untouched.
    graph = preset("mlp")
    before = build_module(graph, seed=1).state_dict()
    graph.add_node(Node("extra", "dense", {"units": 256}))
    graph.disconnect(Edge("dense1", "relu1"))
    graph.connect(Edge("dense1", "extra"))
    graph.connect(Edge("extra", "relu1"))
    after = build_module(graph, seed=1).state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert "extra.weight" in after


def test_global_rng_state_is_left_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_module(preset("lenet5"), seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_frozen_nodes_do_not_train():
    graph = preset("mnist-cnn")
    graph.nodes["conv1"].trainable = False
    model = build_module(graph)
    assert not any(p.requires_grad for p in model.conv1.parameters())
    assert all(p.requires_grad for p in model.dense2.parameters())


def test_builds_on_the_meta_device_without_memory():
    model = build_module(preset("vit-mini"), device="meta")
    assert all(p.is_meta for p in model.parameters())


def test_invalid_graphs_refuse_to_build_and_say_why():
    graph = chain(("c", "conv2d", {"kernel_size": 31}))
    with pytest.raises(GraphError) as info:
        build_module(graph)
    assert any(p.node == "c" and "31×31 kernel does not fit a 28×28 input" in p.message
               for p in info.value.problems)


def test_merge_order_follows_the_wires():
    graph = chain(("f", "flatten", {}), ("a", "dense", {"units": 3}))
    graph.add_node(Node("b", "dense", {"units": 7}))
    graph.add_node(Node("cat", "concatenate", {}))
    graph.add_node(Node("head", "dense", {"units": 10}))
    graph.disconnect(Edge("a", "output"))
    for s, t in (("f", "b"), ("a", "cat"), ("b", "cat"), ("cat", "head"), ("head", "output")):
        graph.connect(Edge(s, t))
    model = build_module(graph).eval()
    x = torch.randn(2, 1, 28, 28)
    flat = x.flatten(1)
    expected = model.head(torch.cat([model.a(flat), model.b(flat)], dim=1))
    assert torch.equal(model(x), expected)


def test_batchnorm_on_vectors_infers_and_builds():
    graph = chain(("f", "flatten", {}), ("d", "dense", {"units": 32}), ("bn", "batchnorm", {}),
                  ("head", "dense", {"units": 10}))
    analysis = analyze(graph)
    assert analysis.ok, analysis.problems
    assert analysis.shapes["bn"] == (32,)
    assert build_module(graph)(torch.randn(4, 1, 28, 28)).shape == (4, 10)


def test_ancestors_and_descendants_walk_the_wires_both_ways():
    graph = preset("resnet-mini")
    assert graph.descendants("b1_add") >= {"b1_relu2", "pool1", "gap", "output"}
    assert "stem" not in graph.descendants("b1_add")
    assert graph.ancestors("b1_add") == {"input", "stem", "stem_bn", "stem_relu", "b1_conv1", "b1_bn1", "b1_relu1",
                                         "b1_conv2", "b1_bn2"}
    assert "b1_add" in graph.ancestors("output") and "output" in graph.descendants("input")
