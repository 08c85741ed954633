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


def load_data(asked: str | None, default: str, data_dir: str | None, download: bool):
    """The dataset `asked` for (an error if it is missing), else `default` — which, if it is MNIST and
    is not found, falls back to the offline mnist-sample with a note: the app must work offline."""
    from ..core.data import DatasetError, DownloadCancelled, load_dataset

    name = asked or default
    if data_dir is not None and not Path(data_dir).is_dir():
        raise UserError(f"--data-dir {data_dir}: no such folder")
    progress = _DownloadProgress() if download else None
    try:
        dataset = load_dataset(name, data_dir=data_dir, allow_download=download, progress=progress,
                               fallback_to_sample=asked is None and name == "mnist")
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


class _DownloadProgress:
    """Download progress on stderr: a live line on a terminal, the messages alone otherwise."""

    def __init__(self):
        self.tty = sys.stderr.isatty()
        self.last = None
        self.live = False

    def __call__(self, done: int, total: int, message: str) -> None:
        if total and self.tty:
            print(f"\r{message}: {done / 2**20:.1f} of {total / 2**20:.1f} MB", end="", file=sys.stderr, flush=True)
            self.live = True
        elif message != self.last:
            self.done()
            say(message)
        self.last = message

    def done(self) -> None:
        if self.live:
            print(file=sys.stderr)
            self.live = False
