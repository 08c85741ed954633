"""Element-wise non-linearities."""

from torch import nn

from .base import Ctor, LayerSpec, Param


def _activation(kind, title, cls, help, params=(), kwargs=lambda p: {}):
    return LayerSpec(kind=kind, title=title, group="Activation", help=help, params=params,
                     make=lambda p, s: Ctor(cls, (), kwargs(p)))


SPECS = (
    _activation("relu", "ReLU", nn.ReLU, "max(0, x): the default choice for hidden layers."),
    _activation("leaky_relu", "LeakyReLU", nn.LeakyReLU, "Like ReLU, but lets a small slope through for x < 0.",
                params=(Param("negative_slope", "float", 0.01, "Slope for negative inputs.", min=0.0, max=1.0),),
                kwargs=lambda p: {"negative_slope": p["negative_slope"]}),
    _activation("gelu", "GELU", nn.GELU, "A smooth ReLU, standard in transformers."),
    _activation("sigmoid", "Sigmoid", nn.Sigmoid, "Squashes values into (0, 1)."),
    _activation("tanh", "Tanh", nn.Tanh, "Squashes values into (-1, 1)."),
    _activation("softmax", "Softmax", nn.Softmax,
                "Turns scores into probabilities over the last axis (not needed before a cross-entropy Output).",
                kwargs=lambda p: {"dim": -1}),
)
