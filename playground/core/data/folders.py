"""A folder of images, one sub-folder per class, as a Dataset ("folder"): decoded once, cached, held as uint8.

    dataset = load_image_folder("~/pictures/pets", size=None, channels="auto", test_share=0.2)
    print(dataset.source, dataset.skipped_summary)

- The layout and the file list come from `class_folders.list_class_folder` (a DatasetError in words when the
  folder is not usable); every file is read by `images.read_image`, the one guarded reader.
- Each image is centre-cropped to a square (the largest one in its middle: nothing is stretched, the edges of a
  long image are lost) and resized to size × size with `preprocess.resize` (area-averaged when shrinking).
  `size` None: the smallest side among the images, rounded down to a multiple of 4, at most 64.
- `channels` "auto": RGB (3×H×W) when any image has colour, else grayscale (1×H×W); "gray" or "rgb" forces it.
- A folder without train/ and test/ is split here, per class (stratified), seeded: the same folder, share and seed
  give the same split.
- A file that cannot be read (truncated, not an image, too large) is skipped and named in `Dataset.skipped`; a
  class left with fewer than two images is a DatasetError naming it.
- The decoded pixels (before the split) are cached under `cache_root()/folders/<key>.npz`, the key hashing the
  folder's fingerprint (every file's path, size and modification time) and the size and channels: a second load
  reads one file. A damaged cache file is ignored and rebuilt; writes are atomic (a temporary file, renamed).
- The normalization is the dataset's own: mean and standard deviation of its training pixels (one for all
  channels, as MNIST's).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from .catalog import Normalization
from .class_folders import CHANNELS, FOLDER, LARGEST_SIZE, MIN_PER_CLASS, MIN_SIZE, ClassFolder, list_class_folder
from .download import CancelFlag, Progress
from .errors import DatasetError, DownloadCancelled
from .images import ImageFileError, read_image
from .preprocess import _resample_matrix

MAX_SIZE = 64  # the automatic size's largest side
CACHE_VERSION = 1
COLOUR_TOLERANCE = 8  # channels differing by more than this anywhere: a colour image (JPEG noise stays below)
_GRAY = np.array([0.299, 0.587, 0.114])  # ITU-R 601 luma, as Pillow's convert("L")


def _workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))  # measured: tiny PNGs gain little from more


def auto_size(smallest_side: int) -> int:
    """The side of the square images when none is asked for: the smallest side, at most MAX_SIZE, down to a
    multiple of 4 (at least MIN_SIZE)."""
    side = min(MAX_SIZE, int(smallest_side))
    return max(MIN_SIZE, side - side % 4) if side >= MIN_SIZE else max(1, side)


def _header_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from the file's header, or None when it cannot even be opened (read_image says why later)."""
    try:
        from PIL import Image

        with Image.open(path) as img:
            return img.size
    except Exception:  # whatever it is, the guarded reader reports it in words
        return None


def _square(rgb: np.ndarray, size: int) -> np.ndarray:
    """uint8 [H, W, 3] -> uint8 [size, size, 3]: its centre square, resized."""
    h, w = rgb.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = rgb[top:top + side, left:left + side].astype(np.float32)
    if side != size:
        m = _resample_matrix(side, size).astype(np.float32)
        crop = np.einsum("ij,jkc,lk->ilc", m, crop, m, optimize=True)
    return np.clip(np.rint(crop), 0, 255).astype(np.uint8)


def square_image(image: np.ndarray, size: int, channels: int) -> np.ndarray:
    """One image as the folder dataset makes it: [channels, size, size] uint8 from a 2-D or [H, W, 3] array."""
    rgb = image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)
    out = _square(rgb, size)
    if channels == 1:
        return np.clip(np.rint(out.astype(np.float64) @ _GRAY), 0, 255).astype(np.uint8)[None]
    return np.ascontiguousarray(out.transpose(2, 0, 1))


