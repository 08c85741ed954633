"""Export PNG for every view: a file dialog, an atomic write, and a plain message when it fails."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from ..charts.export import write_png

PNG_FILTER = "PNG image (*.png)"


def export_png_dialog(parent: QWidget, target: QWidget, suggested: str) -> str | None:
    """Ask where, then save `target` as it looks now. Returns the path written, or None (cancelled or failed:
    the person was told why, and any existing file is left as it was)."""
    path, _ = QFileDialog.getSaveFileName(parent, "Export PNG", suggested, PNG_FILTER)
    if not path:
        return None
    if not path.lower().endswith(".png"):
        path += ".png"
    try:
        write_png(target, path)
    except OSError as exc:
        QMessageBox.critical(parent, "Could not export the picture", f"{path}: {exc}")
        return None
    return path
