"""`reanalyze` (after a parameter edit) gives exactly what `analyze` (from scratch) gives, and only costs the edit.

Random edit sequences on generated graphs, seeded: parameter edits that create and
clear problems (bad values, kernels too large, shapes that stop fitting, sizes over
the limits) go through `reanalyze` from the previous analysis, as the editor does;
structure edits (layers and wires added or removed, cycles) through `analyze`.
"""

from __future__ import annotations

import random

import pytest

from playground.core import analysis as analysis_module
from playground.core.analysis import Analysis, analyze, infer_layer, reanalyze
from playground.core.graph import Edge, Graph, Node
from playground.core.layers import CATALOG

from .graphs import chain, preset

KINDS = sorted(k for k in CATALOG if k not in ("input", "output", "noise", "generated"))  # GAN ends: test_gan.py
INPUT_SHAPES = ([1, 28, 28], [1, 28, 28], [1, 28, 28], [1, 8, 8], [3, 8, 8], [16], [4, 6], [16, 4096, 4096])


def _value(rng: random.Random, param):
    """A value for a parameter: mostly valid and small, sometimes out of range or of the wrong type."""
    roll = rng.random()
    if roll < 0.04:
        return rng.choice(("3", 1.5, None, -7, [1, 2]))
    if param.type == "int":
        low = int(param.min if param.min is not None else -3)
        high = int(param.max if param.max is not None else 8)
        return rng.choice((low, low + 1, rng.randint(low, min(high, low + 8)), high, high + 1))
    if param.type == "float":
        return rng.choice((param.min, param.max, param.default, (param.min + param.max) / 2))
    if param.type == "bool":
        return rng.random() < 0.5
    if param.type == "choice":
        return rng.choice(param.choices)
    if param.name == "shape" and roll < 0.5:
        return rng.choice(INPUT_SHAPES)
    return [rng.choice((-1, 1, 2, 4, 7, 8, 14, 28)) for _ in range(rng.randint(1, 3))]


def random_graph(rng: random.Random, layers: int) -> Graph:
    """A chain with skips into merges, each layer chosen (mostly) so that it fits what it gets."""
    g = Graph(name="random")
    g.add_node(Node("input", "input", {"shape": [1, 28, 28], "dataset": "mnist"}))
    ids = ["input"]
    for i in range(layers):
        shapes = analyze(g).shapes
        kind, params, sources = "relu", {}, [ids[-1]]  # fits anything
        for _ in range(20):
            spec = CATALOG[rng.choice(KINDS)]
            tries = [ids[-1], rng.choice(ids)] if spec.inputs[0].multiple else [ids[-1]]
            given = {p.name: _value(rng, p) for p in spec.params if rng.random() < 0.3}
            if spec.param_errors(given) or len(set(tries)) < len(tries) or not all(t in shapes for t in tries):
                continue
            if rng.random() < 0.05 or infer_layer(spec, spec.resolve(given), [shapes[t] for t in tries])[2] is None:
                kind, params, sources = spec.kind, given, tries
                break
        node = g.add_node(Node(f"n{i}", kind, params))
        for source in sources:
            g.connect(Edge(source, node.id))
        ids.append(node.id)
    g.add_node(Node("output", "output", {}))
    g.connect(Edge(ids[-1], "output"))
    return g


def structure_edit(rng: random.Random, g: Graph) -> None:
    nodes = [n for n in g.nodes if n not in ("input", "output")]
    roll = rng.random()
    if roll < 0.3 and nodes:  # delete a layer, wiring what fed it to what it fed
        _, removed = g.remove_node(rng.choice(nodes))
        sources = [e.source for e in removed if e.source in g.nodes]
        for e in removed:
            if e.target in g.nodes and sources and Edge(sources[0], e.target, e.target_port) not in g.edges:
                g.connect(Edge(sources[0], e.target, e.target_port))
    elif roll < 0.6 and g.edges:  # insert a layer into a wire
        wire = rng.choice(list(g.edges))
        node_id = g.unique_id("new")
        g.add_node(Node(node_id, rng.choice(("relu", "dropout", "dense", "layernorm", "conv2d")), {}))
        g.disconnect(wire)
        g.connect(Edge(wire.source, node_id))
        g.connect(Edge(node_id, wire.target, wire.target_port))
    elif roll < 0.8 and g.edges:
        g.disconnect(rng.choice(list(g.edges)))
    elif len(nodes) >= 2:
        a, b = rng.sample(nodes, 2)  # may close a cycle
        if Edge(a, b) not in g.edges:
            g.connect(Edge(a, b))


