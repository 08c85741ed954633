"""The presets' names and descriptions, read without loading the core (so without torch)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..core.resources import preset_names, preset_path


@dataclass(frozen=True)
class PresetInfo:
    stem: str  # what `preset:NAME` and the title bar use
    title: str
    description: str


def preset_infos() -> list[PresetInfo]:
    infos = []
    for stem in preset_names():
        try:
            data = json.loads(preset_path(stem).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        infos.append(PresetInfo(stem, str(data.get("name") or stem), str(data.get("description") or "")))
    return infos
