"""`HistogramsView`: how each layer's weights and gradients are spread, over the whole run.

Each `ParamHistograms` message gives, per layer, the fractions of its values in fixed bins of log10 |value|. Stacked
over time they make one picture per layer (x = training step, y = |value| on a log scale, colour = fraction of the
layer's values), weights and gradients side by side: a gradient band sliding down the picture is vanishing, one
climbing is exploding. Under each layer its latest RMS, and a plain warning when the gradients look unhealthy.

The history keeps at most `MAX_COLUMNS` snapshots per run: when full, every other old one is dropped and from then on
only every other message is kept (the stride doubles), so the whole run stays visible at an even density, and the
newest message is always shown. `add` only appends; a single-shot timer repaints at most every `REPAINT_MS`, and only
while the view is visible. The pictures are drawn with QPainter from QImages built in NumPy: no plot items to lay
out, whatever the number of layers. Each snapshot is coloured once (`Colours`), not at every repaint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ..charts.export import write_png
from ..drawing_first import HeldRepaints
from .colormap import SEQUENTIAL, ColorScale, colorize, format_level
from .export import export_button, export_png_dialog, message_label
from .render import pack, packed_to_qimage

MAX_COLUMNS = 600  # snapshots kept per run (one more while the newest is not on the stride)
REPAINT_MS = 300
TIME_PIXELS = 600  # columns of each picture: the snapshots resampled onto an even step axis
VANISHING_RMS = 1e-7
EXPLODING_RMS = 1e2
DRIFT = 1e3  # a change of the gradient RMS by this factor since the start of the run is worth a warning
WARNING_COLOR = "#d9480f"
PANEL_LINES = 11  # a panel's height in lines of text
DEFAULT_MESSAGE = "No histograms yet: they appear while a network trains."


@dataclass(frozen=True)
class Snapshot:
    step: int
    weights: np.ndarray  # [L, B] fractions
    grads: np.ndarray  # [L, B] fractions, NaN rows where there is no gradient
    weight_rms: np.ndarray  # [L]
    grad_rms: np.ndarray  # [L]


class History:
    """One run's snapshots, thinned out evenly as the run grows (see the module docstring)."""

    def __init__(self, limit: int = MAX_COLUMNS):
        self.limit = limit
        self.reset()

    def reset(self, layers: tuple[str, ...] = (), edges: np.ndarray | None = None) -> None:
        self.layers = tuple(layers)
        self.edges = edges
        self._kept: list[Snapshot] = []
        self._tail: Snapshot | None = None  # the newest message when the stride skipped it
        self._stride = 1
        self._since = 0  # messages since the last kept one
        self.start_grad_rms = np.full(len(layers), np.nan)  # each layer's first finite gradient RMS
        self.start_steps = np.zeros(len(layers), np.int64)  # ... and the step it was measured at

    def add(self, snapshot: Snapshot) -> None:
        fresh = np.isnan(self.start_grad_rms) & np.isfinite(snapshot.grad_rms)
        self.start_grad_rms[fresh] = snapshot.grad_rms[fresh]
        self.start_steps[fresh] = snapshot.step
        self._since += 1
        if not self._kept or self._since >= self._stride:
            self._kept.append(snapshot)
            self._since, self._tail = 0, None
            if len(self._kept) > self.limit:
                self._kept = self._kept[::2]  # an odd count: keeps the first and the newest
                self._stride *= 2
        else:
            self._tail = snapshot

    def snapshots(self) -> list[Snapshot]:
        return self._kept + ([self._tail] if self._tail is not None else [])

    def __len__(self) -> int:
        return len(self._kept) + (self._tail is not None)


