"""The Decision view's picture of the plane: the colours of its surface and its points, and the plot showing them.

The colours are NumPy only: a DecisionFrame's grids in, uint8 RGB pictures out (`output_surface`, `unit_surface`).

Two classes and regression share one picture of a value in [-1, 1] through the diverging map: p(red) − p(blue)
for classes, so that blue (class 0) is the map's blue end and red (class 1) its red end, and the points wear the
same hues. Three classes have no single scale: each pixel is the probability-weighted blend of the three
class colours, faded towards the map's white middle as the network grows unsure (a three-way tie is white, as an
even split is on the diverging map), so the borders between classes read the same way with 2 or 3 classes.

A GAN on 2-D points (GAN Lab's picture, `gan_surface`, `arrow_segments`): the discriminator's verdict over the plane
on violet (looks generated) – white (can't tell) – green (looks real), the real points green, the generated ones
violet, and on each generated point an arrow: where the generator's loss pushes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF
from PySide6.QtGui import QBrush, QColor, QPainter
from PySide6.QtWidgets import QGraphicsItem, QSizePolicy

# isort: split
import pyqtgraph as pg  # after PySide6: pyqtgraph takes the Qt binding already imported

from ...core.data.points import EXTENT, Points
from ..charts.style import ChartTheme
from ..editor.theme import blend
from .colormap import DIVERGING, REALNESS, colorize, lut, symmetric_levels

OUTPUT_LABEL = "p(red) − p(blue)"
VALUE_LABEL = "value"
UNIT_LABEL = "unit output"
THREE_CLASS_TEXT = "blue · red · green: the likeliest class, paler where the network is unsure"
THREE_CLASS_DISCRETE = "blue · red · green: the likeliest class"
VALUE_LEVELS = (-1.0, 1.0)
REALNESS_LEVELS = (0.0, 1.0)
REALNESS_LABEL = "D(x): how real it looks"  # the non-saturating loss's D: P(real)
SCORE_LABEL = "D(x) score: 1 real, 0 generated"  # least squares: the raw score, clipped
ARROW_LENGTH = 1.0  # plane units: the longest arrow (of the frame's usual ones; longer ones are cut to it)
ARROW_HEAD = 0.22  # plane units: the length of an arrow head's strokes (less on short arrows)


def class_colours() -> np.ndarray:
    """uint8 [3, 3]: blue, red, green (classes 0, 1, 2), on the surface and on the points. Blue and red are
    the diverging map's own, an eighth in from its ends: the ends themselves are nearly navy and maroon, where a
    point's fill would vanish. The green is chosen to sit with them (about as dark and as strong)."""
    table = lut(DIVERGING)
    return np.array([table[24], table[231], (28, 140, 62)], np.uint8)


def neutral() -> np.ndarray:
    """uint8 [3]: the diverging map's middle, the colour of "no opinion" (a three-way tie)."""
    return lut(DIVERGING)[128].copy()


@dataclass(frozen=True)
class Surface:
    """One picture of the plane: rgb uint8 [R, R, 3] (row 0 = the top, y = +extent) and how to read it."""

    rgb: np.ndarray
    levels: tuple[float, float] | None  # None: no single scale (three classes' blend)
    label: str


def scale_for(classes: int, discrete: bool = False) -> tuple[tuple[float, float] | None, str]:
    """(levels, label) of the output's scale for 1 (regression), 2 or 3 classes; levels None: no single scale."""
    surface = output_surface(np.full((classes, 1, 1), 1.0 / classes, np.float32), discrete)
    return surface.levels, surface.label


def output_surface(output: np.ndarray, discrete: bool = False) -> Surface:
    """A frame's output [K, R, R]: class probabilities (K = 2 or 3) or regression values (K = 1)."""
    output = np.asarray(output, np.float32)
    k = output.shape[0]
    if k == 1 or k == 2:
        value = output[0] if k == 1 else output[1] - output[0]
        label = VALUE_LABEL if k == 1 else OUTPUT_LABEL
        if discrete:  # only which side of zero: the network's decision, not how sure it is
            value = np.where(value >= 0, 1.0, -1.0).astype(np.float32)
            label = f"{label}, sign only"
        return Surface(colorize(value, VALUE_LEVELS, DIVERGING), VALUE_LEVELS, label)
    return Surface(blend_classes(output, discrete), None, THREE_CLASS_DISCRETE if discrete else THREE_CLASS_TEXT)


