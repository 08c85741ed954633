"""Convolution."""

from .base import Ctor, LayerSpec, Param, need_image, nn, window_error, window_out


def _check(params, shapes):
    (shape,) = shapes
    return need_image("Conv2d", shape) or window_error(
        "kernel", params["kernel_size"], params["padding"], params["dilation"], shape
    )


def _infer(params, shapes):
    ((channels, h, w),) = shapes
    filters, kernel = params["filters"], params["kernel_size"]
    size = (params["kernel_size"], params["stride"], params["padding"], params["dilation"])
    count = channels * filters * kernel * kernel + (filters if params["bias"] else 0)
    return (filters, window_out(h, *size), window_out(w, *size)), count


def _make(params, shapes):
    return Ctor(
        nn.Conv2d,
        (shapes[0][0], params["filters"], params["kernel_size"]),
        {"stride": params["stride"], "padding": params["padding"], "dilation": params["dilation"],
         "bias": params["bias"]},
    )


CONV2D = LayerSpec(
    kind="conv2d",
    title="Conv2d",
    group="Convolution",
    help="2-D convolution: slides small learned filters over the image, one output channel per filter.",
    params=(
        Param("filters", "int", 32, "Number of filters (output channels).", min=1, max=1024),
        Param("kernel_size", "int", 3, "Height and width of each filter.", min=1, max=31),
        Param("stride", "int", 1, "Step between filter positions.", min=1, max=16),
        Param("padding", "int", 0, "Zeros added around each side of the input.", min=0, max=15),
        Param("dilation", "int", 1, "Spacing between filter taps.", min=1, max=8),
        Param("bias", "bool", True, "Learn an additive bias per filter."),
    ),
    make=_make,
    check=_check,
    infer=_infer,
    summary=("filters", "kernel_size"),
)

SPECS = (CONV2D,)
