"""Pooling: shrink images by taking the max or mean of small windows."""

from .base import Ctor, LayerSpec, Param, modules, need_image, nn, window_error, window_out


def _params(default_kernel):
    return (
        Param("kernel_size", "int", default_kernel, "Height and width of each pooling window.", min=1, max=31),
        Param("stride", "int", 0, "Step between windows (0 = the window size).", min=0, max=16),
        Param("padding", "int", 0, "Padding on each side (at most half the window).", min=0, max=15),
    )


def _checker(title):
    def check(params, shapes):
        (shape,) = shapes
        kernel, padding = params["kernel_size"], params["padding"]
        if need_image(title, shape):
            return need_image(title, shape)
        if padding * 2 > kernel:
            return f"padding {padding} is more than half the {kernel}×{kernel} window"
        return window_error("window", kernel, padding, 1, shape)

    return check


def _infer(params, shapes):
    ((channels, h, w),) = shapes
    kernel, padding = params["kernel_size"], params["padding"]
    stride = params["stride"] or kernel
    return (channels, window_out(h, kernel, stride, padding), window_out(w, kernel, stride, padding)), 0


def _maker(cls):
    def make(params, shapes):  # `cls` names a class of torch.nn, looked up when a layer is built
        stride = params["stride"] or params["kernel_size"]
        return Ctor(getattr(nn, cls), (params["kernel_size"],), {"stride": stride, "padding": params["padding"]})

    return make


MAXPOOL = LayerSpec(
    kind="maxpool2d",
    title="MaxPool2d",
    group="Pooling",
    help="Keeps the largest value in each window: halves the image with the default 2×2 window.",
    params=_params(2),
    make=_maker("MaxPool2d"),
    check=_checker("MaxPool2d"),
    infer=_infer,
    summary=("kernel_size",),
)

AVGPOOL = LayerSpec(
    kind="avgpool2d",
    title="AvgPool2d",
    group="Pooling",
    help="Averages each window: a smoother way to shrink the image.",
    params=_params(2),
    make=_maker("AvgPool2d"),
    check=_checker("AvgPool2d"),
    infer=_infer,
    summary=("kernel_size",),
)

GLOBAL_AVGPOOL = LayerSpec(
    kind="global_avgpool",
    title="Global average pool",
    group="Pooling",
    help="Averages each channel over the whole image: C×H×W becomes a vector of C.",
    make=lambda p, s: Ctor(modules.GlobalAvgPool),
    check=lambda p, s: need_image("Global average pool", s[0]),
    infer=lambda p, s: ((s[0][0],), 0),
)

SPECS = (MAXPOOL, AVGPOOL, GLOBAL_AVGPOOL)
