"""Shape inference is arithmetic (`LayerSpec.infer`); torch on the meta device is its oracle, here only.

For every kind in the catalog, over many generated parameter and input-shape
combinations (seeded, so a failure reproduces), building the layer on the meta
device and running a batch through it must agree with `check` and `infer`:
the same output shape and the same parameter count, and whenever torch refuses,
`check` or `infer` report a problem too. A new kind is tested as soon as it is in
the catalog, and fails here without an `infer`.
"""

from __future__ import annotations

import math
import random
import subprocess
import sys
import warnings
import zlib

import pytest
import torch

from playground.core.analysis import infer_layer
from playground.core.layers import CATALOG, LayerSpec, Param, Shape

CASES = 100  # per kind
# The meta device runs a recurrent layer step by step (about 4 ms a step, layer and direction): fewer of those.
FEWER_CASES = {"rnn": 40, "lstm": 40, "gru": 40}
# Small sizes, so that sequences are short (see FEWER_CASES).
DIMS = (1, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16)
PLAUSIBLE = ((1, 12, 12), (8, 7, 7), (3, 16, 16), (16, 6, 6), (64,), (10,), (16, 64), (9, 16), (4, 5), (12, 12))
# Kinds that take one shape only (Features: 2-D points), given it in half the cases.
ONLY = {"features": (2,)}


def _int(rng: random.Random, p: Param) -> int:
    low = int(p.min) if p.min is not None else -4
    high = int(p.max) if p.max is not None else 16
    small = rng.randint(low, min(high, low + 10))
    return rng.choice((low, low, min(low + 1, high), min(low + 2, high), small, small, small, high))


def _float(rng: random.Random, p: Param) -> float:
    low = p.min if p.min is not None else -1.0
    high = p.max if p.max is not None else 1.0
    return rng.choice((low, high, rng.uniform(low, high), rng.uniform(low, min(high, low + 1.0))))


def _shape(rng: random.Random, rank: int | None = None) -> Shape:
    if rank is None and rng.random() < 0.4:
        return rng.choice(PLAUSIBLE)
    return tuple(rng.choice(DIMS) for _ in range(rank or rng.randint(1, 4)))


def _rearranged(rng: random.Random, size: int, p: Param) -> list[int]:
    """A shape of `size` values (so that a reshape fits), sometimes with one axis left to infer."""
    dims = []
    for _ in range(rng.randint(p.min_len, p.max_len) - 1):
        divisors = [d for d in range(1, min(size, 64) + 1) if size % d == 0]
        d = rng.choice(divisors)
        dims.append(d)
        size //= d
    dims.append(size)
    rng.shuffle(dims)
    if p.allow_infer and rng.random() < 0.5:
        dims[rng.randrange(len(dims))] = -1
    return dims


def _param(rng: random.Random, p: Param, shapes: list[Shape]):
    if p.type == "int":
        return _int(rng, p)
    if p.type == "float":
        return _float(rng, p)
    if p.type == "bool":
        return rng.random() < 0.5
    if p.type == "choice":
        return rng.choice(p.choices)
    if p.type == "shape":
        if shapes and rng.random() < 0.6:
            return _rearranged(rng, math.prod(shapes[0]), p)
        return list(_shape(rng, rng.randint(p.min_len, p.max_len)))
    raise AssertionError(p.type)


def _inputs(rng: random.Random, spec: LayerSpec) -> list[Shape]:
    shapes = []
    for port in spec.inputs:
        first = ONLY[spec.kind] if spec.kind in ONLY and rng.random() < 0.5 else _shape(rng)
        shapes.append(first)
        if port.multiple:
            for _ in range(rng.randint(1, 2)):
                other = list(first)
                if rng.random() < 0.5:  # the same shape, or one axis (or the rank) different
                    axis = rng.randrange(len(other))
                    other[axis] = rng.choice(DIMS)
                    if rng.random() < 0.15:
                        other.append(2)
                shapes.append(tuple(other))
    return shapes


def cases(kind: str) -> list[tuple[dict, list[Shape]]]:
    spec = CATALOG[kind]
    rng = random.Random(zlib.crc32(kind.encode()))
    found = []
    for _ in range(FEWER_CASES.get(kind, CASES)):
        shapes = _inputs(rng, spec)
        given = {p.name: _param(rng, p, shapes) for p in spec.params if rng.random() < 0.8}
        if spec.param_errors(given):
            continue  # not a question for shapes: the node's own parameter check refuses it
        found.append((spec.resolve(given), shapes))
    return found


def torch_says(spec: LayerSpec, params: dict, shapes: list[Shape]) -> tuple[Shape | None, int, str | None]:
    """(output shape, parameter count, error) of the real module, built and run on the meta device."""
    try:
        ctor = spec.make(params, shapes)
        if ctor is None:  # Input and Output: no module, the data passes through
            return shapes[0], 0, None
        with torch.device("meta"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Initializing zero-element tensors is a no-op"
            module = ctor()
            out = module(*(torch.empty(2, *s) for s in shapes))  # 2: BatchNorm refuses one value per channel
    except Exception as exc:
        return None, 0, f"{type(exc).__name__}: {exc}"
    return tuple(out.shape[1:]), sum(p.numel() for p in module.parameters()), None


@pytest.mark.parametrize("kind", sorted(CATALOG))
def test_every_kind_infers_its_shapes_by_arithmetic(kind):
    assert CATALOG[kind].infer is not None, (
        f"{kind} has no `infer`: every kind works out its output shape and parameter count by arithmetic "
        "(see LayerSpec.infer in playground/core/layers/base.py)")


@pytest.mark.parametrize("kind", sorted(k for k in CATALOG if k not in ("input", "noise")))
def test_arithmetic_agrees_with_torch_on_the_meta_device(kind):
    spec = CATALOG[kind]
    agreed = 0
    for params, shapes in cases(kind):
        shape, count, problem = infer_layer(spec, params, shapes)
        expected_shape, expected_count, error = torch_says(spec, params, shapes)
        case = f"{kind} {params} on {shapes}"
        if error is not None:
            assert problem is not None, f"{case}: torch refuses ({error}) but check/infer give {shape}"
            continue
        if problem is not None:
            continue  # stricter than torch is allowed: the message is plainer, and the export simpler
        assert shape == expected_shape, f"{case}: infer says {shape}, torch {expected_shape}"
        assert count == expected_count, f"{case}: infer counts {count:,} parameters, torch {expected_count:,}"
        agreed += 1
    assert agreed >= 8, f"{kind}: only {agreed} generated cases are valid; widen the generator (PLAUSIBLE)"


def test_input_infers_its_own_shape():
    spec = CATALOG["input"]
    params = spec.resolve({"shape": [3, 32, 32]})
    assert infer_layer(spec, params, []) == ((3, 32, 32), 0, None)


def test_noise_infers_its_own_shape():
    spec = CATALOG["noise"]
    assert infer_layer(spec, spec.resolve({"dim": 32}), []) == ((32,), 0, None)


def test_the_catalog_and_the_analysis_load_without_torch():
    """`inspect` and the editor's checks must not wait for torch: a family names torch's classes through
    `layers.base.nn` and `layers.base.modules`, which import when a layer is built."""
    code = ("import sys, traceback\n"
            "class Spy:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'torch':\n"
            "            print(''.join(traceback.format_stack()[:-1]))\n"
            "            raise SystemExit(1)\n"
            "sys.meta_path.insert(0, Spy())\n"
            "import playground.core.analysis, playground.core.summary\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"torch was imported from:\n{result.stdout}{result.stderr}"
