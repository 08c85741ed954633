"""Fully connected layers."""

from .base import Ctor, LayerSpec, Param, describe, nn


def _check(params, shapes):
    (shape,) = shapes
    if len(shape) > 2:
        return f"Dense needs a vector or a sequence but gets {describe(shape)} — add a Flatten before it"
    return None


def _infer(params, shapes):
    (shape,) = shapes
    units = params["units"]
    return (*shape[:-1], units), shape[-1] * units + (units if params["bias"] else 0)


DENSE = LayerSpec(
    kind="dense",
    title="Dense",
    group="Dense",
    help="Fully connected layer: each output is a weighted sum of all inputs plus a bias (per step on sequences).",
    params=(
        Param("units", "int", 64, "Number of outputs.", min=1, max=16384),
        Param("bias", "bool", True, "Learn an additive bias."),
    ),
    make=lambda p, s: Ctor(nn.Linear, (s[0][-1], p["units"]), {"bias": p["bias"]}),
    check=_check,
    infer=_infer,
    summary=("units",),
)

SPECS = (DENSE,)
