"""Checkpoints: one file holding the graph, weights, optimizer state, config and metric history.

Written atomically. Read by `load_checkpoint`, the one reader every entry point uses (`evaluate`, `predict`,
`export --checkpoint`, `train --init-from`, `Trainer.load_weights` and `from_checkpoint`, the app's Load
Weights), which holds under hostile input. What it guarantees:

- Nothing in the file runs: `torch.load(weights_only=True)` rebuilds only tensors and plain containers, and a
  file that names anything else is refused without running it.
- Bounded work and memory whatever the file claims: it must be a regular file holding an uncompressed zip (what
  `torch.save` writes; a compressed member could be a zip bomb), with at most `MAX_ZIP_MEMBERS` members and a
  pickled part of at most `MAX_PICKLE_BYTES` and `MAX_PICKLE_OPCODES` opcodes (the weights-only unpickler is
  pure Python). Tensors are mapped from the file (`mmap=True`), never read until their shapes have been checked
  against the graph, and the graph obeys the graph limits (layers, parameters): a tensor claiming gigabytes is
  refused, not allocated. The metadata (config, history, ...) is walked with a bound on items and depth.
- What comes back is usable as it is: the embedded graph is valid, the weights have exactly its keys, shapes and
  kinds of number (converted to its dtypes), are finite (no NaN or Inf), and live in memory of their own; the
  training settings, history and `extra` fields have the types their readers expect; the class names fit the
  network's outputs.
- Anything else raises `CheckpointError`, one line naming the file and the reason in words.
"""

from __future__ import annotations

import io
import os
import pickletools
import re
import stat
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..errors import first_line, one_line
from ..files import atomic_write
from ..graph import MAX_GRAPH_FILE_BYTES, Graph, GraphFileError, dumps_graph, loads_graph

FORMAT = "playground-checkpoint"
FORMAT_VERSION = 1

# What a checkpoint may hold (a Playground checkpoint is far below each; the weights are bounded by the graph).
MAX_PICKLE_BYTES = MAX_GRAPH_FILE_BYTES + 16 * 2**20  # the graph as one string, the history, optimizer state
MAX_PICKLE_OPCODES = 2_000_000  # about 2 s of torch's weights-only unpickler (a 1,000,000-step history fits)
MAX_ZIP_MEMBERS = 200_000  # one per tensor: weights and optimizer state of the largest graph, several times over
MAX_METADATA_ITEMS = 4_000_000  # values in config, history, extra and optimizer state, counted as a tree
MAX_METADATA_DEPTH = 32
MAX_CLASSES = 10_000
_SHOWN = 4  # names listed in a message before "and N more"


class CheckpointError(Exception):
    """A checkpoint that cannot be used; the message names the file and the reason."""


