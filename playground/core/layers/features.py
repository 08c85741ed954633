"""Features of 2-D points: TensorFlow Playground's input column as a layer whose ticks pick x, y, x², y², xy,
sin x and sin y. Its output is as wide as the ticks, and every downstream shape follows."""

from .base import Ctor, LayerSpec, Param, describe, modules

# (parameter, label on the node and in the inspector), in the order the features come out.
FEATURES = (("x", "x"), ("y", "y"), ("x_squared", "x²"), ("y_squared", "y²"), ("x_times_y", "xy"),
            ("sin_x", "sin x"), ("sin_y", "sin y"))


def chosen(params) -> tuple[str, ...]:
    return tuple(name for name, _ in FEATURES if params[name])


def feature_labels(params) -> tuple[str, ...]:
    """What each output of a Features node is, in order: ("x", "y", "x²", …) for the views."""
    return tuple(label for name, label in FEATURES if params[name])


def _check(params, shapes):
    (shape,) = shapes
    if shape != (2,):
        return f"Features needs 2-D points (a vector of 2: x, y) but gets {describe(shape)}"
    if not chosen(params):
        return "tick at least one feature"
    return None


FEATURES_SPEC = LayerSpec(
    kind="features",
    title="Features",
    group="Input/Output",
    help="Features of 2-D points for the next layer: tick any of x, y, x², y², xy, sin x and sin y "
         "(TensorFlow Playground's inputs). The output has one value per ticked feature.",
    params=tuple(Param(name, "bool", name in ("x", "y"), f"Feed {label} to the network.", label=label)
                 for name, label in FEATURES),
    make=lambda p, s: Ctor(modules.Features, (list(chosen(p)),)),
    check=_check,
    infer=lambda p, s: ((len(chosen(p)),), 0),
    face=lambda p: ", ".join(feature_labels(p)) or "no features",
)

SPECS = (FEATURES_SPEC,)
