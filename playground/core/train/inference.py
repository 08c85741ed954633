"""Using a trained network: rebuild it from a checkpoint, and classify raw images."""

from __future__ import annotations

import torch
from torch import nn

from ..build import GraphError, build_module
from ..data import Normalization, normalization_for
from .checkpoint import Checkpoint, CheckpointError
from .probes import eval_mode


def model_from_checkpoint(checkpoint: Checkpoint, device: str | torch.device = "cpu",
                          source: str = "checkpoint") -> nn.Module:
    """The checkpoint's graph built on `device` with its weights, in eval mode.
    Raises CheckpointError when the graph is invalid or the weights do not fit it."""
    try:
        model = build_module(checkpoint.graph, device)
    except GraphError as exc:
        raise CheckpointError(f"{source}: the graph stored in the checkpoint is not valid: {exc}") from None
    try:
        model.load_state_dict(checkpoint.state_dict)
    except RuntimeError as exc:
        detail = str(exc).strip().splitlines()[0]
        raise CheckpointError(f"{source}: the weights do not fit the graph stored with them ({detail})") from None
    return model.eval()


def checkpoint_dataset(checkpoint: Checkpoint) -> str:
    """The dataset a checkpoint was trained on (its config, else its graph's Input node)."""
    return str(checkpoint.extra.get("dataset") or checkpoint.config.get("dataset") or checkpoint.graph.input_dataset())


def checkpoint_normalization(checkpoint: Checkpoint) -> Normalization:
    """The input scaling of the checkpoint's network: its dataset's own (an image folder's is stored with it),
    else the catalog's for its dataset (MNIST's when unknown)."""
    own = checkpoint.extra.get("normalization")
    if isinstance(own, dict) and "mean" in own and "std" in own:
        return Normalization(float(own["mean"]), float(own["std"]))
    try:
        return normalization_for(checkpoint_dataset(checkpoint))
    except ValueError:
        return normalization_for("mnist")


def predict_probabilities(model: nn.Module, images: torch.Tensor, normalization: Normalization,
                          loss: str = "cross_entropy") -> torch.Tensor:
    """Class probabilities (CPU float [N, classes]) of raw-pixel images (uint8 [N, H, W] or [N, C, H, W])."""
    if images.dim() == 3:
        images = images.unsqueeze(1)
    device = next(iter(model.parameters()), torch.empty(0)).device
    x = normalization(images.to(device))
    with torch.no_grad(), eval_mode(model):
        out = model(x).float()
    return output_probabilities(out, loss).cpu()


def output_probabilities(out: torch.Tensor, loss: str = "cross_entropy") -> torch.Tensor:
    """Class probabilities from a network's float outputs [N, classes], on their device."""
    if loss == "cross_entropy":
        return out.softmax(dim=1)
    # A network trained with MSE onto one-hot targets: its clipped scores, made to sum to 1.
    out = out.clamp(min=0)
    total = out.sum(dim=1, keepdim=True)
    uniform = torch.full_like(out, 1.0 / out.shape[1])
    return torch.where(total > 0, out / total.clamp(min=1e-12), uniform)
