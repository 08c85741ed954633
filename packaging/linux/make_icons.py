"""Render the app's icon (resources/icons/app.svg) into a hicolor icon theme tree, for the .desktop launcher.

    python packaging/linux/make_icons.py resources/icons/app.svg OUT/share/icons/hicolor

writes OUT/.../NxN/apps/playground.png for the sizes desktops look up, and scalable/apps/playground.svg. Run by
packaging/build.sh with the build venv's PySide6 (QtSvg), so no image tool is needed.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ICON_NAME = "playground"  # = Icon= in playground.desktop, and the app's desktop file name (launch.py)
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def main(svg: str, hicolor: str) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (painting needs one)
    renderer = QSvgRenderer(svg)
    if not renderer.isValid():
        print(f"{svg}: not an SVG that Qt can draw", file=sys.stderr)
        return 1
    root = Path(hicolor)
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        folder = root / f"{size}x{size}" / "apps"
        folder.mkdir(parents=True, exist_ok=True)
        if not image.save(str(folder / f"{ICON_NAME}.png")):
            print(f"could not write {folder / f'{ICON_NAME}.png'}", file=sys.stderr)
            return 1
    scalable = root / "scalable" / "apps"
    scalable.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(svg, scalable / f"{ICON_NAME}.svg")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
