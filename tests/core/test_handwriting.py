"""HandwritingStore: a person's digits on disk (image-folder layout, index, repair from the files)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from playground.core.data.class_folders import list_class_folder
from playground.core.data.handwriting import USER_DATA_DIR_ENV, HandwritingStore, default_folder
from playground.core.data.images import read_image


def digit(k: int) -> np.ndarray:
    """A recognisably different 28×28 uint8 image per k (light ink on black)."""
    a = np.zeros((28, 28), dtype=np.uint8)
    a[4 + k:14 + k, 6:22] = 200 + k
    return a


def raw(k: int) -> np.ndarray:
    r = np.full((60, 80), 255, dtype=np.uint8)
    r[10:50, 20 + k:30 + k] = 0
    return r


def test_add_writes_the_image_folder_layout_and_an_index(tmp_path):
    store = HandwritingStore(tmp_path / "mine")
    a = store.add(digit(1), raw(1), 3)
    b = store.add(digit(2), raw(2), "3")
    c = store.add(digit(3), None, 7)
    assert [e.id for e in store.entries()] == [a, b, c]
    assert store.counts()["3"] == 2 and store.counts()["7"] == 1 and store.counts()["0"] == 0
    folder = tmp_path / "mine"
    assert (folder / "3" / f"{a}.png").is_file() and (folder / "7" / f"{c}.png").is_file()
    assert (folder / ".raw" / f"{a}.png").is_file() and not (folder / ".raw" / f"{c}.png").exists()
    assert np.array_equal(read_image(folder / "3" / f"{a}.png"), digit(1))  # a readable PNG, exactly the digit
    assert read_image(folder / ".raw" / f"{b}.png").shape == (60, 80)
    index = json.loads((folder / "index.json").read_text())
    assert [row["id"] for row in index["entries"]] == [a, b, c]
    assert {"id", "label", "created", "file", "raw"} <= set(index["entries"][0])
    assert not [p for p in folder.rglob("*.tmp")]  # atomic writes leave nothing beside
    # `finetune --images` reads the same folder: the hidden .raw is no class
    store.add(digit(4), None, 7)  # two a class, as the listing asks
    assert list_class_folder(folder).classes == ("3", "7")


def test_arrays_and_reload_survive_a_restart(tmp_path):
    store = HandwritingStore(tmp_path)
    ids = [store.add(digit(k), raw(k), k) for k in range(4)]
    x, y = store.arrays()
    assert x.dtype == np.uint8 and x.shape == (4, 28, 28) and y.dtype == np.int64
    assert y.tolist() == [0, 1, 2, 3] and np.array_equal(x[2], digit(2))
    again = HandwritingStore(tmp_path)
    assert [e.id for e in again.entries()] == ids and not again.repaired
    assert again.entries() == store.entries()
    _, y2 = again.arrays(classes=("0", "1"))  # labels outside the classes are left out
    assert y2.tolist() == [0, 1]


def test_delete_removes_the_files_and_the_row(tmp_path):
    store = HandwritingStore(tmp_path)
    keep = store.add(digit(1), raw(1), 1)
    gone = store.add(digit(2), raw(2), 1)
    store.delete(gone)
    assert [e.id for e in store.entries()] == [keep] and store.counts()["1"] == 1
    assert not (tmp_path / "1" / f"{gone}.png").exists() and not (tmp_path / ".raw" / f"{gone}.png").exists()
    assert [e.id for e in HandwritingStore(tmp_path).entries()] == [keep]
    with pytest.raises(KeyError):
        store.delete("no-such-id")


def test_a_damaged_index_is_rebuilt_from_the_files(tmp_path):
    store = HandwritingStore(tmp_path)
    ids = [store.add(digit(k), raw(k), k % 2) for k in range(3)]
    (tmp_path / "index.json").write_text("{ not json")
    again = HandwritingStore(tmp_path)
    assert again.repaired and sorted(e.id for e in again.entries()) == sorted(ids)
    assert again.counts()["0"] == 2 and again.entries()[0].raw is not None
    assert json.loads((tmp_path / "index.json").read_text())["entries"]  # written back whole
    assert not HandwritingStore(tmp_path).repaired


def test_an_index_out_of_step_with_the_files_follows_the_files(tmp_path):
    store = HandwritingStore(tmp_path)
    a = store.add(digit(1), raw(1), 1)
    b = store.add(digit(2), raw(2), 2)
    c = store.add(digit(3), raw(3), 3)
    (tmp_path / "1" / f"{a}.png").unlink()  # deleted by hand
    (tmp_path / "4").mkdir()
    (tmp_path / "2" / f"{b}.png").rename(tmp_path / "4" / f"{b}.png")  # moved to another class by hand
    (tmp_path / "5").mkdir()
    (tmp_path / "5" / "extra.png").write_bytes((tmp_path / "3" / f"{c}.png").read_bytes())  # added by hand
    again = HandwritingStore(tmp_path)
    assert again.repaired
    labels = {e.id: e.label for e in again.entries()}
    assert labels == {b: "4", c: "3", "extra": "5"}
    assert json.loads((tmp_path / "index.json").read_text())["entries"][0]["id"] in labels


def test_blank_drawings_and_bad_labels_are_refused(tmp_path):
    store = HandwritingStore(tmp_path)
    with pytest.raises(ValueError, match="blank"):
        store.add(np.zeros((28, 28), np.uint8), raw(1), 1)
    with pytest.raises(ValueError):
        store.add(np.ones((20, 20), np.uint8), None, 1)
    for label in ("", "../x", ".raw"):
        with pytest.raises(ValueError):
            store.add(digit(1), None, label)
    assert len(store) == 0 and not (tmp_path / "index.json").exists()


def test_the_default_folder_is_in_the_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(USER_DATA_DIR_ENV, str(tmp_path))
    assert default_folder() == tmp_path / "my-digits"
    store = HandwritingStore()
    store.add(digit(1), raw(1), 9)
    assert (tmp_path / "my-digits" / "9").is_dir()
