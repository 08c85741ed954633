"""Where a dataset would come from (found without loading it) and its opt-in download, both off the GUI thread.

`locate_dataset` answers "what would training use?" the way `core.data.load_dataset`
would — an explicit folder ($PLAYGROUND_DATA_DIR), then the cache — but only
looks at file names (and the first test labels, which tell MNIST from
Fashion-MNIST), so it takes milliseconds and never touches the network.

`DatasetProbe` runs it on a short-lived Python thread; `DatasetDownload` runs
`load_dataset(..., allow_download=True)` on another, with a `threading.Event` to
cancel it; `TestSetLoader` loads the test split a run would use (for the canvas's
test digits and for evaluating weights loaded from a file, with no run). All emit
their results as queued Qt signals and never touch a widget.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from ...core import data as core_data
from ...core.data import (
    IDX_FILES,
    DatasetError,
    DownloadCancelled,
    dataset_cache_dir,
    find_files,
    get_spec,
    requested_data_dir,
    search_folder,
)
from ...core.run.messages import arrays_of_test_split

# The sizes of the official gzip files. Their checksums are pinned in the catalog, so their sizes are fixed too:
# they give the download's total before the first byte arrives ("3.2 of 11.6 MB").
EXPECTED_BYTES: dict[str, dict[str, int]] = {
    "mnist": {
        "train-images-idx3-ubyte": 9_912_422,
        "train-labels-idx1-ubyte": 28_881,
        "t10k-images-idx3-ubyte": 1_648_877,
        "t10k-labels-idx1-ubyte": 4_542,
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": 26_421_880,
        "train-labels-idx1-ubyte": 29_515,
        "t10k-images-idx3-ubyte": 4_422_102,
        "t10k-labels-idx1-ubyte": 5_148,
    },
}

SAMPLE_SUMMARY = "the offline sample: 5,000 MNIST digits (4,000 to train, 1,000 to test), always available"
PROGRESS_INTERVAL = 0.05  # seconds between two progress signals of a download (the last one always goes out)


@dataclass(frozen=True)
class DatasetLocation:
    """Where `load_dataset(name)` would read the dataset from, in words, without loading it."""

    name: str
    kind: str  # "folder" | "cache" | "sample" | "missing" | "error"
    message: str  # one line for a person: "MNIST from folder /data/mnist"
    folder: Path | None = None
    detail: str = ""  # where it looked, for a tooltip
    download_bytes: int = 0  # what a download would fetch ("missing" only; 0 when unknown)

    @property
    def found(self) -> bool:
        return self.kind in ("folder", "cache", "sample")


def locate_dataset(name: str, data_dir: str | os.PathLike | None = None) -> DatasetLocation:
    """What `core.data.load_dataset(name, data_dir)` would use, found from file names alone.

    The same order as the core: `data_dir` (else $PLAYGROUND_DATA_DIR) and its
    dataset subfolders, then the cache. Never raises for a missing dataset:
    "missing" and "error" are answers too.
    """
    spec = get_spec(name)
    if name == "mnist-sample":
        return DatasetLocation(name, "sample", SAMPLE_SUMMARY[0].upper() + SAMPLE_SUMMARY[1:])
    looked: list[str] = []
    try:
        if (asked := requested_data_dir(data_dir)) is not None:
            folder, what = asked
            if not folder.is_dir():
                return DatasetLocation(name, "error", f"{what} {folder}: no such folder", folder)
            if (hit := search_folder(folder, spec, looked, f"folder ({what})")) is not None:
                return DatasetLocation(name, "folder", f"{spec.title} from folder {hit[0]}", hit[0])
        cache = dataset_cache_dir(name)
        files, missing = find_files(cache)
        if not missing:
            return DatasetLocation(name, "cache", f"{spec.title} from the cache {cache}", cache)
        looked.append(f"cache {cache}: " + (f"lacks {', '.join(missing)}" if files else "nothing there"))
    except DatasetError as exc:  # a label file that cannot be read: training would stop with this error
        return DatasetLocation(name, "error", str(exc))
    except OSError as exc:  # an unreadable folder
        return DatasetLocation(name, "error", f"cannot look for {spec.title}: {exc}")
    sizes = EXPECTED_BYTES.get(name, {})
    return DatasetLocation(name, "missing", f"{spec.title} is not on this computer",
                           detail="Looked in:\n" + "\n".join(f"  - {s}" for s in looked),
                           download_bytes=sum(sizes.get(base, 0) for base in missing))


def _emit(sender: QObject, name: str, *args) -> None:
    """Emit `sender.<name>` from a worker thread; the QObject may be gone when the app is closing."""
    with contextlib.suppress(RuntimeError):  # "Internal C++ object already deleted"
        getattr(sender, name).emit(*args)


class _ShortThreads(QObject):
    """A QObject whose work runs on short-lived daemon threads, kept so that `shutdown` can wait for them."""

    SHUTDOWN_TIMEOUT: float  # seconds `shutdown` waits at most, all threads together (set by each kind)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._threads: list[threading.Thread] = []

    def _start(self, target, args: tuple, name: str) -> None:
        self._threads = [t for t in self._threads if t.is_alive()]
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def is_running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def shutdown(self, timeout: float | None = None) -> None:
        """Wait for the threads under way, `SHUTDOWN_TIMEOUT` seconds at most (None); daemon threads, so a stuck
        one cannot hold the app open."""
        deadline = time.monotonic() + (self.SHUTDOWN_TIMEOUT if timeout is None else timeout)
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]


class DatasetProbe(_ShortThreads):
    """Runs `locate_dataset` on a short-lived thread; `located(token, DatasetLocation)` comes back queued.

    The token is the caller's: it lets a panel ignore the answer to a question it no longer asks.
    """

    located = Signal(int, object)
    SHUTDOWN_TIMEOUT = 5.0  # a probe only looks at a few files

    def probe(self, token: int, name: str, data_dir: str | os.PathLike | None = None) -> None:
        self._start(self._run, (token, name, data_dir), f"dataset-probe-{name}")

    def _run(self, token: int, name: str, data_dir) -> None:
        try:
            location = locate_dataset(name, data_dir)
        except Exception as exc:  # a probe must answer, whatever went wrong
            location = DatasetLocation(name, "error", f"cannot look for {name}: {exc}")
        _emit(self, "located", token, location)


@dataclass(frozen=True)
class TestSet:
    """A dataset's test split, as a run on that dataset would use it."""
    name: str  # the dataset loaded: the offline sample when the one asked for is not on this computer
    images: np.ndarray = field(repr=False)  # uint8 [N, 28, 28]
    labels: np.ndarray = field(repr=False)  # int64 [N]
    classes: tuple[str, ...]


