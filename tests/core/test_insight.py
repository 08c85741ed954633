"""Looking inside a network: per-layer views for every preset kind, saliency, histograms, per-example results."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from playground.core.build import build_module
from playground.core.data import load_dataset, normalization_for
from playground.core.graph import load_graph
from playground.core.train import TrainConfig, Trainer
from playground.core.train.inference import predict_probabilities
from playground.core.train.insight import MAX_CHANNELS, look_inside, saliency
from playground.core.train.probes import HISTOGRAM_EDGES, param_histograms

NORM = normalization_for("mnist")


def digit(seed: int = 0) -> torch.Tensor:
    """A uint8 1×1×28×28 image: a bright bar on black, so that blank pixels exist."""
    image = torch.zeros(1, 1, 28, 28, dtype=torch.uint8)
    g = torch.Generator().manual_seed(seed)
    image[0, 0, 6:22, 12:16] = torch.randint(150, 255, (16, 4), generator=g, dtype=torch.uint8)
    return image


def inside(preset: str):
    graph = load_graph(f"preset:{preset}")
    model = build_module(graph).eval()
    logits, views = look_inside(model, graph, NORM(digit()))
    return graph, model, logits, {v.node_id: v for v in views}, [v.node_id for v in views]


def test_a_cnn_shows_feature_maps_units_in_graph_order_and_the_same_logits_as_a_plain_forward():
    graph, model, logits, views, order = inside("mnist-cnn")
    with torch.no_grad():
        assert torch.allclose(logits, model(NORM(digit())), atol=1e-6)
    analysis_order = [n for n in graph.topological_order()[0] if graph.nodes[n].kind != "output"]
    assert order == analysis_order
    assert views["input"].view == "maps" and views["input"].values.shape == (1, 28, 28)
    conv = views["conv1"]
    assert conv.view == "maps" and conv.shape == (32, 26, 26) and conv.values.shape == (32, 26, 26)
    assert conv.title == "Conv2d" and not conv.truncated
    assert views["dense1"].view == "units" and views["dense1"].values.shape == (64,)
    # The ReLU right after conv1 is its clamp: each view is its own node's output, copied before the next layer.
    assert np.allclose(views["relu1"].values, np.maximum(conv.values, 0), atol=1e-6)
    assert (conv.values < 0).any()


def test_views_are_copies_that_later_forwards_do_not_touch():
    graph = load_graph("preset:mnist-cnn")
    model = build_module(graph).eval()
    _, views = look_inside(model, graph, NORM(digit(1)))
    before = views[1].values.copy()
    look_inside(model, graph, NORM(digit(2)))
    assert np.array_equal(views[1].values, before)


@pytest.mark.parametrize("preset,node,steps,width", [("rnn-rows", "rnn", 28, 256), ("lstm-rows", "lstm", 28, 128),
                                                     ("gru-rows", "gru", 28, 128)])
def test_recurrent_layers_show_their_hidden_state_at_every_time_step(preset, node, steps, width):
    _, model, _, views, _ = inside(preset)
    view = views[node]
    assert view.view == "sequence" and view.values.shape == (steps, width)
    # The layer passes on only its final state; the view is the whole sequence it ran through.
    rnn = getattr(model, node).rnn
    x = NORM(digit()).permute(0, 2, 1, 3).flatten(2)
    with torch.no_grad():
        out, _ = rnn(x)
    assert np.allclose(view.values, out[0].numpy(), atol=1e-5)


def test_attention_layers_show_one_map_per_head_whose_rows_sum_to_one():
    _, model, _, views, _ = inside("vit-mini")
    for node in ("block1", "block2"):
        view = views[node]
        assert view.view == "attention" and view.values.shape == (4, 49, 49)
        assert np.allclose(view.values.sum(axis=-1), 1.0, atol=1e-5)
        assert (view.values >= 0).all()
    assert views["patches"].view == "sequence" and views["patches"].values.shape == (49, 64)
    # The maps are the attention the block really applies: recomputing the block from them gives its output.
    block = model.block1
    tokens = torch.from_numpy(views["positions"].values)[None]
    attention = block.attention
    with torch.no_grad():
        qkv = attention.qkv(block.norm1(tokens)).reshape(1, 49, 3, 4, 16).permute(2, 0, 3, 1, 4)
        weights = torch.from_numpy(views["block1"].values)[None]
        attended = (weights @ qkv[2]).transpose(1, 2).reshape(1, 49, 64)
        x = tokens + attention.out(attended)
        expected = x + block.mlp(block.norm2(x))
    assert torch.allclose(expected, block(tokens), atol=1e-4)


def test_wide_layers_are_truncated_and_say_so():
    from tests.core.graphs import chain

    graph = chain(("wide", "conv2d", {"filters": MAX_CHANNELS + 8, "kernel_size": 3}), ("flatten", "flatten", {}),
                  ("head", "dense", {"units": 10}))
    model = build_module(graph).eval()
    _, views = look_inside(model, graph, NORM(digit()))
    wide = next(v for v in views if v.node_id == "wide")
    assert wide.truncated and wide.values.shape[0] == MAX_CHANNELS and wide.shape[0] == MAX_CHANNELS + 8


def test_saliency_is_gradient_times_input_and_zero_on_blank_pixels():
    graph = load_graph("preset:mlp")
    model = build_module(graph).eval()
    raw = digit()
    heat = saliency(model, raw, NORM, target=3)
    assert heat.shape == (28, 28) and heat.dtype == np.float32
    blank = raw[0, 0].numpy() == 0
    assert np.all(heat[blank] == 0) and np.abs(heat[~blank]).max() > 0
    assert all(p.grad is None for p in model.parameters())  # the model's own gradients are left alone
    pixels = (raw.float() / 255).requires_grad_(True)
    model(NORM.unit(pixels))[0, 3].backward()
    assert np.allclose(heat, (pixels.grad * pixels.detach())[0, 0].numpy(), atol=1e-6)


def test_histograms_are_fractions_per_layer_with_nan_rows_for_layers_without_gradients():
    graph = load_graph("preset:mnist-cnn")
    graph.nodes["conv1"].trainable = False
    model = build_module(graph)
    model(torch.randn(4, 1, 28, 28)).sum().backward()
    names, weights, grads, weight_rms, grad_rms = param_histograms(model)
    assert names == ["conv1", "conv2", "conv3", "dense1", "dense2"]
    bins = len(HISTOGRAM_EDGES) - 1
    assert weights.shape == grads.shape == (5, bins)
    assert np.allclose(weights.sum(axis=1), 1.0, atol=1e-5)
    assert np.isnan(grads[0]).all() and np.isnan(grad_rms[0])
    assert np.allclose(grads[1:].sum(axis=1), 1.0, atol=1e-5)
    w, b = model.conv2.weight.detach(), model.conv2.bias.detach()
    assert weight_rms[1] == pytest.approx(float(torch.cat([w.flatten(), b.flatten()])
                                                .square().mean().sqrt()), rel=1e-5)
    # Where the mass sits: conv2's weights are around 1e-2..1e-1, so the bins there hold most of it.
    centers = (HISTOGRAM_EDGES[:-1] + HISTOGRAM_EDGES[1:]).numpy() / 2
    assert -3 < float((weights[1] * centers).sum()) < 0


def test_each_epoch_keeps_the_prediction_and_confidence_of_every_test_example():
    data = load_dataset("mnist-sample")
    data = dataclasses.replace(data, train_images=data.train_images[:512], train_labels=data.train_labels[:512],
                               test_images=data.test_images[:200], test_labels=data.test_labels[:200])
    trainer = Trainer(load_graph("preset:mlp"), TrainConfig(epochs=1, batch_size=64, device="cpu"), dataset=data)
    trainer.fit()
    val = trainer.last_eval
    assert val.predicted.shape == (200,) and val.confidence.shape == (200,)
    labels = data.test_labels.numpy()
    confusion = np.zeros((10, 10), int)
    np.add.at(confusion, (labels, val.predicted), 1)
    assert confusion.tolist() == val.confusion
    probabilities = predict_probabilities(trainer.model, data.test_images, trainer.normalization, trainer.loss_kind)
    assert np.array_equal(probabilities.argmax(dim=1).numpy(), val.predicted)
    assert np.allclose(probabilities.max(dim=1).values.numpy(), val.confidence, atol=1e-5)
    assert "predicted" not in val.to_dict()  # checkpoints stay small
