"""Where shipped data lives: `resources/` next to the package in a source checkout,
or `playground/resources/` inside an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def resources_dir() -> Path:
    for candidate in (_PACKAGE / "resources", _PACKAGE.parent / "resources"):
        if (candidate / "presets").is_dir():
            return candidate
    raise FileNotFoundError("Playground's resources folder is missing; reinstall the package")


def preset_path(name: str) -> Path:
    return resources_dir() / "presets" / f"{name}.json"


def preset_names() -> list[str]:
    return sorted(p.stem for p in (resources_dir() / "presets").glob("*.json"))
