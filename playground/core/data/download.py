"""Hash-checked, resumable, cancellable downloads with urllib (no extra dependencies).

A file is written to `<name>.part`, resumed with an HTTP Range request when a
partial one exists (or restarted cleanly when the server ignores Range), and
renamed to its final name only after its checksum matches: a bad download
never poisons the cache. A mirror that fails hands over to the next one.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from .errors import DatasetError, DownloadCancelled

CHUNK = 64 * 1024
DEFAULT_TIMEOUT = 30.0  # seconds without a byte before a mirror counts as failed
USER_AGENT = "playground-dataset-download/1"

Progress = Callable[[int, int, str], None]
"""progress(done_bytes, total_bytes, message); total_bytes is 0 when the server did not say."""


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...


def file_checksum(path: str | os.PathLike, algorithm: str) -> str:
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksum_algorithm(expected: str) -> str:
    """md5 for 32 hex digits, sha256 for 64."""
    algorithm = {32: "md5", 64: "sha256"}.get(len(expected))
    if algorithm is None or not re.fullmatch(r"[0-9a-fA-F]+", expected):
        raise ValueError(f"not an md5 or sha256 hex digest: {expected!r}")
    return algorithm


class _Failed(Exception):
    """One mirror failed for this file; the next one is tried."""


def _check_cancel(cancel: CancelFlag | None, part: Path) -> None:
    if cancel is not None and cancel.is_set():
        # The .part file stays: it is never mistaken for the real file, and the next attempt resumes it.
        raise DownloadCancelled(f"download cancelled; the partial file {part} is kept to resume later")


def _fetch(url: str, part: Path, timeout: float, progress: Progress | None, cancel: CancelFlag | None,
           label: str) -> None:
    """Download `url` into `part`, resuming it if it exists. Raises _Failed on any network or server problem."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the partial file is already complete (or bogus): let the hash decide
            exc.close()
            return
        exc.close()
        raise _Failed(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise _Failed(f"cannot connect ({reason})") from None
    with response:
        status = response.status
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        if offset and status == 206:
            match = re.match(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range", ""))
            if not match or int(match.group(1)) != offset:
                raise _Failed("the server answered the resume request with the wrong range")
            mode, done = "ab", offset
        elif status == 200:
            mode, done = "wb", 0  # no partial file, or the server ignored Range: start over
        else:
            raise _Failed(f"unexpected HTTP status {status}")
        total = done + length if length is not None else 0
        resumed = f" (resuming at {done:,} bytes)" if done else ""
        message = f"Downloading {label} from {url}{resumed}"
        if progress:
            progress(done, total, message)
        try:
            f = open(part, mode)  # noqa: SIM115 - closed below; open errors are ours, not the network's
        except OSError as exc:
            raise DatasetError(f"{part}: cannot write the download ({exc.strerror or exc})") from None
        with f:
            while True:
                _check_cancel(cancel, part)
                try:
                    chunk = response.read1(CHUNK)  # what has arrived, up to CHUNK: a stall keeps it
                except (OSError, http.client.HTTPException, ValueError) as exc:
                    raise _Failed(f"the transfer broke off after {done:,} bytes ({str(exc) or type(exc).__name__})"
                                  ) from None
                if not chunk:
                    break
                try:
                    f.write(chunk)
                except OSError as exc:  # a full disk: no mirror will help
                    raise DatasetError(f"{part}: cannot write the download ({exc.strerror or exc})") from None
                done += len(chunk)
                if progress:
                    progress(done, total, message)
        if total and done != total:
            raise _Failed(f"the transfer broke off after {done:,} of {total:,} bytes")


def download_file(urls: Sequence[str], dest: str | os.PathLike, checksum: str, *, timeout: float = DEFAULT_TIMEOUT,
                  progress: Progress | None = None, cancel: CancelFlag | None = None) -> str:
    """Download `dest` from the first of `urls` that delivers bytes matching `checksum` (md5 or sha256 hex).

    Returns the URL used. Raises DatasetError (listing every URL's failure) when
    none does, and DownloadCancelled when `cancel.is_set()` becomes true. On
    failure nothing exists at `dest`; a `.part` file is kept only when it could
    still be a correct prefix (broken connection, cancellation).
    """
    dest = Path(dest)
    algorithm = checksum_algorithm(checksum)
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in urls:
        _check_cancel(cancel, part)
        try:
            _fetch(url, part, timeout, progress, cancel, dest.name)
        except _Failed as exc:
            failures.append(f"{url}: {exc}")
            continue
        if not part.exists():
            failures.append(f"{url}: no data")
            continue
        actual = file_checksum(part, algorithm)
        if actual != checksum.lower():
            part.unlink(missing_ok=True)  # never keep bytes we know are wrong
            failures.append(f"{url}: {algorithm} mismatch (got {actual}, expected {checksum.lower()})")
            continue
        os.replace(part, dest)
        return url
    raise DatasetError(f"could not download {dest.name}:\n" + "\n".join(f"  - {f}" for f in failures))
