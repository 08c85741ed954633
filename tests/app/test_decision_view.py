"""The Decision view: the output over the plane (two classes, three, regression, one unit), the points, and
drawing one's own points (clicks, drags, Clear, CSV files), alone and on a real document's undo stack.
Pixels are read back from what the view paints; clicks go through the plot's viewport."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from playground.app.document import Document
from playground.app.viz.colormap import DIVERGING, lut
from playground.app.viz.decision import DRAW_HINT, NO_RUN_HINT, NOT_EDITABLE_HINT, SPRAY_PER_MOVE, DecisionView
from playground.app.viz.decision_paint import class_colours
from playground.core.data.points import OUTPUT_RESOLUTION, UNIT_RESOLUTION, Points, grid, make_points
from playground.core.run.messages import DecisionFrame
from tests.app.helpers import on_screen

R = OUTPUT_RESOLUTION
LEFT, RIGHT = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton
NONE, SHIFT = Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier


def plane(resolution: int = R) -> tuple[np.ndarray, np.ndarray]:
    """x and y of each grid cell [resolution, resolution] (row 0 = the top), as a frame's grids are."""
    g = grid(resolution)
    return g[:, 0].reshape(resolution, resolution), g[:, 1].reshape(resolution, resolution)


def frame(output: np.ndarray, units: dict | None = None, train_loss: float = 0.123,
          test_loss: float | None = 0.145) -> DecisionFrame:
    units = units or {}
    return DecisionFrame(run_id=1, global_step=1200, epoch=2, extent=6.0, output=output.astype(np.float32),
                         units=units, units_total={k: len(v) for k, v in units.items()},
                         train_loss=train_loss, test_loss=test_loss)


def two_classes(p_red: np.ndarray) -> np.ndarray:
    return np.stack([1 - p_red, p_red])


def repainted(qtbot, view: DecisionView, action) -> None:
    """Do `action`, then wait for the view's timer to repaint."""
    before = view.refreshes
    action()
    qtbot.waitUntil(lambda: view.refreshes > before, timeout=3000)


def pixel(view: DecisionView, x: float, y: float) -> tuple[int, int, int]:
    """The colour painted at the plane's (x, y)."""
    QApplication.processEvents()
    image = view.plot.viewport().grab().toImage()
    c = image.pixelColor(view.plane_to_viewport(x, y))
    return c.red(), c.green(), c.blue()


def reddish(rgb) -> bool:
    return rgb[0] > rgb[2] + 80


def bluish(rgb) -> bool:
    return rgb[2] > rgb[0] + 80


@pytest.fixture
def view(qtbot):
    return on_screen(qtbot, DecisionView(), 420, 420)


@pytest.fixture
def edits(view):
    """Every points_edited, as (points, text, merge key)."""
    out = []
    view.points_edited.connect(lambda points, text, key: out.append((points, text, key)))
    return out


# -- the surface -------------------------------------------------------------------------------------------------


def test_two_classes_paint_red_where_red_is_likely_and_blue_where_blue_is(qtbot, view):
    x, y = plane()
    repainted(qtbot, view, lambda: view.set_frame(frame(two_classes(np.where(x > 0, 0.95, 0.05)))))
    assert reddish(pixel(view, 3, 2)) and reddish(pixel(view, 4.5, -4))
    assert bluish(pixel(view, -3, 2)) and bluish(pixel(view, -4.5, -4))
    # Row 0 of a frame is the top of the plane (y = +6), not the bottom.
    repainted(qtbot, view, lambda: view.set_frame(frame(two_classes(np.where(y > 0, 0.95, 0.05)))))
    assert reddish(pixel(view, -2, 4)) and bluish(pixel(view, -2, -4))
    assert view.scale_text() == "p(red) − p(blue): -1 … 1"
    assert view.loss_text() == "Training loss 0.123 · Test loss 0.145"
    assert view.title_text() == "Output · epoch 3"


def test_without_test_points_the_loss_line_says_so(qtbot, view):
    repainted(qtbot, view, lambda: view.set_frame(frame(two_classes(np.full((R, R), 0.5)), train_loss=0.5,
                                                        test_loss=None)))
    assert view.loss_text() == "Training loss 0.500 · no test points"