class TestSetLoader(_ShortThreads):
    """Loads a test split on a short-lived thread, the way a run would (`load_dataset` with the offline sample
    standing in for a dataset that is not here; never a download). `loaded(token, TestSet)` or
    `failed(token, message)` comes back queued; the token lets the caller drop answers it no longer wants."""

    loaded = Signal(int, object)
    failed = Signal(int, str)
    SHUTDOWN_TIMEOUT = 10.0  # a load takes a few hundred ms

    def load(self, token: int, name: str) -> None:
        self._start(self._run, (token, name), f"test-set-{name}")

    def _run(self, token: int, name: str) -> None:
        try:
            dataset = core_data.load_dataset(name, fallback_to_sample=True)
            images, labels = arrays_of_test_split(dataset)
            test_set = TestSet(name=dataset.name, images=images, labels=labels, classes=tuple(dataset.classes))
        except (DatasetError, ValueError, OSError) as exc:
            _emit(self, "failed", token, f"Could not load the test set of {name}: {exc}")
            return
        _emit(self, "loaded", token, test_set)


_FILE_INDEX = re.compile(r"\((\d+)/(\d+)\)$")


class _Totals:
    """Turns the core's per-file progress into bytes over the whole download.

    The core reports each file with "(i/n)" at the end of its message; the files
    come in IDX_FILES order, skipping those already in the cache.
    """

    def __init__(self, name: str):
        sizes = EXPECTED_BYTES.get(name, {})
        _, missing = find_files(dataset_cache_dir(name))
        self.expected = [sizes.get(base, 0) for base in IDX_FILES.values() if base in missing]
        self.actual: dict[int, int] = {}  # file index -> its real size, once the server said

    def __call__(self, done: int, total: int, message: str) -> tuple[int, int]:
        match = _FILE_INDEX.search(message)
        if not match or int(match.group(2)) != len(self.expected) or not all(self.expected):
            return done, total  # not a download message we understand: pass it through
        i = int(match.group(1)) - 1
        if total:
            self.actual[i] = total
        size = [self.actual.get(k, e) for k, e in enumerate(self.expected)]
        return sum(size[:i]) + done, sum(size)


