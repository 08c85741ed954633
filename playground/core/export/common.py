"""What every exporter shares: the error type, building the model with its weights, quiet tracing, safe writing."""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

import torch
from torch import nn

from ..build import GraphModule, build_module, resolved_params
from ..errors import first_line
from ..files import atomic_write
from ..graph import Graph
from ..layers import Shape

EXAMPLE_BATCH = 2  # batch size of the example input the tracers see; the exported batch axis stays dynamic


class ExportError(Exception):
    """An export the user asked for cannot be done; the message names the file and says why."""


def check_destination(*paths: Path) -> None:
    """Fail early, before any slow tracing, if a file cannot be written where it was asked for."""
    for path in paths:
        if path.is_dir():
            raise ExportError(f"{path}: is a folder; give the name of the file to write")
        if not path.parent.is_dir():
            raise ExportError(f"{path}: cannot write it, the folder {path.parent} does not exist")
        if not os.access(path.parent, os.W_OK):
            raise ExportError(f"{path}: cannot write it, the folder {path.parent} is not writable")


def write_files(files: Mapping[Path, bytes]) -> list[Path]:
    """Write fully produced contents, each file atomically (a failure leaves any old file as it was)."""
    for path, data in files.items():
        try:
            atomic_write(path, data)
        except OSError as exc:
            raise ExportError(f"{path}: cannot write it ({exc.strerror or exc})") from None
    return list(files)


def build_for_export(graph: Graph, path: Path, state_dict: Mapping[str, torch.Tensor] | None) -> GraphModule:
    """The graph's module in eval mode, carrying `state_dict` when given.

    Raises GraphError (from the builder) for an invalid graph and ExportError
    when the weights do not fit it.
    """
    model = build_module(graph)
    if state_dict is not None:
        problem = state_dict_mismatch(model, state_dict)
        if problem:
            raise ExportError(f"cannot export {path}: the weights do not match the graph ({problem})")
        try:
            model.load_state_dict(state_dict, strict=True)
        except (RuntimeError, TypeError) as exc:  # e.g. a dtype torch cannot copy into a float parameter
            reason = first_line(exc, with_type=True)
            raise ExportError(f"cannot export {path}: the weights cannot be loaded ({reason})") from None
    return model.eval()


def state_dict_mismatch(model: nn.Module, state_dict: Mapping[str, object]) -> str | None:
    """Plain words for missing or unexpected keys, wrong shapes, kinds of number or non-finite values, or None when
    the weights fit: the one check of weights against a network (core/train/checkpoint.py)."""
    from ..train.checkpoint import weights_problem

    return weights_problem(model.state_dict(), state_dict)


def input_shape(graph: Graph) -> Shape:
    (node,) = graph.nodes_of_kind("input")
    return tuple(resolved_params(node)["shape"])


def example_input(graph: Graph, batch: int = EXAMPLE_BATCH) -> torch.Tensor:
    # A private generator: exporting must not disturb the caller's random stream.
    return torch.randn(batch, *input_shape(graph), generator=torch.Generator().manual_seed(0))


def batch_dim():
    """The dynamic batch dimension; tracing with a batch of 2 keeps torch from specialising it to 1."""
    return torch.export.Dim("batch")


@contextlib.contextmanager
def quiet_tracing() -> Iterator[None]:
    """Silence torch's tracing chatter that a user can do nothing about (the CLI prints what was written).

    Only known, harmless messages are filtered; anything else still shows.
    """
    with warnings.catch_warnings():
        # nn.RNN/LSTM/GRU keep a cached list of their weights (`_flat_weights`) that torch.export
        # sees being re-assigned; the real weights are parameters and are exported as such.
        warnings.filterwarnings("ignore", message=r"The tensor attributes .*_flat_weights", category=UserWarning)
        # Deprecations inside torch's own tracing code, not in anything we call.
        warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)", category=FutureWarning)
        warnings.filterwarnings("ignore", message=r"_check_is_size will be removed", category=FutureWarning)
        # The ONNX exporter logs a warning per torchvision operator it cannot register when
        # torchvision is not installed; Playground uses none of them.
        onnx_logger = logging.getLogger("torch.onnx")
        level = onnx_logger.level
        onnx_logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            onnx_logger.setLevel(level)
