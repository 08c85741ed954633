"""The confusion matrix and the prediction gallery, driven by mouse and keyboard as a person would."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QColor, QHelpEvent, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QToolTip

from playground.app.viz.colormap import colorize, lut
from playground.app.viz.confusion import ConfusionView
from playground.app.viz.predictions import (
    FILTER_ALL,
    FILTER_CLASS,
    FILTER_MISTAKES,
    SORT_CONFIDENCE_ASC,
    SORT_CONFIDENCE_DESC,
    SORT_INDEX,
    PredictionsView,
)
from tests.app.helpers import on_screen

DIGITS = tuple(str(i) for i in range(10))
FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
LEFT, NO_MOD = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier


class Split:
    """500 test images, 50 of each class, with mistakes planted where the tests know them:
    7 fours taken for 9s, 3 nines for 4s, 5 threes for 5s, 2 ones for 7s; every 0 right (row 0 is 100% correct)."""

    def __init__(self, seed: int = 0, n: int = 500):
        rng = np.random.default_rng(seed)
        self.labels = rng.permutation(np.arange(n) % 10).astype(np.int64)
        self.predictions = self.labels.copy()
        self.cells: dict[tuple[int, int], np.ndarray] = {}
        for (t, p), k in {(4, 9): 7, (9, 4): 3, (3, 5): 5, (1, 7): 2}.items():
            chosen = np.flatnonzero(self.labels == t)[:k]
            self.predictions[chosen] = p
            self.cells[(t, p)] = chosen
        self.confidences = rng.uniform(0.3, 1.0, n).astype(np.float32)
        self.images = np.zeros((n, 28, 28), dtype=np.uint8)
        self.images[:, 6:22, 12:16] = 255  # a "1" on black, as MNIST draws digits
        self.confusion = np.zeros((10, 10), dtype=np.int64)
        np.add.at(self.confusion, (self.labels, self.predictions), 1)

    def mistakes(self) -> np.ndarray:
        return np.flatnonzero(self.labels != self.predictions)

    def most_confident_first(self, indices) -> list[int]:
        indices = np.asarray(indices)
        return indices[np.argsort(-self.confidences[indices], kind="stable")].tolist()

    def gallery_args(self, classes=DIGITS):
        return self.images, self.labels, self.predictions, self.confidences, classes

    def confusion_args(self, classes=DIGITS):
        return self.confusion, classes, self.images, self.labels, self.predictions, self.confidences


@pytest.fixture
def split() -> Split:
    return Split()


@pytest.fixture
def confusion(qtbot, split):
    view = on_screen(qtbot, ConfusionView(), 620, 820)
    view.set_results(*split.confusion_args(), note="run 2, epoch 3 of 5 · 96.6% correct")
    QApplication.processEvents()
    return view


@pytest.fixture
def gallery(qtbot, split):
    view = on_screen(qtbot, PredictionsView(), 900, 600)
    view.set_results(*split.gallery_args(), note="run 1, epoch 1 of 3")
    QApplication.processEvents()
    return view


def pixel(widget, point: QPoint) -> tuple[int, int, int]:
    image = widget.grab().toImage()
    c = image.pixelColor(point)
    return c.red(), c.green(), c.blue()


def lut_colour(fraction: float, levels=(0.0, 1.0)) -> tuple[int, int, int]:
    return tuple(int(v) for v in colorize(np.array([[fraction]]), levels)[0, 0])


def show_tooltip(widget, pos: QPoint) -> str:
    """What a hover delivers after the wake-up delay: a ToolTip help event at the mouse."""
    QToolTip.hideText()
    event = QHelpEvent(QEvent.Type.ToolTip, pos, widget.mapToGlobal(pos))
    QApplication.sendEvent(widget, event)
    return QToolTip.text() if QToolTip.isVisible() else ""


# --- the confusion matrix -----------------------------------------------------------------------------------------


def test_clicking_a_cell_emits_it_and_shows_exactly_its_examples_most_confident_first(qtbot, confusion, split):
    with qtbot.waitSignal(confusion.cell_clicked, timeout=1000) as blocker:
        QTest.mouseClick(confusion, LEFT, NO_MOD, confusion.cell_rect(4, 9).center())
    assert blocker.args == [4, 9]
    assert confusion.selected_cell() == (4, 9)
    expected = split.most_confident_first(split.cells[(4, 9)])
    assert confusion.shown_examples() == expected
    assert sorted(expected) == np.flatnonzero((split.labels == 4) & (split.predictions == 9)).tolist()
    assert confusion.caption() == "7 digits: true 4, predicted 9"
    conf = split.confidences[expected]
    assert np.all(np.diff(conf) <= 0)


def test_a_click_through_the_window_reaches_the_cell_under_the_mouse(qtbot, confusion, split):
    """The click goes to the window, which hands it to the widget under the mouse, as a real click does."""
    centre = confusion.cell_rect(3, 5).center()
    with qtbot.waitSignal(confusion.cell_clicked, timeout=1000) as blocker:
        QTest.mouseClick(confusion.windowHandle(), LEFT, NO_MOD, confusion.mapTo(confusion.window(), centre))
    assert blocker.args == [3, 5]
    assert confusion.shown_examples() == split.most_confident_first(split.cells[(3, 5)])
    assert confusion.caption() == "5 digits: true 3, predicted 5"


def test_a_diagonal_cell_shows_the_correct_ones(qtbot, confusion, split):
    QTest.mouseClick(confusion, LEFT, NO_MOD, confusion.cell_rect(0, 0).center())
    zeros = np.flatnonzero(split.labels == 0)
    assert confusion.shown_examples() == split.most_confident_first(zeros)
    assert confusion.caption() == "50 digits: true 0, predicted 0"


def test_clicking_outside_the_cells_does_nothing(qtbot, confusion):
    with qtbot.assertNotEmitted(confusion.cell_clicked):
        QTest.mouseClick(confusion, LEFT, NO_MOD, confusion.cell_rect(9, 0).bottomLeft() + QPoint(-30, 40))
    assert confusion.selected_cell() is None
    assert confusion.shown_examples() == []
    assert confusion.caption() == "Click a cell to see its examples."


def test_clicking_an_example_in_the_cell_strip_emits_its_test_index(qtbot, confusion, split):
    QTest.mouseClick(confusion, LEFT, NO_MOD, confusion.cell_rect(4, 9).center())
    expected = split.most_confident_first(split.cells[(4, 9)])
    viewport = confusion.examples.grid.viewport()
    for position in (1, 0, 0):  # the same example twice: chosen again (say, after drawing on the canvas)
        with qtbot.waitSignal(confusion.example_chosen, timeout=1000) as blocker:
            QTest.mouseClick(viewport, LEFT, NO_MOD, confusion.examples.item_rect(position).center())
        assert blocker.args == [expected[position]]


def test_hover_tells_the_count_and_the_share_of_the_true_class(qtbot, confusion):
    centre = confusion.cell_rect(4, 9).center()
    QTest.mouseMove(confusion.windowHandle(), confusion.mapTo(confusion.window(), centre))  # through the window
    assert confusion.matrix.hover == (4, 9)
    # Qt sends the tool tip event to the widget under the mouse: the matrix.
    assert show_tooltip(confusion.matrix, confusion.matrix.mapFrom(confusion, centre)) == \
        "true 4, predicted 9: 7 digits (14.0% of the 4s)"
    assert show_tooltip(confusion, confusion.cell_rect(3, 5).center()) == \
        "true 3, predicted 5: 5 digits (10.0% of the 3s)"
    QTest.mouseMove(confusion.windowHandle(), confusion.mapTo(confusion.window(), QPoint(2, 2)))
    assert confusion.matrix.hover is None
    assert confusion.cell_tooltip(2, 3) == "true 2, predicted 3: 0 digits (0% of the 2s)"
    assert confusion.cell_tooltip(1, 7) == "true 1, predicted 7: 2 digits (4.0% of the 1s)"
    assert confusion.cell_tooltip(0, 0) == "true 0, predicted 0: 50 digits (100.0% of the 0s)"


def test_hover_words_for_named_classes(qtbot, split):
    view = ConfusionView()
    qtbot.addWidget(view)
    view.resize(620, 820)
    view.set_results(*split.confusion_args(FASHION))
    assert view.cell_tooltip(4, 9) == "true Coat, predicted Ankle boot: 7 images (14.0% of true class Coat)"
    view.select_cell(9, 4)
    assert view.caption() == "3 images: true Ankle boot, predicted Coat"


def test_cell_colours_follow_the_fraction_of_the_true_class(qtbot, confusion, split):
    image = confusion.grab().toImage()

    def colour(t, p):
        c = image.pixelColor(confusion.cell_rect(t, p).topLeft() + QPoint(4, 4))  # a corner: clear of the count
        return c.red(), c.green(), c.blue()

    top = tuple(int(v) for v in lut()[255])
    assert colour(0, 0) == top  # every 0 right: fraction 1, the top of the map
    assert colour(4, 4) == lut_colour(43 / 50)
    assert colour(4, 9) == lut_colour(7 / 50)
    assert colour(2, 3) == tuple(int(v) for v in lut()[0])
    assert confusion.levels() == (0.0, 1.0)
    assert confusion.scale.text() == "fraction of the true class: 0 … 1"
    # The count is written dark on the bright cell and light on the dark one.

    def lightness_range(t, p):
        r = confusion.cell_rect(t, p)
        xs = range(r.left() + r.width() // 4, r.right() - r.width() // 4)
        ys = range(r.top() + r.height() // 3, r.bottom() - r.height() // 3)
        values = [image.pixelColor(x, y).lightness() for x in xs for y in ys]
        return min(values), max(values)

    assert lightness_range(0, 0)[0] < 60  # "50" in near-black on yellow
    assert lightness_range(4, 9)[1] > 200  # "7" in near-white on dark purple


def test_without_correct_the_diagonal_greys_out_and_the_scale_stretches_to_the_largest_mistake(qtbot, confusion):
    confusion.show_correct_check.click()
    assert not confusion.show_correct()
    assert confusion.levels() == pytest.approx((0.0, 7 / 50))
    assert confusion.scale.text() == "fraction of the true class: 0 … 0.14"
    image = confusion.grab().toImage()
    corner = QPoint(4, 4)
    diagonal = image.pixelColor(confusion.cell_rect(0, 0).topLeft() + corner)
    assert abs(diagonal.red() - diagonal.green()) < 4 and abs(diagonal.green() - diagonal.blue()) < 4  # grey
    mistake = image.pixelColor(confusion.cell_rect(4, 9).topLeft() + corner)
    assert (mistake.red(), mistake.green(), mistake.blue()) == tuple(int(v) for v in lut()[255])
    confusion.show_correct_check.click()
    assert confusion.levels() == (0.0, 1.0)


def test_the_open_cell_follows_the_next_epoch(qtbot, confusion, split):
    QTest.mouseClick(confusion, LEFT, NO_MOD, confusion.cell_rect(4, 9).center())
    later = Split(seed=0)
    fixed = later.cells[(4, 9)][:4]  # the next epoch gets 3 of those 7 right
    later.predictions[later.cells[(4, 9)][4:]] = 4
    later.confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(later.confusion, (later.labels, later.predictions), 1)
    with qtbot.assertNotEmitted(confusion.cell_clicked):
        confusion.set_results(*later.confusion_args(), note="run 2, epoch 4 of 5")
    assert confusion.selected_cell() == (4, 9)
    assert confusion.shown_examples() == later.most_confident_first(fixed)
    assert confusion.caption() == "4 digits: true 4, predicted 9"
    assert confusion.note_label.text() == "run 2, epoch 4 of 5"


def test_clear_says_why_and_empties_the_strip(qtbot, confusion):
    QTest.mouseClick(confusion, LEFT, NO_MOD, confusion.cell_rect(4, 9).center())
    confusion.clear("Training was stopped before the first epoch ended.")
    assert confusion.counts() is None
    assert confusion.shown_examples() == []
    assert confusion.matrix.message == "Training was stopped before the first epoch ended."
    assert not confusion.export_button.isEnabled()
    with qtbot.assertNotEmitted(confusion.cell_clicked):
        QTest.mouseClick(confusion, LEFT, NO_MOD, confusion.rect().center())


def test_a_matrix_of_the_wrong_size_is_refused(qtbot, split):
    view = ConfusionView()
    qtbot.addWidget(view)
    with pytest.raises(ValueError, match="confusion matrix"):
        view.set_results(np.zeros((3, 3)), DIGITS, split.images, split.labels, split.predictions,
                         split.confidences)


def test_without_a_matrix_it_is_counted_from_the_predictions(qtbot, split):
    view = ConfusionView()
    qtbot.addWidget(view)
    view.set_results(None, DIGITS, split.images, split.labels, split.predictions, split.confidences)
    assert np.array_equal(view.counts(), split.confusion)


def test_confusion_export_writes_a_png(qtbot, confusion, dialogs, tmp_path):
    direct = tmp_path / "direct.png"
    confusion.export_png(direct)
    assert not QImage(str(direct)).isNull()
    chosen = tmp_path / "chosen"
    dialogs.choose_file(str(chosen))
    confusion.export_button.click()
    picture = QImage(str(chosen) + ".png")
    assert not picture.isNull()
    assert picture.size() == confusion.figure.size()
    assert dialogs.texts("critical") == []


# --- the gallery --------------------------------------------------------------------------------------------------


def test_mistakes_only_shows_exactly_the_mistakes_most_confident_first(qtbot, gallery, split):
    assert gallery.shown_indices() == split.most_confident_first(np.arange(500))
    assert gallery.count_text() == "500 digits · 17 mistakes"
    gallery.filter_combo.setCurrentIndex(gallery.filter_combo.findText("Mistakes only"))
    assert gallery.filter() == (FILTER_MISTAKES, None)
    assert gallery.shown_indices() == split.most_confident_first(split.mistakes())
    assert sorted(gallery.shown_indices()) == split.mistakes().tolist()
    assert gallery.count_text() == "17 mistakes of 500"


def test_sorts(qtbot, gallery, split):
    gallery.set_filter(FILTER_MISTAKES)
    gallery.sort_combo.setCurrentIndex(gallery.sort_combo.findData(SORT_CONFIDENCE_ASC))
    shown = gallery.shown_indices()
    assert sorted(shown) == split.mistakes().tolist()
    assert np.all(np.diff(split.confidences[shown]) >= 0)
    gallery.sort_combo.setCurrentIndex(gallery.sort_combo.findData(SORT_INDEX))
    assert gallery.shown_indices() == split.mistakes().tolist()
    gallery.set_sort(SORT_CONFIDENCE_DESC)
    assert gallery.sort_combo.currentData() == SORT_CONFIDENCE_DESC
    assert np.all(np.diff(split.confidences[gallery.shown_indices()]) <= 0)


def test_one_true_class(qtbot, gallery, split):
    gallery.filter_combo.setCurrentIndex(gallery.filter_combo.findText("True class 4"))
    assert gallery.filter() == (FILTER_CLASS, 4)
    assert gallery.shown_indices() == split.most_confident_first(np.flatnonzero(split.labels == 4))
    assert gallery.count_text() == "50 digits of class 4 · 7 mistakes"


def test_filter_and_sort_are_kept_across_epochs(qtbot, gallery, split):
    gallery.set_filter(FILTER_MISTAKES)
    gallery.set_sort(SORT_CONFIDENCE_ASC)
    later = Split(seed=0)
    later.predictions[later.cells[(4, 9)]] = 4  # fixed next epoch
    later.confidences = np.random.default_rng(5).uniform(0.3, 1.0, 500).astype(np.float32)
    gallery.set_results(*later.gallery_args(), note="run 1, epoch 2 of 3")
    assert gallery.filter() == (FILTER_MISTAKES, None)
    assert gallery.sort() == SORT_CONFIDENCE_ASC
    assert gallery.filter_combo.currentText() == "Mistakes only"
    assert gallery.sort_combo.currentData() == SORT_CONFIDENCE_ASC
    shown = gallery.shown_indices()
    assert sorted(shown) == later.mistakes().tolist()
    assert np.all(np.diff(later.confidences[shown]) >= 0)
    assert gallery.count_text() == "10 mistakes of 500"
    assert gallery.note() == "run 1, epoch 2 of 3"


def test_a_class_filter_survives_an_epoch_and_falls_back_when_the_class_is_gone(qtbot, gallery, split):
    gallery.set_filter(FILTER_CLASS, 7)
    gallery.set_results(*split.gallery_args())
    assert gallery.filter() == (FILTER_CLASS, 7)
    assert gallery.filter_combo.currentText() == "True class 7"
    few = split.labels < 3
    gallery.set_results(split.images[few], split.labels[few], split.predictions[few], split.confidences[few],
                        ("0", "1", "2"))
    assert gallery.filter() == (FILTER_ALL, None)
    assert gallery.filter_combo.currentText() == "All examples"
    assert len(gallery.shown_indices()) == int(few.sum())


def test_clicking_a_thumbnail_emits_its_test_index_and_keys_move_on(qtbot, gallery, split):
    gallery.set_filter(FILTER_MISTAKES)
    expected = split.most_confident_first(split.mistakes())
    viewport = gallery.grid.viewport()
    with qtbot.waitSignal(gallery.example_chosen, timeout=1000) as blocker:
        QTest.mouseClick(viewport, LEFT, NO_MOD, gallery.item_rect(2).center())
    assert blocker.args == [expected[2]]
    with qtbot.waitSignal(gallery.example_chosen, timeout=1000) as blocker:
        QTest.keyClick(gallery.grid, Qt.Key.Key_Right)
    assert blocker.args == [expected[3]]
    assert gallery.selected_index() == expected[3]


def test_one_click_is_one_choice(qtbot, gallery):
    chosen = []
    gallery.example_chosen.connect(chosen.append)
    QTest.mouseClick(gallery.grid.viewport(), LEFT, NO_MOD, gallery.item_rect(5).center())
    assert chosen == [gallery.shown_indices()[5]]


def test_the_selection_stays_on_the_same_example_across_epochs_without_choosing_it_again(qtbot, gallery, split):
    QTest.mouseClick(gallery.grid.viewport(), LEFT, NO_MOD, gallery.item_rect(4).center())
    picked = gallery.shown_indices()[4]
    later = Split(seed=0)
    later.confidences = np.random.default_rng(9).uniform(0.3, 1.0, 500).astype(np.float32)
    with qtbot.assertNotEmitted(gallery.example_chosen):
        gallery.set_results(*later.gallery_args())
    current = gallery.grid.currentIndex()
    assert current.isValid() and gallery.shown_indices()[current.row()] == picked


def test_a_new_epoch_keeps_the_scroll_position(qtbot, gallery, split):
    gallery.set_sort(SORT_INDEX)
    bar = gallery.grid.verticalScrollBar()
    assert bar.maximum() > 0
    bar.setValue(bar.maximum() * 3 // 4)
    at = bar.value()
    later = Split(seed=0)
    later.confidences = np.random.default_rng(9).uniform(0.3, 1.0, 500).astype(np.float32)
    gallery.set_results(*later.gallery_args())
    QApplication.processEvents()
    assert bar.value() == at and gallery.shown_indices() == list(range(500))


def test_rows_that_change_in_place_do_not_keep_marking_an_example_no_longer_shown(qtbot, gallery, split):
    gallery.set_filter(FILTER_CLASS, 3)
    QTest.mouseClick(gallery.grid.viewport(), LEFT, NO_MOD, gallery.item_rect(2).center())
    marked = gallery.grid.selectionModel()
    assert marked.isSelected(gallery.model.index(2, 0))
    gallery.set_filter(FILTER_CLASS, 5)  # as many fives as threes: the same rows, other examples
    assert len(gallery.shown_indices()) == 50
    assert not marked.hasSelection()
    gallery.set_filter(FILTER_CLASS, 3)  # the chosen three is back, and marked again
    assert marked.selectedIndexes() == [gallery.model.index(2, 0)]


def test_thumbnails_are_the_digit_and_mistakes_are_framed_in_red(qtbot, gallery, split):
    gallery.set_sort(SORT_INDEX)
    wrong = int(split.mistakes()[0])
    right = int(np.flatnonzero(split.labels == split.predictions)[0])
    image = gallery.grid.viewport().grab().toImage()

    def cell(index):
        return gallery.item_rect(gallery.shown_indices().index(index))

    image = None
    for index, is_wrong in ((right, False), (wrong, True)):
        rect = cell(index)
        image = gallery.grid.viewport().grab().toImage()
        thumb_left = rect.left() + (rect.width() - 56) // 2
        top = rect.top() + 5
        # Image column 13 of 28 is white (the stroke), column 2 black: at 56 px, x = 27 and x = 5.
        assert QColor(image.pixelColor(thumb_left + 27, top + 28)).lightness() > 240
        assert QColor(image.pixelColor(thumb_left + 5, top + 28)).lightness() < 15
        frame = image.pixelColor(thumb_left - 1, top + 28)
        if is_wrong:
            assert frame.red() > 150 and frame.green() < 80 and frame.blue() < 80
        else:
            assert not (frame.red() > 150 and frame.green() < 80)
    tooltip = gallery.model.data(gallery.model.index(gallery.shown_indices().index(wrong), 0),
                                 Qt.ItemDataRole.ToolTipRole)
    t, p = int(split.labels[wrong]), int(split.predictions[wrong])
    assert tooltip.startswith(f"test image #{wrong}: true {t}, predicted {p} (wrong)")
    caption = gallery.model.data(gallery.model.index(0, 0), Qt.ItemDataRole.DisplayRole)
    first = gallery.shown_indices()[0]
    assert caption == f"{split.labels[first]} → {split.predictions[first]} · {int(split.confidences[first] * 100)}%"


def test_subset_narrows_the_gallery(qtbot, gallery, split):
    gallery.set_subset([10, 3, 3, 7, 9999])
    assert gallery.shown_indices() == split.most_confident_first([3, 7, 10])
    assert gallery.count_text() == "3 shown of 500"
    gallery.set_subset(None)
    assert len(gallery.shown_indices()) == 500


def test_gallery_clear_and_an_empty_filter_say_so(qtbot, gallery, split):
    gallery.set_filter(FILTER_MISTAKES)
    perfect = Split()
    perfect.predictions = perfect.labels.copy()
    gallery.set_results(*perfect.gallery_args())
    assert gallery.shown_indices() == []
    assert gallery.count_text() == "0 mistakes of 500"
    assert gallery.message_label.isVisible() and gallery.message_label.text() == "No examples match."
    gallery.clear("Start a run to see its predictions.")
    assert gallery.shown_indices() == [] and gallery.count_text() == ""
    assert gallery.message_label.text() == "Start a run to see its predictions."
    assert not gallery.export_button.isEnabled()


def test_gallery_export_writes_a_png(qtbot, gallery, dialogs, tmp_path):
    gallery.set_filter(FILTER_MISTAKES)
    QApplication.processEvents()
    gallery.set_filter(FILTER_CLASS, 4)  # a longer count text, exported before the event loop has run
    path = tmp_path / "gallery.png"
    gallery.export_png(path)
    assert not QImage(str(path)).isNull()
    assert gallery.count_label.width() >= gallery.count_label.sizeHint().width()  # laid out, not clipped
    dialogs.choose_file(str(tmp_path / "chosen.png"))
    gallery.export_button.click()
    assert QImage(str(tmp_path / "chosen.png")).size() == gallery.figure.size()


def test_ten_thousand_examples_are_quick_to_show(qtbot):
    big = Split(seed=3, n=10_000)
    gallery = on_screen(qtbot, PredictionsView(), 1000, 700)
    start = time.perf_counter()
    gallery.set_results(*big.gallery_args(), note="epoch 1")
    gallery.grab()
    first = time.perf_counter() - start
    start = time.perf_counter()
    big.confidences = big.confidences[::-1].copy()
    gallery.set_results(*big.gallery_args(), note="epoch 2")  # the same images: thumbnails are kept
    gallery.grab()
    again = time.perf_counter() - start
    gallery.set_filter(FILTER_MISTAKES)
    start = time.perf_counter()
    gallery.set_sort(SORT_CONFIDENCE_ASC)
    gallery.set_filter(FILTER_ALL)
    resort = time.perf_counter() - start
    view = ConfusionView()
    qtbot.addWidget(view)
    view.resize(620, 820)
    view.show()
    start = time.perf_counter()
    view.set_results(*big.confusion_args(), note="epoch 1")
    view.grab()
    matrix = time.perf_counter() - start
    start = time.perf_counter()
    view.select_cell(0, 0)  # about 1,000 examples in the strip
    view.grab()
    cell = time.perf_counter() - start
    print(f"\n10,000 examples: gallery set_results + first paint {first * 1000:.0f} ms, next epoch "
          f"{again * 1000:.0f} ms, refilter/resort {resort * 1000:.0f} ms; confusion set_results + paint "
          f"{matrix * 1000:.0f} ms, open a 1,000-example cell {cell * 1000:.0f} ms")
    assert len(gallery.shown_indices()) == 10_000
    assert len(view.shown_examples()) == int(big.confusion[0, 0])


def real_digits():
    """MNIST's test digits if the shared copy is there, else the bundled sample."""
    from playground.core.data import load_dataset

    try:
        d = load_dataset("mnist", data_dir="/work/shared/data/mnist")
    except Exception:
        d = load_dataset("mnist-sample")
    images, labels = d.split("test")
    return images[:, 0].numpy(), labels.numpy().astype(np.int64), tuple(d.classes)


