"""The views that look inside the network, in the window, fed by real runs: every preset kind, clicks, no leaks."""

from __future__ import annotations

import dataclasses
import struct

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

import playground.app.training.datasets as datasets_module
from playground.core.build import build_module
from playground.core.data import load_dataset, normalization_for
from playground.core.graph import load_graph
from playground.core.run.messages import EpochEnded, ParamHistograms, RunFinished, RunStarted
from playground.core.train import Checkpoint, TrainConfig
from playground.core.train.checkpoint import save_checkpoint
from playground.core.train.inference import predict_probabilities

from .conftest import make_window
from .helpers import collect, node_pos

RUN_TIMEOUT = 120_000
VIEW_TIMEOUT = 30_000  # the first look inside starts the inference process (it imports torch)


@pytest.fixture(scope="module")
def small_data():
    data = load_dataset("mnist-sample")
    return dataclasses.replace(data, train_images=data.train_images[:256], train_labels=data.train_labels[:256],
                               test_images=data.test_images[:120], test_labels=data.test_labels[:120])


@pytest.fixture(scope="module")
def small_data_dir(small_data, tmp_path_factory):
    """`small_data` as an MNIST folder of IDX files: runs train in a process of their own, which finds it there."""
    folder = tmp_path_factory.mktemp("small-mnist") / "mnist"
    folder.mkdir()
    splits = {"train": (small_data.train_images, small_data.train_labels),
              "t10k": (small_data.test_images, small_data.test_labels)}
    for prefix, (images, labels) in splits.items():
        pixels = images[:, 0].numpy().astype(np.uint8)
        (folder / f"{prefix}-images-idx3-ubyte").write_bytes(
            struct.pack(">IIII", 0x803, *pixels.shape) + pixels.tobytes())
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(
            struct.pack(">II", 0x801, len(labels)) + labels.numpy().astype(np.uint8).tobytes())
    return folder.parent


@pytest.fixture
def window(qtbot, settings, small_data_dir, monkeypatch):
    """The window with every view floated into sight, training on 256 digits and validating on 120."""
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(small_data_dir))
    window = make_window(qtbot, settings)
    for i, dock in enumerate(window.view_docks.values()):
        dock.setFloating(True)
        dock.resize(560, 460)
        dock.move(30 * i, 30 * i)
        dock.show()
    QApplication.processEvents()
    return window


def use_preset(window, preset: str) -> None:
    window.workbench.files.new_from_preset(preset)
    window.workbench.shapes.run_now()
    window.training.panel.set_config(TrainConfig(epochs=1, batch_size=64, augment="none", device="cpu"))
    window.training.panel.select_dataset("mnist")


def a_seven() -> np.ndarray:
    image = np.zeros((28, 28), np.uint8)
    image[6:9, 8:21] = 255
    image[9:23, 16:19] = 255
    return image


def train(qtbot, window, epochs_seen: list | None = None) -> None:
    done = collect(window, RunFinished)
    if epochs_seen is not None:
        collect(window, EpochEnded, epochs_seen)
    assert window.training.start()
    qtbot.waitUntil(lambda: bool(done), timeout=RUN_TIMEOUT)
    assert done[0].ok, done[0].message


EXPECTED_VIEWS = {
    "mnist-cnn": {"conv1": "maps", "pool2": "maps", "dense1": "units"},
    "lstm-rows": {"lstm": "sequence", "dense": "units"},
    "vit-mini": {"patches": "sequence", "block1": "attention", "block2": "attention", "pool": "units"},
}


