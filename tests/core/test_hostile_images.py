"""Hostile image files (issue 19, "Images"): a generated corpus, each case a clear message, no traceback, no
hang, no memory blow-up.

Nothing here is committed as a file: the decompression bombs, the broken files and the checkpoint are made by
the fixtures. The bombs are written row by row through zlib, so making them takes no more memory than a row.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from playground.cli import main
from playground.core.data import MAX_SIDE, NO_INK, ImageFileError, is_blank, preprocess_digit, read_image

ROOT = Path(__file__).parents[2]
MEMORY_LIMIT = 1 << 30  # bytes: what `predict` may peak at on any image file


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_blank_png(path: Path, width: int, height: int, color_type: int, bit_depth: int, channels: int) -> Path:
    """A valid PNG of `width` × `height` zeros, compressed a row at a time (13,000² RGBA: 657 KB on disk)."""
    row = bytes(1 + (width * channels * bit_depth + 7) // 8)  # filter byte 0, then the row's zeros
    z = zlib.compressobj(9)
    data = b"".join([z.compress(row) for _ in range(height)] + [z.flush()])
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b""))
    return path


def digit_picture(size: int) -> np.ndarray:
    """A dark "1"-like bar on white, `size` × `size` uint8."""
    a = np.full((size, size), 255, dtype=np.uint8)
    a[size // 6: size - size // 6, size * 9 // 20: size * 11 // 20] = 0
    return a


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    files = {
        # The two: 678 KB -> 8 GB peak, 34 KB (1-bit) -> 1.1 GB peak, and a raw DecompressionBombWarning.
        "bomb_rgba": write_blank_png(folder / "bomb_rgba.png", 13_000, 13_000, 6, 8, 4),
        "bomb_1bit": write_blank_png(folder / "bomb_1bit.png", 13_000, 13_000, 0, 1, 1),
        # Beyond Pillow's own hard limit (~179 megapixels): Pillow raises before we see the size.
        "beyond_pillow": write_blank_png(folder / "beyond_pillow.png", 15_000, 15_000, 0, 1, 1),
        "too_wide": write_blank_png(folder / "too_wide.png", MAX_SIDE + 1, 2, 0, 8, 1),
    }
    good = digit_picture(112)
    Image.fromarray(good).save(folder / "good.png")
    files["good"] = folder / "good.png"
    (folder / "truncated.png").write_bytes((folder / "good.png").read_bytes()[:80])
    files["truncated"] = folder / "truncated.png"
    garbled = bytearray((folder / "good.png").read_bytes())  # the header intact, the pixel data noise
    start = garbled.index(b"IDAT") + 4
    garbled[start:start + 64] = np.random.default_rng(0).integers(0, 256, 64, dtype=np.uint8).tobytes()
    (folder / "garbled.png").write_bytes(bytes(garbled))
    files["garbled"] = folder / "garbled.png"
    (folder / "text.png").write_text("this is not a picture\n")
    files["text"] = folder / "text.png"
    (folder / "empty.png").write_bytes(b"")
    files["empty"] = folder / "empty.png"
    (folder / "a_folder.png").mkdir()
    files["folder"] = folder / "a_folder.png"
    files["missing"] = folder / "missing.png"
    if hasattr(os, "mkfifo"):  # opening a named pipe to read it would wait for a writer for ever
        os.mkfifo(folder / "pipe.png")
        files["pipe"] = folder / "pipe.png"
    for name, mode, size, value in [("one_pixel", "L", (1, 1), 0), ("white", "L", (64, 64), 255),
                                    ("black", "L", (64, 64), 0), ("grey_rgba", "RGBA", (64, 64), (90, 90, 90, 255)),
                                    ("clear", "RGBA", (64, 64), (0, 0, 0, 0))]:
        Image.new(mode, size, value).save(folder / f"{name}.png")
        files[name] = folder / f"{name}.png"
    # Huge but legal: decoded reduced. A transparent PNG with black strokes, and a JPEG.
    big = np.kron(digit_picture(128), np.ones((MAX_SIDE // 128, MAX_SIDE // 128), dtype=np.uint8))
    rgba = np.zeros((*big.shape, 4), dtype=np.uint8)
    rgba[..., 3] = 255 - big
    Image.fromarray(rgba, "RGBA").save(folder / "huge.png", optimize=True)
    files["huge_png"] = folder / "huge.png"
    Image.fromarray(big).save(folder / "huge.jpg", quality=90)
    files["huge_jpg"] = folder / "huge.jpg"
    sixteen = np.kron(digit_picture(128).astype(np.uint16) * 257, np.ones((16, 16), dtype=np.uint16))
    Image.fromarray(sixteen).save(folder / "huge16.png")
    files["huge_16bit"] = folder / "huge16.png"  # 16-bit grayscale, 2,048²: reduced through mode I
    return files


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """An untrained MLP's checkpoint: what it answers does not matter here, only that it answers."""
    from playground.core.build import build_module
    from playground.core.graph import load_graph
    from playground.core.train.checkpoint import Checkpoint, save_checkpoint

    graph = load_graph("preset:mlp")
    path = tmp_path_factory.mktemp("ckpt") / "mlp.ckpt"
    save_checkpoint(path, Checkpoint(graph=graph, state_dict=build_module(graph).state_dict()))
    return path