def plausible_predictions(labels: np.ndarray, seed: int = 0):
    """About 2% wrong, mostly the confusions a small CNN makes (4↔9, 3↔5, 7→2, ...)."""
    rng = np.random.default_rng(seed)
    predictions = labels.copy()
    usual = {0: 6, 1: 7, 2: 7, 3: 5, 4: 9, 5: 3, 6: 0, 7: 2, 8: 3, 9: 4}
    for i in np.flatnonzero(rng.random(labels.size) < 0.021):
        predictions[i] = usual[int(labels[i])] if rng.random() < 0.6 else rng.integers(0, 10)
    right = predictions == labels
    confidences = np.where(right, rng.beta(30, 1, labels.size), rng.beta(3, 2, labels.size)).astype(np.float32)
    return predictions, confidences


def test_screenshots_with_real_digits(qtbot):
    images, labels, classes = real_digits()
    predictions, confidences = plausible_predictions(labels)
    counts = np.bincount(labels * 10 + predictions, minlength=100).reshape(10, 10)
    note = f"run 2, epoch 3 of 5 · {(predictions == labels).mean() * 100:.1f}% correct"
    view = on_screen(qtbot, ConfusionView(), 620, 860)
    view.set_results(counts, classes, images, labels, predictions, confidences, note=note)
    QTest.mouseClick(view, LEFT, NO_MOD, view.cell_rect(4, 9).center())
    QTest.mouseMove(view, view.cell_rect(7, 2).center())
    QApplication.processEvents()
    assert view.grab().save("/tmp/viz_confusion.png")
    gallery = on_screen(qtbot, PredictionsView(), 920, 620)
    gallery.set_results(images, labels, predictions, confidences, classes, note=note)
    gallery.set_filter(FILTER_MISTAKES)
    QTest.mouseClick(gallery.grid.viewport(), LEFT, NO_MOD, gallery.item_rect(3).center())
    QApplication.processEvents()
    assert gallery.grab().save("/tmp/viz_gallery.png")
    assert gallery.count_text().endswith(f"mistakes of {len(labels):,}")