def test_discretize_shows_only_the_two_sides(qtbot, view):
    x, _ = plane()
    repainted(qtbot, view, lambda: view.set_frame(frame(two_classes((x + 6) / 12))))  # 0 … 1 left to right
    assert len(np.unique(view.surface_rgb().reshape(-1, 3), axis=0)) > 20
    repainted(qtbot, view, lambda: view.discretize.setChecked(True))
    colours = np.unique(view.surface_rgb().reshape(-1, 3), axis=0)
    assert {tuple(c) for c in colours} == {tuple(lut(DIVERGING)[0]), tuple(lut(DIVERGING)[255])}
    assert reddish(pixel(view, 3, 0)) and bluish(pixel(view, -3, 0))
    assert "sign only" in view.scale_text()


def test_three_classes_blend_their_colours_and_fade_where_unsure(qtbot, view):
    x, y = plane()
    p = np.zeros((3, R, R))
    blue, red, green = (x < -2), (x > 2), (np.abs(x) <= 2) & (y > 0)
    for k, where in enumerate((blue, red, green)):
        p[k] = np.where(where, 0.9, 0.05)
    p[:, (np.abs(x) <= 2) & (y <= 0)] = 1 / 3  # a three-way tie
    repainted(qtbot, view, lambda: view.set_frame(frame(p)))
    assert bluish(pixel(view, -4, 0)) and reddish(pixel(view, 4, 0))
    g = pixel(view, 0, 4)
    assert g[1] > g[0] + 40 and g[1] > g[2] + 40
    tie = view.surface_rgb()[-5, R // 2].astype(int)  # near the bottom, in the middle: the tie
    assert np.abs(tie - lut(DIVERGING)[128]).max() <= 2  # the map's white: no opinion
    assert view.scale_text().startswith("blue · red · green")
    repainted(qtbot, view, lambda: view.discretize.setChecked(True))
    colours = {tuple(c) for c in np.unique(view.surface_rgb().reshape(-1, 3), axis=0)}
    assert colours <= {tuple(c) for c in class_colours()} and len(colours) == 3


def test_regression_paints_values_and_points_by_value(qtbot, view):
    x, _ = plane()
    split = make_points("plane", 200, 0.0, 0.5, 0)
    view.set_points(split)
    repainted(qtbot, view, lambda: view.set_frame(frame((x / 6)[None])))
    assert view.scale_text() == "value: -1 … 1"
    assert reddish(view.surface_rgb()[R // 2, -3]) and bluish(view.surface_rgb()[R // 2, 2])
    brushes = view.train_points.data["brush"]
    highest, lowest = int(np.argmax(split.train.labels)), int(np.argmin(split.train.labels))
    top, bottom = brushes[highest].color(), brushes[lowest].color()
    assert top.red() > top.blue() + 80 and bottom.blue() > bottom.red() + 80


def test_before_a_frame_the_points_lie_on_a_plain_plane_with_a_hint(qtbot, view):
    split = make_points("spiral", 100, 0.1, 0.5, 0)
    view.set_points(split)
    QApplication.processEvents()
    assert view.surface_rgb() is None and view.loss_text() == ""
    assert NO_RUN_HINT in view.hint_text()
    plain = pixel(view, 5.5, -5.5)
    assert max(plain) - min(plain) < 12  # grey, no colour of any class
    assert len(view.train_points.data) == len(split.train) and len(view.test_points.data) == len(split.test)
    repainted(qtbot, view, lambda: view.set_frame(frame(two_classes(np.full((R, R), 0.9)))))
    assert NO_RUN_HINT not in view.hint_text()
    repainted(qtbot, view, lambda: view.set_frame(None))
    assert NO_RUN_HINT in view.hint_text() and view.surface_rgb() is None


def test_training_points_wear_class_colours_and_test_points_a_dark_ring(view):
    split = make_points("spiral", 100, 0.0, 0.5, 0)
    view.set_points(split)
    for scatter, points in ((view.train_points, split.train), (view.test_points, split.test)):
        shown = scatter.data
        assert np.allclose(np.stack([shown["x"], shown["y"]], 1), points.xy)
        colours = np.array([b.color().getRgb()[:3] for b in shown["brush"]])
        assert (colours == class_colours()[points.labels]).all()
    ring = view.test_points.opts["pen"]
    assert ring.color().lightness() < 60 and ring.widthF() > view.train_points.opts["pen"].widthF()


def test_frames_are_drawn_latest_first_at_most_once_per_tick(qtbot, view):
    x, _ = plane()
    repainted(qtbot, view, lambda: view.set_frame(frame(two_classes(np.full((R, R), 0.5)))))
    before = view.refreshes

    def many():
        for i in range(50):
            view.set_frame(frame(two_classes(np.where(x > 0, 0.95, 0.05)), train_loss=float(i)))

    repainted(qtbot, view, many)
    qtbot.wait(120)
    assert view.refreshes == before + 1  # fifty frames, one repaint, of the last
    assert view.loss_text().startswith("Training loss 49.000")


def test_show_unit_shows_that_units_map_and_reverts(qtbot, view):
    x, _ = plane(UNIT_RESOLUTION)
    maps = np.stack([np.full_like(x, 4.0), -x / 6, 2 * x / 6]).astype(np.float16)  # |values| up to 4
    repainted(qtbot, view, lambda: view.set_frame(frame(two_classes(np.full((R, R), 0.9)), {"dense1": maps})))
    repainted(qtbot, view, lambda: view.show_unit("dense1", 2))
    assert view.title_text() == "dense1 · unit 3"
    assert view.scale_text() == "unit output: -4 … 4"  # symmetric over all of dense1's maps
    assert view.surface_rgb().shape == (UNIT_RESOLUTION, UNIT_RESOLUTION, 3)
    assert reddish(pixel(view, 5, 0)) and bluish(pixel(view, -5, 0))
    repainted(qtbot, view, lambda: view.show_unit(None))
    assert view.title_text().startswith("Output") and view.scale_text().startswith("p(red) − p(blue)")
    assert view.surface_rgb().shape == (R, R, 3)
    repainted(qtbot, view, lambda: view.show_unit("no-such-node", 0))
    assert view.surface_rgb().shape == (R, R, 3)  # nothing to show of it: the output stays


# -- drawing one's own points -------------------------------------------------------------------------------------


def click(view: DecisionView, x: float, y: float, button=LEFT, modifiers=NONE) -> QPoint:
    pos = view.plane_to_viewport(x, y)
    QTest.mouseClick(view.plot.viewport(), button, modifiers, pos)
    return pos


def drag(view: DecisionView, start: tuple[float, float], end: tuple[float, float], steps: int = 6,
         button=LEFT) -> None:
    viewport = view.plot.viewport()
    a, b = view.plane_to_viewport(*start), view.plane_to_viewport(*end)
    QTest.mousePress(viewport, button, NONE, a)
    for i in range(1, steps + 1):
        QTest.mouseMove(viewport, a + (b - a) * i / steps)
    QTest.mouseRelease(viewport, button, NONE, b)


def test_clicks_add_blue_red_and_green_points_where_clicked(view, edits):
    view.set_editable(True)
    assert DRAW_HINT in view.hint_text()
    QApplication.processEvents()
    click(view, 2, 3)
    click(view, -4, 1, RIGHT)
    click(view, 1.5, -5, LEFT, SHIFT)
    assert len(edits) == 3
    points = edits[-1][0]
    assert points.labels.tolist() == [0, 1, 2]
    assert np.allclose(points.xy, [[2, 3], [-4, 1], [1.5, -5]], atol=0.1)  # a pixel is about 0.04 wide
    assert [t for _, t, _ in edits] == ["Add a blue point", "Add a red point", "Add a green point"]
    assert len(view.shown_points()) == 3


def test_a_drag_sprays_points_along_it_as_one_edit(view, edits):
    view.set_editable(True)
    QApplication.processEvents()
    drag(view, (-3, -3), (3, 3), steps=6)
    assert len(edits) == 1
    points = edits[0][0]
    assert len(points) == 1 + 6 * SPRAY_PER_MOVE
    assert (points.labels == 0).all()
    assert (np.abs(points.xy) <= 6).all()
    assert (np.abs(points.xy[:, 0] - points.xy[:, 1]) < 2.0).all()  # near the line y = x
    assert edits[0][1] == f"Spray {len(points)} blue points"


def test_a_spray_past_the_edge_stays_on_the_plane(view, edits):
    view.set_editable(True)
    QApplication.processEvents()
    drag(view, (5.5, 0), (7.5, 0), steps=4, button=RIGHT)  # the last moves are past the plane's right edge
    points = edits[0][0]
    assert (points.labels == 1).all() and (np.abs(points.xy) <= 6).all()


def test_drawing_on_a_document_is_one_undo_step_per_stroke(qtbot, view):
    doc = Document()
    view.attach(doc)
    view.set_editable(True)
    QApplication.processEvents()
    click(view, 1, 1)
    drag(view, (-3, 2), (3, 2), steps=4, button=RIGHT)
    assert len(doc.graph.points) == 2 + 4 * SPRAY_PER_MOVE
    assert doc.undo_stack.count() == 2
    doc.undo()
    assert len(doc.graph.points) == 1 and len(view.shown_points()) == 1
    assert np.allclose(view.shown_points().xy, [[1, 1]], atol=0.1)
    doc.redo()
    view.clear_button.click()
    assert doc.graph.points is None and len(view.shown_points()) == 0
    doc.undo()  # Clear is one step too
    assert len(doc.graph.points) == 2 + 4 * SPRAY_PER_MOVE == len(view.shown_points())
    # The document's own edits (another view, a file opened) show here too.
    with qtbot.waitSignal(doc.points_changed):
        doc.set_points(Points(np.array([[0.5, 0.5]], np.float32), np.array([2])))
    assert view.shown_points().labels.tolist() == [2]


def test_clear_removes_all_own_points(view, edits):
    own = Points(np.array([[1, 1], [2, 2]], np.float32), np.array([0, 1]))
    view.set_own_points(own)
    assert not view.clear_button.isEnabled()  # not while the dataset is a generated one
    view.set_editable(True)
    assert view.clear_button.isEnabled()
    view.clear_button.click()
    assert edits == [(None, "Clear points", None)]
    assert len(view.shown_points()) == 0 and not view.clear_button.isEnabled()


def test_regression_own_points_get_values_not_classes(view, edits):
    view.set_own_points(Points(np.array([[0, 0]], np.float32), np.array([0.25], np.float32)))
    view.set_editable(True)
    QApplication.processEvents()
    click(view, 2, 2)
    click(view, -2, 2, RIGHT)
    points = edits[-1][0]
    assert points.regression and points.labels.tolist() == [0.25, -1.0, 1.0]


def test_without_own_points_chosen_clicks_add_nothing(view, edits):
    view.set_points(make_points("circle", 50, 0.0, 0.5, 0))
    QApplication.processEvents()
    assert NOT_EDITABLE_HINT in view.hint_text()
    click(view, 1, 1)
    click(view, -1, 1, RIGHT)
    drag(view, (-3, -3), (3, 3))
    assert edits == [] and len(view.shown_points()) == 25


# -- CSV files ----------------------------------------------------------------------------------------------------


def test_a_malformed_csv_file_is_refused_naming_the_line(tmp_path, view, edits, dialogs):
    own = Points(np.array([[1, 1]], np.float32), np.array([0]))
    view.set_own_points(own)
    view.set_editable(True)
    path = tmp_path / "bad.csv"
    path.write_text("x,y,label\n1,2,0\n3,abc,1\n", encoding="utf-8")
    dialogs.choose_file(str(path))
    wanted = []
    view.own_points_wanted.connect(lambda: wanted.append(True))
    view.load_button.click()
    errors = dialogs.texts("critical")
    assert len(errors) == 1 and "line 3" in errors[0] and "abc" in errors[0]
    assert edits == [] and wanted == [] and view.shown_points() is own


def test_loading_a_csv_file_makes_its_points_ones_own(tmp_path, view, edits, dialogs):
    path = tmp_path / "mine.csv"
    path.write_text("x,y,label\n1,2,0\n-3,4,1\n0,0,2\n", encoding="utf-8")
    dialogs.choose_file(str(path))
    wanted = []
    view.own_points_wanted.connect(lambda: wanted.append(True))
    view.load_button.click()  # allowed with a generated dataset too: it asks to switch to own points
    assert wanted == [True] and len(edits) == 1
    points, text, _ = edits[0]
    assert points.labels.tolist() == [0, 1, 2] and np.allclose(points.xy, [[1, 2], [-3, 4], [0, 0]])
    assert text == "Load points from mine.csv"


def test_saving_a_csv_file_writes_the_points_shown(tmp_path, view, dialogs):
    from playground.core.data.points import read_points_csv

    own = Points(np.array([[1, 2], [-3.5, 4]], np.float32), np.array([0, 2]))
    view.set_own_points(own)
    view.set_editable(True)
    dialogs.choose_file(str(tmp_path / "saved"))
    view.save_button.click()
    back = read_points_csv(tmp_path / "saved.csv")
    assert np.allclose(back.xy, own.xy) and back.labels.tolist() == [0, 2]


def test_a_quick_second_click_is_one_more_point(view, edits):
    view.set_editable(True)
    QApplication.processEvents()
    viewport, pos = view.plot.viewport(), view.plane_to_viewport(-1, -2)
    # What a window gets from a quick double click: press, release, double click (no second press), release.
    QTest.mouseClick(viewport, RIGHT, NONE, pos)
    QTest.mouseDClick(viewport, RIGHT, NONE, pos)
    QTest.mouseRelease(viewport, RIGHT, NONE, pos)
    assert len(view.shown_points()) == 2 and view.shown_points().labels.tolist() == [1, 1]
