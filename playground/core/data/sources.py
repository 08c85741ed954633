"""Finding a dataset: an explicit folder, then the user's cache, then (opt-in) a download into the cache.

`load_dataset` is the single entry point. Nothing touches the network unless
`allow_download=True`. Which source was used is always said in `Dataset.source`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import torch

from . import idx, sample
from .catalog import IDX_FILES, SPECS, DatasetSpec, Normalization, get_spec
from .download import DEFAULT_TIMEOUT, CancelFlag, Progress, download_file
from .errors import DatasetError, DatasetNotFound

DATA_DIR_ENV = "PLAYGROUND_DATA_DIR"
CACHE_DIR_ENV = "PLAYGROUND_CACHE_DIR"


@dataclass
class Dataset:
    name: str  # "mnist" | "fashion-mnist" | "mnist-sample" | "folder" (an image folder, core/data/folders.py)
    source: str  # where it came from, in words, e.g. "MNIST from folder /data/mnist"
    train_images: torch.Tensor  # uint8 [N, 1, 28, 28] (a folder: [N, C, S, S]), CPU
    train_labels: torch.Tensor  # int64 [N]
    test_images: torch.Tensor  # uint8 [M, 1, 28, 28]
    test_labels: torch.Tensor  # int64 [M]
    classes: tuple[str, ...]
    fallback_from: str | None = None  # the dataset asked for, when this is the offline sample standing in for it
    fallback_reason: str | None = None  # and the full message of why it was not found
    own_normalization: Normalization | None = None  # a dataset that is not in the catalog (an image folder)
    skipped: list[str] = field(default_factory=list)  # "file (why)" of each file that could not be read
    folder: str | None = None  # an image folder's path

    @property
    def spec(self) -> DatasetSpec:
        return get_spec(self.name)

    @property
    def normalization(self) -> Normalization:
        return self.own_normalization if self.own_normalization is not None else self.spec.normalization

    @property
    def skipped_summary(self) -> str:
        """'3 files skipped: a.png (truncated), b.jpg (not an image), …' ('' when none)."""
        from .folders import skipped_summary

        return skipped_summary(self.skipped)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.train_images.shape[1:])

    def split(self, which: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(images, labels) of "train" or "test"."""
        if which not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', not {which!r}")
        return getattr(self, f"{which}_images"), getattr(self, f"{which}_labels")

    def on_device(self, which: str, device: str | torch.device):
        """The split resident on `device`, served in normalized batches (a DeviceData)."""
        from .device import DeviceData

        return DeviceData.from_dataset(self, which, device)


def cache_root() -> Path:
    """The user's cache folder for the app ($PLAYGROUND_CACHE_DIR overrides the platform's default)."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("playground"))


def dataset_cache_dir(name: str) -> Path:
    return cache_root() / "datasets" / name


def _file_variants(base: str) -> list[str]:
    # As distributed (.gz), unpacked, and the dotted spelling some re-distributions use.
    dotted = base.replace("-idx", ".idx")
    return [f"{base}.gz", base, f"{dotted}.gz", dotted]


def find_files(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """The IDX files in `folder`, by role (see IDX_FILES), and the base names of those missing."""
    found, missing = {}, []
    for role, base in IDX_FILES.items():
        path = next((folder / v for v in _file_variants(base) if (folder / v).is_file()), None)
        if path is None:
            missing.append(base)
        else:
            found[role] = path
    return found, missing


def _candidate_folders(folder: Path, spec: DatasetSpec) -> list[Path]:
    return [folder / alias for alias in spec.folder_aliases] + [folder]


def _identify(files: dict[str, Path], spec: DatasetSpec) -> str | None:
    """The name of the *other* dataset these files hold, told apart by their first test labels."""
    labels = idx.read_labels(files["test_labels"], spec.num_classes)
    head = tuple(int(v) for v in labels[:16])
    for other in SPECS.values():
        if other.name != spec.name and other.test_label_fingerprint and len(head) == 16 \
                and head == other.test_label_fingerprint and head != spec.test_label_fingerprint:
            return other.name
    return None


def requested_data_dir(data_dir: str | os.PathLike | None) -> tuple[Path, str] | None:
    """The folder asked for and what asked for it: `data_dir` ("--data-dir"), else $PLAYGROUND_DATA_DIR."""
    if data_dir is not None:
        return Path(data_dir).expanduser(), "--data-dir"
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser(), DATA_DIR_ENV
    return None


def search_folder(folder: Path, spec: DatasetSpec, looked: list[str], what: str
                  ) -> tuple[Path, dict[str, Path]] | None:
    """The first candidate folder under `folder` (itself, or its mnist/ or fashion-mnist/ subfolder) holding
    all four files of `spec`'s dataset, from file names and the first test labels only (no images read);
    notes every miss in `looked`. The app's Training panel uses it to say where data would come from."""
    notes = []
    for candidate in _candidate_folders(folder, spec):
        if not candidate.is_dir():
            continue
        files, missing = find_files(candidate)
        if missing and files:
            notes.append(f"{candidate} lacks {', '.join(missing)}")
        elif not missing:
            other = _identify(files, spec)
            if other is None:
                return candidate, files
            notes.append(f"{candidate} holds {get_spec(other).title}, not {spec.title}")
    looked.append(f"{what} {folder}: " + ("; ".join(notes) if notes else "no IDX files there"))
    return None


