"""The views that look inside the network, fed from the run and from the predictor.

Where each view's data comes from (none of it is computed in the GUI thread):
- Activations and Saliency: the predictor's inference process looks inside its
  CPU copy of the latest weights for the digit on the canvas
  (`Predictor.want_insight`),
  a few times a second and whenever the drawing or the weights change. A
  network the canvas cannot feed (colour, or gray of another size than 28×28:
  `looks_at_test_images`) is looked inside at a test image instead
  (`Predictor.look_at`): the first of the run's test split, until the person
  clicks another in Predictions or Confusion; each view's caption names it.
- Weights: the CPU weight copies the run publishes (and the final
  or loaded ones afterwards).
- Histograms: the worker takes weight/gradient histograms between steps, every
  two seconds, while that view is open (`TrainingSession.want_histograms`), in
  sight or not.
- Confusion matrix and Predictions: the per-example results of each epoch's
  validation pass, on the test split the run started with; for weights no
  epoch end has evaluated (loaded from a file, or a run's final weights when it
  was stopped mid-epoch), the predictor's pass over a test split
  (`TrainingController.evaluated`).

- Samples (a GAN's): the grids of fixed-noise samples the run sends
  (`GanSamples`), and the latent walk the predictor's inference process makes
  with the generator of the weights in use (`Predictor.want_generator`).

For a GAN (the weights in use are of a GAN graph), Activations has a network
selector: the discriminator looks at the drawing (as a classifier does), the
generator makes an image from the latent walk's first noise vector. Weights and
Histograms choose the network's layers; Confusion and Predictions say they are
a classifier's.

A view out of sight asks for nothing (the histograms' history excepted: it is
kept while the dock is open); closing a dock turns its feed off.
Messages of an earlier run are ignored, and each new run starts every view
afresh, so nothing leaks from one run into the next.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPoint, QSize, Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QToolTip

from ...core.gan.structure import GENERATION, POINTS, gan_parts, is_gan_graph
from ...core.inference.server import (
    channels_first,
    image_input_shape,
    looks_at_test_images,
    shape_text,
)
from ...core.run.messages import EpochEnded, GanSamples, ParamHistograms, RunStarted, WeightsPublished
from ...core.train.insight import Insight
from .predictions import as_images

PREVIEW_SIZE = QSize(220, 140)
NOT_FOR_GAN = ("A GAN has no classes to predict: see the Samples dock for what its generator makes, and the Draw "
               "dock for how real its discriminator finds a drawing.")
NO_TEST_IMAGE = ("This network takes {shape} images, which the Draw dock's canvas cannot draw: {what} looks at a "
                 "test image instead, once a run starts or weights are loaded (click one in Predictions or Confusion "
                 "to choose it).")
NOT_FOR_POINTS = ("A network on 2-D points: the Decision dock shows how it classifies the whole plane, with the "
                  "training and test points, and the editor shows what each neuron computes.")


class NodePreview(QLabel):
    """A tooltip-like popup with a small picture of a node's activation (hovering a node in the editor)."""

    def __init__(self):
        super().__init__(None, Qt.WindowType.ToolTip | Qt.WindowType.FramelessWindowHint)
        self.setObjectName("nodePreview")
        self.setMargin(4)
        self.setStyleSheet("QLabel#nodePreview { border: 1px solid palette(mid); background: palette(base); }")
        self.node_id: str | None = None

    def show_at(self, node_id: str, pixmap, global_pos: QPoint) -> None:
        self.node_id = node_id
        self.setPixmap(pixmap)
        self.adjustSize()
        self.move(global_pos + QPoint(16, 16))
        self.show()

    def hide_preview(self) -> None:
        self.node_id = None
        self.hide()


