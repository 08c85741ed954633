"""The benchmarks' one way to open the app's window offscreen, as `playground` does, with settings of its own."""

from __future__ import annotations

import os
import tempfile


def open_window(size: tuple[int, int] = (1280, 800)):
    """(app, window): the main window shown at `size` with the default preset, on fresh settings."""
    os.environ["PLAYGROUND_SETTINGS_DIR"] = tempfile.mkdtemp(prefix="pg-bench-")
    from playground.app.launch import application
    from playground.app.main_window import MainWindow

    app = application()
    window = MainWindow()
    window.resize(*size)
    window.show()
    window.start(None)
    return app, window