@pytest.mark.parametrize("preset", sorted(EXPECTED_VIEWS))
def test_every_view_receives_and_renders_a_run_of_each_kind_of_network(qtbot, window, preset):
    use_preset(window, preset)
    views = window.insight
    window.training.digits.show_image(a_seven(), "a seven")
    histograms: list[ParamHistograms] = collect(window, ParamHistograms)
    window.training.session.want_histograms(True)  # as the dock in sight asked
    epochs: list[EpochEnded] = []
    train(qtbot, window, epochs)

    # Activations and saliency: the digit on the canvas, with the final weights, every layer in graph order.
    final = window.training.in_use.version
    qtbot.waitUntil(lambda: views.activations.insight() is not None
                    and views.activations.insight().weights_version == final, timeout=VIEW_TIMEOUT)
    qtbot.waitUntil(lambda: views.activations.render_count > 0 and views.saliency.render_count > 0,
                    timeout=VIEW_TIMEOUT)
    insight = views.activations.insight()
    graph = window.workbench.document.graph
    order = [n for n in graph.topological_order()[0] if graph.nodes[n].kind != "output"]
    qtbot.waitUntil(lambda: views.activations.section_ids() == order, timeout=VIEW_TIMEOUT)
    for node_id, view in EXPECTED_VIEWS[preset].items():
        section = views.activations.section(node_id)
        assert section.layer().view == view, node_id
        assert not section.image().isNull()
    digits = window.training.digits
    assert np.array_equal(insight.image, digits.preview.image())  # the very image the network sees
    assert insight.image[7:20, 10:19].mean() > 100  # the seven, preprocessed
    predicted = digits.bars.probabilities().argmax()
    assert insight.predicted == predicted
    assert f"‘{predicted}’" in views.saliency.title()

    # Weights: the run's final weights, a picture of the chosen layer.
    qtbot.waitUntil(lambda: views.weights.render_count > 0 and views.weights.image() is not None,
                    timeout=VIEW_TIMEOUT)
    assert views.weights.layers() and views.weights.current_layer() in graph.nodes

    # Histograms: taken on the worker between steps, for this run, one row per layer with parameters.
    assert histograms and all(h.run_id == epochs[-1].run_id for h in histograms)
    qtbot.waitUntil(lambda: len(views.histograms.steps()) > 0, timeout=VIEW_TIMEOUT)
    assert views.histograms.layers() == list(histograms[-1].layers)

    # Confusion matrix and predictions: the epoch's validation results on the 120 test digits.
    assert epochs and epochs[-1].predictions is not None
    assert int(np.sum(views.confusion.counts())) == 120
    assert np.array_equal(np.asarray(views.confusion.counts()), np.asarray(epochs[-1].confusion))
    assert len(views.predictions.shown_indices()) == 120


def test_a_click_in_the_confusion_matrix_opens_the_examples_of_that_cell(qtbot, window, small_data):
    use_preset(window, "mlp")
    epochs: list[EpochEnded] = []
    train(qtbot, window, epochs)
    confusion, labels = views_confusion(window), small_data.test_labels.numpy()
    predictions, confidences = epochs[-1].predictions, epochs[-1].confidences
    # A cell with mistakes in it, if the network made any; else the fullest cell on the diagonal.
    counts = np.asarray(epochs[-1].confusion)
    off = counts * (1 - np.eye(len(counts), dtype=int))
    true, predicted = np.unravel_index(np.argmax(off if off.any() else counts), counts.shape)
    clicked = []
    confusion.cell_clicked.connect(lambda t, p: clicked.append((t, p)))
    QTest.mouseClick(confusion, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     confusion.cell_rect(int(true), int(predicted)).center())
    assert clicked == [(true, predicted)]
    expected = np.flatnonzero((labels == true) & (predictions == predicted))
    expected = sorted(expected.tolist(), key=lambda i: -confidences[i])
    assert confusion.shown_examples() == expected
    # One of them, clicked, goes onto the canvas.
    chosen = []
    confusion.example_chosen.connect(chosen.append)
    strip = confusion.examples
    QTest.mouseClick(strip.grid.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     strip.item_rect(0).center())
    assert chosen == [expected[0]]
    digits = window.training.digits
    assert f"test #{expected[0]}" in digits.caption.text()
    image = small_data.test_images[expected[0], 0].numpy()
    qtbot.waitUntil(lambda: digits.preview.image() is not None, timeout=VIEW_TIMEOUT)
    # What the network now sees is that test digit (scaled onto the canvas and back: close, not equal).
    assert np.corrcoef(digits.preview.image().ravel().astype(float), image.ravel().astype(float))[0, 1] > 0.8


def views_confusion(window):
    return window.insight.confusion


