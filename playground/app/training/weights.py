"""The weights the window uses: a run's newest, loaded ones, or the network's untrained ones.

Whatever they are, they go to the predictor (the Draw dock and the looks
inside the network predict with them), to the Weights view (`weights_in_use`),
and are what Save Weights saves and a new run may continue from. Before any
training, and after edits, the Draw dock predicts with the network's fresh
weights (rebuilt a moment after the last edit).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from ...core.build import GraphError, build_module
from ...core.gan.structure import is_gan_graph
from ...core.run.messages import WeightsPublished
from ...core.task import POINTS, task_of

MODEL_REFRESH_MS = 300  # after an edit, how long to wait before rebuilding the Draw dock's untrained model
# The Weights view's untrained weights are built here, on the GUI thread: about 0.4 ms a layer, so a
# network beyond this many layers (10,000 may be opened) shows its weights once it has trained instead.
UNTRAINED_WEIGHTS_MAX_LAYERS = 1000


class WeightsInUse(QObject):
    weights_in_use = Signal(object, str)  # WeightsPublished, a note ("live: run 2, step 480"): what the views show

    def __init__(self, workbench, session, panel, digits, predictor, save_action, parent: QObject | None = None):
        super().__init__(parent)
        self.workbench, self.document, self.session = workbench, workbench.document, session
        self.panel, self.digits, self.predictor, self.save_action = panel, digits, predictor, save_action
        self.current: WeightsPublished | None = None  # what Save Weights saves and a new run may continue from
        self.version = 0  # of the predictor's model: results computed with older weights are stale
        self._graph_dataset = ""
        self._model_timer = QTimer(self, singleShot=True, interval=MODEL_REFRESH_MS)
        self._model_timer.timeout.connect(self._refresh_untrained_model)
        self.document.changed.connect(self._graph_edited)
        self.document.reset.connect(self._graph_replaced)
        self._graph_replaced()

    def use(self, weights: WeightsPublished, note: str) -> None:
        self.current = weights
        self.version += 1
        gan = is_gan_graph(weights.graph)
        self.predictor.set_model(weights.graph, weights.state_dict, weights.dataset, self.version,
                                 gan_options(weights.config) if gan else model_options(weights.config))
        self.digits.set_gan_mode(gan)
        self.digits.set_points_mode(task_of(weights.graph) == POINTS)
        self.digits.set_model_note(note)
        self.save_action.setEnabled(True)
        self.weights_in_use.emit(weights, note)

    def _graph_edited(self) -> None:
        if self.session.active:
            return  # only layout edits get through the lock; the model is unchanged
        dataset = self.document.graph.input_dataset()
        if dataset != self._graph_dataset:  # the Input node's dataset was changed
            self._graph_dataset = dataset
            self.panel.set_graph_dataset(dataset)
        if self.current is not None:
            self.digits.set_model_note(f"weights of run {self.current.run_id} (the network has been edited since)"
                                       if self.current.run_id else "loaded weights (the network has been edited since)")
            return
        self._model_timer.start()

    def _graph_replaced(self) -> None:
        if self.session.active:
            return
        self.current = None
        self.panel.set_can_continue(False, "no weights yet: train once first")
        self.save_action.setEnabled(False)
        self._graph_dataset = self.document.graph.input_dataset()
        self.panel.set_graph_dataset(self._graph_dataset)
        self._model_timer.start()

    def _refresh_untrained_model(self) -> None:
        if self.current is not None or self.session.active:
            return
        analysis = self.workbench.shapes.analysis
        if analysis is None or analysis.problems:
            self.digits.set_model_note("the network has problems: fix them to see predictions")
            return
        graph = self.document.graph.copy()
        self.version += 1
        gan = is_gan_graph(graph)
        self.predictor.set_model(graph, None, graph.input_dataset(), self.version,
                                 gan_options(self.panel.config_dict()) if gan else None)
        self.digits.set_gan_mode(gan)
        self.digits.set_points_mode(task_of(graph) == POINTS)
        note = "untrained weights: press Start (F5) to train"
        self.digits.set_model_note(note)
        if len(graph.nodes) > UNTRAINED_WEIGHTS_MAX_LAYERS:
            return
        try:  # the initial weights, for the Weights view (no run is going: torch here races nothing)
            state = build_network(graph).state_dict()
        except GraphError:
            return
        self.weights_in_use.emit(WeightsPublished(run_id=0, global_step=0, graph=graph, state_dict=state,
                                                  dataset=graph.input_dataset(), classes=()), note)


def build_network(graph):
    """The graph's module on the CPU with its initial weights: both networks of a GAN (one state_dict keyed by node
    id), else the one network. Raises GraphError."""
    if is_gan_graph(graph):
        from ...core.gan.model import build_gan

        return build_gan(graph, "cpu")
    return build_module(graph, "cpu")


def model_options(config: dict | None) -> dict | None:
    """What the inference server needs of a classifier run's settings: an image folder's own normalization (a
    run's weights carry it in their config; a loaded folder checkpoint's, likewise), else nothing (MNIST's)."""
    normalization = (config or {}).get("normalization")
    return {"normalization": normalization} if normalization else None


def gan_options(config: dict | None) -> dict:
    """What the inference server needs of a GAN run's settings: how its discriminator's output reads."""
    return {"gan_loss": (config or {}).get("gan_loss") or "non_saturating"}
