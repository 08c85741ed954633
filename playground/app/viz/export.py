"""What every view shares: Export PNG (a file dialog, an atomic write, a plain message when it fails), its
button, and the line shown while there is nothing to draw."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QMessageBox, QPushButton, QSizePolicy, QWidget

from .. import dialogs
from ..charts.export import write_png

PNG_FILTER = "PNG image (*.png)"


def export_png_dialog(parent: QWidget, target: QWidget, suggested: str) -> str | None:
    """Ask where, then save `target` as it looks now. Returns the path written, or None (cancelled or failed:
    the person was told why, and any existing file is left as it was)."""
    path, _ = dialogs.get_save_file_name(parent, "Export PNG", suggested, PNG_FILTER)
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


def export_button(tooltip: str, slot, parent: QWidget | None = None, enabled: bool = True) -> QPushButton:
    """The "Export PNG…" button every view has."""
    button = QPushButton("Export PNG…", parent)
    button.setToolTip(tooltip)
    button.clicked.connect(slot)
    button.setEnabled(enabled)
    return button


def message_label(text: str = "", parent: QWidget | None = None) -> QLabel:
    """The centred, muted line a view shows while it has nothing to draw ("Draw a digit…")."""
    label = QLabel(text, parent)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
    return label
