"""Merges: combine several branches (skip connections, parallel paths)."""

from .base import Ctor, LayerSpec, Param, Port, fmt_shape, modules, same_shape


def _check_same(verb):
    def check(params, shapes):
        if len(set(shapes)) > 1:
            return f"cannot {verb} " + " and ".join(fmt_shape(s) for s in shapes) + ": all inputs need the same shape"
        return None

    return check


def _check_concat(params, shapes):
    ranks = {len(s) for s in shapes}
    if len(ranks) > 1:
        return "cannot concatenate " + " and ".join(fmt_shape(s) for s in shapes) + ": different numbers of axes"
    rank, axis = ranks.pop(), params["axis"]
    if not -rank <= axis < rank:
        return f"axis {axis} does not exist in {rank}-D inputs"
    axis %= rank
    others = {s[:axis] + s[axis + 1:] for s in shapes}
    if len(others) > 1:
        return ("cannot concatenate " + " and ".join(fmt_shape(s) for s in shapes)
                + f" along axis {axis}: the other axes differ")
    return None


def _infer_concat(params, shapes):
    first = shapes[0]
    axis = params["axis"] % len(first)
    return (*first[:axis], sum(s[axis] for s in shapes), *first[axis + 1:]), 0


_MERGE_PORT = (Port("in", multiple=True),)

SPECS = (
    LayerSpec(kind="add", title="Add", group="Merge", inputs=_MERGE_PORT, make=lambda p, s: Ctor(modules.Add),
              help="Adds its inputs element-wise: the join of a skip connection.", check=_check_same("add"),
              infer=same_shape),
    LayerSpec(kind="multiply", title="Multiply", group="Merge", inputs=_MERGE_PORT,
              make=lambda p, s: Ctor(modules.Multiply), help="Multiplies its inputs element-wise (gating).",
              check=_check_same("multiply"), infer=same_shape),
    LayerSpec(kind="concatenate", title="Concatenate", group="Merge", inputs=_MERGE_PORT,
              params=(Param("axis", "int", 0, "Axis to join along (0 = channels or features).", min=-4, max=3),),
              make=lambda p, s: Ctor(modules.Concatenate, (), {"axis": p["axis"]}),
              help="Joins its inputs along one axis, e.g. stacks the channels of two branches.",
              check=_check_concat, infer=_infer_concat, summary=("axis",)),
)