def gradient_warning(name: str, rms: float, start_rms: float = math.nan, start_step: int = 0) -> str | None:
    """A plain sentence when a layer's gradients look vanishing or exploding, else None. NaN = no gradient."""
    if math.isnan(rms):
        return None
    if math.isinf(rms):
        return f"{name}: gradients are exploding (not finite)"
    drift = start_rms > 0 and math.isfinite(start_rms)
    if rms > EXPLODING_RMS:
        return f"{name}: gradients are exploding (RMS {format_level(rms)})"
    if drift and rms > start_rms * DRIFT:
        return (f"{name}: gradients are exploding (RMS {format_level(rms)}, {rms / start_rms:,.0f}× what it was at "
                f"step {start_step})")
    if rms < VANISHING_RMS:
        return f"{name}: gradients are vanishing (RMS {format_level(rms)})"
    if drift and rms < start_rms / DRIFT:
        return (f"{name}: gradients are vanishing (RMS {format_level(rms)}, {start_rms / rms:,.0f}× lower than at "
                f"step {start_step})")
    return None


def fraction_levels(*arrays: np.ndarray) -> tuple[float, float]:
    """(0, a round number just above the largest fraction): stays put while a run trains, stated by the scale."""
    finite = [a[np.isfinite(a)] for a in arrays]
    top = max((float(a.max()) for a in finite if a.size), default=0.0)
    step = 0.05 if top > 0.05 else 0.01
    return 0.0, min(1.0, max(step, round(math.ceil(top / step - 1e-9) * step, 6)))


def finite_edges(edges: np.ndarray) -> np.ndarray:
    """Edges with an infinite end (a first bin that holds the zeros) replaced by one bin width."""
    edges = np.asarray(edges, dtype=np.float64).copy()
    inner = edges[np.isfinite(edges)]
    width = float(np.median(np.diff(inner))) if inner.size > 1 else 1.0
    if not np.isfinite(edges[0]):
        edges[0] = inner[0] - width
    if not np.isfinite(edges[-1]):
        edges[-1] = inner[-1] + width
    return edges


def time_index(steps: np.ndarray, pixels: int = TIME_PIXELS) -> tuple[np.ndarray, tuple[float, float]]:
    """For each of `pixels` columns on an even step axis, the snapshot shown there (the last one at or before it);
    and the axis's (first, last) step. The newest snapshot spans one typical interval."""
    first = float(steps[0])
    interval = float(np.median(np.diff(steps))) if len(steps) > 1 else 1.0
    last = float(steps[-1]) + max(interval, 1.0)
    t = first + (np.arange(pixels) + 0.5) * ((last - first) / pixels)
    return np.clip(np.searchsorted(steps, t, side="right") - 1, 0, len(steps) - 1), (first, last)


def bin_index(edges: np.ndarray, rows: int = 240) -> np.ndarray | None:
    """For unevenly spaced edges, the bin at each of `rows` evenly spaced heights (top first); None when even."""
    widths = np.diff(edges)
    if np.allclose(widths, widths[0], rtol=1e-3):
        return None
    y = edges[-1] - (np.arange(rows) + 0.5) * ((edges[-1] - edges[0]) / rows)
    return np.clip(np.searchsorted(edges, y, side="right") - 1, 0, len(widths) - 1)


class Colours:
    """Every snapshot's fractions of one kind (weights or gradients) through the colour map, kept between repaints.

    A run adds a snapshot or two between repaints, so only those are coloured: colouring every snapshot again was
    most of a repaint's time (several ms on the GUI thread, where a stroke's prediction waits). Thinning, or new
    levels, colour again what changed. Pixels are packed 0xffRRGGBB, so spreading them over the picture's
    columns moves one word per pixel."""

    def __init__(self, kind: str):
        self.kind = kind  # "weights" or "grads": the Snapshot field
        self._snaps: list[Snapshot] = []  # what _pixels colour (another run's snapshots: none of them is kept)
        self._levels: tuple[float, float] | None = None
        self._pixels = np.zeros((0, 0, 0), np.uint32)  # [N, L, B]

    def of(self, snaps: list[Snapshot], levels: tuple[float, float]) -> np.ndarray:
        """uint32 [N, L, B]: `snaps` coloured with `levels`."""
        if levels != self._levels:
            self._snaps, self._levels = [], levels
        kept = 0
        for old, new in zip(self._snaps, snaps, strict=False):  # the same objects: coloured already
            if old is not new:
                break
            kept += 1
        fresh = snaps[kept:]
        if fresh:
            values = np.stack([getattr(s, self.kind) for s in fresh])  # [n, L, B]
            packed = pack(colorize(values.reshape(len(fresh), -1), levels, SEQUENTIAL)).reshape(values.shape)
            self._pixels = np.concatenate([self._pixels[:kept], packed]) if kept else packed
        elif kept < len(self._pixels):
            self._pixels = self._pixels[:kept]
        self._snaps = list(snaps)
        return self._pixels


