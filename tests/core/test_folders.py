"""Image folders as a dataset (core/data/folders.py), and `--dataset folder` in train, evaluate, predict and bench."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import playground.core.data.folders as folders
from playground.commands.common import fit_graph_to_folder
from playground.core.data import DatasetError, load_dataset, load_image_folder
from playground.core.graph import load_graph
from playground.core.graph.io import save_graph

from .cli_runs import run_cli

SHAPES = ("circle", "square", "triangle")


def draw(path: Path, shape: str, rng, size=(32, 32), colour=True):
    w, h = size
    bg = tuple(int(v) for v in rng.integers(0, 60, 3))
    fg = (230, 60, 40) if shape == "circle" else (40, 200, 60) if shape == "square" else (50, 80, 240)
    if not colour:
        bg, fg = (bg[0],) * 3, (int(rng.integers(160, 256)),) * 3
    img = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(img)
    s = min(w, h)
    r = int(rng.integers(s // 5, s // 3))
    cx, cy = int(rng.integers(r + 1, w - r - 1)), int(rng.integers(r + 1, h - r - 1))
    if shape == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fg)
    elif shape == "square":
        d.rectangle([cx - r, cy - r, cx + r, cy + r], fill=fg)
    else:
        d.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fg)
    path.parent.mkdir(parents=True, exist_ok=True)
    (img if colour else img.convert("L")).save(path)


def make_folder(root: Path, per_class=20, colour=True, split=False, size=(32, 32), seed=0) -> Path:
    rng = np.random.default_rng(seed)
    for name in SHAPES:
        for i in range(per_class):
            sub = root / ("test" if i % 5 == 0 else "train") / name if split else root / name
            draw(sub / f"{name}{i:03d}.png", name, rng, size, colour)
    return root


@pytest.fixture(autouse=True)
def own_cache(monkeypatch, tmp_path_factory):
    monkeypatch.delenv("PLAYGROUND_DATA_DIR", raising=False)
    monkeypatch.setenv("PLAYGROUND_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


def test_colour_folder_is_rgb_with_its_classes_and_a_stratified_split(tmp_path):
    ds = load_image_folder(make_folder(tmp_path / "c"))
    assert ds.name == "folder" and ds.classes == SHAPES
    assert ds.sample_shape == (3, 32, 32) and ds.train_images.dtype.is_floating_point is False
    assert ds.train_labels.bincount().tolist() == [16, 16, 16] and ds.test_labels.bincount().tolist() == [4, 4, 4]
    assert "3 classes" in ds.source and "48 training and 12 test" in ds.source and "RGB 32×32" in ds.source
    assert 0 < ds.normalization.mean < 1 and ds.normalization.std > 0
    assert ds.skipped == [] and ds.skipped_summary == ""


def test_gray_folder_is_one_channel_and_channels_can_be_forced(tmp_path):
    root = make_folder(tmp_path / "g", colour=False)
    assert load_image_folder(root).sample_shape == (1, 32, 32)
    assert load_image_folder(root, channels="rgb").sample_shape == (3, 32, 32)
    colour = make_folder(tmp_path / "c")
    assert load_image_folder(colour, channels="gray").sample_shape == (1, 32, 32)


def test_size_automatic_and_asked_for_with_centre_crop(tmp_path):
    root = make_folder(tmp_path / "wide", per_class=4, size=(50, 30))
    assert load_image_folder(root).sample_shape == (3, 28, 28)  # 30 rounded down to a multiple of 4
    assert load_image_folder(root, size=16).sample_shape == (3, 16, 16)
    big = make_folder(tmp_path / "big", per_class=3, size=(100, 90))
    assert load_image_folder(big).sample_shape == (3, 64, 64)  # at most 64
    with pytest.raises(DatasetError, match="image size"):
        load_image_folder(root, size=3)
    with pytest.raises(DatasetError, match="channels"):
        load_image_folder(root, channels="cmyk")


def test_seeded_split_is_reproducible_and_the_seed_changes_it(tmp_path):
    root = make_folder(tmp_path / "c")
    a, b = load_image_folder(root, seed=1), load_image_folder(root, seed=1)
    assert np.array_equal(a.test_images.numpy(), b.test_images.numpy())
    c = load_image_folder(root, seed=2)
    assert not np.array_equal(a.test_images.numpy(), c.test_images.numpy())
    assert c.test_labels.bincount().tolist() == [4, 4, 4]
    half = load_image_folder(root, test_share=0.5)
    assert half.test_labels.bincount().tolist() == [10, 10, 10]


def test_a_split_folder_keeps_its_own_train_and_test(tmp_path):
    ds = load_image_folder(make_folder(tmp_path / "s", split=True))
    assert len(ds.test_labels) == 12 and len(ds.train_labels) == 48
    assert "its own train/ and test/" in ds.source


def test_bad_files_are_skipped_counted_and_named(tmp_path):
    root = make_folder(tmp_path / "c", per_class=5)
    good = (root / "circle" / "circle000.png").read_bytes()
    (root / "circle" / "cut.png").write_bytes(good[: len(good) // 2])
    (root / "square" / "fake.jpg").write_bytes(b"this is not a jpeg at all")
    (root / "square" / "notes.txt").write_text("ignored: no image extension")
    ds = load_image_folder(root)
    assert len(ds.skipped) == 2
    assert any(s.startswith(os.path.join("circle", "cut.png")) and "truncated" in s for s in ds.skipped)
    assert any("fake.jpg (not an image)" in s for s in ds.skipped)
    assert ds.skipped_summary.startswith("2 files skipped: ")
    assert len(ds.train_labels) + len(ds.test_labels) == 15


def test_a_class_left_with_one_readable_image_is_named(tmp_path):
    root = make_folder(tmp_path / "c", per_class=3)
    for p in sorted((root / "triangle").iterdir())[:2]:
        p.write_bytes(b"garbage")
    with pytest.raises(DatasetError, match="class triangle has 1 readable image"):
        load_image_folder(root)


def test_layout_problems_are_named(tmp_path):
    root = make_folder(tmp_path / "c", per_class=3)
    (root / "empty").mkdir()
    with pytest.raises(DatasetError, match="class empty has no images"):
        load_image_folder(root)
    (root / "empty").rmdir()
    (root / "lonely").mkdir()
    draw(root / "lonely" / "one.png", "circle", np.random.default_rng(0))
    with pytest.raises(DatasetError, match="class lonely has only 1 image"):
        load_image_folder(root)
    flat = tmp_path / "flat"
    flat.mkdir()
    draw(flat / "a.png", "circle", np.random.default_rng(0))
    with pytest.raises(DatasetError, match=r"no class sub-folders.*one sub-folder per class"):
        load_image_folder(flat)


def test_symlink_loops_are_ignored(tmp_path):
    root = make_folder(tmp_path / "c", per_class=3)
    os.symlink(root, root / "circle" / "loop")
    os.symlink(root / "square", root / "square" / "self")
    ds = load_image_folder(root)
    assert len(ds.train_labels) + len(ds.test_labels) == 9


def test_the_cache_is_used_the_second_time_and_a_damaged_one_rebuilt(tmp_path, monkeypatch):
    root = make_folder(tmp_path / "c", per_class=6)
    decodes = []
    real = folders._decode
    monkeypatch.setattr(folders, "_decode", lambda p, s: decodes.append(p) or real(p, s))
    first = load_image_folder(root)
    assert len(decodes) == 18
    second = load_image_folder(root)
    assert len(decodes) == 18 and "from the cache" in second.source
    assert np.array_equal(first.train_images.numpy(), second.train_images.numpy())
    (cache_file,) = (folders._cache_dir()).glob("*.npz")
    cache_file.write_bytes(cache_file.read_bytes()[:100])  # damaged
    third = load_image_folder(root)
    assert len(decodes) == 36 and np.array_equal(first.train_images.numpy(), third.train_images.numpy())
    assert load_image_folder(root) is not None and len(decodes) == 36  # rebuilt
    draw(root / "circle" / "new.png", "circle", np.random.default_rng(5))  # a changed folder: a new key
    load_image_folder(root)
    assert len(decodes) == 36 + 19


def test_load_dataset_folder_needs_its_folder(tmp_path):
    with pytest.raises(DatasetError, match="needs its folder"):
        load_dataset("folder")
    ds = load_dataset("folder", data_dir=make_folder(tmp_path / "c", per_class=4), image_size=8, channels="gray")
    assert ds.sample_shape == (1, 8, 8)


# -- the commands -------------------------------------------------------------------------------


def small_cnn(tmp_path: Path, shape, classes) -> Path:
    graph = load_graph("preset:mnist-cnn")

    class Fake:
        sample_shape, num_classes = tuple(shape), classes

    path = tmp_path / "net.json"
    save_graph(fit_graph_to_folder(graph, Fake), path)
    return path


@pytest.fixture(scope="module")
def trained_folder(tmp_path_factory):
    import subprocess
    import sys

    tmp = tmp_path_factory.mktemp("folder-run")
    root = make_folder(tmp / "shapes", per_class=40)
    net = small_cnn(tmp, (3, 32, 32), 3)
    ckpt = tmp / "net.pt"
    env = {**os.environ, "PLAYGROUND_CACHE_DIR": str(tmp / "cache")}
    result = subprocess.run([sys.executable, "-m", "playground", "train", str(net), "--dataset", "folder",
                             "--data-dir", str(root), "--epochs", "6", "--device", "cpu", "--checkpoint", str(ckpt),
                             "--batch-size", "16"], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    return root, net, ckpt, result


def test_train_on_a_folder_ends_in_json_above_chance(trained_folder):
    _, _, _, result = trained_folder
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["dataset"] == "folder"
    assert summary["test_accuracy"] > 0.5  # chance: 1/3
    assert "image folder" in result.stderr and "augment none" in result.stderr


def test_evaluate_a_folder_checkpoint_rereads_its_folder(trained_folder, capsys):
    _, _, ckpt, _ = trained_folder
    code, out, err = run_cli(capsys, "evaluate", ckpt, "--device", "cpu")
    assert code == 0, err
    result = json.loads(out[-1])
    assert result["dataset"] == "folder" and result["samples"] == 24 and result["test_accuracy"] > 0.5


def test_predict_prints_the_class_name(trained_folder, capsys, tmp_path):
    _, _, ckpt, _ = trained_folder
    rng = np.random.default_rng(99)
    files = []
    for name in SHAPES:
        draw(tmp_path / f"{name}.png", name, rng, size=(48, 48))
        files.append(tmp_path / f"{name}.png")
    code, out, err = run_cli(capsys, "predict", ckpt, *files)
    assert code == 0, err
    answers = [json.loads(line) for line in out]
    assert all(a["label"] in SHAPES for a in answers)
    assert sum(a["label"] == name for a, name in zip(answers, SHAPES, strict=True)) >= 2


def test_a_network_that_does_not_fit_the_folder_is_refused_in_words(tmp_path, capsys):
    root = make_folder(tmp_path / "c", per_class=4)
    wrong_shape = small_cnn(tmp_path, (1, 28, 28), 3)
    code, _, err = run_cli(capsys, "train", wrong_shape, "--dataset", "folder", "--data-dir", root, "--epochs", "1",
                       "--device", "cpu")
    assert code == 2 and "Input takes 1×28×28" in err and "[3, 32, 32]" in err and "3 classes" in err
    (tmp_path / "b").mkdir()
    wrong_classes = small_cnn(tmp_path / "b", (3, 32, 32), 10)
    code, _, err = run_cli(capsys, "train", wrong_classes, "--dataset", "folder", "--data-dir", root, "--epochs", "1",
                       "--device", "cpu")
    assert code == 2 and "3 classes (circle, square, triangle)" in err and "Dense(3)" in err


def test_folder_options_need_a_folder(capsys, tmp_path):
    code, _, err = run_cli(capsys, "train", "preset:mlp", "--dataset", "folder", "--epochs", "1")
    assert code == 2 and "--data-dir" in err
    code, _, err = run_cli(capsys, "train", "preset:mlp", "--dataset", "mnist-sample", "--image-size", "16")
    assert code == 2 and "image folders" in err


def test_bench_folder_small(capsys):
    code, out, err = run_cli(capsys, "bench", "--folder", "--json", "--folder-files", "60")
    assert code == 0, err
    report = json.loads(out[-1])
    assert report["files"] == 60 and report["cached_equals_first"] and report["shape"] == [3, 32, 32]
