"""The Samples dock: what a GAN's generator makes, live while it trains.

- **The grid**: 64 samples of the run's *fixed* noise (the same 64 noise
  vectors all run long), from `GanSamples` every few seconds and at each
  epoch's end, so the same cells turn from static into digits.
- **The history**: every grid the run sent, kept for a slider (at most
  MAX_GRIDS: beyond that every other grid goes, the first kept, so the whole
  run stays in reach at an even resolution, ~50 KB a grid). At the slider's
  right end the grid follows the run ("live").
- **The latent walk**: a strip of WALK_STEPS images along the straight line
  between two noise vectors, asked of the generator in the inference process
  (`Predictor.want_generator`, as the Draw dock asks the network), with the
  weights in use, again as new ones arrive. "Other ends" draws two new vectors.

Latest-value mailbox: `add_samples` and `set_walk` only store; a single-shot
timer renders at most every RENDER_MS, and only while the dock shows.
"""

from __future__ import annotations

import os

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPainter, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSlider, QVBoxLayout, QWidget

from ...core.gan.samples import tile
from ...core.run.messages import GanSamples
from ..charts.export import write_png
from ..drawing_first import HeldRepaints
from .export import export_button, export_png_dialog, message_label
from .render import grey_to_qimage, rgb_to_qimage

MAX_GRIDS = 200  # grids a run keeps for the history slider (~50 KB each for 64 MNIST digits)
RENDER_MS = 150
WALK_STEPS = 10
EMPTY_MESSAGE = ("Open or build a GAN (File ▸ New from Preset ▸ DCGAN MNIST) and press Start: the generator's "
                 "samples appear here, the same 64 noise vectors all run long.")
NO_RUN_MESSAGE = "Press Start (F5): every few seconds the grid shows what the generator makes of the same 64 noises."


class SampleHistory:
    """A run's grids, oldest first, bounded at an even resolution: the n-th grid of the run is kept when n is a
    multiple of `stride` (the newest always, until the next one comes); when more than `limit` are kept, the
    stride doubles and every other one goes. So the whole run stays in reach, the first grid included."""

    def __init__(self, limit: int = MAX_GRIDS):
        self.limit = max(4, limit)
        self.grids: list[GanSamples] = []
        self._indices: list[int] = []  # each kept grid's number in the run (0-based)
        self._count = 0
        self.stride = 1

    def __len__(self) -> int:
        return len(self.grids)

    def __getitem__(self, index: int) -> GanSamples:
        return self.grids[index]

    def add(self, samples: GanSamples) -> None:
        if self.grids and samples.global_step < self.grids[-1].global_step:
            return  # an older grid than the newest held (never expected)
        if self.grids and samples.global_step == self.grids[-1].global_step:
            self.grids[-1] = samples  # the same step again (an epoch's end right after a timed grid)
            return
        if self._indices and self._indices[-1] % self.stride:  # kept only as the newest: this one is newer
            self.grids.pop()
            self._indices.pop()
        self.grids.append(samples)
        self._indices.append(self._count)
        self._count += 1
        if len(self.grids) > self.limit:
            self.stride *= 2
            last = len(self.grids) - 1
            keep = [i for i, n in enumerate(self._indices) if n % self.stride == 0 or i == last]
            self.grids = [self.grids[i] for i in keep]
            self._indices = [self._indices[i] for i in keep]

    def clear(self) -> None:
        self.grids, self._indices, self._count, self.stride = [], [], 0, 1


def to_qimage(pixels: np.ndarray) -> QImage:
    return grey_to_qimage(pixels) if pixels.ndim == 2 else rgb_to_qimage(pixels[..., :3])


