"""Fully connected layers."""

from torch import nn

from .base import Ctor, LayerSpec, Param, describe


def _check(params, shapes):
    (shape,) = shapes
    if len(shape) > 2:
        return f"Dense needs a vector or a sequence but gets {describe(shape)} — add a Flatten before it"
    return None


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
    summary=("units",),
)

SPECS = (DENSE,)
