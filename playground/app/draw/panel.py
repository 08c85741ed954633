"""The digit panel: the drawing canvas, what the network sees, and its live class probabilities.

For a GAN (`set_gan_mode(True)`: the weights in use are a GAN's) the bars show one value instead of the classes:
the discriminator's "real" probability for the drawing (how real it finds it), live as the strokes come.

Throttling: a stroke movement sends the drawing to the predictor only when no
request is in flight and the rate allows it; otherwise the panel only notes that
the drawing changed, and sends the drawing as it is then when the answer arrives
(or the rate allows it again). The bars so update as fast as predictions
complete, always catch up with the last stroke, and nothing queues up.

The rate is a token bucket: one request per MIN_INTERVAL on average (a display's
frame: a 120 Hz mouse or pen cannot drive more than about 60 predictions a
second), with a burst of BURST. A plain minimum interval of one frame would lock
onto a 60 Hz mouse: once an answer came late, every later movement would wait
for the interval measured from that late send, adding most of a frame to each
prediction; the burst absorbs a late answer and the mouse's own jitter.

Latency is recorded honestly: a request's `submitted_at` is the time of the
oldest change it is the first to show (the first event after the previous
request was sent), not of the newest one.

The GUI thread's share of a prediction is small: a copy of the raster goes to
the predictor, whose thread preprocesses it and answers with the 28×28 image
and the probabilities, shown together (preview and bars) in one repaint.
"""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..icons import icon
from ..predictor import Prediction, Predictor
from .bars import DIGITS, ProbabilityBars
from .drawing import MAX_BRUSH, MIN_BRUSH, DrawingCanvas
from .my_digits import MyDigitsRow
from .preview import DigitPreview

NO_TEST_SET = "Test digits become available once a dataset is loaded (start a training run)."
REAL = "real"  # the one bar of a GAN's discriminator: P(real)
GAN_HINT = ("The discriminator: how real does your digit look? 100% real: it takes it for a training image; "
            "0%: for one the generator made.")
POINTS_HINT = ("This network takes 2-D points, not drawings: the Decision dock shows what it makes of the whole "
               "plane, and draws your own points.")
COLOUR_HINT = ("Drawing is for digit networks: this network takes {what} images ({shape}), not a 28×28 gray drawing. "
               "The Predictions and Confusion views show what it makes of its test images.")
COLOUR_TEST_SET = ("The test images are in colour: the canvas shows gray digits only (the Predictions view shows "
                   "them).")
MIN_INTERVAL = 0.016  # seconds per request, on average: about one prediction per frame of a 60 Hz display
BURST = 2  # requests that may go in quicker succession (see the module docstring)


