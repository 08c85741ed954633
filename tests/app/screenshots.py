"""Screenshots of the app for people to look at (not a test): `python -m tests.app.screenshots [FOLDER]`.

Takes the default window (mnist-cnn) in a light and a dark palette, and the
ResNet-mini preset after a tidy layout, offscreen.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


def dark_palette() -> QPalette:
    p = QPalette()
    role = QPalette.ColorRole
    colors = {
        role.Window: "#2b2b2e", role.WindowText: "#e6e6e6", role.Base: "#1f1f22", role.AlternateBase: "#2b2b2e",
        role.ToolTipBase: "#2b2b2e", role.ToolTipText: "#e6e6e6", role.Text: "#e6e6e6", role.Button: "#35353a",
        role.ButtonText: "#e6e6e6", role.BrightText: "#ff5252", role.Highlight: "#3d7bd9",
        role.HighlightedText: "#ffffff", role.Link: "#6ea8fe", role.PlaceholderText: "#8a8a8a",
        role.Mid: "#46464b", role.Dark: "#19191b", role.Light: "#4a4a50", role.Midlight: "#3c3c41",
        role.Shadow: "#000000",
    }
    for r, c in colors.items():
        p.setColor(r, QColor(c))
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, r, QColor("#77777c"))
    return p


def shoot(window, path: Path) -> None:
    for _ in range(3):  # word-wrapped labels take a second layout pass
        QApplication.processEvents()
    window.grab().save(str(path))
    print(path)


def main(folder: str = "/tmp/shots") -> None:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    os.environ["PLAYGROUND_SETTINGS_DIR"] = tempfile.mkdtemp(prefix="playground-shots-")
    from playground.app.launch import application
    from playground.app.main_window import MainWindow

    app = application()
    app.setStyle("Fusion")
    window = MainWindow()
    window.resize(1280, 800)
    window.show()
    window.start(None)
    QApplication.processEvents()
    window.workbench.fit_new_document()
    shoot(window, out / "mnist-cnn-light.png")
    app.setPalette(dark_palette())
    shoot(window, out / "mnist-cnn-dark.png")
    app.setPalette(app.style().standardPalette())
    # An error, a selection and the inspector, closer up, in both palettes.
    wb = window.workbench
    wb.scene.select_nodes(["conv3"])
    wb.inspector.editors["kernel_size"].setValue(9)
    wb.shapes.run_now()
    wb.view.set_zoom(1.3)
    wb.view.centerOn(wb.scene.nodes["conv3"])
    shoot(window, out / "error-selected-light.png")
    app.setPalette(dark_palette())
    shoot(window, out / "error-selected-dark.png")
    app.setPalette(app.style().standardPalette())
    wb.document.undo_stack.setClean()
    window.workbench.files.open_preset("resnet-mini")
    QApplication.processEvents()
    window.workbench.editor.tidy()
    window.workbench.view.fit_all(min_zoom=0.8)
    shoot(window, out / "resnet-mini-tidy.png")
    window.workbench.document.undo_stack.setClean()
    window.acts.new.trigger()
    shoot(window, out / "empty-network.png")
    window.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
