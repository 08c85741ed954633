"""Looking inside a model: per-node activations and weight/gradient statistics.

Cheap enough to call a few times per second. Everything returned is a CPU
*copy* (`.detach().cpu().clone()`: on a CPU model `.cpu()` alone returns the
very storage the optimizer mutates in place) or plain floats.

These functions run the model; call them from the thread that trains it,
between steps (a callback hook is such a place), never concurrently with a step.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


def cpu_copy(t: torch.Tensor) -> torch.Tensor:
    """A CPU float tensor that shares nothing with `t` (contiguous, so `.numpy()` is plain)."""
    return t.detach().to(device="cpu", dtype=torch.float32, memory_format=torch.contiguous_format, copy=True)


@contextmanager
def eval_mode(model: nn.Module):
    """Every submodule in eval mode for the duration, then each back to exactly its own mode
    (frozen BatchNorm layers are kept in eval mode during training, so `model.train()` would be wrong)."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, training in modes:
            m.training = training


def activations(model: nn.Module, node_ids: Iterable[str], x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Run the (already normalized, on-device) batch `x` through `model` and return the output of each
    requested node as a CPU float copy. The model's input and output node ids are understood too."""
    wanted = list(dict.fromkeys(node_ids))
    input_id, output_id = getattr(model, "input_id", None), getattr(model, "output_id", None)
    found: dict[str, torch.Tensor] = {}
    handles = []

    def hook_for(node_id):
        def hook(_module, _inputs, output):
            found[node_id] = cpu_copy(output)
        return hook

    for node_id in wanted:
        if node_id in (input_id, output_id):
            continue
        module = getattr(model, node_id, None)
        if not isinstance(module, nn.Module):
            raise KeyError(f"the model has no layer {node_id!r}")
        handles.append(module.register_forward_hook(hook_for(node_id)))
    try:
        with torch.no_grad(), eval_mode(model):
            out = model(x)
    finally:
        for h in handles:
            h.remove()
    if input_id in wanted:
        found[input_id] = cpu_copy(x)
    if output_id in wanted:
        found[output_id] = cpu_copy(out)
    return {n: found[n] for n in wanted if n in found}


@dataclass
class TensorStats:
    mean: float
    std: float
    norm: float  # L2 norm of all values
    abs_max: float

    @classmethod
    def nan(cls) -> TensorStats:
        return cls(math.nan, math.nan, math.nan, math.nan)


@dataclass
class LayerStats:
    node_id: str
    params: int
    trainable: bool
    weight: TensorStats  # over every parameter of the node together
    grad: TensorStats | None  # None before the first backward pass, and for frozen nodes


def _stats_row(values: list[torch.Tensor]) -> torch.Tensor:
    flat = torch.cat([v.detach().reshape(-1).float() for v in values])
    std, mean = torch.std_mean(flat, correction=0)
    return torch.stack([mean, std, flat.norm(), flat.abs().max()])


def layer_stats(model: nn.Module) -> dict[str, LayerStats]:
    """Per node (direct child module of a GraphModule) with parameters: weight and gradient statistics.
    Computed on the model's device; one copy to the host for all of them."""
    rows, meta = [], []
    for node_id, module in model.named_children():
        params = list(module.parameters())
        if not params:
            continue
        grads = [p.grad for p in params if p.grad is not None]
        rows.append(_stats_row(params))
        if grads:
            rows.append(_stats_row(grads))
        meta.append((node_id, sum(p.numel() for p in params), any(p.requires_grad for p in params), bool(grads)))
    if not rows:
        return {}
    table = torch.stack(rows).cpu().tolist()  # the one sync
    out, i = {}, 0
    for node_id, count, trainable, has_grad in meta:
        weight = TensorStats(*table[i])
        i += 1
        grad = None
        if has_grad:
            grad = TensorStats(*table[i])
            i += 1
        out[node_id] = LayerStats(node_id, count, trainable, weight, grad)
    return out


def state_dict_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    """The weights as CPU copies (for predicting from another thread, or saving)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


HISTOGRAM_EDGES = torch.linspace(-10.0, 2.0, 49)  # log10 |value| from 1e-10 to 1e2 in 48 bins (exact zeros: first)


def _log_histogram(values: list[torch.Tensor], edges: torch.Tensor) -> torch.Tensor:
    """Fractions of log10 |v| over the bins of `edges` (values outside fall into the first or last bin), and the
    RMS last: a float tensor [B + 1] on the values' device."""
    flat = torch.cat([v.detach().reshape(-1).float() for v in values])
    bins = len(edges) - 1
    lo, hi = float(edges[0]), float(edges[-1])
    logs = flat.abs().clamp_min(10.0 ** lo).log10().clamp(lo, hi)
    counts = torch.histc(logs, bins=bins, min=lo, max=hi)
    rms = flat.square().mean().sqrt()
    return torch.cat([counts / max(1, flat.numel()), rms.reshape(1)])


def param_histograms(model: nn.Module, edges: torch.Tensor = HISTOGRAM_EDGES):
    """Per node with parameters (direct children of a GraphModule, in their order): the log-magnitude histogram
    and RMS of its weights and of their gradients. Returns (node ids, weights [L, B], grads [L, B],
    weight_rms [L], grad_rms [L]) as NumPy float32, with NaN rows for nodes without gradients.
    Computed on the model's device; one copy to the host for all of them."""
    rows, names, has_grad = [], [], []
    for node_id, module in model.named_children():
        params = list(module.parameters())
        if not params:
            continue
        grads = [p.grad for p in params if p.grad is not None]
        rows.append(_log_histogram(params, edges))
        if grads:
            rows.append(_log_histogram(grads, edges))
        names.append(node_id)
        has_grad.append(bool(grads))
    bins = len(edges) - 1
    if not rows:
        empty = np.zeros((0, bins), np.float32)
        return [], empty, empty.copy(), np.zeros(0, np.float32), np.zeros(0, np.float32)
    table = torch.stack(rows).cpu().numpy().astype(np.float32)  # the one sync
    weights = np.full((len(names), bins + 1), np.nan, np.float32)
    grads_out = np.full((len(names), bins + 1), np.nan, np.float32)
    i = 0
    for row, with_grad in enumerate(has_grad):
        weights[row] = table[i]
        i += 1
        if with_grad:
            grads_out[row] = table[i]
            i += 1
    return names, weights[:, :bins], grads_out[:, :bins], weights[:, bins], grads_out[:, bins]
