"""A person's own handwritten digits on disk: what the Draw dock's "Add to my digits" keeps (Qt-free).

The folder is in the image-folder layout, so `playground finetune model.ckpt --images FOLDER` reads it as it is:

    <folder>/<label>/<id>.png        the 28×28 preprocessed digit (MNIST style: light ink on black), a readable PNG
    <folder>/.raw/<id>.png           the stroke image as drawn (hidden: the class-folder listing skips it)
    <folder>/index.json              id, label, created time and files of every digit

The files are the truth; the index adds what they cannot say (when each was drawn, the raw file). Every write is
atomic (written beside, then renamed). An index that is damaged, or disagrees with the files (a PNG deleted or
moved to another class folder by hand, one added), is repaired from the files when the store opens — never fatal.

The default folder is `<user data folder>/my-digits`: platformdirs' user data folder for "playground", or
$PLAYGROUND_USER_DATA_DIR when it is set (the tests set it to a temporary folder).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..files import atomic_write

USER_DATA_DIR_ENV = "PLAYGROUND_USER_DATA_DIR"
FOLDER_NAME = "my-digits"
INDEX = "index.json"
RAW = ".raw"
FORMAT = "playground-my-digits"
SIZE = 28
MAX_LABEL_CHARS = 64


def user_data_dir() -> Path:
    """Where the app keeps what a person made ($PLAYGROUND_USER_DATA_DIR overrides the platform's default)."""
    override = os.environ.get(USER_DATA_DIR_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("playground"))


def default_folder() -> Path:
    return user_data_dir() / FOLDER_NAME


@dataclass(frozen=True)
class DigitEntry:
    id: str
    label: str
    created: float  # seconds since the epoch
    file: str  # relative to the folder: "<label>/<id>.png"
    raw: str | None  # ".raw/<id>.png", None when there is none


def _png_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def _check_label(label) -> str:
    text = str(label).strip()
    if not text or text.startswith(".") or "/" in text or "\\" in text or len(text) > MAX_LABEL_CHARS:
        raise ValueError(f"not a usable class name for a folder: {label!r}")
    return text


class HandwritingStore:
    """The digits in `folder` (default: `default_folder()`); created on the first `add`."""

    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = Path(folder).expanduser() if folder is not None else default_folder()
        self._entries: dict[str, DigitEntry] = {}
        self.repaired = False  # whether opening found the index damaged or out of step with the files
        self.reload()

    # -- reading --------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the index and the files again; repair the index from the files where they disagree."""
        indexed = self._read_index()
        found = self._scan_files()
        entries: dict[str, DigitEntry] = {}
        for digit_id, (label, path) in found.items():
            known = indexed.get(digit_id)
            raw = self.folder / RAW / f"{digit_id}.png"
            raw_name = f"{RAW}/{digit_id}.png" if raw.is_file() else None
            if known is not None and known.label == label:
                created = known.created
            else:
                try:
                    created = path.stat().st_mtime
                except OSError:
                    created = 0.0
            entries[digit_id] = DigitEntry(digit_id, label, created, f"{label}/{path.name}", raw_name)
        self._entries = dict(sorted(entries.items(), key=lambda item: (item[1].created, item[0])))
        self.repaired = indexed != self._entries and bool(indexed or found)
        if self.repaired and self.folder.is_dir():
            with contextlib.suppress(OSError):  # a read-only folder: the listing in memory is still right
                self._write_index()

    def _read_index(self) -> dict[str, DigitEntry]:
        try:
            data = json.loads((self.folder / INDEX).read_text(encoding="utf-8"))
            rows = data["entries"]
            entries = {}
            for row in rows:
                entry = DigitEntry(str(row["id"]), str(row["label"]), float(row["created"]), str(row["file"]),
                                   None if row.get("raw") is None else str(row["raw"]))
                entries[entry.id] = entry
            return entries
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}  # missing or damaged: the files say what there is

    def _scan_files(self) -> dict[str, tuple[str, Path]]:
        """id -> (label, path) of every PNG in a class folder (hidden names skipped, like list_class_folder)."""
        found: dict[str, tuple[str, Path]] = {}
        if not self.folder.is_dir():
            return found
        try:
            classes = sorted(p for p in self.folder.iterdir() if not p.name.startswith(".")
                             and p.is_dir() and not p.is_symlink())
            for class_dir in classes:
                for path in sorted(class_dir.iterdir()):
                    if path.suffix.lower() == ".png" and not path.name.startswith(".") and path.is_file():
                        found.setdefault(path.stem, (class_dir.name, path))
        except OSError:
            pass
        return found

    def entries(self) -> list[DigitEntry]:
        """Every digit, oldest first."""
        return list(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def counts(self, classes: tuple[str, ...] | list[str] = tuple("0123456789")) -> dict[str, int]:
        """How many digits each class has (every class of `classes`, and any other label found)."""
        counts = {str(c): 0 for c in classes}
        for entry in self._entries.values():
            counts[entry.label] = counts.get(entry.label, 0) + 1
        return counts

    def path_of(self, digit_id: str) -> Path:
        return self.folder / self._entries[digit_id].file

    def image(self, digit_id: str) -> np.ndarray:
        """The 28×28 uint8 digit of one entry (read through the guarded reader)."""
        from .images import read_image
        from .preprocess import preprocess_digit

        image = read_image(self.path_of(digit_id))
        return image if image.shape == (SIZE, SIZE) else preprocess_digit(image)

    def arrays(self, classes: tuple[str, ...] | list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(uint8 [N, 28, 28], int64 [N]): the digits and their class numbers (the index of the label in
        `classes`, default "0".."9"). Digits whose label is no class, or whose file cannot be read, are left out."""
        _, images, labels = self.labelled(classes)
        return images, labels

    def labelled(self, classes: tuple[str, ...] | list[str] | None = None
                 ) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
        """`arrays` with the id of each digit in front: (ids, images, class numbers), oldest first."""
        from .errors import DatasetError

        classes = [str(c) for c in (classes if classes is not None else tuple("0123456789"))]
        number = {name: i for i, name in enumerate(classes)}
        ids, images, labels = [], [], []
        for entry in self._entries.values():
            if entry.label not in number:
                continue
            try:
                images.append(self.image(entry.id))
            except (DatasetError, OSError, ValueError):
                continue
            ids.append(entry.id)
            labels.append(number[entry.label])
        if not images:
            return (), np.zeros((0, SIZE, SIZE), dtype=np.uint8), np.zeros(0, dtype=np.int64)
        return tuple(ids), np.stack(images).astype(np.uint8), np.asarray(labels, dtype=np.int64)

    # -- writing --------------------------------------------------------------------------------
    def add(self, digit28: np.ndarray, raw: np.ndarray | None, label) -> str:
        """Store one digit (28×28 uint8, light ink on black) and its raw stroke image under `label`; its id."""
        digit = np.asarray(digit28)
        if digit.shape != (SIZE, SIZE):
            raise ValueError(f"a digit is {SIZE}×{SIZE}, not {'×'.join(map(str, digit.shape))}")
        if not np.any(digit):
            raise ValueError("the drawing is blank: draw a digit first")
        label = _check_label(label)
        digit_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        while digit_id in self._entries:
            digit_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        (self.folder / label).mkdir(parents=True, exist_ok=True)
        raw_name = None
        if raw is not None:
            raw = np.asarray(raw)
            if raw.ndim != 2 or raw.size == 0:
                raise ValueError("the raw stroke image must be a 2-D grayscale image")
            (self.folder / RAW).mkdir(exist_ok=True)
            raw_name = f"{RAW}/{digit_id}.png"
            atomic_write(self.folder / raw_name, _png_bytes(np.clip(raw, 0, 255)))
        file = f"{label}/{digit_id}.png"
        atomic_write(self.folder / file, _png_bytes(digit))
        self._entries[digit_id] = DigitEntry(digit_id, label, time.time(), file, raw_name)
        self._write_index()
        return digit_id

    def delete(self, digit_id: str) -> None:
        """Remove one digit (its PNG, its raw image, its index row). KeyError for an unknown id."""
        entry = self._entries.pop(digit_id)
        for name in (entry.file, entry.raw):
            if name:
                (self.folder / name).unlink(missing_ok=True)
        self._write_index()

    def _write_index(self) -> None:
        data = {"format": FORMAT, "version": 1, "entries": [asdict(e) for e in self._entries.values()]}
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write(self.folder / INDEX, json.dumps(data, indent=1).encode("utf-8"))