def blend_classes(probabilities: np.ndarray, discrete: bool = False) -> np.ndarray:
    """uint8 [R, R, 3] of probabilities [K, R, R] (K <= 3): see the module's docstring."""
    k = probabilities.shape[0]
    colours = class_colours()[:k].astype(np.float32)
    p = np.clip(np.nan_to_num(probabilities, nan=1.0 / k), 0.0, 1.0)
    if discrete:
        return class_colours()[:k][np.argmax(p, axis=0)]
    total = p.sum(axis=0, keepdims=True)
    p = p / np.maximum(total, 1e-6)
    mix = np.einsum("khw,kc->hwc", p, colours)
    # How sure: 0 at a k-way tie, 1 when one class has it all.
    sure = ((p.max(axis=0) - 1.0 / k) / (1.0 - 1.0 / k))[..., None]
    rgb = neutral().astype(np.float32) * (1.0 - sure) + mix * sure
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def gan_surface(surface: np.ndarray, gan_loss: str = "non_saturating") -> Surface:
    """A GAN discriminator's verdict over the plane [R, R] (P(real), or least squares' score) on violet-white-green."""
    label = SCORE_LABEL if gan_loss == "least_squares" else REALNESS_LABEL
    return Surface(colorize(np.asarray(surface, np.float32), REALNESS_LEVELS, REALNESS), REALNESS_LEVELS, label)


def gan_colours() -> tuple[np.ndarray, np.ndarray]:
    """uint8 [3] each: the real points' green and the generated points' violet, the realness map's own ends made a
    little darker, so that a point stands out where the surface has its colour."""
    table = lut(REALNESS).astype(np.float32)
    return (table[255] * 0.72).astype(np.uint8), (table[0] * 0.72).astype(np.uint8)


def gan_legend_html() -> str:
    real, fake = (f"#{r:02x}{g:02x}{b:02x}" for r, g, b in (c.tolist() for c in gan_colours()))
    return (f'<span style="color:{real}">&#11044;</span>&nbsp;real · '
            f'<span style="color:{fake}">&#11044;</span>&nbsp;generated · '
            "&#10138;&nbsp;where the generator pushes each")


def arrow_segments(start: np.ndarray, vector: np.ndarray, longest: float = ARROW_LENGTH,
                   head: float = ARROW_HEAD) -> np.ndarray:
    """float64 [6·n, 2]: for each of n arrows from `start` [n, 2] along `vector` [n, 2] (a gradient), its shaft and
    the two strokes of its head, as pairs of points (a line item with connect="pairs": one item for all of them).

    Gradients differ by orders of magnitude over a run, so lengths are relative to the frame: the 90th percentile
    of the lengths becomes `longest` (longer ones are cut to it), so most arrows stay readable and none crosses
    the plane. A zero vector is an arrow of no length (its segments collapse onto its start)."""
    start = np.asarray(start, np.float64).reshape(-1, 2)
    vector = np.asarray(vector, np.float64).reshape(-1, 2)
    vector = np.where(np.isfinite(vector), vector, 0.0)
    n = len(start)
    if n == 0:
        return np.zeros((0, 2))
    length = np.hypot(vector[:, 0], vector[:, 1])
    usual = float(np.percentile(length, 90))
    if usual <= 0:
        return np.repeat(start, 6, axis=0)
    scaled = np.minimum(length / usual, 1.0) * longest  # [n]
    direction = vector / np.maximum(length, 1e-30)[:, None]
    tip = start + direction * scaled[:, None]
    h = np.minimum(head, scaled * 0.45)[:, None]
    cos, sin = np.cos(np.radians(28)), np.sin(np.radians(28))
    back = -direction
    left = np.stack([back[:, 0] * cos - back[:, 1] * sin, back[:, 0] * sin + back[:, 1] * cos], axis=1)
    right = np.stack([back[:, 0] * cos + back[:, 1] * sin, -back[:, 0] * sin + back[:, 1] * cos], axis=1)
    segments = np.stack([start, tip, tip, tip + left * h, tip, tip + right * h], axis=1)  # [n, 6, 2]
    return segments.reshape(-1, 2)