class PixelPicture(QWidget):
    """A uint8 picture, enlarged by the largest whole factor that fits (nearest neighbour: pixels stay sharp)."""

    def __init__(self, min_scale: int = 1, parent: QWidget | None = None):
        super().__init__(parent)
        self.min_scale = min_scale
        self._image: QImage | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_pixels(self, pixels: np.ndarray | None) -> None:
        self._image = None if pixels is None else to_qimage(pixels)
        self.updateGeometry()
        self.update()

    def image(self) -> QImage | None:
        return self._image

    def sizeHint(self) -> QSize:
        return self._image.size() * 2 if self._image is not None else QSize(240, 240)

    def minimumSizeHint(self) -> QSize:
        return self._image.size() * self.min_scale if self._image is not None else QSize(60, 60)

    def target(self) -> QRect:
        """Where the picture is painted, in the widget."""
        if self._image is None or self._image.isNull():
            return QRect()
        w, h = self._image.width(), self._image.height()
        scale = max(1, min(self.width() // w, self.height() // h))
        if self.width() < w or self.height() < h:  # smaller than 1:1: shrink smoothly, keep the aspect
            ratio = min(self.width() / w, self.height() / h)
            tw, th = max(1, int(w * ratio)), max(1, int(h * ratio))
        else:
            tw, th = w * scale, h * scale
        return QRect((self.width() - tw) // 2, (self.height() - th) // 2, tw, th)

    def paintEvent(self, _event) -> None:
        if self._image is None:
            return
        painter = QPainter(self)
        target = self.target()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, target.width() < self._image.width())
        painter.drawImage(target, self._image)
        painter.end()


class SamplesView(HeldRepaints, QWidget):
    """The grid of fixed-noise samples, its history slider and the latent walk."""

    walk_changed = Signal()  # the person asked for other ends of the walk

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.history = SampleHistory()
        self._run_name = ""
        self._live = True  # the slider follows the newest grid
        self._walk: np.ndarray | None = None  # uint8 [steps, H, W]
        self._walk_note = ""
        self._dirty = False
        self.seeds = (1, 2)  # the walk's two ends, as seeds of noise vectors
        self.render_count = 0  # for tests and the benchmark
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(RENDER_MS)
        self._timer.timeout.connect(lambda: self.when_free(self._render))

        self.caption = QLabel(self)
        self.caption.setStyleSheet("font-weight: bold")
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.export_button = export_button("Save the sample grid and the latent walk as a PNG picture",
                                           self._export_clicked, self, enabled=False)
        top = QHBoxLayout()
        top.setContentsMargins(6, 4, 6, 0)
        top.addWidget(self.caption, 1)
        top.addWidget(self.export_button)

        self.message = message_label(EMPTY_MESSAGE, self)

        # The sheet: what Export PNG writes.
        self.sheet = QWidget(self)
        self.sheet.setAutoFillBackground(True)
        self.sheet.setBackgroundRole(QPalette.ColorRole.Base)
        self.grid_title = QLabel(self.sheet)
        self.grid = PixelPicture(1, self.sheet)
        self.walk_title = QLabel("Latent walk: the generator's images along the straight line from one noise vector "
                                 "to another", self.sheet)
        self.walk_title.setWordWrap(True)
        self.walk = PixelPicture(1, self.sheet)
        self.walk.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.walk.setMinimumHeight(40)
        sheet_layout = QVBoxLayout(self.sheet)
        sheet_layout.setContentsMargins(6, 4, 6, 4)
        sheet_layout.addWidget(self.grid_title)
        sheet_layout.addWidget(self.grid, 4)
        sheet_layout.addWidget(self.walk_title)
        sheet_layout.addWidget(self.walk, 1)

        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, 0)
        self.slider.setToolTip("Go back through the grids of this run (the right end follows the run)")
        self.slider.valueChanged.connect(self._slider_moved)
        self.slider_label = QLabel(self)
        self.slider_label.setMinimumWidth(self.slider_label.fontMetrics().horizontalAdvance("200 of 200 · live") + 4)
        self.walk_button = QPushButton("Other ends", self)
        self.walk_button.setToolTip("Walk between two other noise vectors")
        self.walk_button.clicked.connect(self.new_walk)
        controls = QHBoxLayout()
        controls.setContentsMargins(6, 0, 6, 4)
        controls.addWidget(QLabel("History", self))
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.slider_label)
        controls.addSpacing(12)
        controls.addWidget(self.walk_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.sheet, 1)
        layout.addLayout(controls)
        self.set_gan(False)

    # -- feeding ---------------------------------------------------------------------------------------------
    def set_gan(self, gan: bool) -> None:
        """Whether the network in use is a GAN: otherwise the dock only says what it is for."""
        self._gan = gan
        self._update_visibility()

    def begin_run(self, name: str) -> None:
        """A new run: its grids replace the last run's."""
        self.history.clear()
        self._run_name = name
        self._live = True
        self._sync_slider()
        self._mark_dirty()

    def add_samples(self, samples: GanSamples) -> None:
        self.history.add(samples)
        self._mark_dirty()

    def set_walk(self, images: np.ndarray, note: str = "") -> None:
        """The latent walk's images (uint8 [steps, H, W]), from the generator with the weights in use."""
        self._walk = np.asarray(images)
        self._walk_note = note
        self._mark_dirty()

    def new_walk(self) -> None:
        a, b = self.seeds
        self.seeds = (b, b + 1 if b + 1 != a else b + 2)
        self.walk_changed.emit()

    def walk_request(self):
        """The generator request for the walk (app/predictor.py)."""
        from ..predictor import GeneratorRequest

        return GeneratorRequest(self.seeds[0], self.seeds[1], WALK_STEPS)

    def clear(self, message: str = EMPTY_MESSAGE) -> None:
        self.history.clear()
        self._walk = None
        self._run_name = ""
        self.message.setText(message)
        self._sync_slider()
        self._mark_dirty()

    # -- reading (tests, screenshots) --------------------------------------------------------------------------
    def shown(self) -> GanSamples | None:
        """The grid the view shows (or will at the next render)."""
        if not len(self.history):
            return None
        index = len(self.history) - 1 if self._live else min(self.slider.value(), len(self.history) - 1)
        return self.history[index]

    def walk_images(self) -> np.ndarray | None:
        return self._walk

    # -- the slider ----------------------------------------------------------------------------------------
    def _slider_moved(self, value: int) -> None:
        self._live = value >= len(self.history) - 1
        self._mark_dirty()

    def _sync_slider(self) -> None:
        n = len(self.history)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, n - 1))
        if self._live:
            self.slider.setValue(max(0, n - 1))
        self.slider.blockSignals(False)
        self.slider.setEnabled(n > 1)
        index = self.slider.value()
        self.slider_label.setText(f"{index + 1} of {n}" + (" · live" if self._live else "") if n else "")

    # -- rendering -------------------------------------------------------------------------------------------
    def _update_visibility(self) -> None:
        has = self._gan and (len(self.history) > 0 or self._walk is not None)
        if self._gan and not has:
            self.message.setText(NO_RUN_MESSAGE)
        elif not self._gan:
            self.message.setText(EMPTY_MESSAGE)
        self.message.setVisible(not has)
        self.sheet.setVisible(has)
        for w in (self.slider, self.slider_label, self.walk_button):
            w.setVisible(self._gan)
        self.export_button.setEnabled(has)

    def _mark_dirty(self) -> None:
        self._dirty = True
        if not self._timer.isActive():
            self._timer.start()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty:
            self._timer.stop()
            self._render()

    def _render(self, force: bool = False) -> None:
        if not self.isVisible() and not force:
            return  # rendered on showEvent
        self._dirty = False
        self.render_count += 1
        self._sync_slider()
        grid = self.shown()
        if grid is not None:
            self.grid.set_pixels(tile(grid.images, cols=8))
            minutes, seconds = divmod(int(grid.elapsed), 60)
            self.grid_title.setText(f"{len(grid.images)} samples of fixed noise · step {grid.global_step:,} · "
                                    f"epoch {grid.epoch + 1} · {minutes}:{seconds:02d} of training")
            self.caption.setText(self._run_name)
        else:
            self.grid.set_pixels(None)
            self.grid_title.setText(NO_RUN_MESSAGE if self._gan else "")
        if self._walk is not None and len(self._walk):
            self.walk.set_pixels(tile(self._walk, cols=len(self._walk)))
            self.walk_title.setToolTip(self._walk_note)
        self._update_visibility()

    def flush(self) -> None:
        """Render now if anything is due (tests, export)."""
        if self._dirty or self._timer.isActive():
            self._timer.stop()
            self._render(force=True)

    # -- export ----------------------------------------------------------------------------------------------
    def export_png(self, path: str | os.PathLike) -> None:
        self.flush()
        write_png(self.sheet, path)

    def _export_clicked(self) -> None:
        self.flush()
        export_png_dialog(self, self.sheet, "gan-samples.png")