def picture(pixels: np.ndarray, cols: np.ndarray, rows: np.ndarray | None) -> QImage:
    """pixels uint32 [N, B] (one layer, every snapshot, coloured) -> an image with the largest |value| at the top."""
    columns = pixels[cols].T  # [B, T]
    return packed_to_qimage(columns[rows] if rows is not None else columns[::-1])


def nice_step(span: float, most: int) -> float:
    """A 1-2-5 step that cuts `span` into at most `most` parts."""
    if span <= 0:
        return 1.0
    raw = span / max(1, most)
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def decade_label(exponent: int) -> str:
    return f"1e{exponent}"


class HistogramPanel(QWidget):
    """One picture with its axes: x = training step, y = log10 |value| (labelled 1e-8 … 1e0)."""

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = title
        self._image: QImage | None = None
        self._y = (-8.0, 0.0)
        self._x = (0.0, 1.0)
        self._empty = "no data yet"
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(220)

    def set_picture(self, image: QImage | None, y_range: tuple[float, float], x_range: tuple[float, float],
                    empty: str = "no data yet") -> None:
        self._image, self._y, self._x, self._empty = image, y_range, x_range, empty
        self.update()

    def image(self) -> QImage | None:
        return self._image

    def sizeHint(self) -> QSize:
        return QSize(360, PANEL_LINES * self.fontMetrics().height())

    def minimumSizeHint(self) -> QSize:
        return QSize(220, PANEL_LINES * self.fontMetrics().height())

    def plot_rect(self) -> QRectF:
        fm = self.fontMetrics()
        left = fm.horizontalAdvance("1e-10") + 8
        return QRectF(left, fm.height() + 2, max(10, self.width() - left - 8),
                      max(10, self.height() - 2 * fm.height() - 8))

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        fm = self.fontMetrics()
        fg = self.palette().color(self.foregroundRole())
        rect = self.plot_rect()
        p.setPen(QPen(fg))
        p.drawText(QRectF(rect.left(), 0, rect.width(), fm.height()), Qt.AlignmentFlag.AlignLeft, self.title)
        if self._image is None:
            p.setPen(QPen(QColor(128, 128, 128)))
            p.drawRect(rect)
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, self._empty)
            p.end()
            return
        p.drawImage(rect, self._image)  # no smooth transform: each bin and snapshot stays a crisp block
        p.setPen(QPen(fg))
        p.drawRect(rect)
        # y: decades of |value|
        lo, hi = self._y
        span = max(hi - lo, 1e-9)
        every = max(1, math.ceil(nice_step(span, max(1, int(rect.height() // (fm.height() * 1.1))))))
        for d in range(math.ceil(lo), math.floor(hi) + 1):
            y = rect.bottom() - (d - lo) / span * rect.height()
            p.drawLine(int(rect.left()) - (2 if d % every else 4), int(y), int(rect.left()), int(y))
            if d % every:
                continue  # a minor tick: every decade is marked, every `every`-th labelled
            p.drawText(QRectF(0, y - fm.height() / 2, rect.left() - 5, fm.height()),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, decade_label(d))
        # x: training steps
        first, last = self._x
        width = max(last - first, 1e-9)
        label_w = fm.horizontalAdvance(f"{int(last):,}") + 16
        step = nice_step(width, max(1, int(rect.width() // label_w)))
        tick = math.ceil(first / step) * step
        y = rect.bottom()
        while tick <= last + 1e-9:
            x = rect.left() + (tick - first) / width * rect.width()
            p.drawLine(int(x), int(y), int(x), int(y) + 3)
            text = f"{round(tick):,}"
            tw = fm.horizontalAdvance(text)
            tx = min(max(x - tw / 2, rect.left()), rect.right() - tw)
            p.drawText(QRectF(tx, y + 3, tw + 2, fm.height()), Qt.AlignmentFlag.AlignLeft, text)
            tick += step
        p.end()


class LayerRow(QWidget):
    """One layer: its name, the weights and gradients pictures, and its latest RMS (and warning)."""

    def __init__(self, node_id: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.node_id = node_id
        self.name = QLabel(node_id)
        self.name.setStyleSheet("font-weight: bold")
        self.weights = HistogramPanel("weights |w|")
        self.grads = HistogramPanel("gradients |g|")
        self.status = QLabel()
        self.warning = QLabel()
        self.warning.setStyleSheet(f"color: {WARNING_COLOR}; font-weight: bold")
        self.warning.setWordWrap(True)
        self.warning.hide()
        panels = QHBoxLayout()
        panels.setContentsMargins(0, 0, 0, 0)
        panels.addWidget(self.weights)
        panels.addWidget(self.grads)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.setSpacing(2)
        layout.addWidget(self.name)
        layout.addLayout(panels)
        layout.addWidget(self.status)
        layout.addWidget(self.warning)


class HistogramsView(HeldRepaints, QWidget):
    """Weight and gradient histograms of every layer over the run (fed with `ParamHistograms` messages)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.history = History()
        self._run_id: int | None = None
        self._dirty = False
        self._warnings: list[str] = []
        self._levels = {"weights": (0.0, 1.0), "gradients": (0.0, 1.0)}
        self.render_count = 0
        self.rows: dict[str, LayerRow] = {}
        self._colours = {kind: Colours(kind) for kind in ("weights", "grads")}

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REPAINT_MS)
        self._timer.timeout.connect(lambda: self.when_free(self._repaint))  # drawing first: app/drawing_first.py

        self.export_button = export_button("Save every layer's histograms, the scale and the warnings as a PNG "
                                           "file", self._export_clicked, enabled=False)
        self._networks: dict[str, str] = {}  # a GAN's: node id -> "generator" | "discriminator"
        self.network_combo = QComboBox()
        for key, title in (("", "Both networks"), ("generator", "Generator"), ("discriminator", "Discriminator")):
            self.network_combo.addItem(title, key)
        self.network_combo.setToolTip("Which of the GAN's two networks to show")
        self.network_combo.setVisible(False)  # a GAN's only
        self.network_combo.currentIndexChanged.connect(lambda _i: self._show_network())
        top = QHBoxLayout()
        heading = QLabel("Weights and gradients over training")
        heading.setStyleSheet("font-weight: bold")
        top.addWidget(heading)
        top.addStretch(1)
        top.addWidget(self.network_combo)
        top.addWidget(self.export_button)

        self.message = message_label(DEFAULT_MESSAGE)

        # The sheet is what Export PNG saves.
        self.sheet = QWidget()
        self.explain = QLabel("x: training step  ·  y: |value| on a log scale  ·  colour: the fraction of the "
                              "layer's values in each band (weights and gradients each on their own scale). A "
                              "gradient band sliding down is vanishing, one climbing is exploding. The bottom band "
                              "also holds exact zeros (dead units) and anything smaller; it is left out of the "
                              "scales and shows at full colour when above them.")
        self.explain.setWordWrap(True)
        self.scale = ColorScale("fraction of weights", SEQUENTIAL)
        self.grad_scale = ColorScale("fraction of gradients", SEQUENTIAL)
        scales = QHBoxLayout()
        scales.setContentsMargins(0, 0, 0, 0)
        for scale in (self.scale, self.grad_scale):
            scale.setMaximumWidth(360)
            scales.addWidget(scale)
        scales.addStretch(1)
        self.warnings_label = QLabel()
        self.warnings_label.setStyleSheet(f"color: {WARNING_COLOR}; font-weight: bold")
        self.warnings_label.setWordWrap(True)
        self.warnings_label.hide()
        self.rows_layout = QVBoxLayout()
        self.rows_layout.setContentsMargins(0, 0, 0, 0)
        sheet_layout = QVBoxLayout(self.sheet)
        sheet_layout.addWidget(self.explain)
        sheet_layout.addLayout(scales)
        sheet_layout.addWidget(self.warnings_label)
        sheet_layout.addLayout(self.rows_layout)
        sheet_layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.sheet)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.scroll, 1)
        self.clear()

    # -- feeding -------------------------------------------------------------------------------------------------
    def begin_run(self, run_id: int) -> None:
        """A new run starts: forget the previous one's history."""
        self._run_id = run_id
        self.history.reset()
        self._dirty = False
        self._show_message("Waiting for the first histograms of this run…")

    def add(self, h) -> None:
        """Append one `ParamHistograms` (of the current run; others are ignored). Cheap: drawing waits for the
        timer."""
        if self._run_id is None:
            self._run_id = h.run_id
        if h.run_id != self._run_id:
            return
        layers = tuple(h.layers)
        if layers != self.history.layers or self.history.edges is None or len(h.edges) != len(self.history.edges):
            self.history.reset(layers, np.asarray(h.edges, dtype=np.float64))
        self.history.add(Snapshot(int(h.global_step), np.asarray(h.weights, np.float32),
                                  np.asarray(h.grads, np.float32), np.asarray(h.weight_rms, np.float64),
                                  np.asarray(h.grad_rms, np.float64)))
        self._dirty = True
        if not self._timer.isActive():
            self._timer.start()

    def set_networks(self, networks: dict[str, str] | None) -> None:
        """A GAN's layers by network (node id -> "generator" or "discriminator"), for the network selector; None: a
        network of one piece (no selector)."""
        self._networks = dict(networks or {})
        self.network_combo.setVisible(bool(self._networks))
        self._show_network()

    def network(self) -> str:
        """"" (both), "generator" or "discriminator"."""
        return self.network_combo.currentData() or ""

    def set_network(self, network: str) -> bool:
        index = self.network_combo.findData(network)
        if index >= 0:
            self.network_combo.setCurrentIndex(index)
        return index >= 0

    def shown_layers(self) -> list[str]:
        """The layers whose rows show (of the network chosen)."""
        return [node_id for node_id, row in self.rows.items() if not row.isHidden()]

    def _show_network(self) -> None:
        network = self.network() if self._networks else ""
        for node_id, row in self.rows.items():
            row.setVisible(not network or self._networks.get(node_id) == network)

    def clear(self, message: str = DEFAULT_MESSAGE) -> None:
        """Forget everything and say `message` instead."""
        self._timer.stop()
        self._run_id = None
        self.history.reset()
        self._dirty = False
        self._show_message(message)

    def _show_message(self, message: str) -> None:
        self._warnings = []
        self.message.setText(message)
        self.message.show()
        self.scroll.hide()
        self.export_button.setEnabled(False)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty:
            self._timer.stop()
            self._repaint()

    # -- reading (tests, other views) ----------------------------------------------------------------------------
    def steps(self) -> np.ndarray:
        """The global steps of the snapshots shown, oldest first."""
        return np.array([s.step for s in self.history.snapshots()], np.int64)

    def layers(self) -> list[str]:
        return list(self.rows)

    def warnings(self) -> list[str]:
        """The current warnings, one plain sentence per unhealthy layer (as of the last repaint)."""
        return list(self._warnings)

    def status_text(self, node_id: str) -> str:
        row = self.rows[node_id]
        return row.status.text() + (f"\n{row.warning.text()}" if row.warning.isVisibleTo(self) else "")

    def levels(self) -> dict[str, tuple[float, float]]:
        """The colour levels of the "weights" and of the "gradients" pictures (as their scales state)."""
        return dict(self._levels)

    # -- drawing -------------------------------------------------------------------------------------------------
    def _repaint(self) -> None:
        if not self._dirty or not self.isVisible():
            return  # showEvent draws what arrived while hidden
        self._dirty = False
        snaps = self.history.snapshots()
        if not snaps:
            return
        self.render_count += 1
        self._sync_rows(self.history.layers)
        steps = np.array([s.step for s in snaps], np.int64)
        weights = np.stack([s.weights for s in snaps])  # [N, L, B]
        grads = np.stack([s.grads for s in snaps])
        edges = finite_edges(self.history.edges)
        y_range = (float(edges[0]), float(edges[-1]))
        cols, x_range = time_index(steps)
        rows = bin_index(edges)
        # The bottom bin (exact zeros and underflow) can hold most of a ReLU network's gradients: left out of the
        # levels, or every other band would look black.
        w_levels, g_levels = fraction_levels(weights[..., 1:]), fraction_levels(grads[..., 1:])
        self._levels = {"weights": w_levels, "gradients": g_levels}
        self.scale.set_scale(w_levels)
        self.grad_scale.set_scale(g_levels)
        w_pixels, g_pixels = self._colours["weights"].of(snaps, w_levels), self._colours["grads"].of(snaps, g_levels)
        latest = snaps[-1]
        self._warnings = []
        for i, node_id in enumerate(self.history.layers):
            row = self.rows[node_id]
            row.weights.set_picture(picture(w_pixels[:, i], cols, rows), y_range, x_range)
            has_grads = bool(np.isfinite(grads[:, i]).any())
            row.grads.set_picture(picture(g_pixels[:, i], cols, rows) if has_grads else None,
                                  y_range, x_range, "no gradient (a frozen layer)")
            w_rms, g_rms = float(latest.weight_rms[i]), float(latest.grad_rms[i])
            g_text = "no gradient (frozen)" if math.isnan(g_rms) else f"gradients RMS {format_level(g_rms)}"
            row.status.setText(f"at step {latest.step:,}: weights RMS {format_level(w_rms)}  ·  {g_text}")
            warning = gradient_warning(node_id, g_rms, float(self.history.start_grad_rms[i]),
                                       int(self.history.start_steps[i]))
            row.warning.setText(warning or "")
            row.warning.setVisible(warning is not None)
            if warning:
                self._warnings.append(warning)
        if self._warnings:
            self.warnings_label.setText("\n".join(self._warnings))
        self.warnings_label.setVisible(bool(self._warnings))
        self.message.hide()
        self.scroll.show()
        self.export_button.setEnabled(True)

    def _sync_rows(self, layers: tuple[str, ...]) -> None:
        if tuple(self.rows) == layers:
            return
        for row in self.rows.values():
            self.rows_layout.removeWidget(row)
            row.deleteLater()
        self.rows = {}
        for node_id in layers:
            row = LayerRow(node_id)
            if node_id in self._networks:
                row.name.setText(f"{self._networks[node_id].capitalize()} · {row.name.text()}")
            self.rows[node_id] = row
            self.rows_layout.addWidget(row)
        self._show_network()

    # -- export --------------------------------------------------------------------------------------------------
    def export_png(self, path) -> None:
        """Save the histograms with the scale and warnings. Raises OSError when it cannot be written."""
        write_png(self.sheet if self.scroll.isVisibleTo(self) else self, path)

    def _export_clicked(self) -> None:
        export_png_dialog(self, self.sheet if self.scroll.isVisibleTo(self) else self, "histograms.png")