class DigitPanel(QWidget):
    prediction_shown = Signal(object)  # the Prediction, right after the bars show it

    def __init__(self, predictor: Predictor, parent: QWidget | None = None, my_digits_store=None):
        """`my_digits_store`: where "Add to my digits" keeps drawings (default: a HandwritingStore of the user
        data folder, opened when first needed)."""
        super().__init__(parent)
        self._my_digits_store = my_digits_store
        self.predictor = predictor
        self._classes: tuple[str, ...] = DIGITS
        self.gan_mode = False
        self._test_images: np.ndarray | None = None
        self._test_labels: np.ndarray | None = None
        self._rng = np.random.default_rng()
        # Request bookkeeping (see the module docstring).
        self._next_id = 0
        self._in_flight: int | None = None
        self._pending: float | None = None  # changes not sent yet: the time of the oldest one's event
        self._credit = float(BURST)  # requests the rate allows now (the token bucket) ...
        self._credit_at = time.perf_counter()  # ... as of this time; one more every MIN_INTERVAL, up to BURST
        self._send_timer = QTimer(self)  # sends the pending change once the rate allows it
        self._send_timer.setSingleShot(True)
        self._send_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._send_timer.timeout.connect(self._send_pending)
        self._valid_from = 0  # answers to older requests describe a drawing that is gone
        self._shown_id = -1
        self._note = ""
        self._error: str | None = None
        # Mistakes.
        self._mistakes: list[tuple[int, int, int, float]] = []
        self._mistake_pos = 0
        self._mistakes_for: np.ndarray | None = None  # the test images a search is running on
        self._build()
        predictor.predicted.connect(self._on_predicted)
        predictor.failed.connect(self._on_failed)
        predictor.mistakes_found.connect(self._on_mistakes)
        self.set_test_set(None, None)

    # -- layout ------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.canvas = DrawingCanvas(self)
        self.preview = DigitPreview(self)
        self.bars = ProbabilityBars(self)

        self.brush = QSlider(Qt.Orientation.Horizontal, self)
        self.brush.setRange(MIN_BRUSH, MAX_BRUSH)
        self.brush.setValue(self.canvas.brush())
        self.brush.setToolTip("Brush size (Ctrl+wheel on the canvas)")
        self.brush.setMinimumWidth(60)  # the tools row under a canvas the dock's height keeps small
        self.brush.setMaximumWidth(140)
        self.brush.valueChanged.connect(self.canvas.set_brush)
        self.canvas.brush_changed.connect(self._sync_brush)
        self.undo_button = self._tool_button("edit-undo", "Undo", "Undo the last stroke (Ctrl+Z)", self.canvas.undo)
        self.undo_button.setEnabled(False)
        self.canvas.undo_available.connect(self.undo_button.setEnabled)
        self.clear_button = self._tool_button("edit-delete", "Clear", "Clear the drawing (Esc or right-click)",
                                              self.canvas.clear)
        tools = QHBoxLayout()
        tools.setContentsMargins(0, 0, 0, 0)
        brush_label = QLabel("Brush", self)
        brush_label.setBuddy(self.brush)
        tools.addWidget(brush_label)
        tools.addWidget(self.brush)
        tools.addStretch(1)
        tools.addWidget(self.undo_button)
        tools.addWidget(self.clear_button)

        self.caption = QLabel(self)
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.caption.setMinimumHeight(self.fontMetrics().height())

        left = QVBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self.canvas, 1)
        left.addLayout(tools)
        left.addWidget(self.caption)
        # "Add to my digits": the counter, and the Keep button beside it (app/draw/my_digits.py)
        self.my_digits = MyDigitsRow(self._drawing_or_none, self._my_digits_store, self)
        keep = QHBoxLayout()
        keep.setContentsMargins(0, 0, 0, 0)
        keep.addWidget(self.my_digits.counter, 1)
        keep.addWidget(self.my_digits.button)
        left.addLayout(keep)

        # Beside the canvas: what the network sees next to what it makes of it (the preview, its captions under
        # it, beside the bars), then the note and the test-digit buttons. Side by side rather than stacked, they
        # ask for little height, which the network editor above or beside the dock needs (issue 18).
        sees = self._dim_label("The network sees")
        sees.setWordWrap(True)
        self.preview_hint = self._dim_label("28×28, cropped and centred like MNIST")
        self.preview_hint.setWordWrap(True)
        preview_column = QVBoxLayout()
        preview_column.setContentsMargins(0, 0, 0, 0)
        preview_column.setSpacing(2)
        preview_column.addWidget(self.preview)
        preview_column.addSpacing(2)
        preview_column.addWidget(sees)
        preview_column.addWidget(self.preview_hint)
        preview_column.addStretch(1)
        for label in (sees, self.preview_hint):
            label.setFixedWidth(self.preview.width())
        looks = QHBoxLayout()
        looks.setContentsMargins(0, 0, 0, 0)
        looks.setSpacing(8)
        looks.addLayout(preview_column)
        looks.addWidget(self.bars, 1)
        self.gan_hint = self._dim_label(GAN_HINT)
        self.gan_hint.setWordWrap(True)
        self.gan_hint.hide()
        self.points_mode = False
        self.colour_mode = False  # the network takes colour images: nothing to draw for it (set_colour_mode)
        self.note = self._dim_label("")
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.RichText)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.random_button = QPushButton("Random test digit", self)
        self.random_button.clicked.connect(self.show_random_test_digit)
        self.mistakes_button = QPushButton("Show mistakes", self)
        self.mistakes_button.clicked.connect(self.find_mistakes)
        self.previous_button = QToolButton(self)
        self.previous_button.setArrowType(Qt.ArrowType.LeftArrow)
        self.previous_button.setToolTip("Previous mistake")
        self.previous_button.clicked.connect(lambda: self.step_mistake(-1))
        self.next_button = QToolButton(self)
        self.next_button.setArrowType(Qt.ArrowType.RightArrow)
        self.next_button.setToolTip("Next mistake")
        self.next_button.clicked.connect(lambda: self.step_mistake(1))
        self.mistake_label = self._dim_label("")
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.random_button)
        buttons.addWidget(self.mistakes_button)
        nav = QHBoxLayout()
        nav.setContentsMargins(0, 0, 0, 0)
        nav.addWidget(self.previous_button)
        nav.addWidget(self.mistake_label, 1, Qt.AlignmentFlag.AlignCenter)
        nav.addWidget(self.next_button)
        self._set_nav_visible(False)

        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.addLayout(looks, 1)
        right.addWidget(self.gan_hint)
        right.addWidget(self.note)
        right.addLayout(buttons)
        right.addLayout(nav)
        right_widget = QWidget(self)
        right_widget.setLayout(right)
        right_widget.setMinimumWidth(260)
        right_widget.setMaximumWidth(380)
        right_widget.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addSpacing(4)
        layout.addWidget(right_widget)

        self.canvas.changed.connect(self._on_canvas_changed)
        self.canvas.stroke_started.connect(self.caption.clear)
        self.prediction_shown.connect(self._on_prediction_for_my_digits)
        self._update_note()

    def _tool_button(self, icon_name: str, text: str, tip: str, slot) -> QToolButton:
        button = QToolButton(self)
        button.setIcon(icon(icon_name))
        button.setText(text)
        button.setToolTip(tip)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        button.setAutoRaise(True)
        button.clicked.connect(slot)
        return button

    def _dim_label(self, text: str) -> QLabel:
        label = QLabel(text, self)
        pal = label.palette()
        text_color, window = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Window)
        mixed = QColor.fromRgbF(*((a * 0.6 + b * 0.4) for a, b in zip(text_color.getRgbF()[:3],
                                                                        window.getRgbF()[:3], strict=True)))
        pal.setColor(QPalette.ColorRole.WindowText, mixed)
        label.setPalette(pal)
        font = label.font()
        font.setPointSizeF(font.pointSizeF() * 0.9)
        label.setFont(font)
        return label

    def _drawing_or_none(self) -> np.ndarray | None:
        return None if self.canvas.is_empty() else np.array(self.canvas.raster_array())

    def _on_prediction_for_my_digits(self, prediction: Prediction) -> None:
        p = prediction.probabilities
        self.my_digits.set_predicted(int(np.argmax(p)) if p is not None and not self.gan_mode else None)

    def _sync_brush(self, width: int) -> None:
        self.brush.blockSignals(True)
        self.brush.setValue(width)
        self.brush.blockSignals(False)

    def _set_nav_visible(self, visible: bool) -> None:
        for w in (self.previous_button, self.next_button, self.mistake_label):
            w.setVisible(visible)

    # -- public API --------------------------------------------------------------------------------
    def set_classes(self, classes: tuple[str, ...]) -> None:
        self._classes = tuple(str(c) for c in classes) or DIGITS
        self.my_digits.set_classes(self._classes)
        if not self.gan_mode:  # a GAN's discriminator has one bar, whatever the dataset's classes
            self.bars.set_classes(self._classes)

    def set_gan_mode(self, on: bool) -> None:
        """The network in use is a GAN: one bar, the discriminator's "real" probability (no mistakes to show)."""
        on = bool(on)
        if on == self.gan_mode:
            return
        self.gan_mode = on
        self.bars.set_classes((REAL,) if on else self._classes)
        self.gan_hint.setVisible(on or self.points_mode)
        self.mistakes_button.setVisible(not on)
        self.my_digits.show_row(not on and not self.points_mode)
        if on:
            self._set_nav_visible(False)
        if not self.canvas.is_empty():  # asked again: the bars now mean something else
            self._valid_from = self._next_id
            self._on_canvas_changed(time.perf_counter())

    def set_points_mode(self, on: bool) -> None:
        """The network in use takes 2-D points: nothing to draw for it; say where to look instead."""
        on = bool(on)
        if on == self.points_mode:
            return
        self.points_mode = on
        if on:
            self.canvas.clear()
        for widget in (self.canvas, self.random_button, self.mistakes_button, self.bars):
            widget.setEnabled(not on)
        self.my_digits.show_row(not on and not self.gan_mode)
        self.gan_hint.setText(POINTS_HINT if on else GAN_HINT)
        self.gan_hint.setVisible(on or self.gan_mode)

    def real_probability(self) -> float | None:
        """In GAN mode, the discriminator's "real" probability shown for the drawing (None: none shown)."""
        probabilities = self.bars.probabilities()
        return float(probabilities[0]) if self.gan_mode and probabilities is not None else None

    def set_colour_mode(self, shape: str | None) -> None:
        """The network in use takes images the canvas cannot draw (`shape`: colour, say "3×32×32", or gray of
        another size, "1×40×40"; None: it takes 28×28 gray drawings): say so plainly, as for points, instead of
        sending it drawings it cannot take."""
        on = shape is not None
        what = "colour" if on and shape.startswith("3×") else "gray"
        text = COLOUR_HINT.format(shape=shape, what=what) if on else ""
        if on == self.colour_mode and (not on or self.gan_hint.text() == text):
            return
        self.colour_mode = on
        if on:
            self.canvas.clear()
        off = on or self.points_mode
        self.canvas.setEnabled(not off)
        self.bars.setEnabled(not off)
        for button in (self.random_button, self.mistakes_button):
            button.setEnabled(not off and self._test_images is not None)
        self.my_digits.show_row(not off and not self.gan_mode)
        self.gan_hint.setText(text if on else POINTS_HINT if self.points_mode else GAN_HINT)
        self.gan_hint.setVisible(on or self.points_mode or self.gan_mode)

    def set_test_set(self, images: np.ndarray | None, labels: np.ndarray | None) -> None:
        """uint8 [N, 28, 28] (or [N, 1, 28, 28]) and int64 [N]; None (or empty) disables the test digit buttons,
        and so do colour images ([N, H, W, 3]: the canvas draws gray digits only)."""
        colour = False
        if images is not None:
            images = np.asarray(images)
            if images.ndim == 4 and images.shape[1] == 1:  # [N, 1, H, W], as the datasets store them
                images = images[:, 0]
            colour = images.ndim != 3
            if colour:
                images = None
        ok = images is not None and labels is not None and len(images) > 0 and len(images) == len(labels)
        self._test_images = images if ok else None
        self._test_labels = np.asarray(labels) if ok else None
        self._mistakes, self._mistake_pos, self._mistakes_for = [], 0, None
        self._set_nav_visible(False)
        self.mistakes_button.setText("Show mistakes")
        for button in (self.random_button, self.mistakes_button):
            button.setEnabled(ok and not self.colour_mode)
        if colour:
            self.random_button.setToolTip(COLOUR_TEST_SET)
            self.mistakes_button.setToolTip(COLOUR_TEST_SET)
        elif ok:
            n = len(self._test_images)
            self.random_button.setToolTip(f"Put a random digit of the test set ({n:,} images) on the canvas")
            self.mistakes_button.setToolTip("Classify the test set with the current weights, then step through "
                                            "the digits the network gets wrong, most confident first")
        else:
            self.random_button.setToolTip(NO_TEST_SET)
            self.mistakes_button.setToolTip(NO_TEST_SET)

    def set_model_note(self, text: str) -> None:
        self._note = text
        self._update_note()

    def show_image(self, image28: np.ndarray, caption: str = "") -> None:
        """Put a 28×28 digit on the canvas (scaled up smoothly); it is classified like a drawing. A colour image
        ([H, W, 3]) is not put there (the canvas draws gray digits): the caption says so."""
        if np.ndim(image28) == 3 and np.shape(image28)[-1] == 3:
            self.caption.setText(f"{caption}: a colour image; the canvas draws gray digits only" if caption
                                 else "A colour image: the canvas draws gray digits only")
            return
        self.canvas.set_image(image28)
        self.caption.setText(caption)

    # -- test digits -------------------------------------------------------------------------------
    def _class_name(self, index: int) -> str:
        return self._classes[index] if 0 <= index < len(self._classes) else str(index)

    def show_random_test_digit(self) -> None:
        if self._test_images is None:
            return
        i = int(self._rng.integers(len(self._test_images)))
        label = self._class_name(int(self._test_labels[i]))
        self.show_image(self._test_images[i], f"test #{i} — true label {label}")

    def find_mistakes(self) -> None:
        if self._test_images is None or self._mistakes_for is not None:
            return
        self._mistakes_for = self._test_images
        self.mistakes_button.setEnabled(False)
        self.mistakes_button.setText("Looking for mistakes…")
        self.predictor.find_mistakes(self._test_images, self._test_labels)

    def _on_mistakes(self, mistakes) -> None:
        if self._mistakes_for is None or self._mistakes_for is not self._test_images:
            return  # the test set changed meanwhile
        self._mistakes_for = None
        self.mistakes_button.setEnabled(True)
        self.mistakes_button.setText("Show mistakes")
        self._mistakes = list(mistakes)
        self._mistake_pos = 0
        self._set_nav_visible(bool(self._mistakes))
        if not self._mistakes:
            n = len(self._test_images)
            self.caption.setText(f"No mistakes: all {n:,} test digits are classified correctly.")
            return
        self._show_mistake()

    def step_mistake(self, delta: int) -> None:
        if self._mistakes:
            self._mistake_pos = (self._mistake_pos + delta) % len(self._mistakes)
            self._show_mistake()

    def mistakes(self) -> list[tuple[int, int, int, float]]:
        return list(self._mistakes)

    def _show_mistake(self) -> None:
        index, true, predicted, confidence = self._mistakes[self._mistake_pos]
        n = len(self._mistakes)
        self.mistake_label.setText(f"mistake {self._mistake_pos + 1:,} of {n:,}")
        self.previous_button.setEnabled(n > 1)
        self.next_button.setEnabled(n > 1)
        self.show_image(self._test_images[index],
                        f"test #{index}: true {self._class_name(true)}, predicted {self._class_name(predicted)} "
                        f"({confidence:.0%})")

    # -- live prediction ---------------------------------------------------------------------------
    def _on_canvas_changed(self, submitted_at: float) -> None:
        if self.canvas.is_empty():
            self._valid_from = self._next_id
            self._pending = None
            self._send_timer.stop()
            self.preview.set_image(None)
            self.bars.set_probabilities(None, "draw a digit")
            self.my_digits.set_predicted(None)
            return
        if self._pending is None:  # the oldest change the bars do not show yet: what latency is measured from
            self._pending = submitted_at
            if self.bars.probabilities() is None and not self._error:
                self.bars.set_probabilities(None, "thinking…")
        self._send_pending()

    def _send_pending(self) -> None:
        """Send the drawing as it is now, unless a request is in flight (its answer sends it) or the rate does
        not allow one yet (the timer sends it)."""
        if self._pending is None or self._in_flight is not None:
            return
        if self.canvas.is_empty():
            self._pending = None
            return
        now = time.perf_counter()
        credit = min(BURST, self._credit + (now - self._credit_at) / MIN_INTERVAL)
        if credit < 1:
            if not self._send_timer.isActive():
                self._send_timer.start(max(1, math.ceil((1 - credit) * MIN_INTERVAL * 1000)))
            return
        self._credit, self._credit_at = credit - 1, now
        submitted_at, self._pending = self._pending, None
        request_id = self._next_id
        self._next_id += 1
        self._in_flight = request_id
        # The predictor copies the raster here (the canvas goes on drawing into it) and preprocesses the copy.
        self.predictor.request_drawing(self.canvas.raster_array(), request_id, submitted_at)

    def _on_predicted(self, prediction: Prediction) -> None:
        if self._in_flight is not None and prediction.request_id >= self._in_flight:
            self._in_flight = None
        if prediction.request_id >= max(self._valid_from, self._shown_id) and not self.canvas.is_empty():
            self._shown_id = prediction.request_id
            if prediction.probabilities is None:  # no ink once preprocessed: no answer, as for an empty canvas
                self.preview.set_image(None)
                self.bars.set_probabilities(None, "draw a digit")
            else:
                self.preview.set_image(prediction.image)  # what the network saw, painted with the bars
                self.bars.set_probabilities(prediction.probabilities)
            if self._error is not None:
                self._error = None
                self._update_note()
            self.prediction_shown.emit(prediction)
        self._send_pending()

    def _on_failed(self, message: str) -> None:
        self._error = message
        self.bars.set_probabilities(None, "no prediction")
        if self._mistakes_for is not None:  # the search will not answer with these weights
            self._mistakes_for = None
            self.mistakes_button.setEnabled(self._test_images is not None)
            self.mistakes_button.setText("Show mistakes")
        self._update_note()

    def _update_note(self) -> None:
        if self._error:
            self.note.setText(f"<span style='color:#e57373'>{_escape(self._error)}</span>")
        else:
            self.note.setText(_escape(self._note))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
