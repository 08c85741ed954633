"""Every layer's output for one image, in graph order: feature maps, units, sequences and attention weights.

`ActivationsView.show_insight` is a latest-value mailbox: it only stores the
insight and (re)starts nothing if a render is already due; a single-shot timer
renders the newest one at most every RENDER_MS. A stream of insights faster
than that so costs one render per interval, and a burst of calls renders once.

Each layer is a section: a title line, its picture, and a colour scale that
states the levels the picture uses. Levels are shared by the whole layer (every
channel of a convolution uses the same ones), so that channels can be compared:

- a layer with negative values: the diverging map with levels (-m, m);
- otherwise viridis with levels (0, max);
- attention weights: viridis with levels (0, max of the layer).

A colour test image (a network on colour images looks inside one: see
`viz/controller.py`) shows as itself, in colour, in the input's section
(`colour_picture`), rather than as three channel maps.

A picture is built once per insight as one numpy mosaic (nearest-neighbour
enlarged cells with gaps, `render.mosaic`) and shown as a pixmap, so painting is a blit. When
the sections are the same layers as before the widgets are kept and only their
pictures change (no flicker, the scroll position stays).
"""

from __future__ import annotations

import math
import os
import time
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QEvent, QObject, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from ..charts.export import write_png
from .colormap import DIVERGING, SEQUENTIAL, ColorScale, colorize, format_level, symmetric_levels
from .export import export_button, export_png_dialog
from .render import Picture, colorize_tiles, enlarge, integer_scale, mosaic_image, rgb_to_qimage
from .saliency import digit_rgb

if TYPE_CHECKING:  # the core imports torch: the app loads it in the background, this module must not
    from ...core.train.insight import Insight, LayerView

RENDER_MS = 100  # the mailbox: at most one render per this interval
EMPTY_MESSAGE = "Draw a digit to see inside the network"
MAP_CELL = 48  # target side of one feature map, in pixels (nearest-neighbour, integer factor)
UNIT_CELL = 14  # side of one unit's square
UNIT_COLUMNS = 32  # units per row (64 of smaller squares above UNIT_MANY units)
UNIT_MANY = 1024
HEAD_SIDE = 128  # target side of one attention head's Q×K picture
SEQUENCE_HEIGHT = 224  # target height of a sequence heatmap
GAP = 2  # pixels between cells
MIN_LAYOUT_WIDTH = 240
ACTIVATION = "activation"  # what a picture's scale measures (attention: "attention weight")
COLOUR_INPUT = "the test image, in colour (the network takes its channels scaled)"


def _dims(shape: tuple[int, ...]) -> str:
    return "×".join(str(int(n)) for n in shape) if shape else "scalar"


def layer_title(layer: LayerView) -> str:
    """ "conv1 · Convolution 2D  32×26×26", with "(first 64 of 128 channels)" when some were left out."""
    text = f"{layer.node_id} · {layer.title}  {_dims(tuple(layer.shape))}"
    if layer.truncated:
        kept = int(np.asarray(layer.values).shape[0]) if np.asarray(layer.values).ndim else 0
        if layer.view == "maps":
            total, what = (int(layer.shape[0]) if layer.shape else kept), "channels"
        else:
            total, what = int(math.prod(layer.shape)) if layer.shape else kept, "units"
        text += f"  (first {kept} of {total} {what})"
    return text


def layer_levels(layer: LayerView) -> tuple[tuple[float, float], str]:
    """(levels, colour map name) shared by the whole layer (see the module docstring)."""
    values = np.asarray(layer.values, dtype=np.float32)
    finite = values[np.isfinite(values)]
    if layer.view != "attention" and finite.size and float(finite.min()) < 0:
        return symmetric_levels(finite), DIVERGING
    top = float(finite.max()) if finite.size else 0.0
    return (0.0, max(top, 1e-12)), SEQUENTIAL


