"""Checkpoints: one file holding the graph, weights, optimizer state, config and metric history.

Written atomically, and read with `torch.load(weights_only=True)`: the file
holds only tensors and plain containers, so an untrusted checkpoint can never
run code when it is opened.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..files import atomic_write
from ..graph import Graph, GraphFileError, dumps_graph, loads_graph

FORMAT = "playground-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(Exception):
    """A checkpoint that cannot be used; the message names the file and the reason."""


@dataclass
class Checkpoint:
    graph: Graph
    state_dict: dict[str, torch.Tensor]
    optimizer_state: dict | None = None
    config: dict[str, Any] = field(default_factory=dict)
    history: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def _plain(value: Any, where: str) -> Any:
    """`value` made of exactly what `weights_only=True` reads back: tensors, str, int, float, bool, None,
    lists, tuples and dicts of those. Subclasses (torch's TorchVersion is a str) become their base type;
    anything else is a bug of the caller, refused here rather than written into an unreadable file."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, bool):
        return bool(value)
    for base in (str, int, float):
        if isinstance(value, base):
            return base(value)
    if isinstance(value, dict):
        return {_plain(k, where): _plain(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    raise TypeError(f"cannot store {type(value).__name__} in a checkpoint ({where})")


def save_checkpoint(path: str | os.PathLike, checkpoint: Checkpoint) -> None:
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "graph_json": dumps_graph(checkpoint.graph),
        "state_dict": {k: v.detach().cpu() for k, v in checkpoint.state_dict.items()},
        "optimizer_state": _plain(checkpoint.optimizer_state, "optimizer_state"),
        "config": _plain(checkpoint.config, "config"),
        "history": _plain(checkpoint.history, "history"),
        "extra": _plain(checkpoint.extra, "extra"),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write(Path(path), buffer.getvalue())


def _load_failure(exc: Exception) -> str:
    """The useful part of torch.load's error, without its advice to turn the safety off."""
    text = str(exc)
    if "WeightsUnpickler" in text or "Weights only load failed" in text:
        if (found := re.search(r"GLOBAL ([\w.]+)", text)) is not None:
            return f"it holds a Python object ({found.group(1)}), not just weights; refused without running it"
        return "not a PyTorch checkpoint, or damaged"
    if "PytorchStreamReader" in text or "zip archive" in text or isinstance(exc, EOFError):
        return "the file is truncated or damaged"
    if isinstance(exc, OSError):
        return f"cannot be read: {exc.strerror or exc}"
    return "not a PyTorch checkpoint, or damaged"


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Checkpoint:
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about pickle protocols before refusing them
            payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # a malformed pickle can raise almost anything (KeyError, IndexError, ...)
        # weights_only refuses anything but tensors and plain containers, so a file
        # carrying code lands here too, without ever running it.
        raise CheckpointError(f"{path}: not a readable Playground checkpoint ({_load_failure(exc)})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a Playground checkpoint (it may come from another program)")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path}: written by a newer Playground (checkpoint format "
                              f"{payload.get('format_version')}); update Playground to read it")
    try:
        graph = loads_graph(payload["graph_json"], source=f"{path} (embedded graph)")
    except (GraphFileError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: the embedded graph is damaged: {exc}") from None
    state_dict = payload.get("state_dict")
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise CheckpointError(f"{path}: the weights in the checkpoint are damaged")
    return Checkpoint(graph=graph, state_dict=state_dict, optimizer_state=payload.get("optimizer_state"),
                      config=payload.get("config") or {}, history=payload.get("history") or {},
                      extra=payload.get("extra") or {})
