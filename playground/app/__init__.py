"""The desktop app (everything Qt).

Importing this package is cheap: it imports neither Qt nor torch, so the
command line can import it unconditionally and the GUI can show its window
before torch has finished loading.
"""

from __future__ import annotations


def run_app(path: str | None = None) -> int:
    """Open the main window and run the event loop until it closes; returns the exit code.

    `path` is a graph file to open; None opens the `mnist-cnn` preset (or offers
    to restore an autosave left by a session that did not exit cleanly). A file
    that cannot be opened is reported in a message box and the app starts with
    an empty graph. Settings live in the platform's config folder, or under
    `$PLAYGROUND_SETTINGS_DIR` when that is set.
    """
    from .launch import run

    return run(path)


__all__ = ["run_app"]