def _load_files(files: dict[str, Path], spec: DatasetSpec) -> tuple[torch.Tensor, ...]:
    arrays = []
    for split in ("train", "test"):
        images, labels = idx.read_pair(files[f"{split}_images"], files[f"{split}_labels"], (28, 28), spec.num_classes)
        arrays += [torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))]
    return tuple(arrays)


def _download(spec: DatasetSpec, folder: Path, mirrors: Sequence[str], checksums: dict[str, str],
              progress: Progress | None, cancel: CancelFlag | None, timeout: float) -> str:
    """Download the files `folder` lacks; returns the mirrors used, in words."""
    _, missing = find_files(folder)
    used = set()
    for i, base in enumerate(missing, 1):
        name = f"{base}.gz"
        urls = [m.rstrip("/") + "/" + name for m in mirrors]

        def report(done, total, message, i=i):
            if progress:
                progress(done, total, f"{message} ({i}/{len(missing)})")

        url = download_file(urls, folder / name, checksums[base], timeout=timeout, progress=report, cancel=cancel)
        used.add(urlsplit(url).netloc or url)
    return ", ".join(sorted(used))


def _how_to_fix(spec: DatasetSpec) -> str:
    folders = ", ".join(f"{a}/" for a in spec.folder_aliases[:1])
    return (f"To fix it, do one of these:\n"
            f"  - pass --data-dir FOLDER (or set {DATA_DIR_ENV}=FOLDER), where FOLDER (or its {folders} subfolder) "
            f"holds the four IDX files {', '.join(b + '.gz' for b in IDX_FILES.values())} (gzip or not);\n"
            f"  - allow the download (about {'30' if spec.name == 'fashion-mnist' else '11'} MB) into "
            f"{dataset_cache_dir(spec.name)};\n"
            f"  - or use the offline sample, mnist-sample.")


def _locate_and_load(spec: DatasetSpec, data_dir: str | os.PathLike | None, allow_download: bool,
                    progress: Progress | None, cancel: CancelFlag | None, mirrors: Sequence[str] | None,
                    checksums: dict[str, str] | None, timeout: float) -> Dataset:
    looked: list[str] = []

    def say(message: str) -> None:
        if progress:
            progress(0, 0, message)

    def make(source: str, files: dict[str, Path]) -> Dataset:
        say(f"Reading {source}")
        arrays = _load_files(files, spec)
        return Dataset(spec.name, source, *arrays, classes=spec.classes)

    # 1. An explicit folder.
    if (asked := requested_data_dir(data_dir)) is not None:
        folder, what = asked
        if not folder.is_dir():
            raise DatasetError(f"{what} {folder}: no such folder")
        if (hit := search_folder(folder, spec, looked, f"folder ({what})")) is not None:
            return make(f"{spec.title} from folder {hit[0]}", hit[1])

    # 2. The cache.
    cache = dataset_cache_dir(spec.name)
    files, missing = find_files(cache)
    if not missing:
        return make(f"{spec.title} from cache {cache}", files)
    looked.append(f"cache {cache}: " + (f"lacks {', '.join(missing)}" if files else "nothing there"))

    # 3. A download into the cache.
    if not allow_download:
        raise DatasetNotFound(f"{spec.title} was not found, and downloading is off. Looked in:\n"
                              + "\n".join(f"  - {s}" for s in looked) + "\n" + _how_to_fix(spec))
    mirrors = tuple(spec.mirrors if mirrors is None else mirrors)
    checksums = dict(spec.checksums if checksums is None else checksums)
    cache.mkdir(parents=True, exist_ok=True)
    try:
        used = _download(spec, cache, mirrors, checksums, progress, cancel, timeout)
    except DatasetError as exc:
        raise DatasetNotFound(f"{spec.title} was not found and the download failed: {exc}\nLooked in:\n"
                              + "\n".join(f"  - {s}" for s in looked) + "\n" + _how_to_fix(spec)) from None
    files, _ = find_files(cache)
    return make(f"{spec.title} downloaded to {cache} (from {used})", files)