def _fix(g: Graph) -> list[str]:
    """Put the parameters that have a wrong value (and the Input's shape) back to their defaults, as a person would."""
    fixed = []
    for node in g.nodes.values():
        spec = CATALOG.get(node.kind)
        wrong = [name for name in node.params if spec is None or name not in {p.name for p in spec.params}
                 or spec.param(name).error(node.params[name]) or (node.kind, name) == ("input", "shape")]
        for name in wrong:
            del node.params[name]
        if wrong:
            fixed.append(node.id)
    return fixed


def param_edit(rng: random.Random, g: Graph) -> list[str]:
    """Edit one to three nodes' parameters (or trainable flags); returns their ids."""
    if rng.random() < 0.1 and (fixed := _fix(g)):
        return fixed
    edited = rng.sample(list(g.nodes), min(len(g.nodes), rng.choice((1, 1, 1, 2, 3))))
    for node_id in edited:
        node = g.nodes[node_id]
        spec = CATALOG.get(node.kind)
        if spec is None or not spec.params or rng.random() < 0.1:
            node.trainable = not node.trainable
            continue
        param = rng.choice(spec.params)
        if rng.random() < 0.15:
            node.params.pop(param.name, None)  # back to the default
        else:
            node.params[param.name] = _value(rng, param)
    return edited


def results(analysis: Analysis, node_id: str):
    return analysis.shapes.get(node_id), analysis.param_counts.get(node_id), analysis.problems_of(node_id)


def assert_same(incremental: Analysis, scratch: Analysis, context: str) -> None:
    assert incremental.order == scratch.order, context
    assert incremental.shapes == scratch.shapes, context
    assert incremental.param_counts == scratch.param_counts, context
    assert incremental.problems == scratch.problems, context  # in the same order, too
    assert incremental.total_params == scratch.total_params, context


@pytest.mark.parametrize("seed", range(12))
def test_incremental_analysis_equals_a_fresh_one_across_random_edits(seed):
    rng = random.Random(seed)
    g = random_graph(rng, rng.randint(3, 25)) if seed % 3 else preset(("resnet-mini", "vit-mini", "gru-rows",
                                                                        "mnist-cnn")[seed // 3])
    current = analyze(g)
    problems_seen = cleared = 0
    undo: Graph | None = None
    for step in range(150):
        if rng.random() < 0.05:  # a structure edit, or the undo of the last one (the graph as it was then)
            if undo is None:
                undo = g.copy()
                structure_edit(rng, g)
            else:
                g, undo = undo, None
            current = analyze(g)  # what the editor does after a structure edit
            continue
        edited = param_edit(rng, g)
        before = current
        current = reanalyze(g, before, edited)
        scratch = analyze(g)
        assert_same(current, scratch, f"seed {seed}, step {step}, edited {edited}")
        assert current.base_serial == before.serial
        # The editor repaints only `changed`: every node whose verdict moved must be in it.
        moved = {n for n in g.nodes if results(before, n) != results(current, n)}
        assert moved <= current.changed, f"seed {seed}, step {step}: {moved - current.changed} not marked changed"
        problems_seen += len(current.problems) > len(before.problems)
        cleared += len(current.problems) < len(before.problems)
    assert problems_seen and cleared, "the edits both create and clear problems"


def test_size_limits_follow_parameter_edits():
    g = chain(("flat", "flatten", {}), ("d", "dense", {"units": 10}))
    first = analyze(g)
    assert first.ok
    g.nodes["input"].params["shape"] = [16, 4096, 4096]
    over = reanalyze(g, first, ["input"])
    assert_same(over, analyze(g), "over the limits")
    assert any("activations would take" in p.message for p in over.problems)
    assert any("parameters; the limit is" in p.message for p in over.problems)
    g.nodes["input"].params["shape"] = [1, 28, 28]
    back = reanalyze(g, over, ["input"])
    assert_same(back, analyze(g), "back within them")
    assert back.ok


def test_an_edit_on_a_long_chain_re_infers_only_what_it_changes(monkeypatch):
    layers = [("flat", "flatten", {})] + [(f"d{i}", "dense", {"units": 10}) for i in range(2000)]
    g = chain(*layers)
    first = analyze(g)
    inferred = []
    plain = analysis_module.infer_node
    monkeypatch.setattr(analysis_module, "infer_node", lambda graph, node, shapes: (inferred.append(node.id),
                                                                                  plain(graph, node, shapes))[1])
    g.nodes["d0"].params["units"] = 12  # d0's shape changes, d1's count; d1's shape does not
    edited = reanalyze(g, first, ["d0"])
    assert inferred == ["d0", "d1"]
    assert edited.changed == {"d0", "d1"}
    assert edited.param_counts["d1"] == 12 * 10 + 10
    assert_same(edited, analyze(g), "chain")


def test_without_the_state_it_needs_reanalyze_starts_afresh():
    g = preset("mlp")
    failed = Analysis(problems=[])  # e.g. the editor's stand-in after a failure
    assert_same(reanalyze(g, failed, ["input"]), analyze(g), "fallback")