class InsightController(QObject):
    """Connects the run (through the dispatcher), the predictor and the editor to the six views (placed in docks
    by the window)."""

    def __init__(self, training, workbench, views: dict, docks: dict[str, QDockWidget], parent=None):
        super().__init__(parent)
        self.training, self.workbench = training, workbench
        self.activations, self.saliency = views["activations"], views["saliency"]
        self.weights, self.histograms = views["weights"], views["histograms"]
        self.confusion, self.predictions = views["confusion"], views["predictions"]
        self.samples = views.get("samples")
        self.docks = docks
        self.gan = False  # the weights in use are a GAN's
        self._networks: dict[str, str] | None = None  # ... and its layers by network
        self.run_id: int | None = None  # the run the views follow
        self.classes: tuple[str, ...] = tuple(str(i) for i in range(10))
        self._test: tuple[np.ndarray, np.ndarray] | None = None  # the live run's test images and labels
        self._weights_note = ""
        self._insight = None  # the latest look inside: a view that comes into sight shows it at once
        # The network in use takes images the canvas cannot draw (looks_at_test_images): Activations and Saliency
        # look at test image #_subject of _test instead of the drawing.
        self._test_subject = False
        self._subject = 0
        self._input_shape: tuple[int, ...] | None = None  # the network's image shape, [C, H, W]
        self.preview = NodePreview()

        predictor = training.predictor
        training.dispatcher.views = self  # the run's messages for the views: run_started, epoch_ended, ...
        training.weights_in_use.connect(self._on_weights)
        training.evaluated.connect(self._on_evaluated)
        predictor.insight_ready.connect(self._on_insight)
        predictor.generator_ready.connect(self._on_generator)
        self.activations.network_changed.connect(self._on_network_chosen)
        if self.samples is not None:
            self.samples.walk_changed.connect(self._update_wanted)
        self.confusion.example_chosen.connect(self._put_on_canvas)
        self.predictions.example_chosen.connect(self._put_on_canvas)
        workbench.editor.selection_changed.connect(self._on_selection)
        workbench.view.viewport().installEventFilter(self)
        for dock in docks.values():
            dock.visibilityChanged.connect(self._update_wanted)
            dock.toggleViewAction().toggled.connect(self._update_wanted)
        self.activations.clear("Draw a digit on the canvas to see what every layer makes of it.")
        self.saliency.clear("Draw a digit on the canvas to see which pixels drove the prediction.")
        self.weights.clear("The weights appear here once the network is built.")
        self.histograms.clear("Weight and gradient histograms appear here while a run trains.")
        self.confusion.clear("The confusion matrix on the test set appears after the first epoch.")
        self.predictions.clear("Test digits with their predictions appear after the first epoch.")
        self._update_wanted()

    # -- what the views ask for ---------------------------------------------------------------------
    def _showing(self, name: str) -> bool:
        dock = self.docks.get(name)
        return dock is not None and dock.isVisible() and not dock.visibleRegion().isEmpty()

    def _open(self, name: str) -> bool:
        """The dock is open, in sight or tabbed away (closed with its ✕ or the View menu: not)."""
        dock = self.docks.get(name)
        return dock is not None and dock.toggleViewAction().isChecked()

    def _generator_wanted(self):
        """What to ask the GAN's generator now: the walk while Samples shows, its layers while Activations shows
        the generator; None: nothing."""
        if not self.gan or self.samples is None:
            return None
        layers = self._showing("activations") and self.activations.network() == "generator"
        if not (self._showing("samples") or layers):
            return None
        return replace(self.samples.walk_request(), layers=layers)

    def _update_wanted(self, *_args) -> None:
        self.training.predictor.want_insight(self._showing("activations") or self._showing("saliency"))
        self.training.predictor.want_generator(self._generator_wanted())
        # Histograms are a history: collected while the view is open at all, so that it is complete when the
        # person turns to that tab mid-run.
        self.training.session.want_histograms(self._open("histograms"))
        self._feed_insight()

    def _feed_insight(self) -> None:
        """The latest look inside, to the views that show now (hidden ones are not drawn for nothing)."""
        if self._insight is None:
            return
        caption = self._caption(self._insight.test_index) if self._insight.test_index is not None else ""
        if self._showing("activations") and self.activations.network() == "discriminator":
            note = f"discriminator: {self._weights_note}" if self.gan else self._weights_note
            self.activations.show_insight(self._insight, f"{caption} · {note}" if caption else note)
        if self._showing("saliency"):
            self.saliency.show_insight(self._insight, self.classes, caption)

    # -- from the run (the dispatcher) ---------------------------------------------------------------
    def run_started(self, started: RunStarted) -> None:
        self.run_id = started.run_id
        self.classes = started.classes
        self._test = (started.test_images, started.test_labels)
        self._subject = 0  # a new test split: its first image, until the person clicks another
        self._look_at_subject()
        self.histograms.begin_run(started.run_id)
        if started.task == POINTS:
            for view in (self.confusion, self.predictions, self.activations, self.saliency):
                view.clear(NOT_FOR_POINTS)
            return
        if started.task == GENERATION:
            self.confusion.clear(NOT_FOR_GAN)
            self.predictions.clear(NOT_FOR_GAN)
            if self.samples is not None:
                self.samples.begin_run(started.name)
            return
        self.confusion.clear(f"{started.name}: the confusion matrix on the test set appears after the first "
                             "epoch.")
        self.predictions.clear(f"{started.name}: test digits with their predictions appear after the first epoch.")

    def gan_samples(self, samples: GanSamples) -> None:
        """A grid of the GAN run's fixed-noise samples (the dispatcher)."""
        if samples.run_id == self.run_id and self.samples is not None:
            self.samples.add_samples(samples)

    def epoch_ended(self, epoch: EpochEnded) -> None:
        if epoch.run_id != self.run_id or self._test is None or epoch.confusion is None:
            return
        images, labels = self._test
        if epoch.predictions is None or len(epoch.predictions) != len(labels):
            return
        accuracy = f" · {epoch.val_accuracy:.1%} correct" if epoch.val_accuracy is not None else ""
        note = f"run {epoch.run_id}, after epoch {epoch.epoch}{accuracy}"
        self._show_results(np.asarray(epoch.confusion), images, labels, epoch.predictions, epoch.confidences, note)

    def _on_evaluated(self, results, classes: tuple[str, ...], note: str) -> None:
        """Weights no epoch end has evaluated (loaded, or a stopped run's final ones), classified by the predictor."""
        self.run_id = None  # the views show these weights now, not the last run's
        self.classes = classes
        self._test = (results.images, results.labels)
        if not 0 <= self._subject < len(results.labels):
            self._subject = 0
        self._look_at_subject()
        self._show_results(None, results.images, results.labels, results.predictions, results.confidences, note)

    def _show_results(self, confusion, images, labels, predictions, confidences, note: str) -> None:
        """Per-example results on a test split to the confusion matrix (None: counted from them) and the predictions."""
        self.confusion.set_results(confusion, self.classes, images, labels, predictions, confidences, note)
        self.predictions.set_results(images, labels, predictions, confidences, self.classes, note)

    def histograms_taken(self, histograms: ParamHistograms) -> None:
        if histograms.run_id == self.run_id:
            self.histograms.add(histograms)

    def _on_weights(self, weights: WeightsPublished, note: str) -> None:
        if weights.classes:
            self.classes = tuple(weights.classes)
        self._weights_note = note
        self._set_gan(weights.graph)
        self._set_colour(weights.graph)
        self.weights.set_weights(weights.graph, weights.state_dict, note)

    def _set_colour(self, graph) -> None:
        """A network the canvas cannot feed (colour, or gray of another size): the Draw dock says drawing is for
        digit networks, and Activations and Saliency look at a test image instead
        of the drawing; back to a digit network, they look at the drawing again."""
        test_subject = looks_at_test_images(graph) and not is_gan_graph(graph)
        shape = image_input_shape(graph)
        self.training.digits.set_colour_mode(shape_text(shape) if test_subject else None)
        if (test_subject, shape) == (self._test_subject, self._input_shape):
            return
        self._input_shape = shape
        if test_subject == self._test_subject:  # another image size: the test image may fit it now
            self._look_at_subject()
            return
        self._test_subject = test_subject
        self._insight = None  # a look at the other kind of image: not shown any more
        if test_subject:
            self.activations.clear(NO_TEST_IMAGE.format(shape=shape_text(shape), what="Activations"))
            self.saliency.clear(NO_TEST_IMAGE.format(shape=shape_text(shape), what="Saliency"))
        else:
            self.activations.clear("Draw a digit on the canvas to see what every layer makes of it.")
            self.saliency.clear("Draw a digit on the canvas to see which pixels drove the prediction.")
        self._look_at_subject()

    def _look_at_subject(self) -> None:
        """Have the predictor look inside test image #_subject (a network the canvas cannot feed), or at the
        drawing again (None)."""
        image = None
        if self._test_subject and self._test is not None and 0 <= self._subject < len(self._test[0]):
            image = as_images(self._test[0][self._subject:self._subject + 1])[0]
            if channels_first(image[None]).shape[1:] != self._input_shape:
                image = None  # a new run's test split, before its network's weights come: not for this network
        self.training.predictor.look_at(image, self._subject)

    def _caption(self, index: int) -> str:
        """ "test #12 (true: cats)"."""
        if self._test is None or not 0 <= index < len(self._test[1]):
            return f"test #{index}"
        label = int(self._test[1][index])
        name = self.classes[label] if 0 <= label < len(self.classes) else str(label)
        return f"test #{index} (true: {name})"

    def _set_gan(self, graph) -> None:
        """The weights in use are a GAN's (or not): the views that differ follow."""
        gan = is_gan_graph(graph)
        parts = gan_parts(graph) if gan else None
        networks = ({n: "generator" for n in parts.generator} | {n: "discriminator" for n in parts.discriminator}
                    if parts is not None else None)
        if networks != self._networks:
            self._networks = networks
            self.histograms.set_networks(networks)
        if gan == self.gan:
            return
        self.gan = gan
        self.activations.set_gan(gan)
        if self.samples is not None:
            self.samples.set_gan(gan)
        if gan:
            self.confusion.clear(NOT_FOR_GAN)
            self.predictions.clear(NOT_FOR_GAN)
        self._update_wanted()

    def _on_network_chosen(self, network: str) -> None:
        self.activations.clear("Looking inside the generator…" if network == "generator"
                               else "Draw a digit on the canvas to see what the discriminator makes of it.")
        self._update_wanted()

    def _on_generator(self, look) -> None:
        """The GAN's generator answered (the predictor): the latent walk, and its layers when asked."""
        if not self.gan:
            return
        if self.samples is not None:
            self.samples.set_walk(look.images, self._weights_note)
        if look.layers is not None and self.activations.network() == "generator":
            image = look.images[0] if len(look.images) else np.zeros((1, 1), np.uint8)
            insight = Insight(image=image, probabilities=np.zeros(0, np.float32), predicted=-1, layers=look.layers,
                              saliency=np.zeros(image.shape[:2], np.float32), weights_version=look.weights_version)
            self.activations.show_insight(insight, f"generator, from noise vector #{look.request.seed_a}: "
                                                   f"{self._weights_note}")

    def _on_insight(self, insight) -> None:
        wanted = self._subject if self._test_subject else None
        if insight.test_index != wanted:  # asked before the network or the person's choice changed
            return
        self._insight = insight
        self._feed_insight()

    # -- to the Draw dock's canvas and from the editor ---------------------------------------------
    def _put_on_canvas(self, index: int) -> None:
        """A test image clicked in Predictions or Confusion: onto the Draw dock's canvas (a digit network), or
        looked inside by Activations and Saliency (a network the canvas cannot feed)."""
        if self._test is None:
            return
        images = self._test[0]
        if not 0 <= index < len(images):
            return
        if self._test_subject:
            self._subject = index
            self._look_at_subject()
            return
        self.training.digits.show_image(images[index], self._caption(index))

    def _on_selection(self) -> None:
        try:
            selected = self.workbench.scene.selected_node_ids()
        except RuntimeError:  # the scene emits while it is being destroyed with the window
            return
        if len(selected) == 1:
            self.activations.focus_node(selected[0])

    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if kind == QEvent.Type.ToolTip:
            view = self.workbench.view
            item = view.scene().node_at(view.mapToScene(event.pos()))
            pixmap = self.activations.preview_pixmap(item.node_id, PREVIEW_SIZE) if item is not None else None
            if pixmap is None or pixmap.isNull():
                self.preview.hide_preview()
                return False  # the node's own tooltip (its shape and problems)
            QToolTip.hideText()
            self.preview.show_at(item.node_id, pixmap, event.globalPos())
            return True
        if kind in (QEvent.Type.Leave, QEvent.Type.MouseButtonPress, QEvent.Type.Wheel):
            self.preview.hide_preview()
        elif kind == QEvent.Type.MouseMove and self.preview.isVisible():
            view = self.workbench.view
            item = view.scene().node_at(view.mapToScene(event.position().toPoint()))
            if item is None or item.node_id != self.preview.node_id:
                self.preview.hide_preview()
        return False

    def shutdown(self) -> None:
        self.preview.hide_preview()
        self.preview.deleteLater()
