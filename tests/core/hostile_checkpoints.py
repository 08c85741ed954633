"""A generated corpus of hostile checkpoint files (issue 19), shared by the core, CLI and app tests.

Nothing is committed: `write_corpus(folder)` makes every file. Each case names the words its refusal must hold.
The archives torch.save would never write (a compressed member, a tensor claiming more than the file holds, a
pickle that would run code) are made by hand here: `TensorClaim` pickles as torch's own tensor record, so a file
can say whatever it likes about a tensor's size.
"""

from __future__ import annotations

import collections
import io
import json
import math
import os
import pickle
import random
import struct
import threading
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import torch
import torch._utils

from playground.core.build import build_module
from playground.core.graph import dumps_graph, load_graph
from playground.core.train.checkpoint import FORMAT, FORMAT_VERSION
from playground.core.train.config import TrainConfig

DIGITS = [str(i) for i in range(10)]
MARKER = "pwned"  # the file a code-execution payload would create in the corpus folder


# -- archives made by hand ----------------------------------------------------------------------------------


class StorageClaim:
    """A storage record: `numel` bytes-or-elements claimed, read from the archive member data/`key`."""

    def __init__(self, key: str, numel: int, storage=torch.FloatStorage):
        self.key, self.numel, self.storage = key, numel, storage


class TensorClaim:
    """Pickles as torch's tensor record over a StorageClaim, with any size and stride."""

    def __init__(self, storage: StorageClaim, size: tuple[int, ...], stride: tuple[int, ...] | None = None):
        self.storage, self.size = storage, tuple(size)
        self.stride = tuple(stride) if stride is not None else tuple(
            math.prod(size[i + 1:]) for i in range(len(size)))

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2,
                (self.storage, 0, self.size, self.stride, False, collections.OrderedDict()))


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, StorageClaim):
            return ("storage", obj.storage, obj.key, "cpu", obj.numel)
        if isinstance(obj, torch.Tensor):  # a real tensor: a storage record of its own bytes
            raise TypeError("use TensorClaim in hand-made archives")
        return None


