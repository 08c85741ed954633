"""Input and Output: where data enters the network and where the loss is taken."""

from ..data.class_folders import FOLDER
from ..data.point_sets import CLASSIFICATION_SETS, OWN_POINTS, REGRESSION_SETS
from .base import LayerSpec, Param, Port, describe, same_shape

# Every dataset the trainer knows: the shape of one sample and the number of classes (1: a regression's value;
# None: as many as the document's own points have). An image folder ("folder") has both from its images, which
# only loading them tells: (None, None), and the Trainer checks the network against the loaded folder.
DATASETS = {"mnist": ((1, 28, 28), 10), "fashion-mnist": ((1, 28, 28), 10), "mnist-sample": ((1, 28, 28), 10),
            **{name: ((2,), 2) for name in CLASSIFICATION_SETS}, **{name: ((2,), 1) for name in REGRESSION_SETS},
            OWN_POINTS: ((2,), None), FOLDER: (None, None)}

INPUT = LayerSpec(
    kind="input",
    title="Input",
    group="Input/Output",
    help="Where samples enter the network: their shape (channels×height×width, or 2 for points on a plane) and "
         "the dataset they come from.",
    params=(
        Param("shape", "shape", [1, 28, 28], "Shape of one sample, without the batch dimension.", max=4096),
        Param("dataset", "choice", "mnist", "Dataset to train on.", choices=tuple(DATASETS)),
    ),
    inputs=(),
    infer=lambda p, s: (tuple(p["shape"]), 0),
    summary=("dataset",),
)


def _check_output(params, shapes):
    (shape,) = shapes
    if params["loss"] == "cross_entropy" and len(shape) != 1:
        return f"cross-entropy needs a vector of class scores but gets {describe(shape)} — add Flatten and Dense"
    return None


OUTPUT = LayerSpec(
    kind="output",
    title="Output",
    group="Input/Output",
    help="The network's prediction and the loss it is trained with (cross-entropy expects raw class scores).",
    params=(
        Param("loss", "choice", "cross_entropy", "Loss function: cross-entropy for classes, MSE for regression.",
              choices=("cross_entropy", "mse")),
    ),
    inputs=(Port(),),
    check=_check_output,
    infer=same_shape,
    summary=("loss",),
)

SPECS = (INPUT, OUTPUT)
