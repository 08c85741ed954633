"""Hand-drawn digit preprocessing: any drawing -> a 28×28 MNIST-style digit."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from playground.core.data import DatasetError, ImageFileError, preprocess_digit, read_image, read_pair

MNIST_DIR = Path(os.environ.get("PLAYGROUND_MNIST_DIR") or Path(__file__).resolve().parents[3] / "shared/data/mnist")


def strokes(shape, segments, width) -> np.ndarray:
    """Anti-aliased strokes (0..1, light on dark) along line segments ((y0, x0), (y1, x1))."""
    ys, xs = np.indices(shape, dtype=np.float64)
    dist = np.full(shape, np.inf)
    for (y0, x0), (y1, x1) in segments:
        dy, dx = y1 - y0, x1 - x0
        t = np.clip(((ys - y0) * dy + (xs - x0) * dx) / (dy * dy + dx * dx), 0, 1)
        dist = np.minimum(dist, np.hypot(ys - (y0 + t * dy), xs - (x0 + t * dx)))
    return np.clip(width / 2 - dist + 0.5, 0, 1)


SEVEN = [((130, 220), (130, 245)), ((130, 245), (172, 228))]  # a 7, small and off-centre in 200×300


def bbox(image):
    rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
    return rows[0], rows[-1], cols[0], cols[-1]


def center_of_mass(image):
    ys, xs = np.indices(image.shape)
    total = image.sum()
    return (ys * image).sum() / total, (xs * image).sum() / total


def test_small_off_centre_drawing_is_scaled_and_centred():
    drawing = strokes((200, 300), SEVEN, width=4)
    out = preprocess_digit(drawing)
    assert out.shape == (28, 28) and out.dtype == np.uint8
    top, bottom, left, right = bbox(out > 0)
    height, width = bottom - top + 1, right - left + 1
    assert height == 20  # the longer side
    assert width == pytest.approx(20 * 30 / 47, abs=1.5)  # aspect ratio kept (the ink is ~47×30 px)
    cy, cx = center_of_mass(out.astype(np.float64))
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
    assert out.max() == 255


def test_polarity_and_value_ranges_do_not_matter():
    light_on_dark = strokes((200, 300), SEVEN, width=4)
    expected = preprocess_digit(light_on_dark)
    assert np.array_equal(preprocess_digit(1.0 - light_on_dark), expected)  # dark ink on white paper
    assert np.array_equal(preprocess_digit(light_on_dark * 255.0), expected)  # floats on 0..255
    as_uint8 = np.rint(light_on_dark * 255).astype(np.uint8)
    assert np.abs(preprocess_digit(255 - as_uint8).astype(int) - expected).max() <= 2
    paper = 0.85 - 0.65 * light_on_dark  # grey pencil on off-white paper
    assert np.abs(preprocess_digit(paper).astype(int) - expected).max() <= 2


def test_a_tall_thin_one_keeps_its_aspect_ratio():
    one = strokes((280, 280), [((40, 140), (240, 140))], width=12)
    out = preprocess_digit(one)
    top, bottom, left, right = bbox(out > 0)
    assert bottom - top + 1 == 20 and right - left + 1 <= 3


def test_a_lopsided_digit_is_not_pushed_off_the_field():
    # A thin bar on top and a heavy block at the bottom: centring the mass would push the bar out.
    image = np.zeros((100, 100))
    image[10:12, 10:90] = 1
    image[70:90, 10:90] = 1
    out = preprocess_digit(image)
    assert center_of_mass(out.astype(float))[0] > 15  # it could not be centred...
    top, bottom, _, _ = bbox(out > 0)
    assert (top, bottom) == (0, 19)  # shifted only as far as the field allows: ...but all 20 rows survive


def test_blank_images_give_zeros():
    assert not preprocess_digit(np.zeros((50, 50))).any()
    assert not preprocess_digit(np.full((50, 80), 200, dtype=np.uint8)).any()
    assert preprocess_digit(np.ones((10, 10), dtype=np.float32)).dtype == np.uint8


def test_invalid_arrays_are_refused():
    with pytest.raises(ValueError, match="2-D"):
        preprocess_digit(np.zeros((28, 28, 3)))
    with pytest.raises(ValueError, match="NaN"):
        preprocess_digit(np.full((28, 28), np.nan))


@pytest.fixture(scope="module")
def mnist_test_digits():
    images = MNIST_DIR / "t10k-images-idx3-ubyte.gz"
    if not images.is_file():
        pytest.skip(f"the shared MNIST files are not at {MNIST_DIR} (set PLAYGROUND_MNIST_DIR)")
    x, _ = read_pair(images, MNIST_DIR / "t10k-labels-idx1-ubyte.gz")
    return x[:100]


def correlations(a, b):
    a = a.reshape(len(a), -1).astype(np.float64)
    b = b.reshape(len(b), -1).astype(np.float64)
    a -= a.mean(1, keepdims=True)
    b -= b.mean(1, keepdims=True)
    return (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))


def test_real_mnist_digits_survive_preprocessing(mnist_test_digits):
    out = np.stack([preprocess_digit(d) for d in mnist_test_digits])
    assert (correlations(out, mnist_test_digits) > 0.95).mean() >= 0.95
    # Drawn large, dark on white (as on a canvas or paper), they come back the same.
    big = 255 - np.kron(mnist_test_digits[:30], np.ones((8, 8), dtype=np.uint8))
    out = np.stack([preprocess_digit(d) for d in big])
    assert (correlations(out, mnist_test_digits[:30]) > 0.9).mean() >= 0.9


# -- image files --------------------------------------------------------------------------------------------------


def test_image_files_of_common_formats(tmp_path, mnist_test_digits):
    pil = pytest.importorskip("PIL.Image")
    digit = 255 - np.kron(mnist_test_digits[0], np.ones((4, 4), dtype=np.uint8))  # dark on white
    for name, mode in [("d.png", "L"), ("d.bmp", "RGB"), ("d.jpg", "RGB")]:
        pil.fromarray(digit).convert(mode).save(tmp_path / name)
        loaded = read_image(tmp_path / name)
        assert loaded.shape == digit.shape and loaded.dtype == np.uint8
        assert np.abs(loaded.astype(int) - digit).mean() < 5
        assert correlations(preprocess_digit(loaded)[None], mnist_test_digits[:1])[0] > 0.9


def test_transparent_png_is_composited_so_the_ink_survives(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    ink = (strokes((100, 100), [((20, 50), (80, 50))], width=8) * 255).astype(np.uint8)
    for colour, background in [(0, 255), (255, 0)]:  # black strokes -> on white; white strokes -> on black
        rgba = np.zeros((100, 100, 4), dtype=np.uint8)
        rgba[..., :3] = colour
        rgba[..., 3] = ink
        pil.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
        loaded = read_image(tmp_path / "t.png")
        assert loaded[0, 0] == background and loaded[50, 50] == colour
        assert preprocess_digit(loaded).max() == 255


def test_unreadable_image_files_raise_clear_errors(tmp_path):
    pytest.importorskip("PIL")
    with pytest.raises(ImageFileError, match="no such file"):
        read_image(tmp_path / "missing.png")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ImageFileError, match=r"notes\.png"):
        read_image(text)
    from PIL import Image

    Image.fromarray(np.full((64, 64), 128, dtype=np.uint8)).save(tmp_path / "ok.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "ok.png").read_bytes()[:60])
    with pytest.raises(DatasetError, match=r"cut\.png"):
        read_image(tmp_path / "cut.png")
