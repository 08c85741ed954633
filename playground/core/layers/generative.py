"""What a generator needs: its noise source, its image output, transposed convolution and upsampling.

A graph with a Noise node is a GAN graph (core/gan/structure.py): Noise → … →
Generated is the generator, Input → … → Output (one logit) the discriminator.
Noise and Generated are not layers of their own: Noise says what the trainer
feeds the generator (its size and distribution), Generated marks what the
generator makes and its range: images, whose pixel range sets how real images
are scaled for the discriminator, or 2-D points (range "none": coordinates on
the plane, as they are, as real points reach the discriminator).

Noise is a source, like Input: its `infer` takes no input shapes.
"""

from __future__ import annotations

from .base import Ctor, LayerSpec, Param, Port, Shape, describe, fmt_shape, need_image, nn

# -- Noise --------------------------------------------------------------------------------

NOISE_DISTRIBUTIONS = ("normal", "uniform")


def infer_noise(params: dict, shapes: list[Shape]) -> tuple[Shape, int]:
    return (params["dim"],), 0


NOISE = LayerSpec(
    kind="noise",
    title="Noise",
    group="Input/Output",
    help="Where a generator starts: a vector of random numbers, new for every image it makes (a GAN's latent "
         "code). A graph with a Noise node is a GAN: Noise → … → Generated is the generator.",
    params=(
        Param("dim", "int", 100, "How many random numbers each image is made from (the latent size).", min=1,
              max=4096),
        Param("distribution", "choice", "normal", "normal: mean 0, spread 1; uniform: evenly between -1 and 1.",
              choices=NOISE_DISTRIBUTIONS),
    ),
    inputs=(),
    summary=("dim",),
    infer=infer_noise,
)


# -- Generated ----------------------------------------------------------------------------

# The pixel range a generator's last activation gives, and the (mean, std) that maps 0..1 pixels onto it.
PIXEL_RANGES = {"tanh": (0.5, 0.5), "sigmoid": (0.0, 1.0)}
# "none": no squashing, for a generator of 2-D points (x, y on the plane [-6, 6]², as the real points are).
NO_RANGE = "none"
GENERATED_RANGES = (*PIXEL_RANGES, NO_RANGE)
POINT_SHAPE = (2,)  # what a generator of 2-D points makes: x and y


def infer_generated(params: dict, shapes: list[Shape]) -> tuple[Shape, int]:
    (shape,) = shapes
    return shape, 0


def _check_generated(params, shapes):
    (shape,) = shapes
    if len(shape) == 3 or tuple(shape) == POINT_SHAPE:
        return None
    if len(shape) == 1:
        return (f"a generator must make images (channels×height×width) or 2-D points (x, y: 2 values), but this "
                f"gets {describe(shape)} — add a Reshape to channels×height×width for images, or end with "
                "Dense(2) for points")
    hint = " — add a Reshape to channels×height×width" if len(shape) < 3 else ""
    return f"a generator must make images (channels×height×width) but this gets {describe(shape)}{hint}"


GENERATED = LayerSpec(
    kind="generated",
    title="Generated",
    group="Input/Output",
    help="The generator's output: the images (or 2-D points) it makes, which the discriminator then judges "
         "against real ones. Their shape must be the dataset's.",
    params=(
        Param("range", "choice", "tanh", "The range of the generated values, after the generator's last "
              "activation: tanh gives pixels from -1 to 1, sigmoid from 0 to 1 (real images are scaled the same "
              "way); none leaves them as they are, for 2-D points (x, y on the plane, -6 to 6).",
              choices=GENERATED_RANGES),
    ),
    inputs=(Port(),),
    check=_check_generated,
    summary=("range",),
    infer=infer_generated,
)


# -- ConvTranspose2d ----------------------------------------------------------------------


def transposed_out(size: int, kernel: int, stride: int, padding: int, output_padding: int) -> int:
    return (size - 1) * stride - 2 * padding + kernel + output_padding


