"""Flatten and Reshape."""

import math

from .base import Ctor, LayerSpec, Param, fmt_shape, modules, nn

FLATTEN = LayerSpec(
    kind="flatten",
    title="Flatten",
    group="Dense",
    help="Unrolls each sample into one long vector (e.g. 64×5×5 becomes 1600).",
    make=lambda p, s: Ctor(nn.Flatten),
    infer=lambda p, s: ((math.prod(s[0]),), 0),
)


def _check_reshape(params, shapes):
    (shape,) = shapes
    target = params["shape"]
    size = math.prod(shape)
    known = math.prod(d for d in target if d != -1)
    if -1 in target:
        if size % known:
            return f"cannot reshape {fmt_shape(shape)} ({size} values) into {list(target)}"
    elif known != size:
        return f"cannot reshape {fmt_shape(shape)} ({size} values) into {fmt_shape(target)} ({known} values)"
    return None


def _infer_reshape(params, shapes):
    (shape,) = shapes
    target = params["shape"]
    known = math.prod(d for d in target if d != -1)
    return tuple(math.prod(shape) // known if d == -1 else d for d in target), 0


RESHAPE = LayerSpec(
    kind="reshape",
    title="Reshape",
    group="Dense",
    help="Rearranges each sample into a new shape with the same number of values (-1 = work it out).",
    params=(Param("shape", "shape", [1, 28, 28], "Target shape without the batch dimension.", allow_infer=True,
                  max=65536),),
    make=lambda p, s: Ctor(modules.Reshape, (list(p["shape"]),)),
    check=_check_reshape,
    infer=_infer_reshape,
    summary=("shape",),
)

SPECS = (FLATTEN, RESHAPE)
