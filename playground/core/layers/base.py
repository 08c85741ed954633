"""The vocabulary every layer kind is described in.

A layer kind is pure data (`LayerSpec`): its typed parameters with defaults,
ranges and help text, its input ports, and three small functions: `check`, which
explains in plain words why the kind cannot accept some input shapes, `infer`,
which works out its output shape and parameter count by arithmetic (so that
checking a graph needs no torch), and `make`, which says which torch module to
construct (a `Ctor`). The same `Ctor` is used to build the real module and to
write readable export source, so the two can never disagree.

Nothing here imports torch: the families name torch's classes through `nn` and
`modules` below, which import on first use (building), not when the catalog loads.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Shape = tuple[int, ...]  # a tensor shape without the batch dimension


class LazyModule:
    """A module imported on its first attribute access: `nn.Linear` imports torch only when a layer is built."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(self._name), attr)


nn = LazyModule("torch.nn")
modules = LazyModule("playground.core.layers.modules")  # torch modules for kinds that torch.nn lacks


def fmt_shape(shape: Shape) -> str:
    """`(64, 5, 5)` -> `64×5×5`, the way the editor labels wires."""
    return "×".join(str(d) for d in shape) if shape else "scalar"


@dataclass(frozen=True)
class Param:
    """One typed, bounded parameter of a layer kind.

    `type` is one of "int", "float", "bool", "choice", "shape". A "shape" is a
    list of positive ints (`-1` allowed once when `allow_infer`).
    """

    name: str
    type: str
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    min_len: int = 1
    max_len: int = 4
    allow_infer: bool = False
    label: str = ""  # what the inspector calls it, where the name written out would not do ("x²")

    def error(self, value: Any) -> str | None:
        """Plain-words reason why `value` is not acceptable, or None."""
        if self.type == "bool":
            return None if isinstance(value, bool) else f"must be true or false, not {value!r}"
        if self.type == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                return f"must be a whole number, not {value!r}"
            return self._range_error(value)
        if self.type == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return f"must be a number, not {value!r}"
            if not math.isfinite(value):
                return f"must be a finite number, not {value!r}"
            return self._range_error(value)
        if self.type == "choice":
            if value not in self.choices:
                return f"must be one of {', '.join(self.choices)}, not {value!r}"
            return None
        if self.type == "shape":
            return self._shape_error(value)
        raise AssertionError(f"unknown parameter type {self.type}")

    def _range_error(self, value: float) -> str | None:
        if self.min is not None and value < self.min:
            return f"must be at least {self.min}, not {value}"
        if self.max is not None and value > self.max:
            return f"must be at most {self.max}, not {value}"
        return None

    def _shape_error(self, value: Any) -> str | None:
        if not isinstance(value, (list, tuple)) or not all(
            isinstance(d, int) and not isinstance(d, bool) for d in value
        ):
            return f"must be a list of whole numbers, not {value!r}"
        if not self.min_len <= len(value) <= self.max_len:
            return f"must have {self.min_len} to {self.max_len} dimensions, not {len(value)}"
        inferred = [d for d in value if d == -1]
        if inferred and not self.allow_infer:
            return "cannot contain -1"
        if len(inferred) > 1:
            return "may contain -1 at most once"
        if any(d == 0 or d < -1 for d in value):
            return f"dimensions must be positive, not {list(value)}"
        if any(d > (self.max or 65536) for d in value):
            return f"dimensions must be at most {int(self.max or 65536)}"
        return None

    def normalise(self, value: Any) -> Any:
        """Canonical, hashable form of a valid value (shapes become tuples, ints in float slots floats)."""
        if self.type == "shape":
            return tuple(value)
        if self.type == "float":
            return float(value)
        return value


@dataclass(frozen=True)
class Port:
    """A named input port. `multiple` ports (merges) take two or more wires."""

    name: str = "in"
    multiple: bool = False


@dataclass(frozen=True)
class Ctor:
    """A module constructor call: `cls(*args, **kwargs)`.

    Kept as data so that building and source export share one description.
    """

    cls: type
    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self):
        return self.cls(*self.args, **self.kwargs)


ShapeCheck = Callable[[dict, list[Shape]], str | None]
# (output shape without the batch dimension, parameter count as `module.parameters()` would sum it)
ShapeInfer = Callable[[dict, list[Shape]], tuple[Shape, int]]
Maker = Callable[[dict, list[Shape]], Ctor | None]


def same_shape(params: dict, shapes: list[Shape]) -> tuple[Shape, int]:
    """`infer` of a kind that keeps its (first) input's shape and has no parameters."""
    return shapes[0], 0


@dataclass(frozen=True)
class LayerSpec:
    kind: str
    title: str
    group: str
    help: str
    params: tuple[Param, ...] = ()
    inputs: tuple[Port, ...] = (Port(),)
    make: Maker = lambda params, shapes: None
    # Plain-words explanation of why the input shapes do not fit, checked
    # before torch sees them (torch's own messages are written for programmers).
    check: ShapeCheck = lambda params, shapes: None
    # Output shape and parameter count, by arithmetic; called only after `check` passed. It may raise
    # ValueError("plain words") for what `check` leaves out, which becomes the node's problem. Every kind
    # must have one (tests/core/test_shape_oracle.py compares it with torch on the meta device).
    infer: ShapeInfer | None = None
    # Parameters worth showing on the node face in the editor.
    summary: tuple[str, ...] = ()
    # Or, where the names of `summary` say too little, what the face says of the (valid, resolved) parameters.
    face: Callable[[dict], str] | None = None

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.normalise(p.default) for p in self.params}

    def resolve(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with `given` (which must already be valid)."""
        resolved = self.defaults()
        for p in self.params:
            if p.name in given:
                resolved[p.name] = p.normalise(given[p.name])
        return resolved

    def param_errors(self, given: Mapping[str, Any]) -> list[str]:
        errors = []
        known = {p.name for p in self.params}
        for name in given:
            if name not in known:
                errors.append(f"has no parameter '{name}' (it has: {', '.join(sorted(known)) or 'none'})")
        for p in self.params:
            if p.name in given:
                problem = p.error(given[p.name])
                if problem:
                    errors.append(f"parameter '{p.name}' {problem}")
        return errors


# -- helpers shared by the layer families -------------------------------------------------


def describe(shape: Shape) -> str:
    """Name what a shape is, for error messages: 'an image 32×26×26', 'a vector of 64'."""
    if len(shape) == 1:
        return f"a vector of {shape[0]}"
    if len(shape) == 2:
        return f"a sequence {fmt_shape(shape)} (steps×features)"
    if len(shape) == 3:
        return f"an image {fmt_shape(shape)} (channels×height×width)"
    return f"a {len(shape)}-D tensor {fmt_shape(shape)}"


def need_image(title: str, shape: Shape) -> str | None:
    if len(shape) != 3:
        hint = " — add a Reshape before it" if len(shape) < 3 else ""
        return f"{title} needs an image (channels×height×width) but gets {describe(shape)}{hint}"
    return None


def window_error(kind_word: str, kernel: int, padding: int, dilation: int, shape: Shape) -> str | None:
    """Why a sliding window does not fit a C×H×W input (None if it does)."""
    _, h, w = shape
    span = dilation * (kernel - 1) + 1
    if h + 2 * padding < span or w + 2 * padding < span:
        padded = f" (with padding {padding})" if padding else ""
        return f"a {kernel}×{kernel} {kind_word} does not fit a {h}×{w} input{padded}"
    return None


def window_out(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
