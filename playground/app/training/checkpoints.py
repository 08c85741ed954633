"""Network ▸ Save Weights and Load Weights: the dialogs, and what a checkpoint holds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

from ...core.build import GraphError
from ...core.gan.structure import is_gan_graph
from ...core.run.messages import WeightsPublished
from ...core.train import Checkpoint, CheckpointError, load_checkpoint, load_matching_weights
from ...core.train.checkpoint import save_checkpoint
from .. import dialogs
from .weights import build_network

CHECKPOINT_FILTER = "Playground weights (*.pt);;All files (*)"


class CheckpointDialogs:
    def __init__(self, window: QWidget, document, session, panel, digits, weights, evaluations,
                 say: Callable[[str], None]):
        self.window, self.document, self.session = window, document, session
        self.panel, self.digits, self.weights, self.evaluations, self.say = panel, digits, weights, evaluations, say

    def save_weights(self) -> bool:
        weights = self.weights.current
        if weights is None:
            return False
        suggested = str(Path(self.document.path).with_suffix(".pt")) if self.document.path else "weights.pt"
        path, _ = dialogs.get_save_file_name(self.window, "Save Weights", suggested, CHECKPOINT_FILTER)
        if not path:
            return False
        checkpoint = Checkpoint(graph=weights.graph, state_dict=weights.state_dict, config=dict(weights.config),
                                history=dict(weights.history),
                                extra={"dataset": weights.dataset, "classes": list(weights.classes),
                                       "global_step": weights.global_step, "status": "saved from the app",
                                       **({"task": "generation"} if is_gan_graph(weights.graph) else {})})
        try:
            save_checkpoint(path, checkpoint)  # atomic: a failed write leaves any old file as it was
        except (OSError, TypeError, CheckpointError) as exc:
            QMessageBox.critical(self.window, "Could not save the weights", f"{path}: {exc}")
            return False
        self.say(f"Saved the weights of run {weights.run_id} to {path}" if weights.run_id
                 else f"Saved the weights to {path}")
        return True

    def load_weights(self, path: str | None = None) -> bool:
        """Load a checkpoint into the layers of the current network that match it (by name and shape)."""
        if self.session.active:
            return False
        if path is None:
            folder = str(Path(self.document.path).parent) if self.document.path else ""
            path, _ = dialogs.get_open_file_name(self.window, "Load Weights", folder, CHECKPOINT_FILTER)
            if not path:
                return False
        try:
            checkpoint = load_checkpoint(path)
        except CheckpointError as exc:
            dialogs.error(self.window, "Could not load the weights", str(exc))  # the file and why, in one line
            return False
        graph = self.document.graph.copy()
        try:
            model = build_network(graph)
        except GraphError as exc:
            QMessageBox.critical(self.window, "Could not load the weights",
                                 f"The network cannot be built, so nothing can be loaded into it: {exc}")
            return False
        report = load_matching_weights(model, checkpoint.state_dict)
        if not report.loaded:
            QMessageBox.critical(self.window, "No weights fit this network",
                                 f"{Path(path).name}: no layer of this network matches the checkpoint by name "
                                 f"and shape, so nothing was loaded. {report.summary()}")
            return False
        dataset = str(checkpoint.extra.get("dataset") or graph.input_dataset())
        classes = tuple(checkpoint.extra.get("classes") or ())
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.weights.use(WeightsPublished(run_id=0, global_step=int(checkpoint.extra.get("global_step", 0)),
                                          graph=graph, state_dict=state, dataset=dataset, classes=classes,
                                          config=_config_of(checkpoint), history=dict(checkpoint.history)),
                         note=f"loaded from {Path(path).name}")
        if classes:
            self.digits.set_classes(classes)
        if not is_gan_graph(graph):  # a GAN has no classes to evaluate on a test set
            self.evaluations.evaluate_loaded(f"loaded from {Path(path).name}",
                                             trained_on=str(checkpoint.extra.get("dataset") or ""))
        self.panel.set_can_continue(True)
        if report.skipped or report.missing:
            QMessageBox.information(self.window, "Some weights did not fit",
                                    f"Loaded what matches this network from {Path(path).name}; the rest keeps its "
                                    f"fresh initialisation.\n\n{report.summary()}")
        self.say(f"Loaded weights from {path}: {report.summary()}")
        return True


def _config_of(checkpoint) -> dict:
    """The run's settings as a run's weights carry them: an image folder's normalization with them (the checkpoint
    keeps it beside them), so that the predictor scales the person's images as the run did."""
    config = dict(checkpoint.config)
    if checkpoint.extra.get("normalization"):
        config["normalization"] = dict(checkpoint.extra["normalization"])
    return config
