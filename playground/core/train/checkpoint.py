"""Checkpoints: one file holding the graph, weights, optimizer state, config and metric history.

Written atomically, and read with `torch.load(weights_only=True)`: the file
holds only tensors and plain containers, so an untrusted checkpoint can never
run code when it is opened.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
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


def save_checkpoint(path: str | os.PathLike, checkpoint: Checkpoint) -> None:
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "graph_json": dumps_graph(checkpoint.graph),
        "state_dict": {k: v.detach().cpu() for k, v in checkpoint.state_dict.items()},
        "optimizer_state": checkpoint.optimizer_state,
        "config": checkpoint.config,
        "history": checkpoint.history,
        "extra": checkpoint.extra,
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write(Path(path), buffer.getvalue())


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Checkpoint:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError, RuntimeError, ValueError, OSError) as exc:
        # weights_only refuses anything but tensors and plain containers, so a file
        # carrying code lands here too, without ever running it.
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable Playground checkpoint ({detail[:200]})") from None
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
