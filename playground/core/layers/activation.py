"""Element-wise non-linearities."""

from .base import Ctor, LayerSpec, Param, nn, same_shape


def _activation(kind, title, cls, help, params=(), kwargs=lambda p: {}):
    """`cls` names a class of torch.nn, looked up when a layer is built (the catalog loads without torch)."""
    return LayerSpec(kind=kind, title=title, group="Activation", help=help, params=params,
                     make=lambda p, s: Ctor(getattr(nn, cls), (), kwargs(p)), infer=same_shape)


SPECS = (
    _activation("relu", "ReLU", "ReLU", "max(0, x): the default choice for hidden layers."),
    _activation("leaky_relu", "LeakyReLU", "LeakyReLU", "Like ReLU, but lets a small slope through for x < 0.",
                params=(Param("negative_slope", "float", 0.01, "Slope for negative inputs.", min=0.0, max=1.0),),
                kwargs=lambda p: {"negative_slope": p["negative_slope"]}),
    _activation("gelu", "GELU", "GELU", "A smooth ReLU, standard in transformers."),
    _activation("sigmoid", "Sigmoid", "Sigmoid", "Squashes values into (0, 1)."),
    _activation("tanh", "Tanh", "Tanh", "Squashes values into (-1, 1)."),
    _activation("softmax", "Softmax", "Softmax",
                "Turns scores into probabilities over the last axis (not needed before a cross-entropy Output).",
                kwargs=lambda p: {"dim": -1}),
)
