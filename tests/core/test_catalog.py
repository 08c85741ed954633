"""The layer catalog: every kind is complete, documented and buildable."""

import pytest
import torch

from playground.core.analysis import infer_layer
from playground.core.layers import CATALOG, GROUPS, by_group

REQUIRED_KINDS = {
    "input", "output", "dense", "conv2d", "maxpool2d", "avgpool2d", "global_avgpool", "batchnorm", "layernorm",
    "dropout", "flatten", "reshape", "relu", "leaky_relu", "gelu", "sigmoid", "tanh", "softmax", "rnn", "lstm", "gru",
    "patch_embedding", "positional_embedding", "self_attention", "transformer_block", "token_pool", "add",
    "concatenate", "multiply",
}

# A plausible input for each kind, to build it once with its defaults.
SAMPLE_INPUT = {
    "dense": [(64,)], "conv2d": [(1, 28, 28)], "maxpool2d": [(8, 28, 28)], "avgpool2d": [(8, 28, 28)],
    "global_avgpool": [(8, 7, 7)], "batchnorm": [(8, 7, 7)], "layernorm": [(16, 32)], "dropout": [(64,)],
    "flatten": [(8, 7, 7)], "reshape": [(784,)], "rnn": [(1, 28, 28)], "lstm": [(28, 28)], "gru": [(1, 28, 28)],
    "patch_embedding": [(1, 28, 28)], "positional_embedding": [(16, 64)], "self_attention": [(16, 64)],
    "transformer_block": [(16, 64)], "token_pool": [(16, 64)], "add": [(4, 5), (4, 5)],
    "concatenate": [(4, 5), (6, 5)], "multiply": [(3,), (3,)],
}


def test_catalog_has_every_required_kind_in_a_palette_group():
    assert REQUIRED_KINDS <= set(CATALOG)
    groups = by_group()
    assert all(groups[g] for g in GROUPS), "every palette group has at least one kind"
    assert {s.kind for specs in groups.values() for s in specs} == set(CATALOG)


@pytest.mark.parametrize("kind", sorted(CATALOG))
def test_every_kind_is_documented_with_valid_defaults(kind):
    spec = CATALOG[kind]
    assert spec.help and spec.title
    for p in spec.params:
        assert p.help, f"{kind}.{p.name} has no help text"
        assert p.error(p.default) is None, f"{kind}.{p.name} default {p.default!r} is out of its own range"
        if p.type in ("int", "float") and p.name not in ("axis",):
            assert p.min is not None and p.max is not None, f"{kind}.{p.name} needs a range"
    assert spec.param_errors(spec.defaults()) == []


@pytest.mark.parametrize("kind", sorted(SAMPLE_INPUT))
def test_every_layer_builds_and_runs_with_defaults(kind):
    spec = CATALOG[kind]
    params = spec.defaults()
    shapes = SAMPLE_INPUT[kind]
    shape, count, error = infer_layer(spec, params, shapes)
    assert error is None, error
    module = spec.make(params, shapes)()
    out = module(*(torch.randn(2, *s) for s in shapes))
    assert tuple(out.shape) == (2, *shape), "shape inference agrees with a real forward pass"
    assert count == sum(p.numel() for p in module.parameters())
    assert torch.isfinite(out).all()


@pytest.mark.parametrize(("param_type", "bad"), [("int", 1.5), ("int", True), ("int", "3"), ("float", "x"),
                                                 ("float", float("nan")), ("bool", 1), ("choice", "nope")])
def test_params_reject_wrong_types(param_type, bad):
    spec = next(s for s in CATALOG.values() for p in s.params if p.type == param_type)
    p = next(p for p in spec.params if p.type == param_type)
    assert p.error(bad) is not None