def load_sample_dataset() -> Dataset:
    train_x, train_y, test_x, test_y = sample.load_sample()
    return Dataset("mnist-sample", sample.SOURCE,
                   torch.from_numpy(train_x).unsqueeze(1), torch.from_numpy(train_y),
                   torch.from_numpy(test_x).unsqueeze(1), torch.from_numpy(test_y),
                   classes=SPECS["mnist-sample"].classes)


def folder_options(config) -> dict:
    """The image-folder settings of a TrainConfig as `load_dataset`'s keywords (the one place that maps them)."""
    return {"image_size": getattr(config, "folder_size", None), "channels": getattr(config, "folder_channels", "auto"),
            "test_share": getattr(config, "folder_test_share", 0.2)}


def load_dataset(name: str = "mnist", data_dir: str | os.PathLike | None = None, allow_download: bool = False,
                 progress: Progress | None = None, cancel: CancelFlag | None = None,
                 fallback_to_sample: bool = False, *, mirrors: Sequence[str] | None = None,
                 checksums: dict[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT,
                 image_size: int | None = None, channels: str = "auto", test_share: float = 0.2,
                 split_seed: int = 0) -> Dataset:
    """Load a dataset whole, as CPU uint8 tensors.

    "folder": the image folder `data_dir` (one sub-folder per class; see core/data/folders.py), resized to
    `image_size` (None: automatic), `channels` "auto", "gray" or "rgb", and split `test_share` per class with
    `split_seed` unless it has train/ and test/ of its own. It never falls back to the sample.

    For "mnist" and "fashion-mnist" the sources are tried in order: `data_dir`
    (or $PLAYGROUND_DATA_DIR) — the folder itself or its mnist/ (fashion-mnist/)
    subfolder —, the cache folder (`dataset_cache_dir(name)`), then, only if
    `allow_download`, a download into the cache from `mirrors` (default: the
    official mirrors) checked against `checksums` (default: the official md5s).
    `progress(done_bytes, total_bytes, message)` hears about downloads and reads;
    `cancel.is_set()` stops a download with DownloadCancelled.

    Raises DatasetNotFound (a DatasetError) listing where it looked and how to
    fix it — unless `fallback_to_sample`, which returns mnist-sample instead,
    with `fallback_from` set and the reason in `source`. Corrupt files always
    raise DatasetError, naming the file: a broken dataset is not silently replaced.
    """
    if name == "folder":
        from .folders import load_image_folder

        if data_dir is None:
            raise DatasetError("an image folder dataset needs its folder (--data-dir DIR): one sub-folder per class")
        return load_image_folder(data_dir, image_size, channels, test_share, split_seed, progress, cancel)
    spec = get_spec(name)
    if name == "mnist-sample":
        return load_sample_dataset()
    try:
        return _locate_and_load(spec, data_dir, allow_download, progress, cancel, mirrors, checksums, timeout)
    except DatasetNotFound as exc:
        if not fallback_to_sample:
            raise
        dataset = load_sample_dataset()
        dataset.fallback_from = name
        why = "downloading is off" if not allow_download else "the download failed"
        dataset.source = f"{sample.SOURCE} — standing in for {spec.title}, which was not found ({why})"
        dataset.fallback_reason = str(exc)
        return dataset
