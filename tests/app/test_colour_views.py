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


def colour_network(shape=(3, 32, 32), classes=3):
    from playground.commands.common import fit_graph_to_folder
    from playground.core.graph import load_graph

    class Fake:
        sample_shape, num_classes = tuple(shape), classes

    return fit_graph_to_folder(load_graph("preset:mnist-cnn"), Fake)


def test_the_predictor_looks_inside_a_test_image_of_a_colour_network(qtbot):
    """`look_at`: a test image of any shape the network takes, looked inside instead of the drawing; a drawing
    left from a digit network, or a new one the colour network refuses, does not hold it up."""
    import time

    from playground.core.graph import load_graph

    predictor = Predictor(in_process=True)
    insights, failures, predictions = [], [], []
    predictor.insight_ready.connect(insights.append)
    predictor.failed.connect(failures.append)
    predictor.predicted.connect(predictions.append)
    try:
        predictor.set_model(load_graph("preset:mnist-cnn"), None, "mnist", 1)
        digit = np.zeros((28, 28), np.uint8)
        digit[5:23, 12:16] = 255
        predictor.request(digit, 1, time.perf_counter())
        qtbot.waitUntil(lambda: bool(predictions), timeout=10_000)
        images = colour_split()[0]
        predictor.set_model(colour_network(), None, "folder", 2, {"normalization": {"mean": 0.4, "std": 0.3}})
        predictor.want_insight(True)
        predictor.look_at(images[4], 4)
        qtbot.waitUntil(lambda: any(i.test_index == 4 for i in insights), timeout=10_000)
        insight = next(i for i in insights if i.test_index == 4)
        assert insight.image.shape == (32, 32, 3) and np.array_equal(insight.image, images[4])
        assert insight.saliency.shape == (32, 32) and insight.probabilities.shape == (3,)
        assert insight.layers[0].values.shape == (3, 32, 32) and insight.weights_version == 2
        assert not failures  # the old drawing was not sent to the colour network
        # A new drawing is refused in words; the test image is still looked at, channels first as well.
        stroke = np.zeros((200, 200), np.uint8)
        stroke[40:160, 90:110] = 255
        predictor.request_drawing(stroke, 2, time.perf_counter())
        qtbot.waitUntil(lambda: bool(failures), timeout=10_000)
        assert "Drawing is for digit networks" in failures[-1]
        predictor.look_at(images[7].transpose(2, 0, 1), 7)
        qtbot.waitUntil(lambda: any(i.test_index == 7 for i in insights), timeout=10_000)
        # Each new weights look again.
        predictor.set_model(colour_network(), None, "folder", 3)
        qtbot.waitUntil(lambda: insights[-1].weights_version == 3, timeout=10_000)
        assert insights[-1].test_index == 7
    finally:
        predictor.shutdown()


