"""Reading the IDX format of MNIST and Fashion-MNIST (gzip-compressed or not).

The header is trusted for nothing it can be checked against: the number of
items and the dimensions come from it, and the file size must then match them
exactly. Every failure raises DatasetError naming the file.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from .errors import DatasetError

IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions (count, rows, columns)
LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension (count)
GZIP_MAGIC = b"\x1f\x8b"
MAX_BYTES = 1 << 30  # far above MNIST's 47 MB; protects against a decompression bomb


def _read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            compressed = f.read(2) == GZIP_MAGIC  # by content, not by name
        opener = gzip.open if compressed else open
        with opener(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DatasetError(f"{path}: the gzip data is truncated or corrupt ({exc})") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if len(data) > MAX_BYTES:
        raise DatasetError(f"{path}: larger than {MAX_BYTES >> 20} MiB, not an MNIST-style IDX file")
    return data


def read_idx(path: str | os.PathLike, magic: int) -> np.ndarray:
    """An IDX file of unsigned bytes as a read-only uint8 array shaped as its header says.

    `magic` is IMAGES_MAGIC (-> [N, rows, cols]) or LABELS_MAGIC (-> [N]).
    """
    path = Path(path)
    data = _read_bytes(path)
    ndim = magic & 0xFF
    header_size = 4 + 4 * ndim
    kind = "image" if magic == IMAGES_MAGIC else "label"
    if len(data) < 4:
        raise DatasetError(f"{path}: too short to be an IDX file ({len(data)} bytes)")
    (found,) = struct.unpack(">I", data[:4])
    if found != magic:
        other = {IMAGES_MAGIC: "an image file", LABELS_MAGIC: "a label file"}.get(found)
        what = f"it is {other}" if other else "not an IDX file of unsigned bytes"
        raise DatasetError(f"{path}: expected an IDX {kind} file (magic number {magic}) but found {found}; {what}")
    if len(data) < header_size:
        raise DatasetError(f"{path}: truncated IDX header ({len(data)} of {header_size} bytes)")
    dims = struct.unpack(f">{ndim}I", data[4:header_size])
    expected = header_size + int(np.prod(dims, dtype=np.int64))
    if len(data) != expected:
        problem = "truncated" if len(data) < expected else "has unexpected extra data"
        raise DatasetError(f"{path}: {problem}: the header announces {dims[0]:,} {kind}s "
                           f"({expected:,} bytes) but the file holds {len(data):,} bytes")
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(dims)


def read_images(path: str | os.PathLike, shape: tuple[int, int] | None = (28, 28)) -> np.ndarray:
    """IDX images as uint8 [N, rows, cols]; `shape` (if given) is what rows×cols must be."""
    images = read_idx(path, IMAGES_MAGIC)
    if shape is not None and images.shape[1:] != tuple(shape):
        raise DatasetError(f"{path}: images are {images.shape[1]}×{images.shape[2]} pixels, "
                           f"expected {shape[0]}×{shape[1]}")
    return images


def read_labels(path: str | os.PathLike, num_classes: int | None = 10) -> np.ndarray:
    """IDX labels as uint8 [N]; each must be below `num_classes` (if given)."""
    labels = read_idx(path, LABELS_MAGIC)
    if num_classes is not None and labels.size and int(labels.max()) >= num_classes:
        raise DatasetError(f"{path}: label {int(labels.max())} is out of range for {num_classes} classes")
    return labels


def read_pair(images_path: str | os.PathLike, labels_path: str | os.PathLike,
              shape: tuple[int, int] | None = (28, 28), num_classes: int | None = 10) -> tuple[np.ndarray, np.ndarray]:
    """Images and their labels, checked to be the same count."""
    images = read_images(images_path, shape)
    labels = read_labels(labels_path, num_classes)
    if len(images) != len(labels):
        raise DatasetError(f"{images_path} holds {len(images):,} images but {labels_path} holds "
                           f"{len(labels):,} labels; the two files do not belong together")
    return images, labels
