"""`WeightsView`: what a layer's weights look like — convolution filters as small pictures, dense weight matrices as
heatmaps (or, for a dense layer that reads the image's pixels directly, each unit's weights as an image).

The training window calls `set_weights(graph, state_dict)` a few times a second with the latest CPU copy of the
weights. The view only keeps the newest one (a latest-value mailbox) and draws it from a single-shot timer, and only
while it is visible: a hidden tab costs nothing. Drawing is NumPy into one RGB mosaic, then one QImage (render.py): no
widget per kernel, so a 32×32 grid of kernels costs a few milliseconds.

Colours are explicit: signed weights use the diverging map with levels symmetric around zero and shared by the
whole layer (the `ColorScale` under the picture states them), so two filters can be compared at a glance; the
tensors themselves are never modified.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRect, Qt, QTimer
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ..charts.export import write_png
from ..drawing_first import HeldRepaints
from .colormap import DIVERGING, ColorScale, colorize, format_level, symmetric_levels
from .export import export_button, export_png_dialog, message_label
from .render import Picture, colorize_tiles, enlarge, integer_scale, mosaic, pack, packed_to_qimage

RENDER_DELAY_MS = 500  # set_weights comes up to 4 times a second; kernels change slowly: draw at most twice
MAX_GRID = 32  # deeper convolutions: at most this many output filters (rows) and input channels (columns)
MAX_UNIT_IMAGES = 256  # dense "as images": at most this many units
MAX_PIXELS = 1024  # a dense matrix larger than this (either side) is averaged in blocks
KERNEL_PX = 28  # in a grid, a kernel is scaled up (nearest neighbour) to about this many pixels
FILTER_PX = 45  # a first layer's filters (one picture each, few of them): larger
DENSE_ROWS_PX, DENSE_COLS_PX = 320, 640  # a small dense matrix is scaled up to about this size
GAP = 2  # pixels between the kernels of a grid
FILTER_GAP = 4  # ... between separate pictures
BACKGROUND = (140, 140, 140)  # the gaps: a grey that is neither end nor the white middle of the diverging map

# Layer kinds with a weight to show, and the state-dict key of that weight under the node id.
WEIGHT_KEYS = {"conv2d": "weight", "patch_embedding": "proj.weight", "dense": "weight", "conv_transpose2d": "weight"}
CONV_KINDS = ("conv2d", "patch_embedding", "conv_transpose2d")
TITLES = {"conv2d": "Conv2d", "patch_embedding": "Patch embedding", "dense": "Dense",
          "conv_transpose2d": "ConvTranspose2d"}
# A GAN's two networks (core/gan/structure.py), as the view's network selector names them.
NETWORKS = {"generator": "Generator", "discriminator": "Discriminator"}
DEFAULT_MESSAGE = "No weights yet: they appear here when a network is built or trained."


# -- weights as pictures (the drawing itself is render.py's) ---------------------------------------------------


def rgb_tiles(values: np.ndarray) -> np.ndarray:
    """uint8 [N, h, w, 3] of float [N, 3, h, w]: each channel as red, green, blue, scaled by the largest |weight| of
    them all (so grey is zero and the filters stay comparable)."""
    m = max(float(np.abs(values).max(initial=0.0)), 1e-12)
    scaled = np.clip(values.transpose(0, 2, 3, 1) * (127.5 / m) + 127.5, 0, 255)
    return scaled.astype(np.uint8)


def block_mean(matrix: np.ndarray, limit: int = MAX_PIXELS) -> tuple[np.ndarray, tuple[int, int]]:
    """`matrix` (2-D) averaged over blocks so that neither side exceeds `limit`; and the block size (rows, columns)."""
    rows, cols = matrix.shape
    fr, fc = math.ceil(rows / limit), math.ceil(cols / limit)
    if fr == 1 and fc == 1:
        return matrix, (1, 1)
    padded = np.full((math.ceil(rows / fr) * fr, math.ceil(cols / fc) * fc), np.nan, np.float32)
    padded[:rows, :cols] = matrix
    blocks = padded.reshape(padded.shape[0] // fr, fr, padded.shape[1] // fc, fc)
    return np.nanmean(blocks, axis=(1, 3)), (fr, fc)  # a padded block is never all NaN: each holds a real value


def grid_columns(n: int) -> int:
    """Tiles per row for n separate pictures: 8 up to 64, then about square."""
    return min(n, max(8, math.ceil(math.sqrt(n))))


def _picture(pixels: np.ndarray, boxes: np.ndarray, levels: tuple[float, float] | None, note: str) -> Picture:
    """A weight picture: signed weights through the diverging map (`levels` None: an RGB picture)."""
    return Picture(packed_to_qimage(pixels), boxes, levels, DIVERGING, "weight", note=note)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def render_conv(weight: np.ndarray, rgb_input: bool) -> Picture:
    """A convolution weight [out, in, kh, kw]. One input channel: a tile per filter. Three channels fed from the
    image: a colour tile per filter. Otherwise a grid, a row per output filter and a column per input channel."""
    out_ch, in_ch, kh, kw = weight.shape
    levels = symmetric_levels(weight)
    if in_ch == 1 or (in_ch == 3 and rgb_input):
        # One picture per filter, as it looks at the input image: few of them, so drawn larger.
        scale = integer_scale(max(kh, kw), FILTER_PX)
        if in_ch == 1:
            tiles = colorize_tiles(weight[:, 0], levels, DIVERGING)
            note = f"{_plural(out_ch, 'filter')} of {kh}×{kw}, as they look at the input image."
        else:
            tiles = rgb_tiles(weight)
            note = (f"{_plural(out_ch, 'filter')} of {kh}×{kw} in colour (the red, green and blue input channels), "
                    f"scaled by the layer's largest |weight| {format_level(levels[1])}; grey is 0.")
            levels = None
        pixels, boxes = mosaic(tiles, grid_columns(out_ch), scale, FILTER_GAP, BACKGROUND)
        return _picture(pixels, boxes, levels, note)
    rows, cols = min(out_ch, MAX_GRID), min(in_ch, MAX_GRID)
    shown = weight[:rows, :cols].reshape(rows * cols, kh, kw)
    pixels, boxes = mosaic(colorize_tiles(shown, levels, DIVERGING), cols, integer_scale(max(kh, kw), KERNEL_PX), GAP,
                           BACKGROUND)
    left_out = []
    if rows < out_ch:
        left_out.append(f"first {rows} of {out_ch} filters")
    if cols < in_ch:
        left_out.append(f"first {cols} of {in_ch} input channels")
    note = f"A row per filter, a column per input channel ({kh}×{kw} kernels)."
    if left_out:
        note += " Showing the " + " and the ".join(left_out) + "."
    return _picture(pixels, boxes, levels, note)


def render_dense(weight: np.ndarray) -> Picture:
    """A dense weight [units, inputs] as one heatmap: a row per unit, a column per input."""
    units, inputs = weight.shape
    levels = symmetric_levels(weight)
    matrix, (fr, fc) = block_mean(weight)
    # Each axis scaled on its own (a whole number of pixels per weight), so a 10×64 matrix is not a thin strip.
    row_scale = max(1, min(16, DENSE_ROWS_PX // matrix.shape[0]))
    col_scale = max(1, min(16, DENSE_COLS_PX // matrix.shape[1]))
    pixels = enlarge(pack(colorize(matrix, levels, DIVERGING)), row_scale, col_scale)
    note = f"A row per unit ({units}), a column per input ({inputs})."
    if (fr, fc) != (1, 1):
        note += f" Each pixel is the mean of a {fr}×{fc} block of weights."
    h, w = pixels.shape
    return _picture(pixels, np.array([[0, 0, w, h]]), levels, note)


def render_dense_images(weight: np.ndarray, image_shape: tuple[int, int, int]) -> Picture:
    """A dense layer that reads the input image's pixels: each unit's weights put back in the image's shape."""
    units = weight.shape[0]
    c, h, w = image_shape
    shown = min(units, MAX_UNIT_IMAGES)
    levels = symmetric_levels(weight)
    per_unit = weight[:shown].reshape(shown, c, h, w)
    tiles = colorize_tiles(per_unit[:, 0], levels, DIVERGING) if c == 1 else rgb_tiles(per_unit)
    pixels, boxes = mosaic(tiles, grid_columns(shown), 2 if shown <= 64 else 1, FILTER_GAP, BACKGROUND)
    note = f"Each unit's {c * h * w} weights as a {h}×{w} image: the input pattern that excites it most."
    if shown < units:
        note += f" Showing the first {shown} of {units} units."
    return _picture(pixels, boxes, levels if c == 1 else None, note)


