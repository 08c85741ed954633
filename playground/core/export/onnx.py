"""Export a graph as one self-contained ONNX file (weights embedded), batch size left free.

Input `image` (N×C×H×W float), output `scores`. Uses the torch.export-based
("dynamo") ONNX exporter, which needs the optional onnx and onnxscript packages.
"""

from __future__ import annotations

import sys
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

INPUT_NAME = "image"
OUTPUT_NAME = "scores"
INSTALL_HINT = 'pip install "playground[onnx]"'


def export_onnx(graph: Graph, path: Path, state_dict: Mapping[str, torch.Tensor] | None = None) -> list[Path]:
    try:
        import onnx  # noqa: F401 -- torch's exporter needs both; check before the slow part
        import onnxscript  # noqa: F401
    except ImportError as exc:
        if getattr(sys, "frozen", False):  # the desktop bundle leaves ONNX out (packaging/README.md): no pip there
            raise ExportError(f"{path}: this desktop bundle has no ONNX export (it leaves the ONNX packages out to "
                              "stay small); export a torch.export program (.pt2) instead, or use Playground installed "
                              f"with Python: {INSTALL_HINT}") from None
        missing = exc.name or "onnx"
        raise ExportError(f"{path}: ONNX export needs the optional package {missing}; "
                          f"install it with: {INSTALL_HINT}") from None
    check_destination(path)
    model = build_for_export(graph, path, state_dict)
    try:
        with quiet_tracing():
            program = torch.onnx.export(
                model, (example_input(graph),), dynamo=True, verbose=False,
                input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                dynamic_shapes={"x": {0: batch_dim()}},
            )
            proto = program.model_proto
    except Exception as exc:  # an operator without an ONNX translation, for instance
        reason = first_line(exc, with_type=True)
        raise ExportError(f"{path}: the ONNX exporter could not convert the network ({reason})") from exc
    proto.doc_string = f"{graph.name or 'Untitled network'} (exported from Playground). {graph.description}".strip()
    # Serialising the proto ourselves keeps the weights inside the one file (torch.onnx's own
    # save may move them to a sidecar file) and lets the file be written atomically.
    return write_files({path: proto.SerializeToString()})
