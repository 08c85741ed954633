"""Copies of a model's tensors and looks at them, for the Publisher, the inference server and checkpoints.

Everything returned is a CPU *copy* (`.detach().cpu().clone()`: on a CPU model
`.cpu()` alone returns the very storage the optimizer mutates in place), a
NumPy array or plain floats.

Call these from the thread that owns the model: for a model in training,
between steps (a callback hook is such a place), never concurrently with one.
"""

from __future__ import annotations

from contextlib import contextmanager

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
