"""Looking inside one prediction: every layer's output for one image, laid out for people, and saliency.

`look_inside(model, graph, x)` runs one normalized image through a built
`GraphModule` with forward hooks and returns a `LayerView` per node, in graph
order, each already in the form a view draws:

- ``maps``: a C×H×W output (the input image, a convolution or pooling layer):
  one feature-map image per channel;
- ``units``: a vector (a dense layer, a flattened tensor): one value per unit;
- ``sequence``: tokens×features, or a recurrent layer's hidden state at every
  time step (steps×hidden, both directions side by side);
- ``attention``: a self-attention layer's (or transformer block's) attention
  weights, heads×queries×keys, each row summing to 1.

`saliency(model, x, target)` is gradient × input for one class: which pixels
pushed that class's score up (positive) or down (negative).

Everything returned is a NumPy copy: safe to hand to another thread. Call these
from the thread that owns the model (the app's predictor thread, on a CPU copy
of the weights), never concurrently with a training step on the same module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..data import Normalization
from ..graph import Graph
from ..layers import CATALOG
from .probes import cpu_copy, eval_mode

VIEW_KINDS = ("maps", "units", "sequence", "attention")
MAX_CHANNELS = 64  # feature maps kept per layer (a person cannot read more in a grid anyway)
MAX_UNITS = 4096  # units kept per vector


@dataclass(frozen=True)
class LayerView:
    """One node's output for one image, ready to draw."""

    node_id: str
    kind: str  # the node's layer kind ("conv2d", "dense", "lstm", "self_attention", "input", ...)
    title: str  # the layer's catalog title ("Convolution 2D")
    view: str  # one of VIEW_KINDS
    shape: tuple[int, ...]  # the node's real output shape for one sample (before any truncation below)
    values: np.ndarray = field(repr=False)  # float32: maps [C,H,W]; units [N]; sequence [T,F]; attention [heads,Q,K]
    truncated: bool = False  # some channels or units were left out (MAX_CHANNELS, MAX_UNITS)


@dataclass(frozen=True)
class Insight:
    """What one image looks like inside the network, with the weights of `weights_version`."""

    # uint8 [28,28]: a drawing as the model sees it (after preprocessing); or a test image, [H,W] gray or [H,W,3]
    image: np.ndarray = field(repr=False)
    probabilities: np.ndarray = field(repr=False)  # float32 [classes]
    predicted: int
    layers: tuple[LayerView, ...]  # graph order, the input first
    saliency: np.ndarray = field(repr=False)  # float32 [H,W]: gradient × input for the predicted class
    weights_version: int = 0
    request_id: int = 0
    test_index: int | None = None  # the test image looked at (`Predictor.look_at`); None: the drawing


RECURRENT_KINDS = ("rnn", "lstm", "gru")
ATTENTION_KINDS = ("self_attention", "transformer_block")


def _attention_module(kind: str, module):
    """The SelfAttention inside a node's module (itself, or a transformer block's)."""
    return module if kind == "self_attention" else module.attention


def _attention_weights(qkv: torch.Tensor, heads: int) -> torch.Tensor:
    """softmax(q·kᵀ/√d) per head from a SelfAttention's qkv projection (B×N×3D) -> B×heads×N×N.
    The same scaled dot product `scaled_dot_product_attention` computes inside, made visible."""
    batch, tokens, three_dim = qkv.shape
    dim = three_dim // 3
    q, k, _ = qkv.reshape(batch, tokens, 3, heads, dim // heads).permute(2, 0, 3, 1, 4)
    return (q @ k.transpose(-2, -1) * (dim // heads) ** -0.5).softmax(dim=-1)


def _as_view(kind: str, value: torch.Tensor) -> tuple[str, np.ndarray, tuple[int, ...], bool]:
    """(view, values, real shape, truncated) of one sample's output."""
    sample = value[0].detach().float()
    shape = tuple(sample.shape)
    if kind in ATTENTION_KINDS:  # value: heads×N×N attention weights
        return "attention", sample.numpy().copy(), shape, False
    if kind in RECURRENT_KINDS or sample.dim() == 2:
        return "sequence", sample.numpy().copy(), shape, False
    if sample.dim() == 3:
        truncated = sample.shape[0] > MAX_CHANNELS
        return "maps", sample[:MAX_CHANNELS].numpy().copy(), shape, truncated
    flat = sample.reshape(-1)
    truncated = flat.numel() > MAX_UNITS
    return "units", flat[:MAX_UNITS].numpy().copy(), shape, truncated


def look_inside(model: nn.Module, graph: Graph, x: torch.Tensor) -> tuple[torch.Tensor, list[LayerView]]:
    """Run one normalized image (1×C×H×W, on the model's device) and return (logits [1, classes], a LayerView per
    node in execution order, the input first). Recurrent nodes show their hidden state at every time step (not
    just the final state they pass on), attention nodes their attention weights. Eval mode and no_grad."""
    found: dict[str, torch.Tensor] = {}
    handles = []

    def keep(node_id, pick=lambda out: out):
        def hook(_module, _inputs, output):
            found[node_id] = cpu_copy(pick(output))  # a copy: an in-place ReLU downstream would change it
        return hook

    order = [node_id for node_id, _ in model.plan]
    for node_id in order:
        kind, module = graph.nodes[node_id].kind, getattr(model, node_id)
        if kind in RECURRENT_KINDS:
            handles.append(module.rnn.register_forward_hook(keep(node_id, lambda out: out[0])))
        elif kind in ATTENTION_KINDS:
            attention = _attention_module(kind, module)
            heads = attention.heads
            handles.append(attention.qkv.register_forward_hook(
                keep(node_id, lambda out, heads=heads: _attention_weights(out, heads))))
        else:
            handles.append(module.register_forward_hook(keep(node_id)))
    try:
        with torch.no_grad(), eval_mode(model):
            logits = model(x)
    finally:
        for handle in handles:
            handle.remove()
    views = []
    for node_id in [model.input_id, *order]:
        value = cpu_copy(x) if node_id == model.input_id else found.get(node_id)
        if value is None:
            continue
        kind = graph.nodes[node_id].kind
        view, values, shape, truncated = _as_view(kind, value)
        spec = CATALOG.get(kind)
        views.append(LayerView(node_id, kind, spec.title if spec else kind, view, shape,
                               values.astype(np.float32, copy=False), truncated))
    return logits.detach().float().cpu(), views


def saliency(model: nn.Module, raw: torch.Tensor, normalization: Normalization, target: int) -> np.ndarray:
    """Gradient × input for class `target` of one raw image (1×C×H×W, 0..255, on the model's device): float32
    [H, W]. Taken on the 0..1 pixel scale, so blank pixels score exactly zero and the map says which strokes
    raised (positive) or lowered (negative) the class's score. A colour pixel scores its strongest channel (the
    largest |gradient × input| of the three, with its sign): channels that pull apart do not cancel out, and the
    sign still reads on the diverging scale. A gray pixel has one channel: its value as it is."""
    pixels = (raw.detach().float() / 255.0).requires_grad_(True)
    with torch.enable_grad(), eval_mode(model):
        score = model(normalization.unit(pixels))[0, target]
        (grad,) = torch.autograd.grad(score, pixels)
    heat = (grad * pixels.detach())[0]
    strongest = heat.abs().argmax(dim=0, keepdim=True)
    return heat.gather(0, strongest)[0].cpu().numpy().astype(np.float32)