def render_layer(layer: LayerView, width: int, zoom: int = 1, background: tuple[int, int, int] = (240, 240, 240),
                 text: QColor | None = None, columns: int | None = None) -> Picture:
    """The layer's picture, laid out for `width` pixels (cells wrap into rows; a wider picture scrolls).
    `zoom` enlarges the cells (2: the focused layer); `columns` fixes the number per row (the preview)."""
    values = np.asarray(layer.values, dtype=np.float32)
    levels, cmap = layer_levels(layer)
    if values.size == 0:
        return Picture(QImage(), levels=levels, cmap=cmap, label=ACTIVATION)
    view = layer.view
    if view == "maps":
        if values.ndim == 2:
            values = values[None]
        values = values.reshape(-1, values.shape[-2], values.shape[-1])
        h, w = values.shape[1:]
        s = integer_scale(max(h, w), MAP_CELL) * zoom
        rgb = colorize_tiles(values, levels, cmap)
        cols = columns or (width + GAP) // (w * s + GAP)
        image, boxes = mosaic_image(rgb, cols, s, GAP, background)
        return Picture(image, boxes, levels, cmap, ACTIVATION)
    if view == "units":
        flat = values.reshape(-1)
        many = flat.size > UNIT_MANY
        cell = (UNIT_CELL // 2 if many else UNIT_CELL) * zoom
        cols = columns or (2 * UNIT_COLUMNS if many else UNIT_COLUMNS)
        rgb = colorize(flat.reshape(-1, 1), levels, cmap).reshape(-1, 1, 1, 3)
        image, boxes = mosaic_image(rgb, cols, cell, 1, background)
        return Picture(image, boxes, levels, cmap, ACTIVATION)
    if view == "sequence":
        seq = values.reshape(values.shape[0], -1) if values.ndim >= 2 else values.reshape(-1, 1)
        t, f = seq.shape
        sx = max(1, min(16, max(width, MIN_LAYOUT_WIDTH) // max(1, f))) * zoom
        sy = max(2, min(16, SEQUENCE_HEIGHT // max(1, t))) * zoom
        if columns:  # the preview: square-ish pixels, the caller scales
            sx = sy = 1
        rgb = enlarge(colorize(seq, levels, cmap), sy, sx)
        image = rgb_to_qimage(rgb)
        return Picture(image, np.array([[0, 0, image.width(), image.height()]]), levels, cmap, ACTIVATION,
                       axes=f"time step ↓ ({t}) · feature → ({f})", scale_xy=(sx, sy))
    if view == "attention":
        att = values.reshape(-1, values.shape[-2], values.shape[-1]) if values.ndim >= 2 else values.reshape(1, 1, -1)
        q, k = att.shape[1:]
        s = integer_scale(max(q, k), HEAD_SIDE) * zoom
        rgb = colorize_tiles(att, levels, cmap)
        label_h = 0 if columns else QFontMetrics(QFont()).height() + 2  # "head 1" above each (not in previews)
        cols = columns or (width + 3 * GAP) // (k * s + 3 * GAP)
        image, boxes = mosaic_image(rgb, cols, s, 3 * GAP, background, top=label_h)
        picture = Picture(image, boxes, levels, cmap, label="attention weight",
                          axes="query ↓ · key →, each row sums to 1")
        if label_h:
            painter = QPainter(picture.image)
            painter.setPen(QPen(text or QColor(30, 30, 30)))
            for i, rect in enumerate(picture.cells):
                painter.drawText(QRect(rect.x(), rect.y() - label_h, rect.width(), label_h),
                                 Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, f"head {i + 1}")
            painter.end()
        return picture
    return Picture(QImage(), levels=levels, cmap=cmap, label=ACTIVATION, axes=f"(no picture for a {view!r} view)")


def input_colour(insight: Insight, layer: LayerView) -> np.ndarray | None:
    """uint8 [H, W, 3]: the colour image `insight` looked at, for the input's section; None for any other layer,
    and for a gray image (its one channel map shows it)."""
    image = np.asarray(insight.image)
    return image if layer.kind == "input" and image.ndim == 3 and image.shape[-1] == 3 else None


def colour_picture(image: np.ndarray, zoom: int = 1, side: int = 3 * MAP_CELL) -> Picture:
    """A colour input image as one cell, enlarged to about `side` pixels (it stands for its three channel maps);
    no colour scale applies (levels None)."""
    rgb = digit_rgb(image)
    h, w = rgb.shape[:2]
    s = integer_scale(max(h, w), side) * zoom
    image = rgb_to_qimage(enlarge(rgb, s, s))
    return Picture(image, np.array([[0, 0, image.width(), image.height()]]), None, label=ACTIVATION,
                   axes=COLOUR_INPUT)


def _rgb(color: QColor) -> tuple[int, int, int]:
    return color.red(), color.green(), color.blue()


class _PictureLabel(QLabel):
    """The layer's pixmap; its tooltip names the channel, unit or head under the mouse, with its values."""

    def __init__(self, section: LayerSection):
        super().__init__(section)
        self._section = section
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            tip = self._section.describe(event.pos())
            if tip:
                QToolTip.showText(event.globalPos(), tip, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)


class LayerSection(QFrame):
    """One layer: a title line, a reading hint when needed, the picture, and its colour scale."""

    def __init__(self, node_id: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.node_id = node_id
        self._layer: LayerView | None = None  # what the picture shows
        self._colour: np.ndarray | None = None  # ... or, for a colour input, this image (`input_colour`)
        # a newer layer (and colour image), not drawn while the section is out of sight
        self._deferred: tuple[LayerView, np.ndarray | None] | None = None
        self._drawn_width: int | None = None
        self._picture: Picture | None = None
        self._zoom = 1
        self._focused = False
        self.title = QLabel(self)
        font = QFont(self.title.font())
        font.setBold(True)
        self.title.setFont(font)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.axes = QLabel(self)
        self.axes.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.picture = _PictureLabel(self)
        self.scale = ColorScale("activation", parent=self)
        self.scale.setMaximumWidth(280)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addWidget(self.axes)
        layout.addWidget(self.picture)
        layout.addWidget(self.scale)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

    # -- content -----------------------------------------------------------------------------------
    def has_same_shape(self, layer: LayerView, width: int) -> bool:
        """Drawing `layer` now would give a picture of the very size shown (only the colours would change)."""
        shown = self._layer
        return (shown is not None and self._drawn_width == width and shown.view == layer.view
                and shown.values.shape == layer.values.shape and shown.truncated == layer.truncated)

    def defer(self, layer: LayerView, colour: np.ndarray | None = None) -> None:
        self._deferred = (layer, colour)

    def deferred(self) -> LayerView | None:
        return self._deferred[0] if self._deferred is not None else None

    def draw_deferred(self, width: int) -> None:
        if self._deferred is not None:
            layer, colour = self._deferred
            self.set_layer(layer, width, colour)

    def set_layer(self, layer: LayerView, width: int, colour: np.ndarray | None = None) -> None:
        """Show `layer`; `colour`: a colour input image shown as itself instead (`input_colour`)."""
        self._deferred = None
        self._drawn_width = width
        self._layer = layer
        self._colour = colour
        self.title.setText(layer_title(layer))
        self._draw(width)

    def set_focused(self, focused: bool, width: int | None) -> None:
        """Enlarge (2× cells) and frame the section, or back to normal; redrawn now unless `width` is None (the
        caller is about to set a layer)."""
        if focused == self._focused:
            return
        self._focused = focused
        self._zoom = 2 if focused else 1
        if self._layer is not None and width is not None:
            self._draw(width)
        self.update()

    def _draw(self, width: int) -> None:
        layer = self._layer
        pal = self.palette()
        if self._colour is not None:
            picture = colour_picture(self._colour, self._zoom)
        else:
            picture = render_layer(layer, width - 16, self._zoom, _rgb(pal.color(QPalette.ColorRole.Window)),
                                   pal.color(QPalette.ColorRole.WindowText))
        self._picture = picture
        if picture.image.isNull():
            self.picture.setPixmap(QPixmap())
            self.picture.setText("(no values)" if not picture.axes else "")
        else:
            self.picture.setPixmap(QPixmap.fromImage(picture.image))
        self.axes.setText(picture.axes)
        self.axes.setVisible(bool(picture.axes))
        self.scale.setVisible(picture.levels is not None)  # a colour image: no single scale applies
        if picture.levels is not None:
            self.scale.set_scale(picture.levels, picture.cmap, picture.label)

    # -- queries -----------------------------------------------------------------------------------
    def layer(self) -> LayerView | None:
        return self._layer

    def is_focused(self) -> bool:
        return self._focused

    def image(self) -> QImage:
        """The picture as shown (the pixmap's pixels)."""
        pixmap = self.picture.pixmap()
        return pixmap.toImage() if pixmap is not None and not pixmap.isNull() else QImage()

    def cells(self) -> list[QRect]:
        """Each channel's (unit's, head's) rectangle in the picture; one rectangle for a sequence."""
        return list(self._picture.cells) if self._picture else []

    def describe(self, pos) -> str | None:
        """The tooltip for a point of the picture: which channel / unit / head, and its values."""
        layer, picture = self._layer, self._picture
        if layer is None or picture is None:
            return None
        if self._colour is not None:
            return COLOUR_INPUT if picture.cells and picture.cells[0].contains(pos) else None
        values = np.asarray(layer.values)
        for i, rect in enumerate(picture.cells):
            if not rect.contains(pos):
                continue
            if layer.view == "maps":
                v = values.reshape(-1, *values.shape[-2:])[i]
                return f"channel {i + 1}: mean {format_level(float(v.mean()))}, max {format_level(float(v.max()))}"
            if layer.view == "units":
                return f"unit {i + 1}: {format_level(float(values.reshape(-1)[i]))}"
            if layer.view == "attention":
                return f"head {i + 1}"
            if layer.view == "sequence" and values.ndim == 2:
                sx, sy = picture.scale_xy
                t, f = (pos.y() - rect.y()) // sy, (pos.x() - rect.x()) // sx
                if 0 <= t < values.shape[0] and 0 <= f < values.shape[1]:
                    return f"step {t + 1}, feature {f + 1}: {format_level(float(values[t, f]))}"
        return None

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self._focused:
            p = QPainter(self)
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.setPen(QPen(self.palette().color(QPalette.ColorRole.Highlight), 2))
            p.drawRoundedRect(self.rect().adjusted(1, 1, -1, -1), 4, 4)
            p.end()


# A GAN's two networks, as the network selector offers them: the discriminator looks at the drawing on the canvas,
# the generator makes an image from a noise vector (the first of the Samples dock's latent walk).
GAN_NETWORKS = {"discriminator": "Discriminator: the drawing", "generator": "Generator: noise → image"}


class ActivationsView(QWidget):
    """Inside the network for one image: a scrollable column of layer sections (see the module docstring)."""

    network_changed = Signal(str)  # a GAN's network chosen: "discriminator" or "generator"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._insight: Insight | None = None  # the one shown
        self._note = ""
        self._pending: tuple[Insight, str] | None = None  # the newest one, not shown yet
        self._sections: dict[str, LayerSection] = {}
        self._order: list[str] = []
        self._focus: str | None = None  # asked for by focus_node; enlarged once a section has that id
        self._laid_out_width = 0
        self.render_count = 0  # renders done (for tests and benchmarks)
        self.last_render_ms = 0.0  # GUI time of the latest render, in milliseconds

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(RENDER_MS)
        self._timer.timeout.connect(self._render)

        self.note_label = QLabel(self)
        self.note_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.export_button = export_button("Save the activations as a PNG picture", self._export_dialog, self)
        self.network_combo = QComboBox(self)
        for key, title in GAN_NETWORKS.items():
            self.network_combo.addItem(title, key)
        self.network_combo.setToolTip("Which of the GAN's two networks to look inside")
        self.network_combo.setVisible(False)  # a GAN's only
        self.network_combo.currentIndexChanged.connect(lambda _i: self.network_changed.emit(self.network()))
        top = QHBoxLayout()
        top.setContentsMargins(6, 4, 6, 0)
        top.addWidget(self.network_combo)
        top.addWidget(self.note_label, 1)
        top.addWidget(self.export_button)

        self._content = QWidget()
        self._column = QVBoxLayout(self._content)
        self._column.setContentsMargins(6, 6, 6, 6)
        self._column.setSpacing(8)
        self.empty_label = QLabel(EMPTY_MESSAGE, self._content)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.empty_label.setMinimumHeight(80)
        self._column.addWidget(self.empty_label)
        self._column.addStretch(1)

        self.scroll = QScrollArea(self)
        # Only the sections in sight are drawn for each new look inside; the others catch up when scrolled to.
        self.scroll.verticalScrollBar().valueChanged.connect(lambda _value: self._draw_deferred())
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(self._content)
        self.scroll.viewport().installEventFilter(self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.scroll, 1)
        self.clear(EMPTY_MESSAGE)

    # -- input -------------------------------------------------------------------------------------
    def show_insight(self, insight: Insight, note: str = "") -> None:
        """Show `insight` (with `note`, e.g. "live: run 2, step 480", at the top) at the next render."""
        self._pending = (insight, note)
        if not self._timer.isActive():  # not restarted: a steady stream still renders every RENDER_MS
            self._timer.start()

    def clear(self, message: str = EMPTY_MESSAGE) -> None:
        """Back to the empty state, saying `message`; a render still due is dropped."""
        self._timer.stop()
        self._pending = None
        self._insight = None
        self._note = ""
        self._set_sections([])
        self.note_label.setText("")
        self.empty_label.setText(message)
        self.empty_label.show()
        self.export_button.setEnabled(False)

    def focus_node(self, node_id: str | None) -> None:
        """Enlarge and frame `node_id`'s section and scroll to it (the previous one goes back to normal).
        An id without a section enlarges nothing; it is kept, and enlarged once an insight has that layer."""
        self._focus = node_id
        self._apply_focus()
        if node_id in self._sections:
            self._scroll_to(self._sections[node_id])

    def set_gan(self, gan: bool) -> None:
        """The network in use is a GAN (its network selector shows) or a classifier."""
        self.network_combo.setVisible(gan)

    def network(self) -> str:
        """The GAN network looked inside ("discriminator" when the network is no GAN)."""
        if not self.network_combo.isVisibleTo(self):
            return "discriminator"
        return self.network_combo.currentData() or "discriminator"

    def set_network(self, network: str) -> bool:
        index = self.network_combo.findData(network)
        if index >= 0:
            self.network_combo.setCurrentIndex(index)
        return index >= 0

    # -- queries -----------------------------------------------------------------------------------
    def insight(self) -> Insight | None:
        """The newest insight given (shown, or due at the next render)."""
        return self._pending[0] if self._pending else self._insight

    def note(self) -> str:
        return self.note_label.text()

    def section_ids(self) -> list[str]:
        return list(self._order)

    def section(self, node_id: str) -> LayerSection | None:
        return self._sections.get(node_id)

    def focused_node(self) -> str | None:
        """The node whose section is enlarged now, if any."""
        return next((nid for nid, s in self._sections.items() if s.is_focused()), None)

    def content(self) -> QWidget:
        """The scrolled widget holding the sections: what export writes."""
        return self._content

    def preview_pixmap(self, node_id: str, size: QSize) -> QPixmap | None:
        """A small picture of the layer's current output, `size` exactly (for a tooltip in the editor)."""
        insight = self.insight()
        if insight is None or size.isEmpty():
            return None
        layer = next((lv for lv in insight.layers if lv.node_id == node_id), None)
        if layer is None:
            return None
        values = np.asarray(layer.values)
        n = values.shape[0] if values.ndim else 1
        columns = max(1, math.ceil(math.sqrt(n))) if layer.view in ("maps", "attention") else 0
        if layer.view == "units":
            columns = max(1, math.ceil(math.sqrt(values.size)))
        background = _rgb(self.palette().color(QPalette.ColorRole.Window))
        colour = input_colour(insight, layer)
        image = (colour_picture(colour, side=1) if colour is not None
                 else render_layer(layer, size.width(), 1, background, columns=columns or None)).image
        pixmap = QPixmap(size)
        pixmap.fill(QColor(*background))
        if image.isNull():
            return pixmap
        fits = image.width() <= size.width() and image.height() <= size.height()
        mode = Qt.TransformationMode.FastTransformation if fits else Qt.TransformationMode.SmoothTransformation
        ratio = Qt.AspectRatioMode
        aspect = ratio.IgnoreAspectRatio if layer.view == "sequence" else ratio.KeepAspectRatio  # steps ≪ features
        image = image.scaled(size, aspect, mode)
        p = QPainter(pixmap)
        p.drawImage((size.width() - image.width()) // 2, (size.height() - image.height()) // 2, image)
        p.end()
        return pixmap

    # -- export ------------------------------------------------------------------------------------
    def export_png(self, path: str | os.PathLike) -> None:
        """Write the sections as they look now (all of them, also the part scrolled away) as a PNG."""
        self._draw_deferred(everywhere=True)
        write_png(self._content, path)

    def _export_dialog(self) -> str | None:
        self._draw_deferred(everywhere=True)
        return export_png_dialog(self, self._content, "activations.png")

    # -- rendering ---------------------------------------------------------------------------------
    def _layout_width(self) -> int:
        """The width the pictures may use. The vertical scroll bar's room is kept free even while it is hidden:
        pictures laid out for the wider viewport would need a horizontal scroll bar once it appears."""
        margins = self._column.contentsMargins()
        width = self.scroll.viewport().width() - margins.left() - margins.right()
        bar = self.scroll.verticalScrollBar()
        if not bar.isVisible():
            width -= bar.sizeHint().width()
        return max(MIN_LAYOUT_WIDTH, width)

    def _scroll_to(self, section: LayerSection) -> None:
        """Bring `section` into view, its title at the top, unless it is all in view already. The content is
        laid out here first: the scroll area would resize it only at a later event, and scroll to stale places."""
        self._content.layout().activate()
        viewport = self.scroll.viewport()
        self._content.resize(viewport.size().expandedTo(self._content.minimumSizeHint()))
        top = section.y()
        visible_top = self.scroll.verticalScrollBar().value()
        if top >= visible_top and top + section.height() <= visible_top + viewport.height():
            return
        self.scroll.verticalScrollBar().setValue(top - self._column.spacing() // 2)

    def _render(self) -> None:
        started = time.perf_counter()
        if self._pending is not None:
            (self._insight, self._note), self._pending = self._pending, None
        insight = self._insight
        if insight is None:
            return
        self.render_count += 1
        focused_before = self.focused_node()
        self._content.setUpdatesEnabled(False)
        try:
            ids = [layer.node_id for layer in insight.layers]
            if ids != self._order:
                self._set_sections(ids)
            width = self._laid_out_width = self._layout_width()
            visible = self._visible_band()
            for layer in insight.layers:
                section = self._sections[layer.node_id]
                focus_changes = section.is_focused() != (layer.node_id == self._focus)
                colour = input_colour(insight, layer)
                if (not focus_changes and section.has_same_shape(layer, width)
                        and not _overlaps(section, visible)):
                    section.defer(layer, colour)  # out of sight, same size: drawn when scrolled to (or exported)
                    continue
                section.set_focused(layer.node_id == self._focus, None)  # the zoom first: drawn once, below
                section.set_layer(layer, width, colour)
            self.note_label.setText(self._note)
            self.empty_label.setVisible(not ids)
            if not ids:
                self.empty_label.setText("This network has no layers to show")
            self.export_button.setEnabled(True)
        finally:
            self._content.setUpdatesEnabled(True)
        if self._focus is not None and focused_before != self._focus and self.focused_node() == self._focus:
            self._scroll_to(self._sections[self._focus])  # the focused layer appeared only now: bring it into view
        self.last_render_ms = (time.perf_counter() - started) * 1000

    def _visible_band(self) -> tuple[int, int]:
        top = self.scroll.verticalScrollBar().value()
        return top, top + self.scroll.viewport().height()

    def _draw_deferred(self, everywhere: bool = False) -> None:
        """Draw the sections whose latest layer was put off, those now in sight (or all of them)."""
        visible = self._visible_band()
        width = self._laid_out_width or self._layout_width()
        for section in self._sections.values():
            if section.deferred() is not None and (everywhere or _overlaps(section, visible)):
                section.draw_deferred(width)

    def _set_sections(self, ids: list[str]) -> None:
        for section in self._sections.values():
            self._column.removeWidget(section)
            section.hide()
            section.deleteLater()
        self._sections = {}
        self._order = list(ids)
        for i, node_id in enumerate(ids):
            section = LayerSection(node_id, self._content)
            self._sections[node_id] = section
            self._column.insertWidget(1 + i, section)  # after the empty label, before the stretch

    def _apply_focus(self) -> None:
        width = self._laid_out_width or self._layout_width()
        for node_id, section in self._sections.items():
            section.set_focused(node_id == self._focus, width)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and watched is self.scroll.viewport():
            self._draw_deferred()  # a taller viewport brings more sections into sight
        # A wider or narrower viewport changes how many cells fit in a row: lay the pictures out again.
        if (event.type() == QEvent.Type.Resize and watched is self.scroll.viewport() and self._insight is not None
                and self._layout_width() != self._laid_out_width and not self._timer.isActive()):
            self._timer.start()
        return super().eventFilter(watched, event)


def _overlaps(section: QWidget, band: tuple[int, int]) -> bool:
    """Whether the section (in the scrolled content's coordinates) is at least partly inside the band."""
    top = section.y()
    return top < band[1] and top + section.height() > band[0]
