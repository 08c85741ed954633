"""The layer catalog: every kind a graph node can be, grouped as the editor's palette shows them."""

from . import activation, attention, conv, dense, features, generative, io, merge, norm, pooling, recurrent, reshape
from .base import Ctor, LayerSpec, Param, Port, Shape, fmt_shape

GROUPS = ("Input/Output", "Dense", "Convolution", "Pooling", "Normalization", "Recurrent", "Attention", "Merge",
          "Activation")

CATALOG: dict[str, LayerSpec] = {
    spec.kind: spec
    for family in (io, features, dense, reshape, conv, generative, pooling, norm, recurrent, attention, merge,
                   activation)
    for spec in family.SPECS
}

__all__ = ["CATALOG", "GROUPS", "Ctor", "LayerSpec", "Param", "Port", "Shape", "by_group", "fmt_shape"]


def by_group() -> dict[str, list[LayerSpec]]:
    groups: dict[str, list[LayerSpec]] = {g: [] for g in GROUPS}
    for spec in CATALOG.values():
        groups[spec.group].append(spec)
    return groups
