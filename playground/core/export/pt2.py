"""Export a graph as a `torch.export` program (.pt2): the traced graph with its weights, batch size left free.

Load it with `torch.export.load(path).module()`; no Playground needed.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import torch

from ..errors import first_line
from ..graph import Graph
from .common import (
    ExportError,
    batch_dim,
    build_for_export,
    check_destination,
    example_input,
    quiet_tracing,
    write_files,
)


def export_pt2(graph: Graph, path: Path, state_dict: Mapping[str, torch.Tensor] | None = None) -> list[Path]:
    check_destination(path)
    model = build_for_export(graph, path, state_dict)
    try:
        with quiet_tracing():
            program = torch.export.export(model, (example_input(graph),), dynamic_shapes={"x": {0: batch_dim()}})
            buffer = io.BytesIO()
            torch.export.save(program, buffer)
    except Exception as exc:  # torch cannot trace some layer combination: say so instead of crashing
        reason = first_line(exc, with_type=True)
        raise ExportError(f"{path}: torch.export could not trace the network ({reason})") from exc
    return write_files({path: buffer.getvalue()})
