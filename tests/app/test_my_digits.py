"""The Draw dock's "Add to my digits": label buttons, the counter, the gallery, and what lands on the disk."""

from __future__ import annotations

from types import SimpleNamespace

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


def predicted(panel, k: int) -> None:
    """As if the network had just answered the drawing with class k."""
    p = np.zeros(10, np.float32)
    p[k] = 1.0
    panel.prediction_shown.emit(Prediction(0, p, np.zeros((28, 28), np.uint8), 1, 0.0))


def test_a_label_keeps_the_drawing_and_the_counter_shows_it(qtbot, panel, store):
    row = panel.my_digits
    assert [a.text() for a in row.label_actions] == list("0123456789")
    draw_one(panel.canvas)
    row.label_actions[1].trigger()  # the Keep button's menu: any class
    (entry,) = store.entries()
    assert entry.label == "1"
    digit = read_image(store.folder / entry.file)
    assert digit.shape == (28, 28) and digit.any()
    assert read_image(store.folder / entry.raw).shape == panel.canvas.raster_array().shape
    assert "Kept as 1" in row.counter.text() and "my digits: 1, none yet of 9 classes" in row.counter.text()
    assert "1:1" in row.counter.toolTip()
    assert row.label_actions[1].text().startswith("1\t1 kept")
    assert HandwritingStore(store.folder).counts()["1"] == 1  # on the disk, for the next start


def test_one_click_keeps_it_as_the_predicted_class(qtbot, panel, store):
    row = panel.my_digits
    assert row.button.text() == "Keep…"
    draw_one(panel.canvas)
    predicted(panel, 7)
    assert row.button.text() == "Keep as 7" and row.label_actions[7].font().bold()
    assert not row.label_actions[3].font().bold()
    QTest.mouseClick(row.button, LEFT)
    assert [e.label for e in store.entries()] == ["7"]
    row.label_actions[3].trigger()  # another class from the menu: the prediction stays what one click keeps
    assert [e.label for e in store.entries()] == ["7", "3"] and row.button.text() == "Keep as 7"
    panel.canvas.clear()
    assert row.button.text() == "Keep…"


def test_a_blank_drawing_is_refused(qtbot, panel, store):
    panel.my_digits.label_actions[4].trigger()
    assert len(store) == 0 and BLANK in panel.my_digits.counter.text()


def test_the_gallery_lists_and_deletes(qtbot, panel, store):
    row = panel.my_digits
    draw_one(panel.canvas)
    row.label_actions[1].trigger()
    row.label_actions[2].trigger()
    first, second = (e.id for e in store.entries())
    gallery = row.show_gallery()
    qtbot.addWidget(gallery)
    assert gallery.ids() == [second, first]  # newest first
    assert [gallery.list.item(i).text() for i in range(2)] == ["2", "1"]
    gallery.select(second)
    QTest.mouseClick(gallery.delete_button, LEFT)
    assert [e.id for e in store.entries()] == [first] and gallery.ids() == [first]
    assert not (store.folder / "2" / f"{second}.png").exists()
    assert "2:" not in row.counter.toolTip() and "1:1" in row.counter.toolTip()
    assert "my digits: 1," in row.counter.text()
    row.label_actions[5].trigger()  # a later one shows in the open gallery
    assert len(gallery.ids()) == 2


def test_gan_and_points_modes_hide_the_row(qtbot, panel):
    assert panel.my_digits.isVisible()
    panel.set_gan_mode(True)
    assert not panel.my_digits.isVisible()
    panel.set_gan_mode(False)
    panel.set_points_mode(True)
    assert not panel.my_digits.isVisible()


def test_the_counter_line_keeps_its_height_so_the_canvas_does_not_move(qtbot, panel, store):
    row = panel.my_digits
    top, height = panel.canvas.geometry().top(), panel.canvas.height()
    for k in range(10):
        for _ in range(2):
            draw_one(panel.canvas)
            row.add(k)
    assert row.counter.text().endswith("my digits: 20, 2 a class")
    # A long message in front (a fine-tuning's outcome)
    report = SimpleNamespace(own_before=0.6, own_after=1.0, replay_before=0.971, replay_after=0.969)
    row.show_report(report, tuple("0123456789"), "MNIST sample")
    assert row.counter.text().startswith("Fine-tuned: my digits 60% → 100%, MNIST sample 97.1% → 96.9%.")
    qtbot.wait(10)
    assert (panel.canvas.geometry().top(), panel.canvas.height()) == (top, height)