TOO_LARGE = "larger than a drawing needs"
REFUSED = {  # corpus name -> what the message says
    "bomb_rgba": "13,000 × 13,000 pixels, " + TOO_LARGE,
    "bomb_1bit": "13,000 × 13,000 pixels, " + TOO_LARGE,
    "beyond_pillow": "megapixels, " + TOO_LARGE,
    "too_wide": f"{MAX_SIDE + 1:,} × 2 pixels, " + TOO_LARGE,
    "truncated": "damaged or truncated",
    "garbled": "damaged or truncated",
    "text": "not an image file",
    "empty": "not an image file",
    "folder": "is a folder",
    "missing": "no such file",
    "pipe": "not a regular file",
}
BLANK = ["one_pixel", "white", "black", "grey_rgba", "clear"]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_each_hostile_file_is_refused_with_a_plain_message_naming_it(corpus, name, recwarn):
    if name not in corpus:
        pytest.skip(f"no {name} on this system")
    with pytest.raises(ImageFileError) as info:
        read_image(corpus[name])
    message = str(info.value)
    assert message.startswith(f"{corpus[name]}: ") and REFUSED[name] in message, message
    assert "\n" not in message
    assert not recwarn.list  # no library warning escapes


@pytest.mark.parametrize("name", BLANK)
def test_an_image_with_no_ink_is_blank(corpus, name):
    assert is_blank(preprocess_digit(read_image(corpus[name])))


def test_a_huge_but_legal_image_is_decoded_reduced_and_reads_like_the_small_one(corpus):
    small = preprocess_digit(digit_picture(128)).astype(float)
    for name in ("huge_png", "huge_jpg", "huge_16bit"):
        a = read_image(corpus[name])
        assert a.dtype == np.uint8 and max(a.shape) <= 1024, (name, a.shape)
        digit = preprocess_digit(a).astype(float)
        assert np.corrcoef(digit.ravel(), small.ravel())[0, 1] > 0.95, name


def test_a_mixed_batch_prints_a_line_for_every_file_and_exits_2(corpus, checkpoint, capsys):
    names = ["good", "text", "good", "folder", "white", "bomb_rgba"]
    code = main(["predict", str(checkpoint), *(str(corpus[n]) for n in names)])
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 2
    assert [line["file"] for line in lines] == [str(corpus[n]) for n in names]  # in order, one each
    assert "digit" in lines[0] and "digit" in lines[2] and lines[0]["probabilities"] == lines[2]["probabilities"]
    assert "not an image file" in lines[1]["error"] and "is a folder" in lines[3]["error"]
    assert lines[4] == {"file": str(corpus["white"]), "error": NO_INK}
    assert TOO_LARGE in lines[5]["error"]
    assert err.count("playground: error: ") == 4 and "Traceback" not in err


