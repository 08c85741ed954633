"""Exporters: readable PyTorch source, a standalone training script, torch.export programs (.pt2) and ONNX.

Every exporter builds the graph with `build_module` (an invalid graph raises
`GraphError`), loads the given weights strictly, produces the complete file
contents in memory and only then writes them atomically, so a failed export
never leaves a half-written file or replaces a good one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch

from ..gan.structure import is_gan_graph
from ..graph import Graph
from ..train.config import TrainConfig
from .common import ExportError

FORMATS = ("python", "train-script", "pt2", "onnx")

__all__ = ["FORMATS", "ExportError", "export_graph"]


def export_graph(graph: Graph, fmt: str, path: str | os.PathLike,
                 state_dict: Mapping[str, torch.Tensor] | None = None, config: TrainConfig | None = None) -> list[Path]:
    """Export `graph` as `fmt` (one of FORMATS) to `path`, with `state_dict`'s weights if given.

    Returns the files written: the Python export also writes the weights next to
    the source (same name, suffix .pth) when `state_dict` is given. The training
    script ("train-script") trains from scratch with `config`'s recipe (default:
    the default recipe) and takes no weights.
    """
    path = Path(path)
    if fmt == "train-script":  # before the GAN check: it refuses GANs in its own words
        from .train_script import export_train_script

        if state_dict is not None:
            raise ExportError(f"{path}: a training script trains from scratch; it takes a recipe, not weights")
        return export_train_script(graph, path, config)
    if is_gan_graph(graph):  # both networks as source; the generator alone as ONNX or .pt2
        from .gan import export_gan

        return export_gan(graph, fmt, path, state_dict)
    if fmt == "python":
        from .python_source import export_python

        return export_python(graph, path, state_dict)
    if fmt == "pt2":
        from .pt2 import export_pt2

        return export_pt2(graph, path, state_dict)
    if fmt == "onnx":
        from .onnx import export_onnx

        return export_onnx(graph, path, state_dict)
    raise ExportError(f"{path}: unknown export format {fmt!r} (choose one of: {', '.join(FORMATS)})")
