"""Each neuron's picture over the input plane, in a strip beside its node in the editor (2-D points networks)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from playground.app.document import Document
from playground.app.editor import commands
from playground.app.editor.scene import GraphScene
from playground.app.editor.unit_maps import UnitStrip
from playground.app.editor.view import GraphView
from playground.core.graph.io import load_graph

R = 32


@pytest.fixture
def editor(qtbot):
    """The mlp preset in a scene and a view of its own, shown offscreen at 100 %."""
    doc = Document()
    scene = GraphScene(doc)
    view = GraphView(scene)
    qtbot.addWidget(view)
    doc.load(load_graph("preset:mlp"), preset="mlp")
    view.resize(700, 500)
    view.show()
    qtbot.waitExposed(view)
    view.reset_zoom()
    return doc, scene, view


def planes(*values: float) -> np.ndarray:
    """float16 [u, R, R]: unit i constant at values[i]."""
    return np.stack([np.full((R, R), v) for v in values]).astype(np.float16)


def ramps(u: int) -> np.ndarray:
    """float16 [u, R, R]: tanh(a x + b y) over the plane, a different direction per unit (TF Playground's look)."""
    y, x = np.mgrid[6:-6:R * 1j, -6:6:R * 1j]
    angles = np.linspace(0, np.pi, u, endpoint=False)[:, None, None]
    return np.tanh(0.4 * (np.cos(angles) * x + np.sin(angles) * y)).astype(np.float16)


def strip_of(scene: GraphScene, node_id: str) -> UnitStrip | None:
    strips = [c for c in scene.nodes[node_id].childItems() if isinstance(c, UnitStrip)]
    assert len(strips) <= 1
    return strips[0] if strips else None


def show(qtbot, scene: GraphScene, units: dict, totals: dict) -> None:
    """Send a frame's maps and wait for the strips to be redrawn."""
    before = scene.unit_map_refreshes
    scene.set_unit_maps(units, totals)
    qtbot.waitUntil(lambda: scene.unit_map_refreshes > before, timeout=2000)


def thumb_on_view(view: GraphView, strip: UnitStrip, index: int) -> QPoint:
    view.ensureVisible(strip, 20, 20)
    QApplication.processEvents()
    return view.mapFromScene(strip.mapToScene(strip.thumb_rect(index).center()))


def reddish(color: QColor) -> bool:
    return color.red() > 2 * max(color.green(), color.blue()) + 40


def bluish(color: QColor) -> bool:
    return color.blue() > 2 * color.red() and color.blue() > color.green() + 40


def pixel(view: GraphView, at: QPoint) -> QColor:
    return view.viewport().grab().toImage().pixelColor(at)


def test_strips_appear_for_the_nodes_in_the_frame_with_a_thumbnail_per_unit_and_the_rest_counted(qtbot, editor):
    _, scene, _ = editor
    show(qtbot, scene, {"dense1": ramps(8), "relu2": ramps(8), "dense3": ramps(2), "dense2": ramps(12)},
         {"dense1": 256, "relu2": 128, "dense3": 2, "dense2": 12})
    dense1, relu2, dense3, dense2 = (strip_of(scene, n) for n in ("dense1", "relu2", "dense3", "dense2"))
    assert len(dense1.images) == 8 and dense1.more == "+248 more"
    assert len(relu2.images) == 8 and relu2.more == "+120 more"
    assert len(dense3.images) == 2 and dense3.more == ""
    assert len(dense2.images) == 8 and dense2.more == "+4 more"  # never more than 8 beside a node
    assert all(strip_of(scene, n) is None for n in ("input", "flatten", "relu1", "dropout1", "output"))


def test_a_strip_sits_beside_its_node_clear_of_its_face_and_moves_with_it(qtbot, editor):
    doc, scene, _ = editor
    show(qtbot, scene, {"dense1": ramps(8)}, {"dense1": 256})
    node, strip = scene.nodes["dense1"], strip_of(scene, "dense1")
    face = node.sceneBoundingRect()
    box = strip.sceneBoundingRect()
    assert box.left() > face.right() and not box.intersects(face)
    assert face.top() <= box.top() and box.bottom() <= face.bottom() + 1  # no taller than the node: wires stay clear
    doc.push(commands.move(doc, {"dense1": (300.0, 500.0)}))
    assert strip.sceneBoundingRect().topLeft() - node.sceneBoundingRect().topLeft() == box.topLeft() - face.topLeft()


def test_a_thumbnail_shows_its_unit_red_above_zero_blue_below(qtbot, editor):
    _, scene, view = editor
    show(qtbot, scene, {"dense1": planes(0.8, -0.8, 0.0)}, {"dense1": 3})
    strip = strip_of(scene, "dense1")
    positive, negative, zero = (pixel(view, thumb_on_view(view, strip, i)) for i in range(3))
    assert reddish(positive) and bluish(negative)
    assert min(zero.red(), zero.green(), zero.blue()) > 200  # zero is the map's white middle


def test_a_nodes_thumbnails_share_one_scale(qtbot, editor):
    _, scene, view = editor
    show(qtbot, scene, {"dense1": planes(1.0, 0.1)}, {"dense1": 2})
    strip = strip_of(scene, "dense1")
    strong, weak = (pixel(view, thumb_on_view(view, strip, i)) for i in range(2))
    assert reddish(strong)  # the largest value: the deep end of the map
    assert weak.green() > 180  # a tenth of it: nearly white, not as red as the largest


def test_a_new_frame_replaces_the_pictures_and_strips_follow_the_nodes_it_names(qtbot, editor):
    _, scene, view = editor
    show(qtbot, scene, {"dense1": planes(1.0), "dense2": ramps(8)}, {"dense1": 1, "dense2": 128})
    strip = strip_of(scene, "dense1")
    assert reddish(pixel(view, thumb_on_view(view, strip, 0)))
    show(qtbot, scene, {"dense1": planes(-1.0, 1.0)}, {"dense1": 2})
    assert strip_of(scene, "dense1") is strip and len(strip.images) == 2
    assert bluish(pixel(view, thumb_on_view(view, strip, 0)))
    assert strip_of(scene, "dense2") is None  # not in the latest frame


def test_frames_that_come_faster_than_the_screen_are_drawn_once_the_latest(qtbot, editor):
    _, scene, view = editor
    before = scene.unit_map_refreshes
    for v in np.linspace(-1, 1, 20):
        scene.set_unit_maps({"dense1": planes(float(v), 1.0)}, {"dense1": 2})
    qtbot.waitUntil(lambda: scene.unit_map_refreshes > before, timeout=2000)
    qtbot.wait(100)
    assert scene.unit_map_refreshes == before + 1
    assert reddish(pixel(view, thumb_on_view(view, strip_of(scene, "dense1"), 0)))  # the last frame's +1


def test_clear_removes_every_strip_and_a_frame_still_on_its_way(qtbot, editor):
    _, scene, _ = editor
    show(qtbot, scene, {"dense1": ramps(8), "dense3": ramps(2)}, {"dense1": 256, "dense3": 2})
    scene.clear_unit_maps()
    assert strip_of(scene, "dense1") is None and strip_of(scene, "dense3") is None
    scene.set_unit_maps({"dense1": ramps(8)}, {"dense1": 256})
    scene.clear_unit_maps()
    qtbot.wait(100)
    assert strip_of(scene, "dense1") is None


def test_hovering_a_thumbnail_names_its_node_and_unit_and_leaving_says_none(qtbot, editor):
    _, scene, view = editor
    show(qtbot, scene, {"dense1": ramps(8)}, {"dense1": 256})
    strip = strip_of(scene, "dense1")
    seen: list[tuple[str, int]] = []
    scene.unit_hovered.connect(lambda node_id, unit: seen.append((node_id, unit)))
    viewport = view.viewport()
    targets = [thumb_on_view(view, strip, i) for i in (1, 6)]
    away = targets[0] + QPoint(0, 120)
    for pos in (away, targets[0], targets[1], away):  # through the window, as a mouse does
        QTest.mouseMove(view.windowHandle(), viewport.mapTo(view, pos))
    assert seen == [("dense1", 1), ("dense1", 6), ("", -1)]
    assert "unit 7 of 256" in strip.toolTip()


def test_an_empty_place_in_the_last_row_and_the_caption_are_off_the_thumbnails(qtbot, editor):
    _, scene, view = editor
    show(qtbot, scene, {"dense1": ramps(5)}, {"dense1": 16})
    strip = strip_of(scene, "dense1")
    seen: list[tuple[str, int]] = []
    scene.unit_hovered.connect(lambda node_id, unit: seen.append((node_id, unit)))
    viewport = view.viewport()
    last = thumb_on_view(view, strip, 4)
    empty = last + (thumb_on_view(view, strip, 3) - thumb_on_view(view, strip, 2))  # right of the 5th, below the 4th
    caption = thumb_on_view(view, strip, 3) + QPoint(40, 14)  # on "+11 more"
    for pos in (last, empty, thumb_on_view(view, strip, 3), caption):
        QTest.mouseMove(view.windowHandle(), viewport.mapTo(view, pos))
    assert strip.more == "+11 more"
    assert seen == [("dense1", 4), ("", -1), ("dense1", 3), ("", -1)]


def test_the_strip_of_a_removed_or_renamed_node_goes_with_it(qtbot, editor):
    doc, scene, view = editor
    show(qtbot, scene, {"dense1": ramps(8), "dense2": ramps(8)}, {"dense1": 256, "dense2": 128})
    seen: list[tuple[str, int]] = []
    scene.unit_hovered.connect(lambda node_id, unit: seen.append((node_id, unit)))
    at = thumb_on_view(view, strip_of(scene, "dense1"), 0)
    QTest.mouseMove(view.windowHandle(), view.viewport().mapTo(view, at))
    assert seen == [("dense1", 0)]
    doc.push(commands.remove(doc, ["dense1"]))
    assert seen[-1] == ("", -1)  # the hovered thumbnail went: nothing is hovered any more
    doc.push(commands.rename(doc, "dense2", "hidden"))
    assert strip_of(scene, "hidden") is None  # until the next frame says what it shows
    view.viewport().grab()  # painting after both changes does not crash
    doc.undo()
    doc.undo()
    show(qtbot, scene, {"dense1": ramps(8), "dense2": ramps(4), "gone": ramps(8)}, {"dense1": 256, "dense2": 128})
    assert len(strip_of(scene, "dense1").images) == 8 and len(strip_of(scene, "dense2").images) == 4


def test_a_new_document_drops_the_strips_and_a_frame_meant_for_the_old_one(qtbot, editor):
    doc, scene, view = editor
    show(qtbot, scene, {"dense1": ramps(8)}, {"dense1": 256})
    scene.set_unit_maps({"dense1": ramps(8)}, {"dense1": 256})  # still waiting for the timer
    before = scene.unit_map_refreshes
    doc.load(load_graph("preset:mlp"), preset="mlp")
    qtbot.wait(100)
    assert scene.unit_map_refreshes == before and strip_of(scene, "dense1") is None
    view.viewport().grab()


def test_a_diverged_network_shows_grey_not_a_crash(qtbot, editor):
    _, scene, view = editor
    maps = planes(np.nan, 1.0, np.inf)
    show(qtbot, scene, {"dense1": maps}, {"dense1": 3})
    strip = strip_of(scene, "dense1")
    nan, one, inf = (pixel(view, thumb_on_view(view, strip, i)) for i in range(3))
    assert abs(nan.red() - nan.blue()) < 20 and 100 < nan.green() < 160
    assert reddish(one) and reddish(inf)
