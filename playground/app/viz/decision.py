"""The Decision view: what the network decides over the input plane, with the points it learns from.

Like TensorFlow Playground's big output picture: the plane [-6, 6]² coloured by the network's output (two classes:
p(red) − p(blue) on the diverging map; three: the classes' colours blended, `decision_paint.py`; regression: the
value), the training points filled in their class colour and the test points ringed in black. "Discretize" shows
only the decision (the sign, or the likeliest class). While a neuron's thumbnail in the editor is hovered,
`show_unit` puts that unit's map in the output's place.

Frames come often (a DecisionFrame several times a second): `set_frame` only keeps the newest (a latest-value
mailbox) and a single-shot timer repaints once REPAINT_MS have passed since the last repaint, once however many
came meanwhile (DESIGN.md); a hidden view waits until it is shown. A repaint colours a 64×64 grid and hands it
to one ImageItem (well under a millisecond; the plot's own paint, 500 points included, about 2 ms). The points
are scatter items, set only when the points change. "Discretize" is for the output only: a unit's map always
shows its values.

A person's own points are drawn here while the dataset is "Your own points" (`set_editable`): left click blue,
right click red, shift+left click green, dragging sprays. One press-drag-release is one edit, `points_edited`
(to the document's undo stack through `attach`); Load CSV… and Save CSV… read and write x,y,label files.

A GAN on 2-D points (`set_gan`; GAN Lab's lesson) shows its run's GanPointsFrames (`set_gan_frame`, the same
mailbox): the discriminator's verdict over the plane (violet: looks generated, white: can't tell, green: looks
real), the real points in green (whatever their class: a GAN learns where points lie), the generated points in
violet, and on each an arrow: where the generator's loss pushes it (decision_paint.arrow_segments; one line item
for all). Own points drawn for it are real points, whichever the button.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QPoint, Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ...core.data.errors import DatasetError
from ...core.data.points import EXTENT, MAX_POINTS, Points, PointsSplit, read_points_csv, write_points_csv
from ...core.run.messages import DecisionFrame, GanPointsFrame
from .. import dialogs as app_dialogs
from ..charts.style import chart_theme
from ..drawing_first import HeldRepaints
from ..editor import commands
from .colormap import DIVERGING, REALNESS, ColorScale
from .decision_paint import (
    REALNESS_LABEL,
    REALNESS_LEVELS,
    PlanePlot,
    Surface,
    gan_legend_html,
    gan_surface,
    legend_html,
    loss_line,
    output_surface,
    scale_for,
    unit_surface,
)

REPAINT_MS = 33  # at most ~30 repaints a second, however often frames come
SPRAY_PER_MOVE = 3  # points added at each mouse move of a drag
SPRAY_SPREAD = 0.25  # their scatter around the pointer (plane units, a standard deviation)
CSV_FILTER = "CSV files (*.csv);;All files (*)"
NO_RUN_HINT = "Train to see the decision surface"
DRAW_HINT = "Left click: blue · right click: red · shift+click: green · drag to spray"
NOT_EDITABLE_HINT = "To draw your own points, choose “Your own points” as the dataset"
GAN_NO_RUN_HINT = "Train to see the discriminator's verdict over the plane and the generator's points"
GAN_DRAW_HINT = "Click or drag to add real points (a GAN does not use their colour)"
GAN_NOT_EDITABLE_HINT = "To draw the real points yourself, choose “Your own points” as the dataset"
CLASS_WORDS = ("blue", "red", "green")
REGRESSION_VALUES = (-1.0, 1.0, 0.0)  # what a blue, red or green click adds to regression points


class DecisionView(HeldRepaints, QWidget):
    """The output (or one unit) over the plane, the points, the losses, and drawing one's own points."""

    points_edited = Signal(object, str, object)  # Points | None, the undo text, a merge key (None: one step)
    own_points_wanted = Signal()  # a CSV file was loaded: show it, i.e. switch the dataset to own points

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._frame: DecisionFrame | GanPointsFrame | None = None
        self._gan = False  # a GAN on points: its frames, and the points as real ones
        self._real_shown: np.ndarray | None = None  # the real points a GAN frame last put on the plot
        self._unit: tuple[str, int] | None = None
        self._split: PointsSplit | None = None
        self._own: Points | None = None
        self._editable = False
        self._stroke: tuple[int, list[np.ndarray]] | None = None  # (class, [xy [n, 2]]) while a button is held
        self._rng = np.random.default_rng()
        self._document = None
        self._folder = ""
        self._dirty = False
        self._last_repaint = 0.0  # time.monotonic() of the last repaint
        self._surface: Surface | None = None
        self.refreshes = 0  # surface repaints done (tests, the benchmark)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REPAINT_MS)
        self._timer.timeout.connect(lambda: self.when_free(self._repaint))  # drawing first: app/drawing_first.py

        self.title = QLabel("Output")
        self.title.setStyleSheet("font-weight: bold")
        self.loss_label = QLabel()
        self.loss_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.loss_label)

        self.plot = PlanePlot()
        self.train_points, self.test_points = self.plot.train_points, self.plot.test_points
        self.plot.viewport().installEventFilter(self)

        self.scale = ColorScale("", DIVERGING)
        self.legend = QLabel()  # three classes: their colours, in place of the scale
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self._legend_text = ""
        self.discretize = QCheckBox("Discretize")
        self.discretize.setToolTip("Show only the decision: which side of zero (two classes, regression) or\n"
                                   "the likeliest class (three classes), not how sure the network is")
        self.discretize.toggled.connect(lambda _on: self._mark_dirty())
        scale_row = QHBoxLayout()
        scale_row.addWidget(self.scale, 1)
        scale_row.addWidget(self.legend, 1)
        scale_row.addWidget(self.discretize)

        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove all your own points (undo brings them back)")
        self.clear_button.clicked.connect(self.clear_own_points)
        self.load_button = QPushButton("Load CSV…")
        self.load_button.setToolTip("Load points from a CSV file of x,y,label lines as your own points")
        self.load_button.clicked.connect(self.load_csv)
        self.save_button = QPushButton("Save CSV…")
        self.save_button.setToolTip("Save the points shown as a CSV file of x,y,label lines")
        self.save_button.clicked.connect(self.save_csv)
        buttons = QHBoxLayout()
        for button in (self.clear_button, self.load_button, self.save_button):
            buttons.addWidget(button)
        buttons.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        layout.addLayout(scale_row)
        layout.addWidget(self.hint)
        layout.addLayout(buttons)
        self._apply_theme()
        self._show_points()
        self._update_texts()
        self._mark_dirty()

    # -- feeding -------------------------------------------------------------------------------------------------
    def set_frame(self, frame: DecisionFrame | None) -> None:
        """The newest frame (None: no run, the plain plane). Only the latest before the next repaint is drawn."""
        self._frame = frame
        self._mark_dirty()

    def set_gan_frame(self, frame: GanPointsFrame | None) -> None:
        """A GAN on points: the newest frame (None: no run). The same mailbox as `set_frame`."""
        self._frame = frame
        self._mark_dirty()

    def set_gan(self, on: bool) -> None:
        """A GAN on points (True) or a network on points: how the points are shown and which frames are drawn."""
        on = bool(on)
        if on == self._gan:
            return
        self._gan = on
        self._frame = None  # a frame of the other kind does not belong here any more
        self._unit = None
        self.discretize.setVisible(not on)
        self.plot.show_generated(None)
        self._show_points()
        self._mark_dirty()

    def gan_mode(self) -> bool:
        """Showing a GAN on points (`set_gan`)."""
        return self._gan

    def show_unit(self, node_id: str | None, index: int = 0) -> None:
        """Show a unit's map from the latest frame in the output's place; None: the output again."""
        self._unit = None if node_id is None else (str(node_id), int(index))
        self._mark_dirty()

    def set_points(self, split: PointsSplit | None) -> None:
        """The dataset's points, training and test (shown unless own points are being drawn)."""
        self._split = split
        self._show_points()
        self._mark_dirty()  # the scale follows the points while no frame has come

    def set_own_points(self, points: Points | None) -> None:
        """The document's own points (shown, all as training points, while editable)."""
        if points is self._own:
            return
        self._own = points
        if self._editable:
            self._show_points()
            self._mark_dirty()

    def set_editable(self, on: bool) -> None:
        """Own points can be drawn (the dataset is "Your own points")."""
        self._editable = bool(on)
        self._stroke = None
        self._show_points()
        self._update_texts()
        self._mark_dirty()

    def attach(self, document) -> None:
        """Follow a document's own points (`points_changed`, `reset`) and push each edit (drawing, Clear, Load
        CSV) on its undo stack as `commands.set_points`; None detaches. `points_edited` is still emitted: whoever
        attaches must not push it a second time."""
        if self._document is not None:
            try:
                self._document.points_changed.disconnect(self._follow_document)
                self._document.reset.disconnect(self._follow_document)
            except (RuntimeError, TypeError):  # already gone
                pass
        self._document = document
        if document is not None:
            document.points_changed.connect(self._follow_document)
            document.reset.connect(self._follow_document)
            self._follow_document()

    def _follow_document(self) -> None:
        self.set_own_points(self._document.graph.points)

    # -- what it shows (tests, accessibility) --------------------------------------------------------------------
    def loss_text(self) -> str:
        return self.loss_label.text()

    def scale_text(self) -> str:
        return self.scale.text() if self.scale.isVisibleTo(self) else self._legend_text

    def title_text(self) -> str:
        return self.title.text()

    def hint_text(self) -> str:
        return self.hint.text()

    def surface_rgb(self) -> np.ndarray | None:
        """uint8 [R, R, 3] of the picture shown (row 0 = the top of the plane); None before a frame."""
        return None if self._surface is None else self._surface.rgb

    def shown_points(self) -> Points:
        """The points the training layer shows now (own points while editable)."""
        return self._own_now() if self._editable else (self._split.train if self._split else Points.empty())

    def plane_to_viewport(self, x: float, y: float) -> QPoint:
        """Where a point of the plane is on `plot.viewport()` (for a click)."""
        return self.plot.plane_to_viewport(x, y)

    # -- repainting ----------------------------------------------------------------------------------------------
    def _mark_dirty(self) -> None:
        self._dirty = True
        if not self._timer.isActive():
            # What is left of REPAINT_MS since the last repaint: a full wait from each new frame merged every
            # other frame at 30 frames a second (19 repaints a second; docs/performance.md, issue 21).
            wait = self._last_repaint + REPAINT_MS / 1000 - time.monotonic()
            self._timer.start(max(0, round(wait * 1000)))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty:
            self._mark_dirty()

    def _repaint(self) -> None:
        if not self._dirty or not self.isVisible():
            return  # a hidden dock repaints when shown (showEvent)
        self._dirty = False
        self._last_repaint = time.monotonic()
        if self._gan:
            self._repaint_gan()
            return
        frame = self._frame if isinstance(self._frame, DecisionFrame) else None
        title = "Output"
        surface = None
        if frame is not None:
            surface = self._unit_picture(frame)
            if surface is None:
                surface = output_surface(frame.output, self.discretize.isChecked())
                title = f"Output · epoch {frame.epoch + 1}"
            else:
                title = f"{self._unit[0]} · unit {self._unit[1] + 1}"
        self.plot.show_surface(None if surface is None else surface.rgb, EXTENT if frame is None else frame.extent)
        self._surface = surface
        self._show_scale(surface)
        self.title.setText(title)
        self.loss_label.setText("" if frame is None else loss_line(frame.train_loss, frame.test_loss))
        self._update_texts()
        self.refreshes += 1

    def _repaint_gan(self) -> None:
        frame = self._frame if isinstance(self._frame, GanPointsFrame) else None
        surface = None if frame is None else gan_surface(frame.surface, frame.gan_loss)
        self.plot.show_surface(None if surface is None else surface.rgb, EXTENT if frame is None else frame.extent)
        self._surface = surface
        if frame is not None and not self._editable:
            self._show_real(frame.real)  # what the discriminator is shown (a seeded choice of a big set)
        self.plot.show_generated(None if frame is None else frame.fake, None if frame is None else frame.gradient)
        self._show_scale(surface)
        self.title.setText("Discriminator and generator" if frame is None else
                           f"Discriminator and generator · epoch {frame.epoch + 1}")
        self.loss_label.setText("" if frame is None else f"Loss D {frame.loss_d:.3f} · G {frame.loss_g:.3f}")
        self._update_texts()
        self.refreshes += 1

    def _show_real(self, xy: np.ndarray) -> None:
        if self._real_shown is not None and np.array_equal(self._real_shown, xy):
            return  # the same points (each frame carries them): no new scatter
        self._real_shown = np.array(xy, np.float32)
        self.plot.show_real_points(self._real_shown)

    def _unit_picture(self, frame: DecisionFrame) -> Surface | None:
        if self._unit is None:
            return None
        maps = frame.units.get(self._unit[0])
        if maps is None or not 0 <= self._unit[1] < len(maps):
            return None
        return unit_surface(maps, self._unit[1])

    def _show_scale(self, surface: Surface | None) -> None:
        if self._gan:  # the discriminator's scale, and what the points and arrows are
            self.scale.setVisible(True)
            self.legend.setVisible(True)
            self.scale.set_scale(REALNESS_LEVELS, REALNESS,
                                 label=REALNESS_LABEL if surface is None else surface.label)
            self._legend_text = "real · generated · where the generator pushes each"
            self.legend.setText(gan_legend_html())
            return
        self.scale.set_scale(self.scale.levels(), DIVERGING)
        if surface is None:  # no frame: say how the points are coloured
            levels, label = scale_for(1 if self._regression_now() else self._classes_now())
        else:
            levels, label = surface.levels, surface.label
        self.scale.setVisible(levels is not None)
        self.legend.setVisible(levels is None)
        if levels is None:
            self._legend_text = label
            self.legend.setText(legend_html(label))
        else:
            self.scale.set_scale(levels, label=label)

    def _update_texts(self) -> None:
        if self._gan:
            lines = [GAN_NO_RUN_HINT] if self._frame is None else []
            lines.append(GAN_DRAW_HINT if self._editable else GAN_NOT_EDITABLE_HINT)
        else:
            lines = [NO_RUN_HINT] if self._frame is None else []
            lines.append(DRAW_HINT if self._editable else NOT_EDITABLE_HINT)
        self.hint.setText("\n".join(lines))
        self.clear_button.setEnabled(self._editable and self._own is not None and len(self._own) > 0)
        self.save_button.setEnabled(self._split is not None or len(self._own_now()) > 0)
        self.plot.viewport().setCursor(Qt.CursorShape.CrossCursor if self._editable else Qt.CursorShape.ArrowCursor)

    # -- points --------------------------------------------------------------------------------------------------
    def _own_now(self) -> Points:
        return self._own if self._own is not None else Points.empty()

    def _regression_now(self) -> bool:
        if self._editable:
            return self._own_now().regression
        return self._split is not None and self._split.regression

    def _classes_now(self) -> int:
        points = self._own_now() if self._editable else None
        if points is not None:
            return points.num_classes
        return self._split.num_classes if self._split is not None else 2

    def _show_points(self) -> None:
        train = self.shown_points()
        test = Points.empty() if self._editable or self._split is None else self._split.test
        regression = self._regression_now()
        self._real_shown = None
        if self._gan:  # all real points, one colour (and no test points: a GAN has none)
            self.plot.show_real_points(train.xy)
            self.plot.show_points(self.plot.test_points, Points.empty(), False)
            self.plot.show_points(self.plot.stroke_points, Points.empty(), False)
            self._update_texts()
            return
        self.plot.show_points(self.plot.train_points, train, regression)
        self.plot.show_points(self.plot.test_points, test, regression)
        self.plot.show_points(self.plot.stroke_points, Points.empty(), regression)
        self._update_texts()

    def _points_to_save(self) -> Points:
        """Own points while they are drawn (or when no dataset is shown), else the dataset's, train and test."""
        if self._editable or self._split is None:
            return self._own_now()
        split = self._split
        return Points(np.concatenate([split.train.xy, split.test.xy]),
                      np.concatenate([split.train.labels, split.test.labels]))

    # -- drawing -------------------------------------------------------------------------------------------------
    def eventFilter(self, watched, event) -> bool:
        if watched is self.plot.viewport():
            kind = event.type()
            # A quick second click arrives as a double click: it is one more point all the same.
            if kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick):
                return self._press(event.position().toPoint(), event.button(), event.modifiers())
            if kind == QEvent.Type.ContextMenu:
                return self._editable  # a right click draws red: no menu
            if kind == QEvent.Type.MouseMove and self._stroke is not None:
                self._spray(event.position().toPoint())
                return True
            if kind == QEvent.Type.MouseButtonRelease and self._stroke is not None:
                self._finish_stroke()
                return True
        return super().eventFilter(watched, event)

    def _press(self, pos: QPoint, button, modifiers) -> bool:
        if not self._editable or self._stroke is not None:
            return False
        if button == Qt.MouseButton.LeftButton:
            label = 2 if modifiers & Qt.KeyboardModifier.ShiftModifier else 0
        elif button == Qt.MouseButton.RightButton:
            label = 1
        else:
            return False
        xy = self.plot.plane_at(pos)
        if xy is None:
            return False
        self._stroke = (label, [xy[None, :]])
        self._show_stroke()
        return True

    def _spray(self, pos: QPoint) -> None:
        spray = self.plot.plane_at(pos, anywhere=True) + self._rng.normal(0.0, SPRAY_SPREAD, (SPRAY_PER_MOVE, 2))
        self._stroke[1].append(np.clip(spray, -EXTENT, EXTENT).astype(np.float32))
        self._show_stroke()

    def _stroke_points(self) -> Points:
        """The stroke's points with labels of the own points' kind (regression: blue -1, red +1, green 0)."""
        label, parts = self._stroke
        xy = np.concatenate(parts)[: max(0, MAX_POINTS - len(self._own_now()))]
        if self._own_now().regression:
            return Points(xy, np.full(len(xy), REGRESSION_VALUES[label], np.float32))
        return Points(xy, np.full(len(xy), label, np.int64))

    def _show_stroke(self) -> None:
        points = self._stroke_points()
        self.plot.show_points(self.plot.stroke_points, points, points.regression)
        if self._gan:  # real points, whichever the button
            self.plot.stroke_points.setBrush(self.plot.real_brush())

    def _finish_stroke(self) -> None:
        added = self._stroke_points()
        label = self._stroke[0]
        self._stroke = None
        self.plot.show_points(self.plot.stroke_points, Points.empty(), False)
        if not len(added):
            return  # MAX_POINTS reached
        own = self._own_now()
        points = Points(np.concatenate([own.xy, added.xy]), np.concatenate([own.labels, added.labels]))
        n = len(added)
        text = f"Add a {CLASS_WORDS[label]} point" if n == 1 else f"Spray {n} {CLASS_WORDS[label]} points"
        self._commit(points, text)

    def clear_own_points(self) -> None:
        if self._editable and len(self._own_now()):
            self._commit(None, "Clear points")

    def _commit(self, points: Points | None, text: str) -> None:
        """Show the edit at once and hand it on: the document (attach) makes it one undo step."""
        self.set_own_points(points)
        self._update_texts()
        self.points_edited.emit(points, text, None)
        if self._document is not None:
            self._document.push(commands.set_points(self._document, points, text))

    # -- files ---------------------------------------------------------------------------------------------------
    def load_csv(self) -> None:
        path, _ = app_dialogs.get_open_file_name(self, "Load points", self._folder, CSV_FILTER)
        if not path:
            return
        self._folder = str(Path(path).parent)
        try:
            points = read_points_csv(path)
        except DatasetError as exc:
            app_dialogs.error(self, "Cannot load the points", str(exc))
            return
        self._commit(points, f"Load points from {Path(path).name}")
        self.own_points_wanted.emit()

    def save_csv(self) -> None:
        points = self._points_to_save()
        if not len(points):
            return
        suggested = str(Path(self._folder) / "points.csv") if self._folder else "points.csv"
        path, _ = app_dialogs.get_save_file_name(self, "Save points", suggested, CSV_FILTER)
        if not path:
            return
        if not Path(path).suffix:
            path += ".csv"
        self._folder = str(Path(path).parent)
        try:
            write_points_csv(points, path)
        except OSError as exc:
            app_dialogs.error(self, "Cannot save the points", f"{path}: {exc.strerror or exc}")

    # -- looks ---------------------------------------------------------------------------------------------------
    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "hint"):  # (not while being made)
            self._apply_theme()

    def _apply_theme(self) -> None:
        theme = chart_theme(self.palette())
        self.plot.apply_theme(theme)
        self.hint.setStyleSheet(f"color: {theme.dim_text.name()}")
        self._mark_dirty()  # the plain plane's grey follows the theme