def unit_surface(maps: np.ndarray, index: int) -> Surface:
    """One unit's map of a node's maps [u, r, r], with levels symmetric over all of that node's maps, so
    that two of its units can be compared by eye."""
    maps = np.asarray(maps, np.float32)
    levels = symmetric_levels(maps)
    return Surface(colorize(maps[index], levels, DIVERGING), levels, UNIT_LABEL)


def legend_html(text: str) -> str:
    """A three-class legend ("blue · red · green: ...") with each class name after a dot of its colour."""
    names, _, rest = text.partition(":")
    dots = " ".join(f'<span style="color:#{r:02x}{g:02x}{b:02x}">&#11044;</span>&nbsp;{name.strip()}'
                    for (r, g, b), name in zip(class_colours().tolist(), names.split("·"), strict=True))
    return f"{dots}:{rest}"


def point_colours(labels: np.ndarray, regression: bool) -> np.ndarray:
    """uint8 [N, 3]: class colours, or a regression value's colour on the diverging map (levels -1…1)."""
    if regression:
        return colorize(np.asarray(labels, np.float32)[None, :], VALUE_LEVELS, DIVERGING)[0]
    return class_colours()[np.clip(np.asarray(labels, np.int64), 0, 2)]


def loss_line(train_loss: float, test_loss: float | None) -> str:
    return f"Training loss {_loss(train_loss)} · " + (
        "no test points" if test_loss is None else f"Test loss {_loss(test_loss)}")


def _loss(value: float) -> str:
    value = float(value)
    if not np.isfinite(value):
        return f"{value}"
    return f"{value:.3f}" if value == 0 or abs(value) >= 0.001 else f"{value:.1e}"


# -- the plot ----------------------------------------------------------------------------------------------------

POINT_SIZE = 7  # px: a point's diameter, readable in a ~420 px dock without hiding the surface
# Training points: filled, a thin white edge (grey for regression, whose values near 0 are white);
# test points: the same fill in a strong dark ring, as in TensorFlow Playground.
TRAIN_PEN = pg.mkPen(255, 255, 255, 230, width=1)
REGRESSION_PEN = pg.mkPen(80, 80, 80, 200, width=1)
TEST_PEN = pg.mkPen(25, 25, 25, width=1.6)
GAN_POINT_SIZE = 6  # px: a GAN's points, real and generated (more of them, and they gather on each other)
FAKE_PEN = pg.mkPen(255, 255, 255, 230, width=1)
ARROW_PEN = pg.mkPen(25, 25, 25, 175, width=1.2)


def _brushes(rgb: np.ndarray) -> list[QBrush]:
    return [QBrush(QColor(int(r), int(g), int(b))) for r, g, b in rgb]


