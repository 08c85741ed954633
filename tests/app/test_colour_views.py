"""Colour (RGB) test images in the Predictions and Confusion views, and a colour network in the Draw dock
(issue 22)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from playground.app.draw import DigitPanel
from playground.app.predictor import Predictor
from playground.app.viz.confusion import ConfusionView
from playground.app.viz.predictions import PredictionsView, make_examples
from tests.app.helpers import on_screen

CLASSES = ("circle", "square", "triangle")
COLOURS = np.array([(230, 60, 40), (40, 200, 60), (50, 80, 240)], np.uint8)


def colour_split(n=30, side=32):
    """Each image a flat colour of its class (red, green, blue), channels last as RunStarted.test_images."""
    labels = np.arange(n, dtype=np.int64) % 3
    images = np.broadcast_to(COLOURS[labels][:, None, None, :], (n, side, side, 3)).copy()
    predictions = labels.copy()
    predictions[:3] = (labels[:3] + 1) % 3
    confidences = np.linspace(0.4, 0.99, n).astype(np.float32)
    return images, labels, predictions, confidences


def test_a_colour_thumbnail_keeps_its_colour():
    images, labels, predictions, confidences = colour_split()
    examples = make_examples(images, labels, predictions, confidences, CLASSES, None)
    for i in range(3):
        c = examples.thumbnail(i).pixelColor(16, 16)
        assert (c.red(), c.green(), c.blue()) == tuple(COLOURS[labels[i]])
    # channels first, as the datasets store them, is taken too
    first = make_examples(images.transpose(0, 3, 1, 2), labels, predictions, confidences, CLASSES, None)
    c = first.thumbnail(1).pixelColor(3, 3)
    assert (c.red(), c.green(), c.blue()) == tuple(COLOURS[1])


def test_the_gallery_paints_colour_thumbnails_with_class_names(qtbot):
    images, labels, predictions, confidences = colour_split()
    view = on_screen(qtbot, PredictionsView(), 900, 600)
    view.set_results(images, labels, predictions, confidences, CLASSES, note="run 1, epoch 1")
    QApplication.processEvents()
    shown = view.shown_indices()
    rect = view.item_rect(0)
    grab = view.grid.viewport().grab().toImage()
    c = grab.pixelColor(rect.center().x(), rect.top() + 30)
    assert (c.red(), c.green(), c.blue()) == tuple(COLOURS[labels[shown[0]]])
    assert view.model.examples.caption(0).startswith("circle → square")


def test_the_confusion_view_takes_colour_images(qtbot):
    images, labels, predictions, confidences = colour_split()
    counts = np.zeros((3, 3), np.int64)
    np.add.at(counts, (labels, predictions), 1)
    view = on_screen(qtbot, ConfusionView(), 620, 820)
    view.set_results(counts, CLASSES, images, labels, predictions, confidences, note="run 1")
    view.select_cell(0, 1)
    QApplication.processEvents()
    assert view.shown_examples() == [0]
    c = view.examples.model.examples.thumbnail(0).pixelColor(5, 5)
    assert (c.red(), c.green(), c.blue()) == tuple(COLOURS[0])


@pytest.fixture
def panel(qtbot):
    predictor = Predictor(in_process=True)
    panel = on_screen(qtbot, DigitPanel(predictor), 720, 460)
    yield panel
    predictor.shutdown()


def test_a_colour_network_draw_dock_says_drawing_is_for_digits(qtbot, panel):
    images, labels, *_ = colour_split()
    panel.set_test_set(images, labels)
    assert not panel.random_button.isEnabled()
    assert "colour" in panel.random_button.toolTip()
    panel.set_colour_mode("3×32×32")
    assert panel.gan_hint.isVisible()
    assert panel.gan_hint.text().startswith("Drawing is for digit networks")
    assert "3×32×32" in panel.gan_hint.text()
    assert not panel.canvas.isEnabled()
    panel.show_image(images[0], "test #0 (true: circle)")  # a Predictions click: no crash, says why
    assert "colour image" in panel.caption.text()
    assert panel.canvas.is_empty()
    panel.set_colour_mode(None)
    assert panel.canvas.isEnabled() and not panel.gan_hint.isVisible()


def test_the_weights_view_shows_a_colour_folder_networks_inputs_in_colour(qtbot):
    import torch

    from playground.app.viz.weights import WeightsView
    from playground.commands.common import fit_graph_to_folder
    from playground.core.build import build_module
    from playground.core.graph import load_graph

    class Fake:
        sample_shape, num_classes = (3, 32, 32), 3

    for preset in ("mnist-cnn", "mlp"):
        view = on_screen(qtbot, WeightsView(), 900, 700)
        graph = fit_graph_to_folder(load_graph(f"preset:{preset}"), Fake)
        state = build_module(graph).state_dict()
        first = next(k for k, v in state.items() if k.endswith("weight") and v.dim() in (2, 4))
        state[first] = torch.zeros_like(state[first])
        state[first].view(state[first].shape[0], 3, -1)[0, 0] = 1.0  # unit 0 looks at red only
        view.set_weights(graph, state)
        qtbot.waitUntil(lambda v=view: v.image() is not None, timeout=5000)
        view.set_current_layer(first.split(".")[0])
        view.as_images.setChecked(True)  # a dense layer reading the image: its units as colour images
        QApplication.processEvents()
        assert view.levels() is None, preset  # colour: no single scale
        tile = view.tiles()[0]
        c = view.image().pixelColor(tile.center())
        assert (c.red(), c.green(), c.blue()) == (255, 127, 127), preset


def test_a_folder_runs_weights_reach_the_predictor_with_the_folders_normalization(qtbot, settings, monkeypatch):
    """The window hands the inference process the folder's own scaling (a run's weights carry it), not MNIST's."""
    from playground.core.graph.io import load_graph
    from playground.core.run.messages import WeightsPublished

    from .conftest import make_window

    window = make_window(qtbot, settings)
    asked = []
    monkeypatch.setattr(window.training.predictor, "set_model", lambda *args: asked.append(args))
    graph = load_graph("preset:mlp")
    normalization = {"mean": 0.4, "std": 0.2}
    window.training.in_use.use(WeightsPublished(run_id=1, global_step=5, graph=graph, state_dict={}, dataset="folder",
                                                classes=tuple("0123456789"), config={"normalization": normalization}),
                               note="live")
    assert asked and asked[-1][-1] == {"normalization": normalization}
    window.training.in_use.use(WeightsPublished(run_id=1, global_step=6, graph=graph, state_dict={}, dataset="mnist",
                                                classes=tuple("0123456789"), config={}), note="live")
    assert asked[-1][-1] is None  # digits: MNIST's, as before