def test_a_colour_networks_activations_and_saliency_look_at_a_test_image(qtbot, settings):
    """In the window: the run's first test image until a click in Predictions chooses another; in colour, with a
    caption saying which; and on with the same weights after the run (an evaluation of loaded weights)."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from playground.app.predictor import TestSetResults
    from playground.app.viz.activations import COLOUR_INPUT
    from playground.core.build import build_module
    from playground.core.run.messages import EpochEnded, RunStarted, WeightsPublished

    from .conftest import make_window

    window = make_window(qtbot, settings)
    views, docks = window.insight, window.view_docks
    for i, name in enumerate(("activations", "saliency", "predictions")):
        docks[name].setFloating(True)
        docks[name].resize(620, 520)
        docks[name].move(40 * i, 40 * i)
        docks[name].show()
    QApplication.processEvents()
    images, labels, predictions, confidences = colour_split()
    graph = colour_network()
    state = build_module(graph, "cpu", seed=0).state_dict()
    views.run_started(RunStarted(run_id=7, name="Run 7", dataset="folder", dataset_source="shapes", classes=CLASSES,
                                 device="cpu", device_name="CPU", epochs=1, first_epoch=0, steps_per_epoch=1,
                                 total_steps=1, batch_size=8, test_images=images, test_labels=labels))
    window.training.in_use.use(WeightsPublished(run_id=7, global_step=1, graph=graph, state_dict=state,
                                                dataset="folder", classes=CLASSES,
                                                config={"normalization": {"mean": 0.4, "std": 0.3}}),
                               note="live: run 7, step 1")
    activations, saliency = views.activations, views.saliency
    assert "NOT_FOR_COLOUR" not in dir(views)
    qtbot.waitUntil(lambda: saliency.caption() == "test #0 (true: circle)", timeout=30_000)
    qtbot.waitUntil(lambda: activations.note().startswith("test #0 (true: circle) · live: run 7"), timeout=10_000)
    assert not activations.empty_label.isVisible() and not saliency.empty_label.isVisible()
    section = activations.section(activations.section_ids()[0])
    assert section.layer().kind == "input" and section.axes.text() == COLOUR_INPUT
    c = section.image().pixelColor(5, 5)
    assert (c.red(), c.green(), c.blue()) == tuple(COLOURS[0])  # the picture, in colour
    assert not section.scale.isVisibleTo(section)
    picture = saliency.images()[0]
    c = picture.pixelColor(picture.width() // 2, picture.height() // 2)
    assert (c.red(), c.green(), c.blue()) == tuple(COLOURS[0])
    assert not window.training.digits.canvas.isEnabled()  # the Draw dock stays a digit network's
    # A click on another test image in Predictions: both views look at it.
    views.epoch_ended(EpochEnded(run_id=7, epoch=1, global_step=1, train_loss=1.0, train_accuracy=0.5, val_loss=1.0,
                                 val_accuracy=0.5, lr=0.01, samples_per_second=10.0,
                                 confusion=np.eye(3, dtype=int).tolist(), predictions=predictions,
                                 confidences=confidences))
    gallery = views.predictions
    qtbot.waitUntil(lambda: len(gallery.shown_indices()) == len(labels), timeout=10_000)
    index = gallery.shown_indices()[1]
    QTest.mouseClick(gallery.grid.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     gallery.item_rect(1).center())
    caption = f"test #{index} (true: {CLASSES[labels[index]]})"
    qtbot.waitUntil(lambda: saliency.caption() == caption, timeout=10_000)
    qtbot.waitUntil(lambda: activations.note().startswith(caption), timeout=10_000)
    assert np.array_equal(activations.insight().image, images[index])
    c = activations.section(activations.section_ids()[0]).image().pixelColor(5, 5)
    assert (c.red(), c.green(), c.blue()) == tuple(COLOURS[labels[index]])
    # After the run: weights evaluated on the same test split keep the chosen image and answer clicks.
    views._on_evaluated(TestSetResults(images, labels, predictions, confidences, 9), CLASSES, "loaded")
    assert saliency.caption() == caption
    views._put_on_canvas(2)
    qtbot.waitUntil(lambda: saliency.caption() == "test #2 (true: triangle)", timeout=10_000)
    # Back to a digit network: the views wait for a drawing again.
    from playground.core.graph import load_graph

    digits_graph = load_graph("preset:mnist-cnn")
    window.training.in_use.use(WeightsPublished(run_id=8, global_step=1, graph=digits_graph,
                                                state_dict=build_module(digits_graph, "cpu").state_dict(),
                                                dataset="mnist", classes=tuple("0123456789")), note="live: run 8")
    assert saliency.caption() == "" and "Draw a digit" in activations.empty_label.text()
    assert window.training.digits.canvas.isEnabled()


def test_a_gray_network_of_another_size_gets_no_drawings_and_says_why(qtbot, settings):
    """A gray 40×40 network cannot take the 28×28 drawing: the Draw dock is off with words for it, as for colour."""
    from playground.core.build import build_module
    from playground.core.run.messages import WeightsPublished

    from .conftest import make_window

    window = make_window(qtbot, settings)
    digits = window.training.digits
    graph = colour_network(shape=(1, 40, 40))
    state = build_module(graph, "cpu", seed=0).state_dict()
    window.training.in_use.use(WeightsPublished(run_id=3, global_step=1, graph=graph, state_dict=state,
                                                dataset="folder", classes=CLASSES), note="live: run 3, step 1")
    assert not digits.canvas.isEnabled()
    assert "gray images (1×40×40), not a 28×28 gray drawing" in digits.gan_hint.text()
    colour = colour_network()
    window.training.in_use.use(WeightsPublished(run_id=4, global_step=1, graph=colour, dataset="folder",
                                                state_dict=build_module(colour, "cpu", seed=0).state_dict(),
                                                classes=CLASSES), note="live: run 4, step 1")
    assert "colour images (3×32×32)" in digits.gan_hint.text()
