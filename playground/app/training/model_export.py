"""File ▸ Export ▸ PyTorch Source…, ONNX… and torch.export Program…: the open network, with the weights in use.

The files are core/export's (`export_graph`, the same as `playground export`): readable PyTorch source (with a .pth
of the weights beside it), an ONNX model, or a torch.export program. The weights are the ones the window uses (a
run's latest, or loaded ones) when they fit the network as it is now; after an edit that changed a layer's shape
they do not, and the network is exported untrained, which the status bar says. Every export writes its file whole
or not at all; what cannot be exported is said in an error dialog.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QWidget

from ...core.analysis import GraphError
from ...core.export import ExportError, export_graph
from .. import dialogs

# format -> (the menu's and the dialog's title, the file in words, the dialog's filter, the suffix)
FORMATS = {
    "python": ("PyTorch Source", "PyTorch source", "Python files (*.py);;All files (*)", ".py"),
    "onnx": ("ONNX Model", "ONNX model", "ONNX models (*.onnx);;All files (*)", ".onnx"),
    "pt2": ("torch.export Program", "torch.export program", "torch.export programs (*.pt2);;All files (*)", ".pt2"),
}
WEIGHTS_DO_NOT_FIT = "the weights"  # how export_graph's ExportError starts to say the weights do not fit the graph


def ask_destination(window: QWidget, document, settings, title: str, stem_prefix: str, suffix: str,
                    filters: str) -> str | None:
    """The file to export to, from a save dialog opening beside the network's file (or the last folder), with
    `suffix` added when the person typed none; None when cancelled. (Both File ▸ Export dialogs.)"""
    folder = Path(document.path).parent if document.path else Path(settings.last_folder())
    stem = Path(document.path).stem if document.path else (document.preset or "network")
    path, _ = dialogs.get_save_file_name(window, title, str(folder / f"{stem_prefix}{stem}{suffix}"), filters)
    if not path:
        return None
    return path if Path(path).suffix else path + suffix


def say_export_failed(window: QWidget, title: str, exc: ExportError | GraphError) -> None:
    """An export that could not be written: why, in an error dialog (a network's problems listed)."""
    if isinstance(exc, GraphError):
        problems = "\n".join(f"• {p}" for p in exc.problems[:5])
        dialogs.error(window, title, f"The network has problems to fix first:\n\n{problems}")
    else:
        dialogs.error(window, title, str(exc))


class ModelExport:
    def __init__(self, window: QWidget, document, weights, settings, say: Callable[[str], None]):
        self.window, self.document, self.weights, self.settings, self.say = window, document, weights, settings, say

    def export(self, fmt: str) -> bool:
        title, noun, filters, suffix = FORMATS[fmt]
        path = ask_destination(self.window, self.document, self.settings, f"Export {title}", "", suffix, filters)
        if path is None:
            return False
        graph = self.document.graph.copy()
        current = self.weights.current
        state = current.state_dict if current is not None else None
        try:
            try:
                written = export_graph(graph, fmt, path, state_dict=state)
                what = "with the weights in use" if state is not None else "untrained (no weights yet)"
            except ExportError as exc:
                if state is None or WEIGHTS_DO_NOT_FIT not in str(exc):
                    raise
                written = export_graph(graph, fmt, path)
                what = "untrained: the weights in use do not fit the network as it is now"
        except (ExportError, GraphError) as exc:
            say_export_failed(self.window, f"Cannot export the {noun}", exc)
            return False
        self.say(f"Exported the {noun} {what}: "
                 f"{', '.join(Path(p).name for p in written)}")
        return True
