"""A folder of images with one sub-folder per class: what is in it, before any image is read (no NumPy, no torch).

    root/cats/a.png, root/dogs/b.jpg, ...                 one sub-folder per class
    root/train/cats/..., root/test/cats/...              or already split (the same classes in both)

`list_class_folder(root)` finds the layout and lists every image file by class and split, in a stable order
(sorted by name), ignoring what is no image (by extension), hidden files, and symbolic links to folders (a link
loop can never make it walk for ever). Anything that makes the folder unusable is a DatasetError saying what
layout is expected, or naming the class that is empty or has fewer than MIN_PER_CLASS images. The image-folder
dataset and `playground finetune` both read their folders through it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DatasetError

# The image-folder dataset's name and the settings it may be asked for (folders.py loads it). Here, torch-free, for
# the readers that must not import torch: the Training panel, the graph's layer catalog.
FOLDER = "folder"  # the dataset's name (an Input node's dataset, a checkpoint's)
CHANNELS = ("auto", "gray", "rgb")
MIN_SIZE, LARGEST_SIZE = 4, 256  # the image sizes a folder may be asked for

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif"})
MIN_PER_CLASS = 2  # a class with fewer images can be neither learnt nor tested
MAX_CLASSES = 1000
MAX_FILES = 200_000
SPLITS = ("train", "test")

LAYOUT = ("one sub-folder per class holding its images (e.g. cats/ and dogs/, or 0/ … 9/), optionally inside "
          "train/ and test/")


@dataclass
class ClassFolder:
    """The image files of a class folder: `files[split][class]` (split "all" when the folder is not split)."""

    root: Path
    classes: tuple[str, ...]
    files: dict[str, dict[str, list[Path]]] = field(repr=False)
    split: bool  # True: the folder has train/ and test/ of its own

    def count(self, split: str | None = None) -> int:
        splits = [split] if split else list(self.files)
        return sum(len(paths) for s in splits for paths in self.files[s].values())

    def fingerprint(self) -> list[tuple[str, int, int]]:
        """(relative path, size, modification time in ns) of every file, in order: what a cache is keyed by."""
        rows = []
        for by_class in self.files.values():
            for name in self.classes:
                for path in by_class.get(name, []):
                    st = path.stat()
                    rows.append((str(path.relative_to(self.root)), st.st_size, st.st_mtime_ns))
        return rows


def _subfolders(folder: Path) -> list[Path]:
    """The sub-folders themselves (no links to folders, nothing hidden), sorted by name."""
    found = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False):
                found.append(Path(entry.path))
    return sorted(found, key=lambda p: p.name)


def _images(folder: Path, budget: list[int]) -> list[Path]:
    """The image files in a class folder and below it (links to files are followed, links to folders are not)."""
    found, stack = [], [folder]
    while stack:
        current = stack.pop()
        with os.scandir(current) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif Path(entry.name).suffix.lower() in IMAGE_EXTENSIONS and entry.is_file():
                    found.append(Path(entry.path))
                    budget[0] -= 1
                    if budget[0] < 0:
                        raise DatasetError(f"{folder.parent}: over {MAX_FILES:,} image files; Playground reads "
                                           f"folders of up to {MAX_FILES:,}")
    return sorted(found)


def list_class_folder(root: str | os.PathLike) -> ClassFolder:
    """The classes and image files of `root` (see the module doc); DatasetError in words when it is not usable."""
    root = Path(root).expanduser()
    if not root.exists():
        raise DatasetError(f"{root}: no such folder")
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder; an image folder holds {LAYOUT}")
    try:
        top = _subfolders(root)
        names = {p.name for p in top}
        budget = [MAX_FILES]
        if set(SPLITS) <= names:
            split_classes = {s: _subfolders(root / s) for s in SPLITS}
            classes = tuple(p.name for p in split_classes["train"])
            test_classes = tuple(p.name for p in split_classes["test"])
            if classes != test_classes:
                only = sorted(set(classes) ^ set(test_classes))
                raise DatasetError(f"{root}: train/ and test/ must hold the same classes; only one has "
                                   f"{', '.join(only)}")
            files = {s: {p.name: _images(p, budget) for p in split_classes[s]} for s in SPLITS}
            split = True
        else:
            classes = tuple(p.name for p in top)
            files = {"all": {p.name: _images(p, budget) for p in top}}
            split = False
    except OSError as exc:
        raise DatasetError(f"{root}: cannot read the folder ({exc.strerror or exc})") from None
    if not classes:
        raise DatasetError(f"{root}: no class sub-folders in it; an image folder holds {LAYOUT}")
    if len(classes) < 2:
        raise DatasetError(f"{root}: only one class ({classes[0]}); a classifier needs two or more sub-folders")
    if len(classes) > MAX_CLASSES:
        raise DatasetError(f"{root}: {len(classes):,} classes; Playground takes up to {MAX_CLASSES:,}")
    for name in classes:
        count = sum(len(by_class[name]) for by_class in files.values())
        if count == 0:
            raise DatasetError(f"{root}: the class {name} has no images (PNG, JPEG, BMP or GIF files)")
        if count < MIN_PER_CLASS:
            raise DatasetError(f"{root}: the class {name} has only {count} image; each class needs at least "
                               f"{MIN_PER_CLASS}")
    return ClassFolder(root, classes, files, split)