def as_array(tensor) -> np.ndarray:
    """A read-only float32 NumPy view of a CPU tensor (or array): shares its memory when it can, never writes it."""
    if not isinstance(tensor, np.ndarray):
        tensor = tensor.detach()
        if tensor.dtype.is_floating_point and tensor.dtype.itemsize == 4:
            tensor = tensor.numpy()
        else:
            tensor = tensor.float().numpy()
    array = np.asarray(tensor, dtype=np.float32).view()
    array.setflags(write=False)
    return array


# -- the widget -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layer:
    node_id: str
    kind: str
    key: str  # state-dict key of the weight
    shape: tuple[int, ...]
    rgb_input: bool = False  # a convolution fed straight from a 3-channel image
    image_shape: tuple[int, int, int] | None = None  # dense reading the image's pixels: that image's [C, H, W]
    network: str | None = None  # a GAN's: "generator" or "discriminator"

    @property
    def label(self) -> str:
        text = f"{self.node_id}  ({TITLES[self.kind]} {'×'.join(map(str, self.shape))})"
        return f"{NETWORKS[self.network]} · {text}" if self.network else text


def weight_layers(graph, state_dict) -> list[_Layer]:
    """The layers of `graph` with a weight to show (convolutions, transposed convolutions, patch embeddings, dense
    layers), in graph order; a GAN's know their network."""
    from ...core.gan.structure import gan_parts, is_gan_graph  # torch-free, loaded with the core

    order, _ = graph.topological_order()
    input_shape = _input_shape(graph)
    parts = gan_parts(graph) if is_gan_graph(graph) else None
    sources = {}
    for e in graph.edges:
        sources.setdefault(e.target, e.source)
    layers = []
    for node_id in order:
        kind = graph.nodes[node_id].kind
        if kind not in WEIGHT_KEYS:
            continue
        key = f"{node_id}.{WEIGHT_KEYS[kind]}"
        tensor = state_dict.get(key)
        if tensor is None:
            continue
        shape = tuple(int(s) for s in tensor.shape)
        network = parts.network_of(node_id) if parts is not None else None
        if kind in CONV_KINDS and len(shape) == 4:
            from_image = sources.get(node_id) in graph.nodes and graph.nodes[sources[node_id]].kind == "input"
            layers.append(_Layer(node_id, kind, key, shape, rgb_input=from_image and shape[1] == 3, network=network))
        elif kind == "dense" and len(shape) == 2:
            image_shape = None
            if (input_shape is not None and len(input_shape) == 3 and input_shape[0] in (1, 3)
                    and shape[1] == math.prod(input_shape) and network != "generator"):
                image_shape = tuple(input_shape)
            layers.append(_Layer(node_id, kind, key, shape, image_shape=image_shape, network=network))
    return layers