def _check_conv_transpose(params, shapes):
    (shape,) = shapes
    if (problem := need_image("ConvTranspose2d", shape)) is not None:
        return problem
    kernel, stride, padding, extra = (params[k] for k in ("kernel_size", "stride", "padding", "output_padding"))
    if extra >= stride:
        return f"output padding ({extra}) must be smaller than the stride ({stride})"
    _, h, w = shape
    oh, ow = (transposed_out(s, kernel, stride, padding, extra) for s in (h, w))
    if oh < 1 or ow < 1:
        return (f"padding {padding} trims more than a {kernel}×{kernel} kernel with stride {stride} adds to a "
                f"{h}×{w} input — use less padding")
    return None


def _make_conv_transpose(params, shapes):
    return Ctor(
        nn.ConvTranspose2d,
        (shapes[0][0], params["filters"], params["kernel_size"]),
        {"stride": params["stride"], "padding": params["padding"], "output_padding": params["output_padding"],
         "bias": params["bias"]},
    )


def infer_conv_transpose(params: dict, shapes: list[Shape]) -> tuple[Shape, int]:
    (c, h, w) = shapes[0]
    k, s, p, extra, f = (params[n] for n in ("kernel_size", "stride", "padding", "output_padding", "filters"))
    out = (f, transposed_out(h, k, s, p, extra), transposed_out(w, k, s, p, extra))
    if out[1] < 1 or out[2] < 1:
        raise ValueError(f"the output would be {fmt_shape(out)}")
    return out, c * f * k * k + (f if params["bias"] else 0)


CONV_TRANSPOSE2D = LayerSpec(
    kind="conv_transpose2d",
    title="ConvTranspose2d",
    group="Convolution",
    help="Transposed convolution: each input pixel paints a learned filter onto a larger output. With stride 2, "
         "kernel 4 and padding 1 it doubles the image's height and width (7×7 → 14×14): how generators grow "
         "images.",
    params=(
        Param("filters", "int", 64, "Number of filters (output channels).", min=1, max=1024),
        Param("kernel_size", "int", 4, "Height and width of each filter.", min=1, max=31),
        Param("stride", "int", 2, "How far apart the input pixels land in the output (2 doubles the size).",
              min=1, max=16),
        Param("padding", "int", 1, "Rows and columns trimmed from each side of the output.", min=0, max=15),
        Param("output_padding", "int", 0, "Extra rows and columns added on one side (below the stride), to hit "
              "an exact size.", min=0, max=15),
        Param("bias", "bool", True, "Learn an additive bias per filter (off before a BatchNorm, which has its "
              "own)."),
    ),
    make=_make_conv_transpose,
    check=_check_conv_transpose,
    summary=("filters", "kernel_size", "stride"),
    infer=infer_conv_transpose,
)


# -- Upsample -----------------------------------------------------------------------------

UPSAMPLE_MODES = ("nearest", "bilinear")


def _check_upsample(params, shapes):
    (shape,) = shapes
    if (problem := need_image("Upsample", shape)) is not None:
        return problem
    _, h, w = shape
    if h * params["scale"] > 4096 or w * params["scale"] > 4096:
        return f"a {h}×{w} image scaled by {params['scale']} would be over 4096 pixels wide"
    return None


def _make_upsample(params, shapes):
    kwargs = {"scale_factor": params["scale"], "mode": params["mode"]}
    if params["mode"] == "bilinear":
        kwargs["align_corners"] = False
    return Ctor(nn.Upsample, (), kwargs)


def infer_upsample(params: dict, shapes: list[Shape]) -> tuple[Shape, int]:
    c, h, w = shapes[0]
    return (c, h * params["scale"], w * params["scale"]), 0


UPSAMPLE = LayerSpec(
    kind="upsample",
    title="Upsample",
    group="Convolution",
    help="Enlarges each image by a whole factor, repeating pixels (nearest) or blending them (bilinear); "
         "a convolution after it then fills in detail. An alternative to transposed convolution.",
    params=(
        Param("scale", "int", 2, "Factor the height and width are multiplied by.", min=1, max=16),
        Param("mode", "choice", "nearest", "nearest: repeat pixels; bilinear: blend neighbours.",
              choices=UPSAMPLE_MODES),
    ),
    make=_make_upsample,
    check=_check_upsample,
    summary=("scale", "mode"),
    infer=infer_upsample,
)

SPECS = (NOISE, GENERATED, CONV_TRANSPOSE2D, UPSAMPLE)