@dataclass
class Checkpoint:
    graph: Graph
    state_dict: dict[str, torch.Tensor]
    optimizer_state: dict | None = None
    config: dict[str, Any] = field(default_factory=dict)
    history: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def _plain(value: Any, where: str) -> Any:
    """`value` made of exactly what `weights_only=True` reads back: tensors, str, int, float, bool, None,
    lists, tuples and dicts of those. Subclasses (torch's TorchVersion is a str) become their base type;
    anything else is a bug of the caller, refused here rather than written into an unreadable file."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, bool):
        return bool(value)
    for base in (str, int, float):
        if isinstance(value, base):
            return base(value)
    if isinstance(value, dict):
        return {_plain(k, where): _plain(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    raise TypeError(f"cannot store {type(value).__name__} in a checkpoint ({where})")


def save_checkpoint(path: str | os.PathLike, checkpoint: Checkpoint) -> None:
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "graph_json": dumps_graph(checkpoint.graph),
        "state_dict": {k: v.detach().cpu() for k, v in checkpoint.state_dict.items()},
        "optimizer_state": _plain(checkpoint.optimizer_state, "optimizer_state"),
        "config": _plain(checkpoint.config, "config"),
        "history": _plain(checkpoint.history, "history"),
        "extra": _plain(checkpoint.extra, "extra"),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write(Path(path), buffer.getvalue())


# -- reading ------------------------------------------------------------------------------------------------


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Checkpoint:
    """The checkpoint in `path`, checked through (see the module's docstring); raises CheckpointError."""
    path = Path(path)
    _check_container(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about pickle protocols before refusing them
            payload = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # a malformed pickle can raise almost anything (KeyError, IndexError, ...)
        # weights_only refuses anything but tensors and plain containers, so a file
        # carrying code lands here too, without ever running it.
        raise CheckpointError(f"{path}: not a readable Playground checkpoint ({_load_failure(exc)})") from None
    try:
        checkpoint = checkpoint_from_payload(payload, str(path))
    except CheckpointError:
        raise
    except Exception as exc:  # a bug of ours, or of a layer, met by odd data: still one line naming the file
        raise CheckpointError(f"{path}: not a usable Playground checkpoint ({first_line(exc, with_type=True)})") \
            from None
    if torch.device(map_location) != torch.device("cpu"):
        checkpoint.state_dict = {k: v.to(map_location) for k, v in checkpoint.state_dict.items()}
    return checkpoint


def _check_container(path: Path) -> None:
    """Refuse, before torch reads it, a file that is not a regular, readable, uncompressed zip of bounded size."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    if not stat.S_ISREG(info.st_mode):  # a named pipe or a device: reading it could wait for ever
        raise CheckpointError(f"{path}: not a regular file (a named pipe or a device?), not a checkpoint")
    if info.st_size == 0:
        raise CheckpointError(f"{path}: the file is empty, not a checkpoint")
    try:
        with open(path, "rb") as f:
            head = f.read(4)
            if head != b"PK\x03\x04":
                f.seek(0)
                raise CheckpointError(f"{path}: {_not_a_zip(f)}")
            f.seek(0)
            _check_zip(path, f, info.st_size)
    except CheckpointError:
        raise
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (zipfile.BadZipFile, EOFError, ValueError, KeyError, IndexError, RuntimeError, NotImplementedError):
        # (RuntimeError: an encrypted member; NotImplementedError: an unknown compression method)
        raise CheckpointError(f"{path}: not a readable Playground checkpoint (the file is truncated or damaged)") \
            from None


def _check_zip(path: Path, f, size: int) -> None:
    try:
        entries = zipfile._EndRecData(f)[zipfile._ECD_ENTRIES_TOTAL]  # from the end record, before any is read
    except (AttributeError, TypeError):  # no end record (TypeError: None): zipfile says so below
        entries = 0
    if entries > MAX_ZIP_MEMBERS:
        raise CheckpointError(f"{path}: not a Playground checkpoint (the archive has {entries:,} members; a "
                              f"checkpoint has at most {MAX_ZIP_MEMBERS:,})")
    f.seek(0)
    with zipfile.ZipFile(f) as archive:
        members = archive.infolist()
        if any(m.compress_type != zipfile.ZIP_STORED for m in members):
            raise CheckpointError(f"{path}: not a Playground checkpoint (it holds compressed data, which a "
                                  "PyTorch checkpoint never does; refused unread, as it could be a zip bomb)")
        if any(m.file_size != m.compress_size for m in members) or sum(m.file_size for m in members) > size:
            raise CheckpointError(f"{path}: not a readable Playground checkpoint (its members claim more bytes "
                                  "than the file holds: damaged)")
        pickles = [m for m in members if m.filename.count("/") == 1 and m.filename.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise CheckpointError(f"{path}: not a PyTorch checkpoint (a zip archive, but not one PyTorch wrote)")
        if pickles[0].file_size > MAX_PICKLE_BYTES:
            raise CheckpointError(f"{path}: not a Playground checkpoint (its metadata is "
                                  f"{pickles[0].file_size / 2**20:,.0f} MiB; a checkpoint's is at most "
                                  f"{MAX_PICKLE_BYTES // 2**20} MiB)")
        pickled = archive.read(pickles[0])  # checks the CRC: a damaged file is found here
    for opcodes, _ in enumerate(pickletools.genops(pickled), 1):
        if opcodes > MAX_PICKLE_OPCODES:
            raise CheckpointError(f"{path}: not a Playground checkpoint (its metadata has over "
                                  f"{MAX_PICKLE_OPCODES:,} entries)")


def _not_a_zip(f) -> str:
    """Why a file that is not a zip archive is no checkpoint, in words; a plain pickle is scanned (never run)
    for the Python object it would call."""
    head = f.read(4096)
    if head[:1] == b"\x80":  # a plain pickle (or torch's legacy format): name what it would call, if anything
        f.seek(0)
        called = _pickle_global(f.read(MAX_PICKLE_BYTES))
        if called:
            return f"not a PyTorch checkpoint (a plain Python pickle; it holds a Python object ({called}), " \
                   "refused without running it)"
        return "not a PyTorch checkpoint (a plain Python pickle, not a file Playground writes)"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "not a PyTorch checkpoint (an unknown binary file)"
    if text.lstrip().startswith("{"):
        return "not a PyTorch checkpoint (a JSON file; a graph file is opened as a graph, not as weights)"
    return "not a PyTorch checkpoint (a text file)"


def _pickle_global(data: bytes) -> str | None:
    """The first `module.name` a pickle would import, read without unpickling it (None: none, or unreadable)."""
    strings: list[str] = []
    try:
        for count, (op, arg, _) in enumerate(pickletools.genops(data)):
            if count > MAX_PICKLE_OPCODES:
                return None
            if op.name in ("GLOBAL", "INST"):
                return str(arg).replace(" ", ".")
            if op.name == "STACK_GLOBAL" and len(strings) >= 2:
                return f"{strings[-2]}.{strings[-1]}"
            if isinstance(arg, str):
                strings.append(arg)
    except Exception:  # a damaged pickle: nothing to name
        return None
    return None


def _load_failure(exc: Exception) -> str:
    """The useful part of torch.load's error, without its advice to turn the safety off."""
    text = str(exc)
    if "WeightsUnpickler" in text or "Weights only load failed" in text:
        if (found := re.search(r"GLOBAL ([\w.]+)", text)) is not None:
            return f"it holds a Python object ({found.group(1)}), not just weights; refused without running it"
        return "not a PyTorch checkpoint, or damaged"
    if "PytorchStreamReader" in text or "zip archive" in text or isinstance(exc, EOFError):
        return "the file is truncated or damaged"
    if isinstance(exc, OSError):
        return f"cannot be read: {exc.strerror or exc}"
    return "not a PyTorch checkpoint, or damaged"


def checkpoint_from_payload(payload: Any, source: str) -> Checkpoint:
    """What `torch.load` read, checked through and made a Checkpoint (its tensors copied into memory of their
    own). Raises CheckpointError starting with `source`."""
    def fail(reason: str) -> CheckpointError:
        return CheckpointError(f"{source}: {reason}")

    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise fail("not a Playground checkpoint (it may come from another program)")
    version = payload.get("format_version")
    if type(version) is not int or version < 1:
        raise fail(f"a damaged checkpoint (its format version is {_shown(version)})")
    if version > FORMAT_VERSION:
        raise fail(f"written by a newer Playground (checkpoint format {version}); update Playground to read it")
    graph_json = payload.get("graph_json")
    if not isinstance(graph_json, str):
        raise fail(f"the embedded graph is damaged (it is {_shown(graph_json)}, not a graph)")
    try:
        graph = loads_graph(graph_json, source=f"{source} (embedded graph)")
    except GraphFileError as exc:
        raise CheckpointError(f"{source}: the embedded graph is damaged: {one_line(exc)}") from None
    expected, outputs = _expected_weights(graph, fail)
    state_dict = payload.get("state_dict")
    if not isinstance(state_dict, dict):
        raise fail(f"the weights are damaged (they are {_shown(state_dict)}, not named tensors)")
    problem = weights_problem(expected, state_dict, finite=False)  # checked below, once converted
    if problem:
        raise fail(f"the weights do not fit the graph stored with them ({problem})")
    weights = {k: state_dict[k].to(dtype=v.dtype, memory_format=torch.contiguous_format, copy=True)
               for k, v in expected.items()}
    if not_finite := _not_finite(weights):
        raise fail(f"the weights hold NaN or infinite values ({_listing(not_finite)}): they come from a run that "
                   "diverged, and would answer nothing but NaN")
    budget = _MetadataBudget(tensor_elements=4 * sum(v.numel() for v in expected.values()) + 2**20)
    plain = {}
    for key, what in _METADATA.items():
        value = payload.get(key)
        if value is not None and not isinstance(value, dict):
            raise fail(f"the {what} damaged (not a dict but {_shown(value)})")
        try:
            plain[key] = budget.copy(value, 0) if value is not None else None
        except _Refused as exc:
            raise fail(f"the {what} damaged ({exc})") from None
    config, history, extra = plain["config"] or {}, plain["history"] or {}, plain["extra"] or {}
    _check_settings(config, history, extra, outputs, fail)
    return Checkpoint(graph=graph, state_dict=weights, optimizer_state=plain["optimizer_state"], config=config,
                      history=history, extra=extra)


def _expected_weights(graph: Graph, fail) -> tuple[dict[str, torch.Tensor], int | None]:
    """The graph's state_dict on the meta device (names, shapes, dtypes; no memory), and its number of outputs."""
    from ..build import GraphError, plan_graph
    from ..gan.structure import is_gan_graph

    if is_gan_graph(graph):  # a GAN: both networks' layers, one state_dict keyed by node id (core/gan/model.py)
        from ..gan.model import gan_build_steps

        try:
            steps = gan_build_steps(graph)
        except GraphError as exc:
            raise fail(f"the graph stored in the checkpoint is not valid: {one_line(exc)}") from None
        expected = {}
        with torch.device("meta"):
            for node_id, _, ctor in steps:
                expected.update({f"{node_id}.{name}": value for name, value in ctor().state_dict().items()})
        return expected, None
    try:
        plan = plan_graph(graph)
    except GraphError as exc:
        raise fail(f"the graph stored in the checkpoint is not valid: {one_line(exc)}") from None
    expected: dict[str, torch.Tensor] = {}
    with torch.device("meta"):
        for node_id, _, ctor in plan.steps:
            for name, value in ctor().state_dict().items():
                expected[f"{node_id}.{name}"] = value
    shape = plan.analysis.shapes.get(plan.result_id)
    return expected, (shape[0] if shape and len(shape) == 1 else None)


def weights_problem(expected: Mapping[str, torch.Tensor], state_dict: Mapping[Any, Any],
                    finite: bool = True) -> str | None:
    """Plain words for why `state_dict` cannot stand in for `expected` (a module's state_dict, real or on the meta
    device), or None when it fits: names, kinds of value, shapes, kinds of number (float, integer, bool), and
    (when `finite`) NaN or infinite values. Nothing is computed on a tensor before its shape is known to be right,
    so a tensor that claims more elements than memory holds costs nothing."""
    strange = [k for k in state_dict if not isinstance(k, str)]
    if strange:
        return f"names that are not text: {_listing([_shown(k) for k in strange])}"
    parts = []
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    if missing:
        parts.append(f"missing {_listing(missing)}")
    if unexpected:
        parts.append(f"unexpected {_listing(unexpected)}")
    present = [k for k in expected if k in state_dict]
    not_tensors = [k for k in present if not isinstance(state_dict[k], torch.Tensor)]
    if not_tensors:
        parts.append(f"not tensors: {_listing([f'{k} ({_shown(state_dict[k])})' for k in not_tensors])}")
    tensors = [k for k in present if k not in not_tensors]
    odd = [k for k in tensors if state_dict[k].layout != torch.strided or state_dict[k].is_quantized
           or state_dict[k].device.type == "meta"]
    if odd:
        parts.append(f"not plain tensors: {_listing(odd)}")
    wrong_shape = [f"{k} is {_shape(state_dict[k])} in the weights but {_shape(expected[k])} in the graph"
                   for k in tensors if k not in odd and tuple(state_dict[k].shape) != tuple(expected[k].shape)]
    if wrong_shape:
        more = f"; {len(wrong_shape) - 2} more tensors have other shapes" if len(wrong_shape) > 2 else ""
        parts.append("; ".join(wrong_shape[:2]) + more)
    wrong_kind = [f"{k} ({str(state_dict[k].dtype).removeprefix('torch.')}, not "
                  f"{str(expected[k].dtype).removeprefix('torch.')})"
                  for k in tensors if k not in odd and _kind(state_dict[k].dtype) != _kind(expected[k].dtype)]
    if wrong_kind:
        parts.append(f"numbers of the wrong kind: {_listing(wrong_kind)}")
    if parts:
        return "; ".join(parts)
    if finite and (not_finite := _not_finite({k: state_dict[k] for k in expected})):
        return f"NaN or infinite values in {_listing(not_finite)}"
    return None


def _kind(dtype: torch.dtype) -> str:
    if dtype == torch.bool:
        return "bool"
    if dtype.is_complex:
        return "complex"
    return "float" if dtype.is_floating_point else "integer"


def _not_finite(tensors: Mapping[str, torch.Tensor]) -> list[str]:
    return [k for k, v in tensors.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]


def _shape(tensor: torch.Tensor) -> str:
    from ..layers import fmt_shape

    return fmt_shape(tuple(tensor.shape))


def _listing(names: list[str]) -> str:
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return ", ".join(names[:_SHOWN]) + more


def _shown(value: Any) -> str:
    """A value named in a message: its type, and the value itself when short."""
    if value is None or isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= 40):
        text = repr(value)
        return text if len(text) <= 40 else text[:39] + "…"
    return f"a {type(value).__name__}"


# The payload's keys beside the graph and the weights, in words.
_METADATA = {"optimizer_state": "optimizer state is", "config": "training settings are",
             "history": "metric history is", "extra": "run details are"}


class _Refused(Exception):
    pass


class _MetadataBudget:
    """Copies config, history, extra and optimizer state, refusing what a checkpoint never holds: other types,
    deeper nesting than MAX_METADATA_DEPTH, more than MAX_METADATA_ITEMS values, more tensor elements than the
    budget, or one list, dict, tuple or tensor in several places. A checkpoint is a tree; a pickle can share one
    list many times over (a list of two references to a list of two references ...: 64 levels are 2 ** 64
    leaves), so that a walk that does not look for sharing never ends."""

    def __init__(self, tensor_elements: int):
        self.items = 0
        self.tensor_elements = tensor_elements
        self.seen: set[int] = set()  # ids of the non-empty containers and tensors met so far

    def copy(self, value: Any, depth: int) -> Any:
        self.items += 1
        if self.items > MAX_METADATA_ITEMS:
            raise _Refused(f"over {MAX_METADATA_ITEMS:,} values")
        if depth > MAX_METADATA_DEPTH:
            raise _Refused(f"nested over {MAX_METADATA_DEPTH} deep")
        if value is None or type(value) in (bool, int, float, str):
            return value
        if isinstance(value, torch.Tensor | dict | list | tuple) and (isinstance(value, torch.Tensor) or value):
            if id(value) in self.seen:
                raise _Refused("one value shared by several places, which a checkpoint never has")
            self.seen.add(id(value))
        if isinstance(value, torch.Tensor):
            if value.layout != torch.strided or value.is_quantized or value.device.type == "meta":
                raise _Refused("a tensor that is not a plain one")
            self.tensor_elements -= value.numel()
            if self.tensor_elements < 0:
                raise _Refused("more tensor data than the weights could need")
            return value.clone(memory_format=torch.contiguous_format)
        if isinstance(value, dict):
            copied = {}
            for k, v in value.items():
                if type(k) not in (str, int):
                    raise _Refused(f"a key that is {_shown(k)}")
                copied[k] = self.copy(v, depth + 1)
            return copied
        if isinstance(value, list | tuple):
            items = [self.copy(v, depth + 1) for v in value]
            return items if isinstance(value, list) else tuple(items)
        raise _Refused(f"a {type(value).__module__}.{type(value).__name__}, which a checkpoint never holds")


def _check_settings(config: dict, history: dict, extra: dict, outputs: int | None, fail) -> None:
    """The fields that the readers use have the types they expect (they would fail later, far from the file)."""
    from ..data import DATASET_NAMES
    from ..data.class_folders import FOLDER
    from ..data.points import POINT_SETS
    from .config import TrainConfig
    from .metrics import EvalMetrics, History

    try:
        TrainConfig.from_dict({**config, "device": "cpu"})  # the device is the reader's choice
    except (TypeError, ValueError) as exc:
        raise fail(f"the training settings are damaged ({one_line(exc)})") from None
    try:
        History.from_dict(history)
        if extra.get("test") is not None:
            EvalMetrics(**extra["test"])
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise fail(f"the metric history is damaged ({one_line(exc)})") from None
    for key in ("global_step", "epochs_completed"):
        value = extra.get(key, 0)
        if type(value) is not int or not 0 <= value <= 2**53:
            raise fail(f"the checkpoint's {key} is damaged ({_shown(value)})")
    for key in ("status", "torch_version"):
        if extra.get(key) is not None and not isinstance(extra[key], str):
            raise fail(f"the checkpoint's {key} is damaged ({_shown(extra[key])})")
    dataset = extra.get("dataset")
    known = (*DATASET_NAMES, *POINT_SETS, FOLDER)
    if dataset is not None and dataset != "" and dataset not in known:
        raise fail(f"trained on {_shown(dataset)}, a dataset this Playground does not know ({', '.join(known)})")
    classes = extra.get("classes")
    if classes is not None:
        if not isinstance(classes, list | tuple) or not all(isinstance(c, str) for c in classes) \
                or len(classes) > MAX_CLASSES:
            raise fail(f"the checkpoint's class names are damaged ({_shown(classes)})")
        if classes and outputs is not None and len(classes) != outputs:
            raise fail(f"the checkpoint names {len(classes)} classes, but its network answers {outputs}")
    if extra.get("normalization") is not None:
        from ..data.folders import is_finite_normalization

        if not is_finite_normalization(extra["normalization"]):
            raise fail(f"the checkpoint's normalization is damaged ({_shown(extra['normalization'])})")
    if extra.get("scaler") is not None and not isinstance(extra["scaler"], dict):
        raise fail(f"the checkpoint's scaler state is damaged ({_shown(extra['scaler'])})")

