"""Which pixels made the network say what it said: the input, gradient × input, and the two overlaid.

Saliency is gradient × input for the predicted class (see
`playground.core.train.insight`): positive where a pixel pushed that class's
score up, negative where it pushed it down. It is drawn with the diverging map
and symmetric levels (-m, m), so white is exactly zero and the colours of two
pictures with the same m mean the same. The overlay is the digit in grey with
those colours blended in where |saliency| is large (from a tenth of m, fully
at half of m), so faint noise does not hide the stroke. A colour test image (a
network on colour images) shows in colour, and its saliency is each pixel's
strongest channel (`core.train.insight.saliency`); a line under the title
names the test image.

Like `ActivationsView`, `show_insight` is a latest-value mailbox rendered from
a single-shot timer.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QImage, QPalette, QPixmap
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..charts.export import write_png
from .colormap import DIVERGING, ColorScale, colorize, symmetric_levels
from .export import export_button, export_png_dialog
from .render import resample, rgb_to_qimage

if TYPE_CHECKING:  # the core imports torch: the app loads it in the background, this module must not
    from ...core.train.insight import Insight

RENDER_MS = 100
PICTURE = 140  # side of each of the three pictures, in pixels
EMPTY_MESSAGE = "Draw a digit to see which pixels decide the prediction"
EXPLANATION = "red pixels pushed the prediction up, blue ones down"
BLEND_FROM, BLEND_FULL = 0.1, 0.5  # |saliency| / m where the overlay's colour starts, and where it is full
DIGIT_DIM = 0.75  # the overlay's digit is a little darker, so that the colours stand out


def digit_rgb(image: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3]: the input as the model sees it, a gray image ([H, W]) in grey, a colour one ([H, W, 3])
    as it is."""
    image = np.asarray(image, dtype=np.uint8)
    return image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=-1)


def saliency_rgb(saliency: np.ndarray, levels: tuple[float, float]) -> np.ndarray:
    return colorize(np.asarray(saliency, dtype=np.float32), levels, DIVERGING)


def overlay_rgb(image: np.ndarray, saliency: np.ndarray, levels: tuple[float, float]) -> np.ndarray:
    """The digit in grey (a colour image in colour) with the saliency colours blended in where |saliency| is large
    (module docstring)."""
    image = np.asarray(image, dtype=np.uint8)
    sal = resample(np.asarray(saliency, dtype=np.float32), image.shape[:2])  # normally the image's size already
    m = max(abs(levels[0]), abs(levels[1]), 1e-12)
    strength = np.nan_to_num(np.abs(sal) / m, nan=0.0, posinf=1.0)
    alpha = np.clip((strength - BLEND_FROM) / (BLEND_FULL - BLEND_FROM), 0.0, 1.0)[..., None]
    base = digit_rgb(image).astype(np.float32) * DIGIT_DIM
    colour = saliency_rgb(sal, levels).astype(np.float32)
    return np.clip(base * (1 - alpha) + colour * alpha + 0.5, 0, 255).astype(np.uint8)


def title_for(insight: Insight, classes: tuple[str, ...]) -> str:
    """ "What made it say ‘7’ (93%)"."""
    k = int(insight.predicted)
    name = classes[k] if 0 <= k < len(classes) else str(k)
    probs = np.asarray(insight.probabilities, dtype=np.float64).reshape(-1)
    share = f" ({probs[k] * 100:.0f}%)" if 0 <= k < probs.size and np.isfinite(probs[k]) else ""
    return f"What made it say ‘{name}’{share}"


