"""What the headless commands share: turning library errors into one-line user errors, loading data."""

from __future__ import annotations

import sys
from pathlib import Path

from .errors import UserError


def say(message: str) -> None:
    """A note for the person at the terminal (stderr, so stdout stays machine-readable)."""
    print(message, file=sys.stderr, flush=True)


def graph_problems(source: str, exc) -> UserError:
    problems = "\n".join(f"  {p}" for p in exc.problems)
    return UserError(f"{source}: the graph is not valid:\n{problems}")


def resolve_device_or_fail(name: str):
    from ..core.train import ConfigError, resolve_device

    try:
        return resolve_device(name)
    except ConfigError as exc:
        raise UserError(str(exc)) from None


def load_data(asked: str | None, default: str, data_dir: str | None, download: bool, config=None):
    """The dataset `asked` for (an error if it is missing), else `default` — which, if it is MNIST and
    is not found, falls back to the offline mnist-sample with a note: the app must work offline.
    An image folder ("folder") is `data_dir`, read with `config`'s folder settings (a TrainConfig)."""
    from ..core.data import DatasetError, DownloadCancelled, folder_options, load_dataset

    name = asked or default
    if name == "folder" and data_dir is None:
        raise UserError("--dataset folder: give the image folder with --data-dir DIR (one sub-folder per class)")
    if data_dir is not None and not Path(data_dir).is_dir():
        raise UserError(f"--data-dir {data_dir}: no such folder")
    progress = _DownloadProgress(in_bytes=name != "folder") if download or name == "folder" else None
    try:
        dataset = load_dataset(name, data_dir=data_dir, allow_download=download, progress=progress,
                               fallback_to_sample=asked is None and name == "mnist",
                               **(folder_options(config) if config is not None else {}))
    except (DatasetError, DownloadCancelled) as exc:
        raise UserError(str(exc)) from None
    except ValueError as exc:  # an unknown dataset name
        raise UserError(str(exc)) from None
    finally:
        if progress is not None:
            progress.done()
    if dataset.fallback_from:
        say(f"note: {dataset.fallback_from} was not found here and downloading is off, so this run uses the "
            f"offline sample (mnist-sample: 4,000 training and 1,000 test digits) instead. For the real "
            f"{dataset.fallback_from}, pass --data-dir FOLDER or --download.")
    say(f"data: {dataset.source}")
    return dataset


def fit_graph_to_folder(graph, dataset):
    """A copy of `graph` that takes `dataset`'s images (an image folder's shape) and ends in its class count:
    the Input's shape and dataset, and the units of the Dense that feeds the Output (`playground bench`)."""
    from ..core.data.folders import folder_fit_changes

    graph = graph.copy()
    for node_id, name, value in folder_fit_changes(graph, dataset.sample_shape, dataset.num_classes):
        graph.nodes[node_id].params[name] = value
    return graph


class _DownloadProgress:
    """Download progress on stderr: a live line on a terminal, the messages alone otherwise."""

    def __init__(self, in_bytes: bool = True):
        self.in_bytes = in_bytes  # False: counts of files (an image folder's decoding)
        self.tty = sys.stderr.isatty()
        self.last = None
        self.live = False

    def __call__(self, done: int, total: int, message: str) -> None:
        if total and self.tty:
            text = f"{message}: {done / 2**20:.1f} of {total / 2**20:.1f} MB" if self.in_bytes else message
            print(f"\r{text}\033[K", end="", file=sys.stderr, flush=True)
            self.live = True
        elif total and not self.in_bytes and done < total:
            return  # not a terminal: no line per step of the count
        elif message != self.last:
            self.done()
            say(message)
        self.last = message

    def done(self) -> None:
        if self.live:
            print(file=sys.stderr)
            self.live = False
