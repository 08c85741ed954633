"""A GAN on 2-D points in the Decision view (GAN Lab's lesson): the discriminator's verdict over the plane, the real
and generated points and the generator's arrows, read back from the pixels painted; and in the window: the preset
brings the Decision dock forward with the real points, and a run's frames reach it."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QTabBar

from playground.app.viz.decision import GAN_DRAW_HINT, GAN_NO_RUN_HINT, DecisionView
from playground.app.viz.decision_paint import arrow_segments, gan_colours
from playground.core.data.points import OUTPUT_RESOLUTION, OWN_POINTS, Points, grid, make_points
from playground.core.run.messages import DecisionFrame, GanPointsFrame, RunFinished, RunStarted
from playground.core.train import TrainConfig

from .helpers import collect, on_screen

R = OUTPUT_RESOLUTION
RUN_TIMEOUT = 120_000


def plane_x() -> np.ndarray:
    return grid(R)[:, 0].reshape(R, R)


def gan_frame(real, fake, gradient, surface=None, gan_loss="non_saturating") -> GanPointsFrame:
    surface = np.where(plane_x() > 0, 1.0, 0.0) if surface is None else surface  # real-looking right of x = 0
    return GanPointsFrame(run_id=1, global_step=3000, epoch=2, extent=6.0, gan_loss=gan_loss,
                          real=np.asarray(real, np.float32), fake=np.asarray(fake, np.float32),
                          gradient=np.asarray(gradient, np.float32), surface=np.asarray(surface, np.float32),
                          loss_d=1.234, loss_g=0.567)


def repainted(qtbot, view: DecisionView, action) -> None:
    before = view.refreshes
    action()
    qtbot.waitUntil(lambda: view.refreshes > before, timeout=3000)


def pixel(view: DecisionView, x: float, y: float) -> np.ndarray:
    QApplication.processEvents()
    image = view.plot.viewport().grab().toImage()
    c = image.pixelColor(view.plane_to_viewport(x, y))
    return np.array([c.red(), c.green(), c.blue()], int)


def darkest(view: DecisionView, x: float, y: float, radius: int = 1) -> int:
    """The least bright (r + g + b) of the pixels around the plane's (x, y): a thin line's, if one passes there."""
    QApplication.processEvents()
    image = view.plot.viewport().grab().toImage()
    at = view.plane_to_viewport(x, y)
    return min(sum(image.pixelColor(at.x() + dx, at.y() + dy).getRgb()[:3])
               for dx in range(-radius, radius + 1) for dy in range(-radius, radius + 1))


def greenish(rgb) -> bool:
    return rgb[1] > rgb[0] + 40 and rgb[1] > rgb[2] + 40


def violet(rgb) -> bool:
    return rgb[0] > rgb[1] + 40 and rgb[2] > rgb[1] + 40


def near(rgb, colour, tolerance: int = 40) -> bool:
    return bool(np.abs(np.asarray(rgb) - np.asarray(colour, int)).max() <= tolerance)


@pytest.fixture
def view(qtbot):
    view = on_screen(qtbot, DecisionView(), 420, 480)
    view.set_gan(True)
    return view


def test_the_discriminators_verdict_real_and_generated_points_and_arrows_are_painted(qtbot, view):
    real_colour, fake_colour = gan_colours()
    real = np.repeat([[3.0, 3.0], [4.0, -3.0]], 20, axis=0)
    fake = [[-3.0, 3.0], [-4.0, -3.0]]
    gradient = [[1.0, 0.0], [0.0, 1.0]]  # right, and up
    repainted(qtbot, view, lambda: view.set_gan_frame(gan_frame(real, fake, gradient)))
    # The verdict: green where the discriminator finds points real, violet where it finds them generated.
    assert greenish(pixel(view, 4.5, 1.0)) and greenish(pixel(view, 1.5, -5.0))
    assert violet(pixel(view, -1.5, 0.5)) and violet(pixel(view, -5.0, 5.0))
    # The points, each in its colour, where they are.
    assert near(pixel(view, 3.0, 3.0), real_colour) and near(pixel(view, 4.0, -3.0), real_colour)
    assert near(pixel(view, -3.0, 3.0), fake_colour) and near(pixel(view, -4.0, -3.0), fake_colour)
    # Each generated point's arrow: dark along its gradient, not beside it.
    for (x, y), (dx, dy) in zip(fake, gradient, strict=True):
        along = darkest(view, x + 0.6 * dx, y + 0.6 * dy)
        beside = darkest(view, x + 0.6 * dx + 0.6 * dy, y + 0.6 * dy + 0.6 * dx)
        assert along < beside - 200, (along, beside)
    assert view.title_text() == "Discriminator and generator · epoch 3"
    assert view.loss_text() == "Loss D 1.234 · G 0.567"
    assert view.scale_text() == "D(x): how real it looks: 0 … 1"
    assert "generated" in view.legend.text() and view.legend.isVisible()
    assert not view.discretize.isVisible()
    # A new frame moves the generated points; least squares says the score, not a probability.
    moved = gan_frame(real, [[-3.0, -4.5]], [[0.0, 1.0]], gan_loss="least_squares")
    repainted(qtbot, view, lambda: view.set_gan_frame(moved))
    assert not near(pixel(view, -3.0, 3.0), fake_colour) and near(pixel(view, -3.0, -4.5), fake_colour)
    assert view.scale_text() == "D(x) score: 1 real, 0 generated: 0 … 1"


def test_arrows_are_scaled_to_the_frame_and_cut_at_the_longest(qtbot):
    start = np.zeros((10, 2))
    vector = np.stack([np.geomspace(1e-3, 1e3, 10), np.zeros(10)], axis=1)
    segments = arrow_segments(start, vector, longest=1.0).reshape(10, 6, 2)
    tips = segments[:, 1]
    assert np.allclose(tips[:, 1], 0) and np.all(np.diff(tips[:, 0]) >= 0) and tips[:, 0].max() == 1.0
    assert np.allclose(segments[:, 2], tips) and np.allclose(segments[:, 4], tips)  # the heads' strokes
    assert np.all(segments[:, 3, 0] <= tips[:, 0]) and np.all(segments[:, 5, 0] <= tips[:, 0])  # point back
    assert np.allclose(arrow_segments(np.ones((3, 2)), np.zeros((3, 2))), 1.0)  # nothing to push: no length
    assert arrow_segments(np.zeros((0, 2)), np.zeros((0, 2))).shape == (0, 2)


def test_before_a_run_the_real_points_are_shown_on_a_plain_plane_and_back_to_a_classifier(qtbot, view):
    assert len(make_points("moons", 200, 0.0, 0.5, 0, gan=True).train) == 200  # every point is real: none held out
    own = Points(np.array([[-4, 4], [0, 0], [4, -4]], np.float32), np.array([0, 1, 2]))
    split = make_points(OWN_POINTS, own=own, gan=True)
    repainted(qtbot, view, lambda: view.set_points(split))
    assert len(view.shown_points()) == 3
    assert GAN_NO_RUN_HINT in view.hint_text()
    for x, y in own.xy:  # whatever their class, all real
        assert near(pixel(view, x, y), gan_colours()[0])
    view.set_editable(True)
    assert GAN_DRAW_HINT in view.hint_text()
    view.set_editable(False)
    repainted(qtbot, view, lambda: view.set_gan_frame(gan_frame(own.xy, [[-3, 3]], [[1, 0]])))
    # A network on points again: the GAN's frame and generated points go, DecisionFrames are drawn as before.
    repainted(qtbot, view, lambda: view.set_gan(False))
    assert not near(pixel(view, -3.0, 3.0), gan_colours()[1])
    assert view.discretize.isVisible() and view.title_text() == "Output"
    p_red = np.where(plane_x() > 0, 0.95, 0.05)
    decision = DecisionFrame(run_id=1, global_step=10, epoch=0, extent=6.0,
                             output=np.stack([1 - p_red, p_red]).astype(np.float32), units={}, units_total={},
                             train_loss=0.1, test_loss=None)
    repainted(qtbot, view, lambda: view.set_frame(decision))
    assert view.scale_text() == "p(red) − p(blue): -1 … 1"
    red = pixel(view, 4.5, -5.0)
    assert red[0] > red[2] + 80


# -- in the window ---------------------------------------------------------------------------------


def in_front(window) -> str:
    """The title of the dock in front among Draw, Samples and Decision (as their tab bar shows it)."""
    bar = next(b for b in window.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly)
               if b.isVisible() and "Decision" in [b.tabText(i) for i in range(b.count())])
    return bar.tabText(bar.currentIndex())


def open_preset(window, name: str) -> None:
    action = next(a for a in window.preset_menu.actions() if a.data() == name)
    action.trigger()
    window.workbench.shapes.run_now()


def test_the_gan_lab_preset_trains_in_the_decision_view(qtbot, window, dialogs):
    view, points = window.view_docks["decision"].widget(), window.points
    open_preset(window, "gan-points")
    task = window.workbench.task
    assert task.task == "generation" and task.points_gan
    qtbot.waitUntil(lambda: in_front(window) == "Decision", timeout=3000)  # brought forward, not Samples
    assert view.gan_mode() and len(view.shown_points()) == 500  # moons' 500 points, all of them real
    assert window.workbench.document.graph.input_dataset() == "moons"
    # The Training panel: the GAN's settings and the points' (no test share, no judge: neither applies).
    panel = window.training.panel
    shown = {name for name, field in panel.fields.items() if field.container.isVisibleTo(panel)}
    assert {"gan_loss", "gan_lr_g", "points", "points_noise", "points_seed", "dataset"} <= shown
    assert not shown & {"points_test_share", "gan_judge", "optimizer", "augment"}
    assert "spiral" in panel.data_group.choices() and "mnist" not in panel.data_group.choices()
    panel.select_dataset("gaussians")  # GAN Lab's other sets, from the panel: the view shows what a run would use
    _, count, noise, _, seed = panel.points_settings()
    gaussians = make_points("gaussians", count, noise, 0.5, seed, gan=True).train.xy
    assert np.array_equal(view.shown_points().xy, gaussians)
    panel.select_dataset("graph")
    assert len(view.shown_points()) == 500 and not np.array_equal(view.shown_points().xy[:len(gaussians)], gaussians)

    started, frames = collect(window, RunStarted), collect(window, GanPointsFrame)
    finished = collect(window, RunFinished)
    window.training.panel.set_config(TrainConfig(epochs=1, batch_size=16, device="cpu"))
    window.training.panel.start_button.click()
    qtbot.waitUntil(lambda: any(f.global_step > 0 for f in frames), timeout=RUN_TIMEOUT)
    qtbot.waitUntil(lambda: view.title_text().startswith("Discriminator and generator · epoch"), timeout=5000)
    assert started[0].task == "generation" and points.frames >= 2
    assert view.loss_text().startswith("Loss D ")
    charts = window.training.gan_charts  # the GAN's charts, without the judge's (no judge sees points)
    assert not charts.judge_charts_shown() and "generated points" in charts.verdict_text()
    window.acts.stop_training.trigger()
    qtbot.waitUntil(lambda: bool(finished), timeout=RUN_TIMEOUT)
    assert finished[0].ok, finished[0]

    # An image GAN brings Samples forward again, and the Decision view leaves its GAN mode.
    open_preset(window, "mlp-gan-mnist")
    qtbot.waitUntil(lambda: in_front(window) == "Samples", timeout=3000)
    assert not task.plane and not view.gan_mode()
    open_preset(window, "points-tfp")  # a network on points: the Decision view, as a classifier's
    qtbot.waitUntil(lambda: in_front(window) == "Decision", timeout=3000)
    assert task.task == "points" and not view.gan_mode()