def test_a_batch_of_good_files_still_exits_0(corpus, checkpoint, capsys):
    assert main(["predict", str(checkpoint), str(corpus["good"]), str(corpus["huge_png"])]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


# Runs the command as the only child of a fresh, small interpreter, which then writes the child's peak resident
# size (KiB on Linux, bytes on macOS) to argv[1]. Measured from here, a child forked by this test process would
# start with this process's own high-water mark (over 1 GB after the app's tests), kept across exec.
_MEASURE = ("import resource, subprocess, sys\n"
            "code = subprocess.call(sys.argv[2:])\n"
            "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
            "sys.exit(code)\n")


def _run_measured(argv: list[str], timeout: float, tmp_path: Path) -> tuple[int, str, str, int]:
    """(exit code, stdout, stderr, peak resident bytes) of one run of `argv`; killed (and the test failed) after
    `timeout` seconds."""
    peak_file = tmp_path / "peak"
    proc = subprocess.Popen([sys.executable, "-c", _MEASURE, str(peak_file), *argv], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, start_new_session=True)
    killer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))  # a hang fails, not holds up
    killer.start()
    try:
        out, err = proc.communicate()
    finally:
        killer.cancel()
    assert peak_file.exists(), f"killed after {timeout:g} s: {err.decode()[-2000:]}"
    peak = int(peak_file.read_text()) * (1 if sys.platform == "darwin" else 1024)
    return proc.returncode, out.decode(), err.decode(), peak


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX: process groups and resource usage")
def test_predict_on_the_whole_corpus_stays_under_1_gb_with_plain_messages(corpus, checkpoint, tmp_path):
    """The original failure: `predict` on the 13,000² bombs peaked at 8 GB and 1.1 GB, with a raw warning."""
    refused = [name for name in sorted(REFUSED) if name in corpus]
    names = ["good", *refused, *BLANK, "huge_png", "huge_jpg", "huge_16bit"]
    argv = [sys.executable, "-m", "playground", "predict", str(checkpoint), *(str(corpus[n]) for n in names)]
    code, out, err, peak = _run_measured(argv, timeout=120, tmp_path=tmp_path)
    assert code == 2, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["file"] for line in lines] == [str(corpus[n]) for n in names]
    by_name = dict(zip(names, lines, strict=True))
    for name in ("good", "huge_png", "huge_jpg", "huge_16bit"):
        assert "digit" in by_name[name], by_name[name]
    for name in refused:
        assert REFUSED[name] in by_name[name]["error"], by_name[name]
    for name in BLANK:
        assert by_name[name]["error"] == NO_INK
    assert "Traceback" not in err and "Warning" not in err and "warn" not in err, err
    assert err.count("playground: error: ") == len(refused) + len(BLANK)
    assert peak < MEMORY_LIMIT, f"predict peaked at {peak / 2**20:.0f} MiB"


def test_the_inference_server_gives_a_blank_drawing_no_answer():
    """The Draw dock's path (classify_drawing) treats a blank drawing as `predict` does: no probabilities."""
    from playground.core.graph import load_graph
    from playground.core.inference.server import LocalInference

    local = LocalInference()
    local.call("load", load_graph("preset:mlp"), None, "mnist")
    for blank in (np.zeros((280, 280), np.uint8), np.full((280, 280), 255, np.uint8), np.zeros((1, 1), np.uint8)):
        image, probabilities = local.call("classify_drawing", blank)
        assert probabilities is None and is_blank(image) and image.shape == (28, 28)
    drawing = np.zeros((280, 280), np.uint8)
    drawing[60:220, 120:160] = 255
    image, probabilities = local.call("classify_drawing", drawing)
    assert not is_blank(image) and probabilities.shape == (10,)