def test_nothing_leaks_from_one_run_into_the_next(qtbot, window):
    use_preset(window, "mlp")
    views = window.insight
    window.training.session.want_histograms(True)
    first_epochs: list[EpochEnded] = []
    train(qtbot, window, first_epochs)
    qtbot.waitUntil(lambda: len(views.histograms.steps()) > 0, timeout=VIEW_TIMEOUT)
    first_steps = views.histograms.steps().copy()

    second: list[EpochEnded] = []
    second_histograms: list[ParamHistograms] = []
    at_start = []

    def on_started(started):
        # Right when run 2 starts (this slot runs after the views' own): every view starts afresh...
        at_start.append((views.confusion.counts(), len(views.predictions.shown_indices()),
                         len(views.histograms.steps())))
        # ...and a late message of run 1 changes nothing.
        window.training.dispatcher.dispatch(first_epochs[-1])
        at_start.append(views.confusion.counts())

    def on_message(message):
        match message:
            case RunStarted():
                on_started(message)
            case EpochEnded(run_id=2):
                second.append(message)
            case ParamHistograms(run_id=2):
                second_histograms.append(message)

    window.training.dispatcher.observe(on_message)
    assert window.training.start()
    qtbot.waitUntil(lambda: len(at_start) == 2, timeout=RUN_TIMEOUT)
    counts, gallery_items, histogram_columns = at_start[0]
    assert counts is None and gallery_items == 0 and histogram_columns == 0
    assert at_start[1] is None
    qtbot.waitUntil(lambda: bool(second), timeout=RUN_TIMEOUT)
    qtbot.waitUntil(lambda: window.training.session.state == "idle", timeout=RUN_TIMEOUT)
    # Run 2 counts its own steps from 1 again: a leaked run-1 column would repeat those steps.
    steps = views.histograms.steps()
    assert steps.tolist() == [h.global_step for h in second_histograms]  # run 2's, and only run 2's
    assert len(steps) > 0
    assert np.array_equal(np.asarray(views.confusion.counts()), np.asarray(second[-1].confusion))
    assert first_steps.size > 0


def test_views_out_of_sight_ask_for_nothing_and_closed_histograms_collect_nothing(qtbot, settings):
    window = make_window(qtbot, settings)  # the default layout: every view a tab behind the charts
    views, session, predictor = window.insight, window.training.session, window.training.predictor
    QApplication.processEvents()
    assert predictor._insight_wanted is False  # activations and saliency are tabbed away
    assert session.histograms is True  # open, though tabbed away: its history must be whole when looked at
    window.view_docks["saliency"].raise_()
    QApplication.processEvents()
    assert predictor._insight_wanted is True
    window.charts_dock.raise_()
    QApplication.processEvents()
    assert predictor._insight_wanted is False
    window.view_docks["histograms"].close()  # closed with its ✕
    QApplication.processEvents()
    assert session.histograms is False
    window.view_docks["histograms"].toggleViewAction().trigger()  # View menu: back
    QApplication.processEvents()
    assert session.histograms is True
    assert views.activations is window.view_docks["activations"].widget()


def test_clicking_a_node_enlarges_its_activations_and_hovering_shows_a_preview(qtbot, window):
    views = window.insight
    window.training.digits.show_image(a_seven(), "a seven")
    qtbot.waitUntil(lambda: "conv2" in views.activations.section_ids(), timeout=VIEW_TIMEOUT)
    view = window.workbench.view
    pos = node_pos(window, "conv2")
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    assert window.workbench.scene.selected_node_ids() == ["conv2"]
    assert views.activations.focused_node() == "conv2"
    assert views.activations.section("conv2").is_focused()

    event = QHelpEvent(QEvent.Type.ToolTip, pos, view.viewport().mapToGlobal(pos))
    QApplication.sendEvent(view.viewport(), event)
    assert views.preview.isVisible() and views.preview.node_id == "conv2"
    assert not views.preview.pixmap().isNull()
    QTest.mouseMove(view.viewport(), QPoint(2, 2))  # away from the node
    QApplication.sendEvent(view.viewport(), QEvent(QEvent.Type.Leave))
    assert not views.preview.isVisible()