class PlanePlot(pg.PlotWidget):
    """The plane [-EXTENT, EXTENT]², fixed (no pan, no zoom, no menu), square, with ticks every 3: one image for
    the surface, and scatters for the training points, the test points and the stroke being drawn."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 160)  # in the Draw dock's place: no taller than it needs (1024×720 windows)
        # A 64×64 grid (32×32 for a unit) stretched over ~350 px: smoothed, as TensorFlow Playground's canvas is.
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        self.vb = item.getViewBox()
        self.vb.setMouseEnabled(False, False)  # the plane is fixed: a click draws, it does not pan
        self.vb.setAspectLocked(True)
        self.vb.disableAutoRange()
        self.vb.setRange(xRange=(-EXTENT, EXTENT), yRange=(-EXTENT, EXTENT), padding=0.02)
        ticks = [[(float(v), f"{v:g}") for v in np.linspace(-EXTENT, EXTENT, 5)]]
        for name in ("left", "bottom"):
            item.getAxis(name).setTicks(ticks)
            # Drawn from a pixmap: the axes never change, yet would be laid out again at each of ~30 repaints/s.
            item.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.addItem(self.image)
        self.train_points = pg.ScatterPlotItem(size=POINT_SIZE, pen=TRAIN_PEN)
        self.test_points = pg.ScatterPlotItem(size=POINT_SIZE, pen=TEST_PEN)
        self.stroke_points = pg.ScatterPlotItem(size=POINT_SIZE, pen=TRAIN_PEN)
        for scatter in (self.train_points, self.test_points, self.stroke_points):
            self.addItem(scatter)
        # A GAN on points: the generated points over the real ones, each with its arrow (all arrows one item).
        self.arrows = pg.PlotCurveItem(pen=ARROW_PEN, connect="pairs", antialias=True)
        self.fake_points = pg.ScatterPlotItem(size=GAN_POINT_SIZE, pen=FAKE_PEN,
                                              brush=QBrush(QColor(*gan_colours()[1].tolist())))
        for z, item in enumerate((self.arrows, self.fake_points, self.stroke_points), start=1):
            item.setZValue(z)
        self.addItem(self.arrows)
        self.addItem(self.fake_points)
        self.plain = neutral()

    def apply_theme(self, theme: ChartTheme) -> None:
        self.setBackground(theme.background)
        plain = blend(theme.background, theme.text, 0.08)  # the plane before a run: no colour, no opinion
        self.plain = np.array([plain.red(), plain.green(), plain.blue()], np.uint8)
        for name in ("left", "bottom"):
            axis = self.getPlotItem().getAxis(name)
            axis.setPen(pg.mkPen(theme.axis))
            axis.setTextPen(pg.mkPen(theme.dim_text))

    def show_surface(self, rgb: np.ndarray | None, extent: float = EXTENT) -> None:
        """A picture of the plane (row 0 = the top), or None: the plain plane. Levels are fixed (the colours are
        final), so pyqtgraph only wraps the pixels in a QImage."""
        if rgb is None:
            rgb, extent = self.plain[None, None, :], EXTENT
        # The image's row 0 is drawn at its rect's lowest y, the plane's bottom: flip the rows.
        self.image.setImage(rgb[::-1], autoLevels=False, levels=(0, 255))
        self.image.setRect(QRectF(-extent, -extent, 2 * extent, 2 * extent))

    def show_points(self, scatter: pg.ScatterPlotItem, points: Points, regression: bool) -> None:
        colours = point_colours(points.labels, regression) if len(points) else np.zeros((0, 3), np.uint8)
        scatter.setData(pos=np.asarray(points.xy, np.float64), brush=_brushes(colours), size=POINT_SIZE)
        if scatter is not self.test_points:
            scatter.setPen(REGRESSION_PEN if regression else TRAIN_PEN)

    def show_real_points(self, xy: np.ndarray) -> None:
        """A GAN's real points, all in one colour, on the training points' scatter."""
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        self.train_points.setData(pos=xy, brush=self.real_brush(), size=GAN_POINT_SIZE)
        self.train_points.setPen(TRAIN_PEN)

    @staticmethod
    def real_brush() -> QBrush:
        return QBrush(QColor(*gan_colours()[0].tolist()))

    def show_generated(self, fake: np.ndarray | None, gradient: np.ndarray | None = None) -> None:
        """A GAN's generated points and the arrows of their gradients (None: neither)."""
        if fake is None or not len(fake):
            self.fake_points.setData(pos=np.zeros((0, 2)))
            self.arrows.setData(x=np.zeros(0), y=np.zeros(0))
            return
        self.fake_points.setData(pos=np.asarray(fake, np.float64))
        segments = arrow_segments(fake, gradient if gradient is not None else np.zeros_like(fake))
        self.arrows.setData(x=segments[:, 0], y=segments[:, 1])

    def plane_at(self, pos: QPoint, anywhere: bool = False) -> np.ndarray | None:
        """The plane's (x, y) under a viewport position, clipped to the plane; None off the plot's box (unless
        `anywhere`: a drag past the edge still sprays along it)."""
        scene = self.mapToScene(pos)
        if not anywhere and not self.vb.sceneBoundingRect().contains(scene):
            return None
        p = self.vb.mapSceneToView(scene)
        return np.clip(np.array([p.x(), p.y()], np.float32), -EXTENT, EXTENT)

    def plane_to_viewport(self, x: float, y: float) -> QPoint:
        return self.mapFromScene(self.vb.mapViewToScene(QPointF(x, y)))