def _input_shape(graph) -> tuple[int, ...] | None:
    """The input node's per-sample shape ([1, 28, 28]), from shape inference."""
    inputs = graph.nodes_of_kind("input")
    if len(inputs) != 1:
        return None
    from ...core.analysis import analyze

    return analyze(graph).shapes.get(inputs[0].id)


class WeightsView(HeldRepaints, QWidget):
    """Weights and filters of one layer at a time, chosen in a combo box."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._pending: tuple | None = None  # (graph, state_dict, note) not drawn yet
        self._graph = None
        self._state: dict = {}
        self._note = ""
        self._layers: list[_Layer] = []  # those in the layer combo
        self._all_layers: list[_Layer] = []  # ... of both networks of a GAN
        self._shapes_cache: tuple[object, list] | None = None  # (graph, state-dict shapes) -> layers, per snapshot
        self._picture: Picture | None = None
        self.render_count = 0  # redraws (for tests and the benchmark)
        self.last_render_ms = 0.0

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(RENDER_DELAY_MS)
        self._timer.timeout.connect(lambda: self.when_free(self._deliver))  # drawing first: app/drawing_first.py

        self.network_combo = QComboBox()
        for key, title in NETWORKS.items():
            self.network_combo.addItem(title, key)
        self.network_combo.setToolTip("Which of the GAN's two networks to show")
        self.network_combo.setVisible(False)  # a GAN's only
        self.network_combo.currentIndexChanged.connect(self._network_chosen)
        self.combo = QComboBox()
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.combo.setToolTip("The layer whose weights are shown")
        self.combo.currentIndexChanged.connect(self._layer_chosen)
        self.as_images = QCheckBox("as images")
        self.as_images.setToolTip("Show each unit's weights in the shape of the input image")
        self.as_images.setVisible(False)
        self.as_images.toggled.connect(lambda _on: self._draw())
        self.export_button = export_button("Save the picture, its scale and summary as a PNG file",
                                           self._export_clicked, enabled=False)

        top = QHBoxLayout()
        top.addWidget(self.network_combo)
        top.addWidget(QLabel("Layer:"))
        top.addWidget(self.combo)
        top.addWidget(self.as_images)
        top.addStretch(1)
        top.addWidget(self.export_button)

        self.message = message_label(DEFAULT_MESSAGE)

        # The sheet is what Export PNG saves: title, picture, scale and summary (grabbed whole, scrolled or not).
        self.sheet = QWidget()
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold")
        self.note_label = QLabel()
        self.note_label.setWordWrap(True)
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.scale = ColorScale("weight", DIVERGING)
        self.scale.setMaximumWidth(420)
        self.summary = QLabel()
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        sheet_layout = QVBoxLayout(self.sheet)
        for w in (self.title, self.note_label, self.picture, self.scale, self.summary):
            sheet_layout.addWidget(w)
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
    def set_weights(self, graph, state_dict, note: str = "") -> None:
        """Show these weights (graph: core.graph.Graph; state_dict: "nodeid.param" -> CPU tensor, not modified).
        Only the latest call before the next repaint is drawn."""
        self._pending = (graph, state_dict, note)
        if not self._timer.isActive():
            self._timer.start()

    def clear(self, message: str = DEFAULT_MESSAGE) -> None:
        """Forget the weights and say `message` instead."""
        self._timer.stop()
        self._pending = None
        self._graph, self._state, self._note, self._layers, self._all_layers = None, {}, "", [], []
        self._picture, self._shapes_cache = None, None
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.blockSignals(False)
        self.combo.setEnabled(False)
        self.network_combo.setVisible(False)
        self.as_images.setVisible(False)
        self.export_button.setEnabled(False)
        self.message.setText(message)
        self.message.show()
        self.scroll.hide()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._pending is not None:
            self._timer.stop()
            self._deliver()

    def _deliver(self) -> None:
        if self._pending is None or not self.isVisible():
            return  # drawn on showEvent instead
        graph, state_dict, note = self._pending
        self._pending = None
        self._graph, self._state, self._note = graph, state_dict, note
        self._update_layers()
        self._draw()

    def _update_layers(self) -> None:
        shapes = [(k, tuple(v.shape)) for k, v in self._state.items()]
        cache = self._shapes_cache
        if cache is not None and cache[0] is self._graph and cache[1] == shapes:
            return  # the same network as last time (every message of one run)
        self._shapes_cache = (self._graph, shapes)
        self._all_layers = weight_layers(self._graph, self._state)
        gan = any(layer.network for layer in self._all_layers)
        self.network_combo.setVisible(gan)
        self._fill_combo()

    def _fill_combo(self) -> None:
        """The layers of the network chosen (a GAN's), or all of them."""
        previous = self.current_layer()
        network = self.network() if self.network_combo.isVisible() else None
        self._layers = [layer for layer in self._all_layers if network is None or layer.network == network]
        ids = [layer.node_id for layer in self._layers]
        if previous not in ids:
            convs = [layer.node_id for layer in self._layers if layer.kind in CONV_KINDS]
            previous = convs[0] if convs else (ids[0] if ids else None)
        self.combo.blockSignals(True)
        self.combo.clear()
        for layer in self._layers:
            self.combo.addItem(layer.label, layer.node_id)
        self.combo.setCurrentIndex(ids.index(previous) if previous in ids else -1)
        self.combo.blockSignals(False)
        self.combo.setEnabled(bool(ids))

    # -- choosing ------------------------------------------------------------------------------------------------
    def layers(self) -> list[str]:
        """Node ids in the combo box, in graph order."""
        return [self.combo.itemData(i) for i in range(self.combo.count())]

    def current_layer(self) -> str | None:
        return self.combo.currentData() if self.combo.count() else None

    def set_current_layer(self, node_id: str) -> bool:
        index = self.combo.findData(node_id)
        if index < 0:
            return False
        self.combo.setCurrentIndex(index)
        return True

    def _layer_chosen(self, _index: int) -> None:
        self._draw()

    def network(self) -> str:
        """The GAN network the layers are chosen from ("generator" or "discriminator")."""
        return self.network_combo.currentData() or "generator"

    def set_network(self, network: str) -> bool:
        index = self.network_combo.findData(network)
        if index < 0:
            return False
        self.network_combo.setCurrentIndex(index)
        return True

    def _network_chosen(self, _index: int) -> None:
        if self._graph is None:
            return
        self._fill_combo()
        self._draw()

    def _current(self) -> _Layer | None:
        node_id = self.current_layer()
        return next((layer for layer in self._layers if layer.node_id == node_id), None)

    # -- drawing -------------------------------------------------------------------------------------------------
    def _draw(self) -> None:
        self.render_count += 1
        layer = self._current()
        self.as_images.setVisible(layer is not None and layer.image_shape is not None)
        if layer is None:
            self._picture = None
            self.export_button.setEnabled(False)
            self.message.setText("This network has no convolution or dense layer with weights to show."
                                 if self._graph is not None else DEFAULT_MESSAGE)
            self.message.show()
            self.scroll.hide()
            return
        start = time.perf_counter()
        weight = as_array(self._state[layer.key])
        if layer.kind == "conv_transpose2d":  # stored [in, out, kh, kw]: shown as each output filter's kernels
            weight = weight.transpose(1, 0, 2, 3)
        if layer.kind in CONV_KINDS:
            picture = render_conv(weight, layer.rgb_input)
        elif layer.image_shape is not None and self.as_images.isChecked():
            picture = render_dense_images(weight, layer.image_shape)
        else:
            picture = render_dense(weight)
        self._picture = picture
        self.picture.setPixmap(QPixmap.fromImage(picture.image))
        self.title.setText(layer.label)
        self.note_label.setText(picture.note)
        self.scale.setVisible(picture.levels is not None)
        if picture.levels is not None:
            self.scale.set_scale(picture.levels, picture.cmap, picture.label)
        mean, std = float(weight.mean(dtype=np.float64)), float(weight.std(dtype=np.float64))
        summary = (f"weight {'×'.join(map(str, layer.shape))}  ·  mean {format_level(mean)}  ·  "
                   f"std {format_level(std)}  ·  largest |w| {format_level(float(np.abs(weight).max()))}")
        self.summary.setText(f"{summary}  ·  {self._note}" if self._note else summary)
        self.message.hide()
        self.scroll.show()
        self.export_button.setEnabled(True)
        self.last_render_ms = (time.perf_counter() - start) * 1000

    # -- reading (tests, other views) ----------------------------------------------------------------------------
    def image(self) -> QImage | None:
        """The picture as drawn (1:1 pixels), or None."""
        return self._picture.image if self._picture else None

    def tiles(self) -> list[QRect]:
        """Where each kernel (or unit image) sits in `image()`."""
        return list(self._picture.cells) if self._picture else []

    def levels(self) -> tuple[float, float] | None:
        """The colour levels of the picture (None for an RGB picture, or no picture)."""
        return self._picture.levels if self._picture else None

    def summary_text(self) -> str:
        return self.summary.text()

    def note_text(self) -> str:
        return self.note_label.text()

    # -- export --------------------------------------------------------------------------------------------------
    def export_png(self, path) -> None:
        """Save the picture with its title, scale and summary. Raises OSError when it cannot be written."""
        write_png(self.sheet if self._picture else self, path)

    def _export_clicked(self) -> None:
        layer = self.current_layer() or "weights"
        export_png_dialog(self, self.sheet if self._picture else self, f"{layer}-weights.png")
