"""The Draw dock's "Add to my digits": label buttons, the counter, the gallery, and what lands on the disk."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from playground.app.draw import DigitPanel
from playground.app.draw.my_digits import BLANK
from playground.app.predictor import Prediction, Predictor
from playground.core.data.handwriting import HandwritingStore
from playground.core.data.images import read_image
from tests.app.helpers import on_screen
from tests.app.test_draw import draw_one

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def predictor():
    p = Predictor()
    yield p
    p.shutdown()


@pytest.fixture
def store(tmp_path):
    return HandwritingStore(tmp_path / "my-digits")


@pytest.fixture
def panel(qtbot, predictor, store):
    return on_screen(qtbot, DigitPanel(predictor, my_digits_store=store), 720, 460)


def test_a_label_button_keeps_the_drawing_and_the_counter_shows_it(qtbot, panel, store):
    row = panel.my_digits
    assert [b.text() for b in row.buttons] == list("0123456789")
    draw_one(panel.canvas)
    QTest.mouseClick(row.buttons[1], LEFT)
    (entry,) = store.entries()
    assert entry.label == "1"
    digit = read_image(store.folder / entry.file)
    assert digit.shape == (28, 28) and digit.any()
    assert read_image(store.folder / entry.raw).shape == panel.canvas.raster_array().shape
    assert "1:1" in row.counter.text() and "(1)" in row.counter.text() and "Added as 1" in row.counter.text()
    assert HandwritingStore(store.folder).counts()["1"] == 1  # on the disk, for the next start


def test_the_predicted_class_is_highlighted(qtbot, panel):
    row = panel.my_digits
    draw_one(panel.canvas)
    p = np.zeros(10, np.float32)
    p[7] = 1.0
    panel.prediction_shown.emit(Prediction(0, p, np.zeros((28, 28), np.uint8), 1, 0.0))
    assert [b.isChecked() for b in row.buttons] == [i == 7 for i in range(10)]
    assert row.buttons[7].font().bold()
    QTest.mouseClick(row.buttons[3], LEFT)  # adding as another class keeps the prediction's highlight
    assert row.buttons[7].isChecked() and not row.buttons[3].isChecked()
    panel.canvas.clear()
    assert not any(b.isChecked() for b in row.buttons)


def test_a_blank_drawing_is_refused(qtbot, panel, store):
    QTest.mouseClick(panel.my_digits.buttons[4], LEFT)
    assert len(store) == 0 and BLANK in panel.my_digits.counter.text()


def test_the_gallery_lists_and_deletes(qtbot, panel, store):
    row = panel.my_digits
    draw_one(panel.canvas)
    QTest.mouseClick(row.buttons[1], LEFT)
    QTest.mouseClick(row.buttons[2], LEFT)
    first, second = (e.id for e in store.entries())
    gallery = row.show_gallery()
    qtbot.addWidget(gallery)
    assert gallery.ids() == [second, first]  # newest first
    assert [gallery.list.item(i).text() for i in range(2)] == ["2", "1"]
    gallery.select(second)
    QTest.mouseClick(gallery.delete_button, LEFT)
    assert [e.id for e in store.entries()] == [first] and gallery.ids() == [first]
    assert not (store.folder / "2" / f"{second}.png").exists()
    assert "2:0" in row.counter.text() and "1:1" in row.counter.text()
    QTest.mouseClick(row.buttons[5], LEFT)  # a later add shows in the open gallery
    assert len(gallery.ids()) == 2


def test_gan_and_points_modes_hide_the_row(qtbot, panel):
    assert panel.my_digits.isVisible()
    panel.set_gan_mode(True)
    assert not panel.my_digits.isVisible()
    panel.set_gan_mode(False)
    panel.set_points_mode(True)
    assert not panel.my_digits.isVisible()