def _decode(path: Path, size: int) -> tuple[np.ndarray | None, bool, str | None]:
    """(uint8 [size, size, 3], has colour, None) or (None, False, why it was skipped)."""
    try:
        rgb = read_image(path, color=True)
    except ImageFileError as exc:
        text = str(exc)
        why = text.split(": ", 1)[1] if text.startswith(f"{path}: ") else text
        return None, False, why
    out = _square(rgb, size)
    c = out.astype(np.int16)
    colour = bool(np.abs(c[:, :, 0] - c[:, :, 1]).max() > COLOUR_TOLERANCE
                  or np.abs(c[:, :, 1] - c[:, :, 2]).max() > COLOUR_TOLERANCE)
    return out, colour, None


def _short_reason(why: str) -> str:
    if "truncated" in why or "damaged" in why:
        return "truncated"
    if "not an image" in why:
        return "not an image"
    if "larger than" in why:
        return "too large"
    if "permission" in why:
        return "permission denied"
    return why


def skipped_summary(skipped: list[str], shown: int = 5) -> str:
    """'3 files skipped: a.png (truncated), b.jpg (not an image), …' ('' when none)."""
    if not skipped:
        return ""
    head = ", ".join(skipped[:shown]) + (", …" if len(skipped) > shown else "")
    return f"{len(skipped)} file{'s' if len(skipped) != 1 else ''} skipped: {head}"


# -- the cache ------------------------------------------------------------------------------------


def _cache_dir() -> Path:
    from .sources import cache_root

    return cache_root() / "folders"


def cache_key(listing: ClassFolder, size: int | None) -> str:
    """The folder's contents and the size asked for (the channels are chosen after the cache: a gray folder is
    cached gray, a colour one in RGB)."""
    blob = json.dumps({"v": CACHE_VERSION, "root": str(listing.root.resolve()), "classes": listing.classes,
                       "split": listing.split, "files": listing.fingerprint(), "size": size})
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _read_cache(path: Path, n_files: int) -> dict | None:
    """The cached arrays, or None when there are none or they are damaged (the caller rebuilds them)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            images, index, meta = z["images"], z["index"], json.loads(str(z["meta"]))
        if images.dtype != np.uint8 or images.ndim != 4 or index.ndim != 1 or len(index) != len(images) \
                or images.shape[1] not in (1, 3) or (len(index) and (index.min() < 0 or index.max() >= n_files)):
            return None
        return {"images": images, "index": index.astype(np.int64), "skipped": list(meta["skipped"]),
                "size": int(meta["size"])}
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, json.JSONDecodeError):
        return None


def _write_cache(path: Path, images: np.ndarray, index: np.ndarray, skipped: list[str], size: int) -> None:
    """Atomically (a temporary file renamed); a cache that cannot be written is only a slower next load."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, images=images, index=index, meta=np.array(json.dumps({"skipped": skipped,
                                                                                  "size": size})))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass


# -- loading --------------------------------------------------------------------------------------


def _decode_all(paths: list[Path], root: Path, size: int | None, progress: Progress | None,
                cancel: CancelFlag | None) -> tuple[np.ndarray, np.ndarray, list[str], int, bool]:
    """RGB uint8 [K, 3, S, S] of the readable files, their indices in `paths`, the skipped, the size S, and
    whether any has colour."""
    def check_cancel():
        if cancel is not None and cancel.is_set():
            raise DownloadCancelled("reading the image folder was cancelled")

    def say(done, message):
        if progress:
            progress(done, len(paths), message)

    with ThreadPoolExecutor(_workers()) as pool:  # Pillow and NumPy release the GIL while they work
        if size is None:
            say(0, f"Reading the sizes of {len(paths):,} images")
            sides = [min(s) for s in pool.map(_header_size, paths, chunksize=64) if s is not None and min(s) > 0]
            check_cancel()
            size = auto_size(min(sides) if sides else MAX_SIZE)
        images = np.zeros((len(paths), size, size, 3), dtype=np.uint8)
        colour = np.zeros(len(paths), dtype=bool)
        ok = np.zeros(len(paths), dtype=bool)
        skipped: list[str] = []
        for i, (image, has_colour, why) in enumerate(pool.map(lambda p: _decode(p, size), paths, chunksize=16)):
            if why is None:
                images[i], colour[i], ok[i] = image, has_colour, True
            else:
                skipped.append(f"{paths[i].relative_to(root)} ({_short_reason(why)})")
            done = i + 1
            if done % 256 == 0:
                check_cancel()
                say(done, f"Decoding images ({done:,} of {len(paths):,})")
    say(len(paths), f"Decoded {len(paths):,} images")
    index = np.flatnonzero(ok)
    kept = images[index]
    del images
    return np.ascontiguousarray(kept.transpose(0, 3, 1, 2)), index, skipped, size, bool(colour[index].any())