class DatasetDownload(QObject):
    """Downloads a dataset into the cache on a Python thread; only ever started by a person's click.

    progress(done, total, message): bytes over all the files (total 0 while it reads the files after).
    Exactly one of finished(source), failed(message) or cancelled() ends it.
    """

    progress = Signal(int, int, str)
    finished = Signal(str)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, name: str, data_dir: str | os.PathLike | None = None, parent=None):
        super().__init__(parent)
        get_spec(name)  # an unknown name is the caller's mistake: raise here, not in the thread
        self.name = name
        self.data_dir = data_dir
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("a DatasetDownload runs once; make a new one")
        self._thread = threading.Thread(target=self._run, name=f"dataset-download-{self.name}", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        """Ask the download to stop; `cancelled` follows (the partial file is kept to resume later)."""
        self._cancel.set()

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Cancel and wait for the thread; True when it has ended."""
        self._cancel.set()
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.is_running()

    def _run(self) -> None:
        last = [0.0, ""]

        def progress(done: int, total: int, message: str) -> None:
            if total or done:
                done, total = totals(done, total, message)
            now = time.monotonic()
            if message != last[1] or now - last[0] >= PROGRESS_INTERVAL or (total and done >= total):
                last[:] = [now, message]
                _emit(self, "progress", int(done), int(total), message)

        try:
            totals = _Totals(self.name)
            dataset = core_data.load_dataset(self.name, self.data_dir, allow_download=True,
                                             progress=progress, cancel=self._cancel)
        except DownloadCancelled:
            _emit(self, "cancelled")
        except Exception as exc:  # the panel must stay usable, whatever went wrong
            if self._cancel.is_set():
                _emit(self, "cancelled")
            else:
                _emit(self, "failed", str(exc) if isinstance(exc, DatasetError) else f"{type(exc).__name__}: {exc}")
        else:
            _emit(self, "finished", dataset.source)


@dataclass(frozen=True)
class FolderSummary:
    """What an image folder holds, as loaded with some settings (what the source line says of it)."""
    folder: str
    settings: tuple  # (folder, size, channels, test share): what was asked for
    classes: tuple[str, ...]
    sample_shape: tuple[int, int, int]  # (C, H, W)
    train: int
    test: int
    skipped: str  # "3 files skipped: a.png (truncated), …" or ""

    @property
    def num_classes(self) -> int:
        return len(self.classes)


class FolderLoad(_ShortThreads):
    """Loads an image folder (`load_image_folder`) on a short-lived thread, cancellable. Queued signals, each with
    the caller's token: progress(token, done, total, message), then one of loaded(token, FolderSummary),
    failed(token, message) or cancelled(token)."""

    progress = Signal(int, int, int, str)
    loaded = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)
    SHUTDOWN_TIMEOUT = 5.0  # cancelled first: decoding stops within a chunk of images

    def __init__(self, parent=None):
        super().__init__(parent)
        self._cancel = threading.Event()

    def load(self, token: int, folder: str, size: int | None, channels: str, test_share: float) -> None:
        self._cancel.set()  # an older load under way stops
        self._cancel = threading.Event()
        self._start(self._run, (token, folder, size, channels, test_share, self._cancel), f"image-folder-{token}")

    def cancel(self) -> None:
        self._cancel.set()

    def shutdown(self, timeout: float | None = None) -> None:
        self._cancel.set()
        super().shutdown(timeout)

    def _run(self, token: int, folder: str, size, channels: str, test_share: float, cancel) -> None:
        from ...core.data.folders import load_image_folder

        last = [0.0]

        def progress(done: int, total: int, message: str) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_INTERVAL or (total and done >= total):
                last[0] = now
                _emit(self, "progress", token, int(done), int(total), message)

        try:
            dataset = load_image_folder(folder, size=size, channels=channels, test_share=test_share,
                                        progress=progress, cancel=cancel)
        except DownloadCancelled:
            _emit(self, "cancelled", token)
            return
        except Exception as exc:  # the panel must stay usable, whatever went wrong
            if cancel.is_set():
                _emit(self, "cancelled", token)
            else:
                _emit(self, "failed", token, str(exc) if isinstance(exc, DatasetError)
                      else f"{type(exc).__name__}: {exc}")
            return
        if cancel.is_set():
            _emit(self, "cancelled", token)
            return
        _emit(self, "loaded", token, FolderSummary(
            folder=str(folder), settings=(folder, size, channels, test_share), classes=tuple(dataset.classes),
            sample_shape=tuple(int(v) for v in dataset.sample_shape), train=len(dataset.train_labels),
            test=len(dataset.test_labels), skipped=dataset.skipped_summary))
