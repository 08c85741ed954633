"""Where the app keeps settings, recent files and autosaves.

Everything lives in one folder: the `folder` argument, else
`$PLAYGROUND_SETTINGS_DIR`, else the platform's per-user config folder (and the
per-user state folder for autosaves). Tests point it at a temporary folder so
they never touch the user's real configuration.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

ENV_VAR = "PLAYGROUND_SETTINGS_DIR"
MAX_RECENT = 10


class AppSettings:
    def __init__(self, folder: str | os.PathLike | None = None):
        folder = folder or os.environ.get(ENV_VAR)
        if folder:
            self.folder = Path(folder)
            self.autosave_dir = self.folder / "autosave"
        else:
            import platformdirs

            self.folder = Path(platformdirs.user_config_dir("playground", appauthor=False))
            self.autosave_dir = Path(platformdirs.user_state_dir("playground", appauthor=False)) / "autosave"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.qsettings = QSettings(str(self.folder / "playground.ini"), QSettings.Format.IniFormat)

    # -- window ---------------------------------------------------------------------------
    def window_geometry(self) -> QByteArray | None:
        return self._bytes("window/geometry")

    def window_state(self) -> QByteArray | None:
        return self._bytes("window/state")

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self.qsettings.setValue("window/geometry", geometry)
        self.qsettings.setValue("window/state", state)
        self.qsettings.sync()

    def _bytes(self, key: str) -> QByteArray | None:
        value = self.qsettings.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    # -- files ----------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        value = self.qsettings.value("files/recent", [])
        if isinstance(value, str):  # QSettings returns a one-item list as a plain string
            value = [value]
        return [str(v) for v in value or [] if v]

    def set_recent_files(self, paths: list[str]) -> None:
        self.qsettings.setValue("files/recent", list(paths[:MAX_RECENT]))
        self.qsettings.sync()

    def add_recent_file(self, path: str) -> None:
        path = str(Path(path).resolve())
        self.set_recent_files([path] + [p for p in self.recent_files() if p != path])

    def remove_recent_files(self, paths: list[str]) -> None:
        gone = set(paths)
        self.set_recent_files([p for p in self.recent_files() if p not in gone])

    def last_folder(self) -> str:
        value = self.qsettings.value("files/last_folder", "")
        return str(value) if value and Path(str(value)).is_dir() else str(Path.home())

    def set_last_folder(self, folder: str) -> None:
        self.qsettings.setValue("files/last_folder", folder)