def _to_gray(rgb: np.ndarray) -> np.ndarray:
    """uint8 [N, 3, H, W] -> uint8 [N, 1, H, W] (luma)."""
    out = np.empty((rgb.shape[0], 1, *rgb.shape[2:]), dtype=np.uint8)
    for start in range(0, len(rgb), 1024):
        chunk = np.tensordot(rgb[start:start + 1024].astype(np.float32), _GRAY.astype(np.float32), axes=([1], [0]))
        out[start:start + 1024, 0] = np.clip(np.rint(chunk), 0, 255).astype(np.uint8)
    return out


def _split(labels: np.ndarray, test_share: float, seed: int, num_classes: int) -> np.ndarray:
    """A boolean mask of the test samples: `test_share` of each class (at least one, never all), seeded."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), dtype=bool)
    if test_share <= 0:
        return test
    for c in range(num_classes):
        members = np.flatnonzero(labels == c)
        n = len(members)
        k = min(n - 1, max(1, round(test_share * n)))
        test[rng.permutation(members)[:k]] = True
    return test


def check_settings(size: int | None, channels: str, test_share: float) -> None:
    if size is not None and not (isinstance(size, int) and not isinstance(size, bool)
                                 and MIN_SIZE <= size <= LARGEST_SIZE):
        raise DatasetError(f"image size: a whole number from {MIN_SIZE} to {LARGEST_SIZE}, or automatic "
                           f"(got {size!r})")
    if channels not in CHANNELS:
        raise DatasetError(f"channels: choose {', '.join(CHANNELS)} (got {channels!r})")
    if not (isinstance(test_share, int | float) and 0 < test_share <= 0.9):
        raise DatasetError(f"test share: between 0 and 0.9 (got {test_share!r})")


def load_image_folder(root: str | os.PathLike, size: int | None = None, channels: str = "auto",
                      test_share: float = 0.2, seed: int = 0, progress: Progress | None = None,
                      cancel: CancelFlag | None = None):
    """The image folder `root` as a Dataset named "folder" (see the module doc). Raises DatasetError in words;
    `progress(done, total, message)` hears about the decoding; `cancel.is_set()` stops it (DownloadCancelled)."""
    from .sources import Dataset

    check_settings(size, channels, test_share)
    listing = list_class_folder(root)
    root = listing.root
    splits = ["train", "test"] if listing.split else ["all"]
    paths, labels, split_of = [], [], []
    for s in splits:
        for c, name in enumerate(listing.classes):
            for p in listing.files[s].get(name, []):
                paths.append(p)
                labels.append(c)
                split_of.append(s)
    labels_all = np.asarray(labels, dtype=np.int64)
    split_all = np.asarray(split_of)

    key = cache_key(listing, size)
    cache_file = _cache_dir() / f"{key}.npz"
    cached = _read_cache(cache_file, len(paths))
    from_cache = cached is not None
    if cached is not None:
        if progress:
            progress(0, 0, f"Reading the cached images of {root}")
        images, index, skipped, size = cached["images"], cached["index"], cached["skipped"], cached["size"]
        colour = images.shape[1] == 3
    else:
        images, index, skipped, size, colour = _decode_all(paths, root, size, progress, cancel)
        if not colour:
            images = _to_gray(images)  # a gray folder is cached (and held) at a third of the size
        _write_cache(cache_file, images, index, skipped, size)
    rgb = channels == "rgb" or (channels == "auto" and colour)
    if rgb and images.shape[1] == 1:
        images = np.repeat(images, 3, axis=1)
    elif not rgb and images.shape[1] == 3:
        images = _to_gray(images)

    labels_kept, split_kept = labels_all[index], split_all[index]
    for c, name in enumerate(listing.classes):
        count = int((labels_kept == c).sum())
        if count < MIN_PER_CLASS:
            raise DatasetError(f"{root}: the class {name} has {count} readable image{'s' if count != 1 else ''} "
                               f"(each class needs at least {MIN_PER_CLASS}); {skipped_summary(skipped)}")
    if listing.split:
        test = split_kept == "test"
        for c, name in enumerate(listing.classes):
            if not ((labels_kept == c) & ~test).any():
                raise DatasetError(f"{root}: train/{name} has no readable images")
    else:
        test = _split(labels_kept, test_share, seed, len(listing.classes))
    train_x, test_x = images[~test], images[test]
    if len(train_x):
        mean = float(train_x.mean(dtype=np.float64)) / 255.0
        std = float(train_x.std(dtype=np.float64)) / 255.0
    else:
        mean, std = 0.5, 0.5
    norm = Normalization(round(mean, 6), round(max(std, 1e-3), 6))
    c_word = "RGB" if rgb else "grayscale"
    how = "its own train/ and test/" if listing.split else f"a seeded {test_share:.0%} test share per class"
    source = (f"image folder {root}: {len(listing.classes)} classes, {len(train_x):,} training and "
              f"{len(test_x):,} test images ({how}), {c_word} {size}×{size}"
              + (", from the cache" if from_cache else "")
              + (f"; {skipped_summary(skipped)}" if skipped else ""))
    dataset = Dataset(FOLDER, source,
                      torch.from_numpy(np.ascontiguousarray(train_x)), torch.from_numpy(labels_kept[~test]),
                      torch.from_numpy(np.ascontiguousarray(test_x)), torch.from_numpy(labels_kept[test]),
                      classes=tuple(listing.classes), own_normalization=norm, skipped=list(skipped),
                      folder=str(root))
    return dataset


def is_finite_normalization(value) -> bool:
    """A checkpoint's stored {"mean", "std"} (of a folder dataset) is usable."""
    return (isinstance(value, dict) and all(isinstance(value.get(k), int | float) and not isinstance(value.get(k), bool)
                                            and math.isfinite(value[k]) for k in ("mean", "std"))
            and value["std"] > 0)


def folder_fit_changes(graph, sample_shape, num_classes: int) -> list[tuple[str, str, object]]:
    """What makes `graph` take an image folder's images and end in its class count, as (node id, parameter,
    value) edits, only those that change something: the Input's dataset ("folder") and shape (C, H, W), and
    the units of each Dense that feeds an Output. [] when the graph fits already (or has no single Input)."""
    changes: list[tuple[str, str, object]] = []
    inputs = graph.nodes_of_kind("input")
    if len(inputs) != 1:
        return changes
    (input_node,) = inputs
    if input_node.params.get("dataset") != FOLDER:
        changes.append((input_node.id, "dataset", FOLDER))
    if list(input_node.params.get("shape") or []) != list(sample_shape):
        changes.append((input_node.id, "shape", list(sample_shape)))
    for output in graph.nodes_of_kind("output"):
        for edge in graph.inputs_of(output.id):
            last = graph.nodes[edge.source]
            if last.kind == "dense" and last.params.get("units") != num_classes:
                changes.append((last.id, "units", int(num_classes)))
    return changes