@pytest.mark.parametrize("trained_on", ["mnist", "fashion-mnist"])
def test_weights_loaded_from_a_file_fill_the_confusion_matrix_and_the_gallery_without_a_run(
        qtbot, settings, small_data, monkeypatch, dialogs, tmp_path, trained_on):
    # The window loads the test split a run would use in the background: here, the small one.
    monkeypatch.setattr(datasets_module.core_data, "load_dataset", lambda name, **kw: small_data)
    graph = load_graph("preset:mlp")
    model = build_module(graph, "cpu", seed=3)
    path = tmp_path / "weights.pt"
    save_checkpoint(path, Checkpoint(graph=graph, state_dict=model.state_dict(), config={}, history={},
                                     extra={"dataset": trained_on}))
    window = make_window(qtbot, settings)
    said = []
    window.training.message.connect(said.append)
    window.workbench.files.new_from_preset("mlp")
    window.workbench.shapes.run_now()
    digits, views = window.training.digits, window.insight
    # No run yet, and the test digits are there already.
    qtbot.waitUntil(lambda: digits.random_button.isEnabled(), timeout=VIEW_TIMEOUT)
    assert views.confusion.counts() is None

    dialogs.choose_file(str(path))
    window.acts.load_weights.trigger()
    qtbot.waitUntil(lambda: views.confusion.counts() is not None, timeout=VIEW_TIMEOUT)
    assert int(np.sum(views.confusion.counts())) == 120
    images, labels = small_data.test_images.numpy(), small_data.test_labels.numpy()
    # The weights see the images normalized as for the data they were trained on.
    predicted = predict_probabilities(model, small_data.test_images, normalization_for(trained_on)).numpy().argmax(1)
    expected = np.bincount(labels * 10 + predicted, minlength=100).reshape(10, 10)
    assert np.array_equal(np.asarray(views.confusion.counts()), expected)
    assert "loaded from weights.pt" in views.confusion.note_label.text()
    assert "loaded from weights.pt" in views.predictions.note()
    # Weights trained on other data than the test set's are still evaluated, and the notes say so.
    other = trained_on != "mnist"
    assert ("trained on Fashion-MNIST" in views.confusion.note_label.text()) == other
    assert any("correct on the MNIST sample" in line for line in said)
    assert any("trained on Fashion-MNIST (choose it in the Training panel)" in line for line in said) == other
    assert len(views.predictions.shown_indices()) == 120
    # A cell's examples go onto the canvas like a run's.
    true, guess = np.unravel_index(np.argmax(expected), expected.shape)
    QTest.mouseClick(views.confusion, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     views.confusion.cell_rect(int(true), int(guess)).center())
    shown = views.confusion.shown_examples()
    assert shown and all(labels[i] == true and predicted[i] == guess for i in shown)
    QTest.mouseClick(views.confusion.examples.grid.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, views.confusion.examples.item_rect(0).center())
    assert f"test #{shown[0]}" in digits.caption.text()
    assert np.array_equal(digits._test_images, images[:, 0])  # the canvas's test digits are that split


def test_a_run_stopped_mid_epoch_shows_its_final_weights_in_the_confusion_matrix(qtbot, window, small_data):
    use_preset(window, "mlp")
    window.training.panel.set_config(TrainConfig(epochs=5, batch_size=64, augment="none", device="cpu"))
    epochs: list[EpochEnded] = collect(window, EpochEnded)
    done = collect(window, RunFinished)
    evaluated = []
    window.training.evaluated.connect(lambda results, classes, note: evaluated.append((results, note)))
    assert window.training.start(max_steps=6)  # 256 digits in batches of 64: epoch 1 ends at step 4
    qtbot.waitUntil(lambda: bool(done), timeout=RUN_TIMEOUT)
    assert done[0].status == "stopped" and done[0].global_step == 6
    assert [e.global_step for e in epochs] == [4]
    qtbot.waitUntil(lambda: bool(evaluated), timeout=VIEW_TIMEOUT)
    results, note = evaluated[0]
    assert "run 1, final weights (step 6)" in note
    final = window.training.weights
    assert final.global_step == 6
    model = build_module(final.graph, "cpu")
    model.load_state_dict(final.state_dict)
    predicted = predict_probabilities(model, small_data.test_images, normalization_for("mnist")).numpy().argmax(1)
    labels = small_data.test_labels.numpy()
    assert np.array_equal(results.predictions, predicted)
    views = window.insight
    assert np.array_equal(np.asarray(views.confusion.counts()),
                          np.bincount(labels * 10 + predicted, minlength=100).reshape(10, 10))
    assert "final weights (step 6)" in views.confusion.note_label.text()
    assert "final weights (step 6)" in views.predictions.note()
