"""The views' one picture renderer: NumPy arrays in, a QImage out, with where each cell of it sits.

A view colours its values (`colormap.colorize`, with explicit levels), lays the coloured cells out in a mosaic
(`mosaic`: channels, kernels, units, heads), or enlarges one array (`enlarge`), and makes one QImage of the result:
no widget and no QPainter call per cell, so a 32×32 grid of kernels costs a couple of milliseconds. Scaling is
always nearest neighbour by a whole number of pixels (`integer_scale`), so a value stays a crisp block of pixels.

Pixels are packed as uint32 0xffRRGGBB (`pack`, QImage's Format_RGB32): one number per pixel, so that enlarging
and laying out move a quarter as many items as 3-byte RGB would. Each QImage made here owns a copy of its pixels.
A `Picture` is what a view keeps of one drawing: the image, the cells' rectangles in it (for tooltips and tests),
and the scale and texts shown beside it.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QRect
from PySide6.QtGui import QImage

from .colormap import SEQUENTIAL, colorize


def _no_boxes() -> np.ndarray:
    return np.zeros((0, 4), np.int64)


@dataclass(eq=False)  # compared by identity: NumPy boxes have no single truth value
class Picture:
    """One rendered picture: the image, where each cell (channel, kernel, unit, head) sits in it, the colour
    levels it uses and the texts beside it."""

    image: QImage
    boxes: np.ndarray = field(default_factory=_no_boxes)  # int [N, 4]: x, y, width, height of each cell
    levels: tuple[float, float] | None = (0.0, 1.0)  # None for an RGB picture (no single scale applies)
    cmap: str = SEQUENTIAL
    label: str = ""  # what the scale measures ("activation", "weight")
    axes: str = ""  # a line saying how to read the picture ("time step ↓ · feature →")
    note: str = ""  # what was left out or averaged, how to read it
    scale_xy: tuple[int, int] = (1, 1)  # one enlarged array: pixels per column and per row (for a tooltip)

    @functools.cached_property
    def cells(self) -> list[QRect]:
        """Each cell's rectangle in the image. Made when first asked for (a tooltip, a test): a thousand QRects
        take a millisecond, more than the mosaic itself."""
        return cell_rects(self.boxes)


# -- scaling ---------------------------------------------------------------------------------------------------


def integer_scale(side: int, target: int) -> int:
    """The whole-number factor that enlarges `side` pixels to about `target` (3 -> 27: 9); at least 1."""
    return max(1, round(target / max(1, side)))


def enlarge(pixels: np.ndarray, sy: int, sx: int) -> np.ndarray:
    """[H, W, ...] -> [H*sy, W*sx, ...], nearest neighbour."""
    if sy > 1:
        pixels = np.repeat(pixels, sy, axis=0)
    if sx > 1:
        pixels = np.repeat(pixels, sx, axis=1)
    return pixels


def resample(values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour `values` [h, w] at `shape` (any size, not only whole multiples)."""
    h, w = values.shape
    if (h, w) == shape:
        return values
    rows = np.arange(shape[0]) * h // shape[0]
    cols = np.arange(shape[1]) * w // shape[1]
    return values[rows][:, cols]


# -- colours and packing ---------------------------------------------------------------------------------------


def colorize_tiles(values: np.ndarray, levels: tuple[float, float], cmap: str = SEQUENTIAL) -> np.ndarray:
    """uint8 [N, h, w, 3] of float [N, h, w] through the map (one `colorize` call for the lot)."""
    n, h, w = values.shape
    return colorize(values.reshape(n * h, w), levels, cmap).reshape(n, h, w, 3)


def pack(rgb: np.ndarray) -> np.ndarray:
    """uint8 [..., 3] -> uint32 [...] pixels 0xffRRGGBB (QImage.Format_RGB32)."""
    rgb = rgb.astype(np.uint32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2] | np.uint32(0xFF000000)


# -- QImages ---------------------------------------------------------------------------------------------------


def packed_to_qimage(pixels: np.ndarray) -> QImage:
    """A QImage that owns a copy of the uint32 [H, W] pixels made by `pack`."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint32)
    h, w = pixels.shape
    return QImage(pixels.data, w, h, 4 * w, QImage.Format.Format_RGB32).copy()


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """A QImage that owns a copy of the uint8 [H, W, 3] pixels."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def grey_to_qimage(grey: np.ndarray) -> QImage:
    """A QImage that owns a copy of the uint8 [H, W] grey pixels."""
    grey = np.ascontiguousarray(grey, dtype=np.uint8)
    h, w = grey.shape
    return QImage(grey.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


def cell_rects(boxes: np.ndarray) -> list[QRect]:
    """QRects of boxes (int [N, 4]: x, y, width, height)."""
    return [QRect(*box) for box in np.asarray(boxes).tolist()]  # Python ints: faster than NumPy's one by one


# -- mosaics ---------------------------------------------------------------------------------------------------


def mosaic(tiles: np.ndarray, columns: int, scale: int = 1, gap: int = 2, background: tuple[int, int, int] = (0, 0, 0),
           top: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`tiles` (uint8 [N, h, w, 3]) enlarged `scale` times and laid out `columns` to a row (fewer if there are
    fewer tiles), `gap` pixels apart and with `top` free pixels above each row (for a caption), on `background`;
    as packed pixels (uint32 [H, W], see `pack`), and each tile's box (int [N, 4]: x, y, width, height). No gap
    around the outside.

    Laid out at the tiles' own size with one separator pixel between them (and one above each row), then enlarged
    in one `repeat` per axis with a count per row and column (`scale` for a tile's pixels, `gap` or `top` for a
    separator): a 32×32 grid of 3×3 kernels takes about a millisecond, where enlarging each tile first takes ten
    times that."""
    n, h, w, _ = tiles.shape
    columns = max(1, min(columns, n))
    rows = math.ceil(n / columns)
    bg = (background[0] << 16) | (background[1] << 8) | background[2] | 0xFF000000
    small = np.full((rows, h + 2, columns, w + 1), bg, np.uint32)
    padded = np.full((rows * columns, h, w), bg, np.uint32)
    padded[:n] = pack(tiles)
    small[:, 1:h + 1, :, :w] = padded.reshape(rows, columns, h, w).transpose(0, 2, 1, 3)
    small = small.reshape(rows * (h + 2), columns * (w + 1))
    row_counts = np.tile(np.r_[top, np.full(h, scale), gap], rows)
    col_counts = np.tile(np.r_[np.full(w, scale), gap], columns)
    row_counts[-1] = col_counts[-1] = 0  # no separator after the last row and column
    pixels = small.repeat(row_counts, axis=0).repeat(col_counts, axis=1)
    index = np.arange(n)
    th, tw = h * scale, w * scale
    boxes = np.stack([(index % columns) * (tw + gap), (index // columns) * (top + th + gap) + top,
                      np.full(n, tw), np.full(n, th)], axis=1)
    return pixels, boxes


def mosaic_image(tiles: np.ndarray, columns: int, scale: int = 1, gap: int = 2,
                 background: tuple[int, int, int] = (0, 0, 0), top: int = 0) -> tuple[QImage, np.ndarray]:
    """`mosaic` as a QImage, with each tile's box in it."""
    pixels, boxes = mosaic(tiles, columns, scale, gap, background, top)
    return packed_to_qimage(pixels), boxes