class RunsCode:
    """Unpickled by plain pickle, it would create `path`."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def claims(state_dict: dict[str, torch.Tensor], records: dict[str, bytes]) -> dict[str, TensorClaim]:
    """Real tensors as TensorClaims over records of their own bytes (added to `records`)."""
    out = {}
    for name, tensor in state_dict.items():
        key = f"w{len(records)}"
        records[key] = tensor.contiguous().numpy().tobytes()
        out[name] = TensorClaim(StorageClaim(key, tensor.numel()), tuple(tensor.shape))
    return out


def hand_made_archive(payload, records: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    """A torch zip archive of `payload` (TensorClaims for tensors) and its storage `records`."""
    pickled = io.BytesIO()
    _Pickler(pickled, protocol=2).dump(payload)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as z:
        z.writestr("archive/data.pkl", pickled.getvalue())
        z.writestr("archive/byteorder", "little")
        for key, data in records.items():
            z.writestr(f"archive/data/{key}", data)
        z.writestr("archive/version", "3\n")
    return out.getvalue()


def sparse_archive(path: Path, payload, records: dict[str, bytes], key: str, size: int) -> Path:
    """A stored (plain, not zip64) torch archive of `payload` and its `records`, whose member data/`key` is `size`
    zero bytes left as a hole in the file: a tensor of gigabytes that costs no disk and no time to write (torch.load
    without mmap reads all of it). Its CRC is left 0, as nothing reads the member."""
    pickled = io.BytesIO()
    _Pickler(pickled, protocol=2).dump(payload)
    members = [("archive/data.pkl", pickled.getvalue()), ("archive/byteorder", b"little"),
               *((f"archive/data/{k}", v) for k, v in records.items()), ("archive/version", b"3\n"),
               (f"archive/data/{key}", size)]
    central = []
    with open(path, "wb") as f:
        for name, data in members:
            raw = name.encode()
            offset = f.tell()
            length = data if isinstance(data, int) else len(data)
            crc = 0 if isinstance(data, int) else zlib.crc32(data)
            f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, crc, length, length, len(raw), 0) + raw)
            if isinstance(data, int):
                f.seek(length, os.SEEK_CUR)  # the hole
            else:
                f.write(data)
            central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, crc, length, length,
                                       len(raw), 0, 0, 0, 0, 0, offset) + raw)
        start = f.tell()
        f.write(b"".join(central))
        f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), f.tell() - start, start, 0))
    return path


class PipeWatchdog:
    """Unblocks, and records, any reader that opens the corpus' named pipe (which would otherwise wait for a
    writer for ever): every `period` seconds it tries to open the pipe for writing, which succeeds only while a
    reader waits. A test asserts `hung` is empty at the end instead of hanging."""

    def __init__(self, path: Path | None, period: float = 2.0):
        self.path, self.period = path, period
        self.hung: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> PipeWatchdog:
        if self.path is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(self.period):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO while nobody reads
            except OSError:
                continue
            self.hung.append(time.monotonic())
            os.close(fd)  # the reader sees the end of the file


# -- the good checkpoint and its payload --------------------------------------------------------------------


def good_payload(dataset: str = "mnist-sample") -> dict:
    """What save_checkpoint writes for an untrained MLP (its answers do not matter here, only that it answers)."""
    graph = load_graph("preset:mlp")
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "graph_json": dumps_graph(graph),
            "state_dict": {k: v.clone() for k, v in build_module(graph).state_dict().items()},
            "optimizer_state": None, "config": {**TrainConfig().to_dict(), "dataset": dataset},
            "history": {"step_loss": [2.3, 2.1], "epochs": [], "last_eval": None},
            "extra": {"dataset": dataset, "classes": DIGITS, "global_step": 2, "epochs_completed": 0,
                      "status": "completed"}}


def _with(payload: dict, **changes) -> dict:
    """A copy of `payload` with top-level keys changed (a value of `...` removes the key)."""
    out = {k: v for k, v in payload.items() if changes.get(k) is not ...}
    out.update({k: v for k, v in changes.items() if v is not ...})
    return out


def _weights(payload: dict, **changes) -> dict:
    """A copy of `payload` whose state_dict has entries changed (`...` removes one)."""
    state = {k: v for k, v in payload["state_dict"].items() if changes.get(k) is not ...}
    state.update({k: v for k, v in changes.items() if v is not ...})
    return _with(payload, state_dict=state)


def _extra(payload: dict, **changes) -> dict:
    return _with(payload, extra={**payload["extra"], **changes})


def _shared_tree(levels: int) -> list:
    """A list that, walked as a tree, has 2 ** levels leaves; pickled, a few hundred bytes."""
    node: list = [0.0]
    for _ in range(levels):
        node = [node, node]
    return node


def _nested(depth: int) -> list:
    node: list = []
    for _ in range(depth):
        node = [node]
    return node


# -- the corpus -----------------------------------------------------------------------------------------------


@dataclass
class Case:
    path: Path
    says: str  # words the refusal must hold
    level: str  # "file": broken as a file; "payload": a readable torch file that is not a usable checkpoint


GOOD = "good"
TRUNCATED = "the file is truncated or damaged"
NOT_TORCH = "not a PyTorch checkpoint"
NOT_OURS = "not a Playground checkpoint"
NO_FIT = "the weights do not fit the graph stored with them"
NAN = "NaN or infinite values"
CODE = "refused without running it"


def write_corpus(folder: Path) -> dict[str, Case]:
    """Every hostile case under `folder`, and the good checkpoint as GOOD (says "")."""
    folder.mkdir(parents=True, exist_ok=True)
    cases: dict[str, Case] = {}

    def add(name: str, says: str, level: str = "payload", data: bytes | None = None, payload=None) -> Path:
        path = folder / f"{name}.pt"
        if data is not None:
            path.write_bytes(data)
        elif payload is not None:
            torch.save(payload, path)
        cases[name] = Case(path, says, level)
        return path

    good = good_payload()
    good_bytes = io.BytesIO()
    torch.save(good, good_bytes)
    good_bytes = good_bytes.getvalue()
    add(GOOD, "", data=good_bytes)

    # -- broken as files
    add("empty", "the file is empty", "file", data=b"")
    for cut in (8, 200, len(good_bytes) // 2, len(good_bytes) - 30, len(good_bytes) - 1):
        add(f"truncated_at_{cut}", TRUNCATED, "file", data=good_bytes[:cut])
    damaged = bytearray(good_bytes)
    start = damaged.index(b"graph_json") + 40  # inside the pickle: its CRC no longer matches
    damaged[start:start + 16] = b"\xff" * 16
    add("damaged_inside", TRUNCATED, "file", data=bytes(damaged))
    add("random_bytes", NOT_TORCH, "file", data=random.Random(0).randbytes(4096))
    add("text", NOT_TORCH + " (a text file)", "file", data=b"these are not the weights you are looking for\n")
    add("graph_json", "a JSON file", "file", data=json.dumps({"schema_version": 2, "nodes": [], "edges": []}).encode())
    (folder / "folder.pt").mkdir()
    cases["folder"] = Case(folder / "folder.pt", "is a folder", "file")
    cases["missing"] = Case(folder / "missing.pt", "no such checkpoint file", "file")
    if hasattr(os, "mkfifo"):  # torch.load on a named pipe waits for a writer for ever
        os.mkfifo(folder / "pipe.pt")
        cases["pipe"] = Case(folder / "pipe.pt", "not a regular file", "file")
    if os.name == "posix" and os.geteuid() != 0:  # root reads anything: no way to make the file unreadable
        add("unreadable", "cannot be read", "file", data=good_bytes)
        os.chmod(cases["unreadable"].path, 0)
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as z:
        z.writestr("readme.txt", "hello")
    add("plain_zip", NOT_TORCH + " (a zip archive, but not one PyTorch wrote)", "file", data=plain_zip.getvalue())
    bare = {k: v for k, v in good.items() if k != "state_dict"}  # hand-made archives hold TensorClaims only
    # A zip bomb: a 16 MB tensor of zeros deflated to a few KB; torch.load would inflate it in memory.
    n = 4 * 2**20
    add("zip_bomb", "compressed", "file", data=hand_made_archive(
        {**bare, "state_dict": {"bomb": TensorClaim(StorageClaim("bomb", n), (n,))}}, {"bomb": bytes(4 * n)},
        compression=zipfile.ZIP_DEFLATED))
    # A member that claims 2 GiB in a file of a few hundred bytes (its sizes in the central directory patched).
    patched = bytearray(hand_made_archive({"format": FORMAT}, {"0": bytes(12)}))
    entry = patched.rindex(b"PK\x01\x02")  # the last entry of the central directory
    patched[entry + 20:entry + 28] = struct.pack("<II", 2**31, 2**31)  # compressed and uncompressed size
    add("claims_beyond_file", "claim more bytes than the file holds", "file", data=bytes(patched))
    # An encrypted member (the flag set in the central directory).
    patched = bytearray(hand_made_archive({"format": FORMAT}, {}))
    first = patched.index(b"PK\x01\x02")  # data.pkl's entry
    patched[first + 8] |= 1
    add("encrypted", TRUNCATED, "file", data=bytes(patched))
    # A storage record claiming 40 GB over a 12-byte member.
    add("storage_claim", "damaged", "file", data=hand_made_archive(
        {"format": FORMAT, "x": TensorClaim(StorageClaim("0", 10**10), (10**10,))}, {"0": bytes(12)}))
    # Code: a torch archive and a plain pickle whose unpickling would run a shell command.
    add("code_torch", CODE, "file", data=hand_made_archive(
        {**bare, "state_dict": {"dense1.bias": RunsCode(folder / MARKER)}}, {}))
    add("code_pickle", CODE, "file", data=pickle.dumps({"x": RunsCode(folder / MARKER)}, protocol=2))

    # -- readable torch files, unusable as checkpoints
    add("not_a_dict", NOT_OURS, payload=[1, 2, 3])
    add("plain_state_dict", NOT_OURS, payload=dict(good["state_dict"]))
    add("other_format", NOT_OURS, payload=_with(good, format="someone-elses-checkpoint"))
    add("future_version", "written by a newer Playground", payload=_with(good, format_version=FORMAT_VERSION + 98))
    add("version_text", "format version is '1'", payload=_with(good, format_version="1"))
    add("no_graph", "the embedded graph is damaged", payload=_with(good, graph_json=...))
    add("graph_not_text", "the embedded graph is damaged", payload=_with(good, graph_json=42))
    add("graph_malformed", "the embedded graph is damaged", payload=_with(good, graph_json='{"nodes": [}'))
    impossible = json.loads(good["graph_json"])
    impossible["edges"] = [e for e in impossible["edges"] if not e["to"].startswith("output.")]
    add("graph_impossible", "the graph stored in the checkpoint is not valid",
        payload=_with(good, graph_json=json.dumps(impossible)))
    add("no_weights", "the weights are damaged", payload=_with(good, state_dict=...))
    add("weights_list", "the weights are damaged", payload=_with(good, state_dict=[1, 2]))
    add("weights_missing", "missing dense1.weight", payload=_weights(good, **{"dense1.weight": ...}))
    add("weights_extra", "unexpected extra.weight", payload=_weights(good, **{"extra.weight": torch.zeros(3)}))
    add("weights_shape", "dense1.weight is 3×3 in the weights but 256×784 in the graph", payload=_weights(good, **{
        "dense1.weight": torch.zeros(3, 3)}))
    add("weights_int", "numbers of the wrong kind: dense1.bias (int64, not float32)", payload=_weights(good, **{
        "dense1.bias": torch.zeros_like(good["state_dict"]["dense1.bias"], dtype=torch.int64)}))
    add("weights_complex", "numbers of the wrong kind", payload=_weights(good, **{
        "dense1.bias": torch.zeros_like(good["state_dict"]["dense1.bias"], dtype=torch.complex64)}))
    add("weights_not_tensor", "not tensors: dense1.bias ('hello')", payload=_weights(good, **{"dense1.bias": "hello"}))
    add("weights_number_key", "names that are not text", payload=_with(good, state_dict={
        **good["state_dict"], 7: torch.zeros(1)}))
    add("weights_nan", NAN, payload=_weights(good, **{
        "dense2.weight": good["state_dict"]["dense2.weight"].clone().index_fill_(1, torch.tensor([3]), math.nan)}))
    add("weights_inf", NAN, payload=_weights(good, **{"dense3.bias": torch.full((10,), -math.inf)}))
    add("weights_overflow", NAN, payload=_weights(good, **{  # finite as float64, infinite as the float32 it becomes
        "dense3.bias": torch.full((10,), 1e300, dtype=torch.float64)}))
    # Tensors that claim far more than memory holds, cheaply (stride 0: one element, repeated).
    add("weights_huge_claim", "dense1.weight is 10000000000 in the weights", "file", data=hand_made_archive(
        {**bare, "state_dict": {"dense1.weight": TensorClaim(StorageClaim("0", 1), (10**10,), (0,))}},
        {"0": bytes(4)}))
    records = {"0": bytes(4)}
    add("optimizer_huge_claim", "more tensor data than the weights could need", "file", data=hand_made_archive(
        {**bare, "state_dict": claims(good["state_dict"], records),
         "optimizer_state": {"state": {0: {"exp_avg": TensorClaim(StorageClaim("0", 1), (10**10,), (0,))}}}},
        records))
    if os.name == "posix":  # a sparse file: 3 GiB of tensor that costs no disk (elsewhere it would be written)
        records = {}
        size = 3 * 2**30
        payload = {**bare, "state_dict": {**claims(good["state_dict"], records),
                                          "huge.weight": TensorClaim(StorageClaim("huge", size // 4), (size // 4,))}}
        path = folder / "sparse_huge.pt"
        sparse_archive(path, payload, records, "huge", size)
        cases["sparse_huge"] = Case(path, "unexpected huge.weight", "file")
    add("config_list", "the training settings are damaged", payload=_with(good, config=[1]))
    add("config_values", "the training settings are damaged", payload=_with(good, config={
        **good["config"], "optimizer": "rm -rf", "epochs": -1}))
    add("history_damaged", "the metric history is damaged", payload=_with(good, history={
        "step_loss": ["not a number"]}))
    add("history_shared", "shared", payload=_with(good, history={"epochs": [], "step_loss": [],
                                                                 "deep": _shared_tree(30)}))
    add("history_nested", "nested over", payload=_with(good, history={"step_loss": [], "x": _nested(200)}))
    add("extra_step_text", "global_step is damaged", payload=_extra(good, global_step="many"))
    add("extra_step_huge", "global_step is damaged", payload=_extra(good, global_step=10**400))
    add("extra_test_damaged", "the metric history is damaged", payload=_extra(good, test={"x": 1}))
    add("extra_dtype_object", "a torch.dtype, which a checkpoint never holds",
        payload=_extra(good, status=torch.float32))
    add("unknown_dataset", "trained on 'cifar10'", payload=_extra(good, dataset="cifar10"))
    add("classes_mismatch", "names 3 classes, but its network answers 10", payload=_extra(
        good, classes=["cat", "dog", "cow"]))
    add("classes_not_text", "class names are damaged", payload=_extra(good, classes=[1, 2]))
    return cases


def write_fashion_checkpoint(folder: Path) -> Path:
    """A good checkpoint trained (so it says) on Fashion-MNIST."""
    path = folder / "fashion.pt"
    payload = good_payload("fashion-mnist")
    payload["extra"]["classes"] = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                                   "Sneaker", "Bag", "Ankle boot"]
    torch.save(payload, path)
    return path