class SaliencyView(QWidget):
    """The input digit, its saliency map and the overlay, side by side at the same size, with the scale."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._insight: Insight | None = None
        self._classes: tuple[str, ...] = ()
        self._caption = ""
        self._pending: tuple[Insight, tuple[str, ...], str] | None = None
        self.render_count = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(RENDER_MS)
        self._timer.timeout.connect(self._render)

        self._content = QWidget(self)
        self.title_label = QLabel(self._content)
        font = QFont(self.title_label.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.title_label.setFont(font)
        self.subject_label = QLabel(self._content)  # which test image ("test #12 (true: cats)"); none for a drawing
        self.subject_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.empty_label = QLabel(EMPTY_MESSAGE, self._content)
        self.empty_label.setWordWrap(True)
        self.empty_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.input_picture, self.saliency_picture, self.overlay_picture = (self._picture() for _ in range(3))
        captions = [QLabel(text, self._content) for text in ("input", "gradient × input", "overlay")]
        self.scale = ColorScale("gradient × input", DIVERGING, self._content)
        # Wide enough for both ends and the label between them (centred under the map, wider than it).
        fm = self.scale.fontMetrics()
        self.scale.setFixedWidth(max(PICTURE, fm.horizontalAdvance("-0.000   gradient × input  (0 = white)   -0.000")
                                     + 16))
        self.explanation = QLabel(EXPLANATION, self._content)
        self.explanation.setWordWrap(True)
        self._pictures = QWidget(self._content)
        grid = QGridLayout(self._pictures)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(2)
        for col, (picture, caption) in enumerate(zip((self.input_picture, self.saliency_picture,
                                                      self.overlay_picture), captions, strict=True)):
            picture.setParent(self._pictures)
            caption.setParent(self._pictures)
            caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            grid.addWidget(picture, 0, col, Qt.AlignmentFlag.AlignHCenter)
            grid.addWidget(caption, 1, col)
        self.scale.setParent(self._pictures)
        grid.addWidget(self.scale, 2, 0, 1, 3, Qt.AlignmentFlag.AlignHCenter)  # the columns are equal: centred
        for col in range(3):
            grid.setColumnMinimumWidth(col, PICTURE)
        grid.setColumnStretch(3, 1)

        column = QVBoxLayout(self._content)
        column.setContentsMargins(8, 6, 8, 8)
        column.setSpacing(6)
        column.addWidget(self.title_label)
        column.addWidget(self.subject_label)
        column.addWidget(self.empty_label)
        column.addWidget(self._pictures)
        column.addWidget(self.explanation)
        column.addStretch(1)

        self.export_button = export_button("Save the three pictures as a PNG picture", self._export_dialog, self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.addWidget(self._content, 1)
        layout.addWidget(self.export_button, 0, Qt.AlignmentFlag.AlignTop)
        self.clear(EMPTY_MESSAGE)

    def _picture(self) -> QLabel:
        label = QLabel(self)
        label.setFixedSize(PICTURE, PICTURE)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        return label

    # -- input -------------------------------------------------------------------------------------
    def show_insight(self, insight: Insight, classes: tuple[str, ...], caption: str = "") -> None:
        """Show `insight`'s saliency at the next render; `classes` name the outputs ("0" … "9"); `caption` says
        which image it is ("test #12 (true: cats)"; none for the drawing)."""
        self._pending = (insight, tuple(classes), caption)
        if not self._timer.isActive():
            self._timer.start()

    def clear(self, message: str = EMPTY_MESSAGE) -> None:
        self._timer.stop()
        self._pending = None
        self._insight = None
        self.title_label.setText("")
        self.title_label.hide()
        self._caption = ""
        self.subject_label.setText("")
        self.subject_label.hide()
        self.empty_label.setText(message)
        self.empty_label.show()
        self._pictures.hide()
        self.explanation.hide()
        for picture in (self.input_picture, self.saliency_picture, self.overlay_picture):
            picture.setPixmap(QPixmap())
        self.export_button.setEnabled(False)

    # -- queries -----------------------------------------------------------------------------------
    def title(self) -> str:
        return self.title_label.text()

    def caption(self) -> str:
        """Which image the pictures are of ("test #12 (true: cats)"); "" for the drawing."""
        return self.subject_label.text()

    def insight(self) -> Insight | None:
        return self._pending[0] if self._pending else self._insight

    def content(self) -> QWidget:
        return self._content

    def images(self) -> tuple[QImage, QImage, QImage]:
        """The input, saliency and overlay pictures as shown."""
        out = []
        for label in (self.input_picture, self.saliency_picture, self.overlay_picture):
            pixmap = label.pixmap()
            out.append(pixmap.toImage() if pixmap is not None and not pixmap.isNull() else QImage())
        return tuple(out)

    # -- export ------------------------------------------------------------------------------------
    def export_png(self, path: str | os.PathLike) -> None:
        write_png(self._content, path)

    def _export_dialog(self) -> str | None:
        return export_png_dialog(self, self._content, "saliency.png")

    # -- rendering ---------------------------------------------------------------------------------
    def _render(self) -> None:
        if self._pending is not None:
            (self._insight, self._classes, self._caption), self._pending = self._pending, None
        insight = self._insight
        if insight is None:
            return
        self.render_count += 1
        image = np.asarray(insight.image, dtype=np.uint8)
        saliency = np.asarray(insight.saliency, dtype=np.float32)
        levels = symmetric_levels(saliency)
        pictures = (digit_rgb(image), saliency_rgb(saliency, levels), overlay_rgb(image, saliency, levels))
        for label, rgb in zip((self.input_picture, self.saliency_picture, self.overlay_picture), pictures,
                              strict=True):
            scaled = rgb_to_qimage(rgb).scaled(PICTURE, PICTURE, Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.FastTransformation)
            label.setPixmap(QPixmap.fromImage(scaled))
        self.scale.set_scale(levels)
        self.title_label.setText(title_for(insight, self._classes))
        self.title_label.show()
        self.subject_label.setText(self._caption)
        self.subject_label.setVisible(bool(self._caption))
        self.empty_label.hide()
        self._pictures.show()
        self.explanation.show()
        self.export_button.setEnabled(True)
