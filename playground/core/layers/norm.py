"""Normalization and dropout."""

import math

from .base import Ctor, LayerSpec, Param, describe, nn, same_shape


def _check_batchnorm(params, shapes):
    (shape,) = shapes
    if len(shape) not in (1, 3):
        return f"BatchNorm needs an image or a vector but gets {describe(shape)} — use LayerNorm for sequences"
    return None


def _make_batchnorm(params, shapes):
    (shape,) = shapes
    cls = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
    return Ctor(cls, (shape[0],), {"eps": params["eps"], "momentum": params["momentum"]})


BATCHNORM = LayerSpec(
    kind="batchnorm",
    title="BatchNorm",
    group="Normalization",
    help="Normalizes each channel with the batch's mean and variance; speeds up and steadies training.",
    params=(
        Param("momentum", "float", 0.1, "How fast the running statistics follow the batches.", min=0.0, max=1.0),
        Param("eps", "float", 1e-5, "Small number added to the variance for stability.", min=1e-12, max=1.0),
    ),
    make=_make_batchnorm,
    check=_check_batchnorm,
    infer=lambda p, s: (s[0], 2 * s[0][0]),  # a scale and a shift per channel (the running statistics are buffers)
)


def _make_layernorm(params, shapes):
    (shape,) = shapes
    # Images are normalized over all of C×H×W, vectors and sequences over features.
    normalized = list(shape) if len(shape) == 3 else shape[-1]
    return Ctor(nn.LayerNorm, (normalized,), {"eps": params["eps"]})


def _infer_layernorm(params, shapes):
    (shape,) = shapes
    return shape, 2 * (math.prod(shape) if len(shape) == 3 else shape[-1])


LAYERNORM = LayerSpec(
    kind="layernorm",
    title="LayerNorm",
    group="Normalization",
    help="Normalizes each sample on its own (over the features of each step, or the whole image).",
    params=(Param("eps", "float", 1e-5, "Small number added to the variance for stability.", min=1e-12, max=1.0),),
    make=_make_layernorm,
    infer=_infer_layernorm,
)

DROPOUT = LayerSpec(
    kind="dropout",
    title="Dropout",
    group="Normalization",
    help="During training, zeroes a random fraction of values to fight overfitting; does nothing at test time.",
    params=(Param("p", "float", 0.5, "Fraction of values to drop.", min=0.0, max=0.95),),
    make=lambda p, s: Ctor(nn.Dropout, (p["p"],)),
    infer=same_shape,
    summary=("p",),
)

SPECS = (BATCHNORM, LAYERNORM, DROPOUT)
