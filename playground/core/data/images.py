"""Reading an image file, guarded: the one place Playground opens PNG/JPEG/BMP/... files (needs Pillow).

Anything that reads an image file (`playground predict`, and any future "open image" or image-folder dataset)
goes through `read_image`, which holds under hostile input:

- The size is read from the file's header and checked *before* any pixel is decoded: an image wider or taller
  than `MAX_SIDE` (4,096) pixels is refused with a plain message. A drawing never needs more, and a
  decompression bomb (a 678 KB PNG that decodes to 13,000 × 13,000 RGBA, 676 MB) is never decoded.
- An image larger than `WORK_SIDE` is decoded reduced (JPEG: at a smaller scale, straight from the file;
  others: box-averaged with `Image.reduce` right after decoding), so what follows works on at most about
  1,024 × 1,024 pixels.
- Pillow's warnings (`DecompressionBombWarning`, odd EXIF, ...) never reach the terminal: they are caught,
  and a size warning becomes the same plain message as the size check.
- A folder, a missing file, a named pipe or device (refused unopened: reading one could wait for ever), a
  file that is not an image, a damaged or truncated one: `ImageFileError` naming the file
  and what is wrong with it, in words.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np

from .errors import DatasetError

MAX_SIDE = 4096  # the widest and tallest image read at all (pixels); a larger one is refused unread
WORK_SIDE = 1024  # a larger image is decoded reduced to about this longest side


class ImageFileError(DatasetError):
    """An image file that cannot be read; the message names the file and says why in words."""


def _too_large(path: Path, size: tuple[int, int] | None) -> ImageFileError:
    """`size` None: Pillow refused the file while opening it (above twice its MAX_IMAGE_PIXELS)."""
    if size is None:
        from PIL import Image

        what = f"over {2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6:,.0f} megapixels"
    else:
        what = f"{size[0]:,} × {size[1]:,} pixels"
    return ImageFileError(f"{path}: the image is {what}, larger than a drawing needs "
                          f"(at most {MAX_SIDE:,} × {MAX_SIDE:,})")


def read_image(path: str | os.PathLike, color: bool = False) -> np.ndarray:
    """An image file as a 2-D uint8 grayscale array (`color`: uint8 [H, W, 3] RGB), at most about `WORK_SIDE`
    pixels on its longer side.

    Transparent images are composited on white — or on black when the visible
    ink is itself light, so white strokes on a transparent background survive.
    Raises ImageFileError (a DatasetError) naming the file when it cannot or must not be read.
    """
    path = Path(path)
    try:
        from PIL import Image, ImageOps
    except ImportError:
        raise ImageFileError(f"{path}: reading image files needs Pillow (pip install pillow)") from None
    if path.is_dir():
        raise ImageFileError(f"{path}: is a folder, not an image file")
    if not path.exists():
        raise ImageFileError(f"{path}: no such file")
    if not path.is_file():
        raise ImageFileError(f"{path}: not a regular file")
    size = None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with Image.open(path) as img:  # reads the header only
                size = img.size
                if max(size) > MAX_SIDE:
                    raise _too_large(path, size)
                if min(size) < 1:
                    raise ImageFileError(f"{path}: the image is empty (0 pixels)")
                factor = math.ceil(max(size) / WORK_SIDE)
                if factor > 1:
                    reduced = (math.ceil(size[0] / factor), math.ceil(size[1] / factor))
                    img.draft("RGB" if color else "L", reduced)  # JPEG only
                img.load()
                sixteen = img.mode.startswith("I;16")
                img = _reduce(img, math.ceil(max(img.size) / WORK_SIDE))
                img = ImageOps.exif_transpose(img)
                image = _rgb(img, sixteen) if color else _grayscale(img, sixteen)
        # Pillow warns of a bomb above ~89 megapixels, far beyond MAX_SIDE: should that ever change, still refuse.
        if any(issubclass(w.category, Image.DecompressionBombWarning) for w in caught):
            raise _too_large(path, size)
        return image
    except ImageFileError:
        raise
    except Image.DecompressionBombError:
        raise _too_large(path, size) from None
    except PermissionError:
        raise ImageFileError(f"{path}: cannot be read (permission denied)") from None
    except MemoryError:
        raise ImageFileError(f"{path}: not enough memory to read the image") from None
    except Image.UnidentifiedImageError:
        raise ImageFileError(f"{path}: not an image file that can be read (not a format Pillow knows)") from None
    except Exception as exc:  # a damaged file can make a decoder fail any way at all (struct.error, IndexError...)
        text = str(exc) if isinstance(exc, (OSError, ValueError, SyntaxError)) else f"{type(exc).__name__}: {exc}"
        if size is None:  # Pillow could not make sense of its header
            raise ImageFileError(f"{path}: not an image file that can be read ({text})") from None
        detail = "" if not text or "truncated" in text else f" ({text})"
        raise ImageFileError(f"{path}: the image file is damaged or truncated{detail}") from None


def _reduce(img, factor: int):
    """`img` box-averaged by `factor` (1: as it is); modes that averaging would garble are converted first."""
    if factor <= 1:
        return img
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif img.mode == "1":
        img = img.convert("L")
    elif img.mode.startswith("I;16"):
        img = img.convert("I")
    if img.mode == "RGBA":  # average premultiplied, so transparent pixels' colour does not bleed in
        return img.convert("RGBa").reduce(factor).convert("RGBA")
    if img.mode == "LA":
        return img.convert("La").reduce(factor).convert("LA")
    if img.mode not in ("L", "RGB", "I", "F"):
        img = img.convert("RGB")
    return img.reduce(factor)


def _grayscale(img, sixteen: bool) -> np.ndarray:
    """`sixteen`: the file held 16-bit grayscale (its values are on a 0..65535 scale, even if now in mode I)."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16-bit or float grayscale: scale to 0..255
        a = np.asarray(img, dtype=np.float64)
        top = 65535.0 if sixteen or a.max() > 255 else 255.0
        return np.clip(np.rint(a / top * 255.0), 0, 255).astype(np.uint8)
    has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (img.mode == "P" and "transparency" in img.info)
    if not has_alpha:
        return np.asarray(img.convert("L"), dtype=np.uint8).copy()
    rgba = img.convert("RGBA")
    alpha = np.asarray(rgba.getchannel("A"), dtype=np.float64) / 255.0
    gray = np.asarray(rgba.convert("L"), dtype=np.float64)
    visible = alpha.sum()
    light_ink = visible > 0 and (gray * alpha).sum() / visible > 127.5
    background = 0.0 if light_ink else 255.0
    return np.clip(np.rint(gray * alpha + background * (1 - alpha)), 0, 255).astype(np.uint8)


def _rgb(img, sixteen: bool) -> np.ndarray:
    """uint8 [H, W, 3]; grayscale files give three equal channels, transparency is composited as `_grayscale` does."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F", "L", "1"):
        gray = _grayscale(img, sixteen)
        return np.repeat(gray[:, :, None], 3, axis=2)
    has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (img.mode == "P" and "transparency" in img.info)
    if not has_alpha:
        return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
    rgba = np.asarray(img.convert("RGBA"), dtype=np.float64)
    alpha = rgba[:, :, 3:] / 255.0
    rgb = rgba[:, :, :3]
    gray = rgb @ np.array([0.299, 0.587, 0.114])
    visible = alpha.sum()
    light_ink = visible > 0 and (gray * alpha[:, :, 0]).sum() / visible > 127.5
    background = 0.0 if light_ink else 255.0
    return np.clip(np.rint(rgb * alpha + background * (1 - alpha)), 0, 255).astype(np.uint8)
