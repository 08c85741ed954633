"""How documents are named in the title bar and in dialogs (no Qt, no torch)."""

from __future__ import annotations

from pathlib import Path

APP_NAME = "Playground"
DEFAULT_PRESET = "mnist-cnn"


def display_name(path: str | None, preset: str | None = None) -> str:
    if path:
        return Path(path).name
    if preset:
        return f"{preset} (preset)"
    return "Untitled"


def window_title(name: str) -> str:
    """Qt replaces `[*]` with `*` while the window is marked modified."""
    return f"{APP_NAME} — {name}[*]"
