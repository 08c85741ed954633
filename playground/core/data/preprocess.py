"""Hand-drawn digits -> MNIST-style 28×28 images, shared by the drawing canvas and `playground predict`.

MNIST digits were made by fitting each digit into a 20×20 box (keeping its
aspect ratio, with anti-aliasing) and placing that box in a 28×28 field so the
centre of mass lands at pixel (14, 14). `preprocess_digit` does the same to
any drawing, in numpy only (cheap enough for the GUI thread, no torch call).
"""

from __future__ import annotations

import functools

import numpy as np

SIZE = 28  # the output field
BOX = 20  # the longer side of the digit inside it
INK_THRESHOLD = 0.05  # fraction of the strongest ink that counts as ink for the bounding box
NO_INK = "no ink: the image is blank"  # what a blank drawing gets instead of a confident answer


def _as_2d(image: np.ndarray) -> np.ndarray:
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim != 2:
        raise ValueError(f"expected a 2-D grayscale image, got an array of shape {a.shape}")
    if a.size == 0:
        raise ValueError("the image is empty (0 pixels)")
    return a


def _to_unit(image: np.ndarray) -> np.ndarray:
    a = _as_2d(image)
    if a.dtype == np.bool_:
        return a.astype(np.float32)
    if np.issubdtype(a.dtype, np.integer):  # 0..255, unless the values say 16-bit
        top = int(a.max())
        scale = 255.0 if top <= 255 else 65535.0 if top <= 65535 else float(top)
        return np.clip(a.astype(np.float32) / scale, 0.0, 1.0)
    a = a.astype(np.float32)
    if not np.isfinite(a).all():
        raise ValueError("the image holds NaN or infinite values")
    if a.max() > 1.0:  # floats on a 0..255 scale
        a = a / 255.0
    return np.clip(a, 0.0, 1.0)


def _border(a: np.ndarray) -> np.ndarray:
    return np.concatenate([a[0], a[-1], a[1:-1, 0], a[1:-1, -1]])


def _ink_and_background(a: np.ndarray) -> np.ndarray:
    """Ink as 0..1 on a 0 background, whichever way round the image is drawn."""
    background = float(np.median(_border(a)))
    # Ink is whatever lies farthest from the background: darker or brighter than it.
    if background - a.min() > a.max() - background:
        a, background = 1.0 - a, 1.0 - background
    ink = np.clip(a - background, 0.0, None)
    peak = float(ink.max())
    return ink / peak if peak > 0 else ink


_LEVELS = np.arange(256, dtype=np.uint8)
_UNIT_LEVELS = np.clip(_LEVELS.astype(np.float32) / 255.0, 0.0, 1.0)  # what _to_unit makes of each uint8 level
_UNIT_LEVELS.flags.writeable = False


def _uint8_ink(a: np.ndarray) -> tuple[np.ndarray, bool]:
    """`_ink_and_background(_to_unit(a))` of a uint8 image, as a table: level -> ink (float32 [256]), and whether
    more ink means a higher level. Every step of that pipeline works pixel by pixel, so applying it to the 256
    levels gives the very same numbers; the image-wide values it needs (border median, minimum, maximum, peak)
    come from the levels the image holds (the maps are monotonic, so the extremes stay the extremes)."""
    low, high = _UNIT_LEVELS[a.min()], _UNIT_LEVELS[a.max()]
    unit = _UNIT_LEVELS
    # np.median of the border's values: the mean of its middle one or two, found among the levels.
    border = _border(a)
    n = len(border)
    middle = [n // 2] if n % 2 else [n // 2 - 1, n // 2]
    background = float(np.mean(unit[np.partition(border, middle)[middle]]))
    rising = not background - low > high - background
    if not rising:
        unit, background = 1.0 - unit, 1.0 - background
    ink = np.clip(unit - background, 0.0, None)
    peak = float(ink[a.max() if rising else a.min()])
    return (ink / peak if peak > 0 else ink), rising


def _uint8_crop(a: np.ndarray) -> np.ndarray | None:
    """The inked part of a uint8 drawing, as `preprocess_digit` crops it from its ink (None: no ink)."""
    table, rising = _uint8_ink(a)
    inked = table > INK_THRESHOLD  # as a function of the level: a step up (rising) or down
    if not inked.any():
        return None
    # A pixel is ink when its level is at least the first inked level (rising), at most the last one (falling).
    if rising:
        first = int(np.argmax(inked))
        rows, cols = np.flatnonzero(a.max(axis=1) >= first), np.flatnonzero(a.max(axis=0) >= first)
    else:
        last = 255 - int(np.argmax(inked[::-1]))
        rows, cols = np.flatnonzero(a.min(axis=1) <= last), np.flatnonzero(a.min(axis=0) <= last)
    if not len(rows):
        return None
    return table[a[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]]


@functools.lru_cache(maxsize=256)
def _resample_matrix(n_in: int, n_out: int) -> np.ndarray:
    """[n_out, n_in] weights: area averaging when shrinking (anti-aliased), linear interpolation when growing.
    Cached (read-only): the canvas asks for the same few sizes on every stroke."""
    scale = n_out / n_in
    if scale <= 1.0:
        edges = np.arange(n_out + 1) / scale  # output pixel j covers input [edges[j], edges[j+1])
        # How much of input pixel i lies in [lo, hi): negative (clipped to 0) for the pixels outside.
        i = np.arange(n_in)[None, :]
        overlap = np.minimum(i + 1, edges[1:, None]) - np.maximum(i, edges[:-1, None])
        weights = np.clip(overlap, 0, None)
        weights /= weights.sum(axis=1, keepdims=True)
    else:
        weights = np.zeros((n_out, n_in), dtype=np.float64)
        src = np.clip((np.arange(n_out) + 0.5) / scale - 0.5, 0, n_in - 1)
        low = np.floor(src).astype(int)
        high = np.minimum(low + 1, n_in - 1)
        frac = src - low
        rows = np.arange(n_out)
        np.add.at(weights, (rows, low), 1 - frac)
        np.add.at(weights, (rows, high), frac)
    weights.flags.writeable = False  # shared by every caller through the cache
    return weights


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a 2-D float image (area-averaged when shrinking, bilinear when growing)."""
    rows = _resample_matrix(image.shape[0], height)
    cols = _resample_matrix(image.shape[1], width)
    return rows @ image.astype(np.float64) @ cols.T


def preprocess_digit(image: np.ndarray) -> np.ndarray:
    """Any 2-D drawing (uint8 or float, any size, either polarity) -> a 28×28 uint8 MNIST-style digit.

    Light ink on dark and dark ink on light are both accepted (the border says
    which is background). The ink is cropped to its bounding box, scaled so the
    longer side is 20 px (aspect ratio kept), and placed so its centre of mass is
    at (14, 14) — shifted less where that would push it off the field.
    A drawing with no ink (a blank or uniform image) gives all zeros.
    """
    a = _as_2d(image)
    if a.dtype == np.uint8:  # a canvas: the same numbers, but only the crop is ever converted to floats
        crop = _uint8_crop(a)
        if crop is None:
            return np.zeros((SIZE, SIZE), dtype=np.uint8)
    else:
        ink = _ink_and_background(_to_unit(a))
        mask = ink > INK_THRESHOLD
        if not mask.any():
            return np.zeros((SIZE, SIZE), dtype=np.uint8)
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = crop.shape
    factor = BOX / max(h, w)
    new_h, new_w = max(1, round(h * factor)), max(1, round(w * factor))
    digit = np.clip(resize(crop, new_h, new_w), 0.0, 1.0)
    total = digit.sum()
    ys, xs = np.indices(digit.shape)
    cy, cx = (ys * digit).sum() / total, (xs * digit).sum() / total
    top = int(np.clip(round(SIZE / 2 - cy), 0, SIZE - new_h))
    left = int(np.clip(round(SIZE / 2 - cx), 0, SIZE - new_w))
    out = np.zeros((SIZE, SIZE), dtype=np.float64)
    out[top:top + new_h, left:left + new_w] = digit
    return np.rint(out * 255.0).astype(np.uint8)


def is_blank(digit: np.ndarray) -> bool:
    """Whether a `preprocess_digit` result holds no ink: the drawing was blank (all one colour, or 1 × 1).

    Such a digit is all zeros, and any network still answers it with some class, often confidently; the
    callers (`playground predict`, the Draw dock's live prediction) report it as blank instead.
    """
    return not np.any(digit)
