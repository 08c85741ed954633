"""Training in the window: the session, the Training panel, the charts and the digit canvas, connected.

What happens on Start: the graph is checked (problems are shown on their
nodes, not sent to the worker), the panel's settings become a TrainConfig, the
document is locked against edits that change the model, and an immutable
`TrainingJob` goes to the session's thread. Everything the worker publishes
flows back here and is handed on: metrics to the charts and the panel, weights
to the predictor (a CPU copy, so live prediction never races the training
thread). When the run ends, however it ends, the lock is lifted and the
outcome is said in plain words.

With no run, the test split of the dataset a run would use is loaded in the
background whenever that dataset (or where it comes from) changes, so that the
canvas's test-digit buttons work from the start, and weights loaded from a file
are evaluated on it for the confusion matrix and the gallery (`evaluated`). So
are the final weights of a run stopped mid-epoch, on that run's test split: its
last evaluation was of the weights at the end of the epoch before.
"""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from ...core.build import GraphError, build_module
from ...core.graph import Graph
from ...core.train import Checkpoint, CheckpointError, ConfigError, load_checkpoint, load_matching_weights
from ...core.train.checkpoint import save_checkpoint
from ...core.train.cores import core_split, pin
from ..actions import tooltip
from ..drawing_first import DrawingFirst
from ..icons import icon
from ..predictor import TestSetResults
from .data_box import dataset_title
from .datasets import DatasetLocation, TestSet, TestSetLoader
from .job import TrainingJob, Wanted, training_threads
from .messages import EpochEnded, Progress, RunFinished, RunStarted, WeightsPublished
from .session import IDLE, PAUSED, STARTING, STOPPING, TrainingSession

log = logging.getLogger(__name__)

LOCK_MESSAGE = ("A training run is in progress: the network is locked (layers can still be moved). "
                "Stop training to edit it.")
CHECKPOINT_FILTER = "Playground weights (*.pt);;All files (*)"
MODEL_REFRESH_MS = 300  # after an edit, how long to wait before rebuilding the canvas's untrained model
STATUS_WORDS = {"completed": "Training finished", "stopped": "Training stopped",
                "diverged": "Training diverged", "out_of_memory": "Out of memory", "failed": "Training failed"}


@dataclass(frozen=True)
class _Evaluation:
    """Weights that no run has evaluated, to be classified on a test set for the confusion matrix and gallery."""
    version: int  # the predictor's weights version they are
    name: str  # what they are, for the notes: "loaded from model.pt", "run 3, final weights"
    test_set: TestSet | None  # None: the one loaded in the background, once it is here
    trained_on: str = ""  # the dataset the weights were trained on, when known


class TrainingController(QObject):
    """Owns the session and the predictor; the main window places the widgets and wires the actions here."""

    message = Signal(str)  # a line for the status bar
    state_changed = Signal(str)
    weights_in_use = Signal(object, str)  # WeightsPublished, a note ("live: run 2, step 480"): what the views show
    # TestSetResults of weights no run has evaluated (loaded from a file), their class names and a note
    evaluated = Signal(object, tuple, str)

    def __init__(self, window: QWidget, workbench, actions, panel, charts, digits, predictor,
                 threads: int | None = None):
        super().__init__(window)
        self.window, self.workbench, self.acts = window, workbench, actions
        self._pause_tip = actions.pause_training.toolTip()  # while paused, the action says Resume instead
        self.document = workbench.document
        self.panel, self.charts, self.digits, self.predictor = panel, charts, digits, predictor
        self.threads = training_threads() if threads is None else threads
        self.cores = core_split()  # None: one core, or an OS without thread affinity
        self._window_confined = False
        self.session = TrainingSession(self)
        self.wanted = Wanted()  # what the open views want from a run; shared with every job
        self.weights: WeightsPublished | None = None  # what Save Weights saves and a new run may continue from
        self.weights_changed_graph = False  # the network was edited since those weights were trained
        self._chart_runs: dict[int, int] = {}  # session run id -> charts run id
        self._close_when_stopped = False
        self._model_version = 0
        self._graph_dataset_name = ""
        # The test split a run would use now, loaded in the background (None until it has come).
        self.test_set: TestSet | None = None
        self._test_set_key: tuple | None = None  # the (dataset, where from) it was asked for
        self._test_set_token = 0
        self._test_set_loader = TestSetLoader(self)
        self._test_set_loader.loaded.connect(self._on_test_set)
        self._test_set_loader.failed.connect(self._on_test_set_failed)
        self._evaluate: _Evaluation | None = None  # to evaluate once its test set is here
        self._evaluating: tuple[_Evaluation, TestSet] | None = None  # ... and the one the predictor is evaluating
        self._run_test_set: TestSet | None = None  # the test split of the run under way (or the last one)
        self._evaluated_step = -1  # the global step of the current (or last) run's last epoch-end evaluation

        s = self.session
        s.state_changed.connect(self._on_state)
        s.started.connect(self._on_started)
        s.progress.connect(self._on_progress)
        s.epoch_ended.connect(self._on_epoch)
        s.weights_published.connect(self._on_weights)
        s.finished.connect(self._on_finished)
        panel.start_requested.connect(lambda: self.start())
        predictor.failed.connect(lambda text: self.message.emit(f"Prediction: {text}"))
        predictor.test_set_evaluated.connect(self._on_evaluated)
        panel.data_group.source_located.connect(self._on_source_located)
        # Drawing first: while strokes come, repaints of the charts and views wait (app/drawing_first.py).
        self.drawing_first = DrawingFirst(self)
        digits.canvas.changed.connect(self.drawing_first.stroke)
        digits.prediction_shown.connect(self.drawing_first.answered)
        charts.schedule_repaints_with(self.drawing_first.run)

        # Before any training (and after edits), the canvas predicts with the network's fresh weights.
        self._model_timer = QTimer(self, singleShot=True, interval=MODEL_REFRESH_MS)
        self._model_timer.timeout.connect(self._refresh_untrained_model)
        self.document.changed.connect(self._graph_edited)
        self.document.reset.connect(self._graph_replaced)
        self._graph_replaced()
        self._on_state(IDLE)

    # -- actions ------------------------------------------------------------------------------------
    def start(self, dataset: str | None = None, max_steps: int | None = None) -> bool:
        """Start a run of the document's network; False (and the reason said) when it cannot start.
        `dataset` overrides the panel's choice and `max_steps` ends the run early (for benchmarks)."""
        if self.session.active:
            return False
        analysis = self.workbench.shapes.run_now()
        if analysis.problems:
            first = analysis.problems[0]
            where = f"{first.node}: " if first.node else ""
            count = len(analysis.problems)
            QMessageBox.warning(self.window, "Cannot train yet",
                                f"The network has {count} problem{'s' * (count != 1)} to fix before it can "
                                f"train.\n\n{where}{first.message}")
            self.workbench.next_problem()
            return False
        try:
            config = self.panel.config()
        except ConfigError as exc:
            QMessageBox.warning(self.window, "Check the training settings", str(exc))
            return False
        choice = dataset or self.panel.dataset_choice()
        graph = self.document.graph.copy()
        initial = None
        if self.panel.continue_from_last() and self.weights is not None:
            initial = self.weights.state_dict
        run_id = self.session.next_run_id()
        title = self.document.graph.name or self.document.display_name
        job = TrainingJob(run_id=run_id, name=f"Run {run_id} — {title}", graph=graph, config=config,
                          dataset=None if choice == "graph" else choice, initial_weights=initial,
                          threads=self.threads, max_steps=max_steps, wanted=self.wanted,
                          cores=self.cores.training if self.cores else None)
        self.document.set_locked(LOCK_MESSAGE)
        # The collector's full passes walk every object in the process: with the window built that takes 100–230
        # ms, all of it holding the GIL (the event loop and the relay threads wait). Objects alive now are left
        # out of the passes during the run; they are handed back when it ends (_on_finished).
        gc.freeze()
        self.session.start(job)
        self.message.emit(f"Starting run {run_id}: loading the data and building the model…")
        return True

    def toggle_pause(self) -> None:
        self.session.toggle_pause()

    def stop(self, closing: bool = False) -> None:
        if self.session.active:
            self.session.stop(closing)
            self.message.emit("Stopping after the current step…")

    # -- from the session ---------------------------------------------------------------------------
    def _on_state(self, state: str) -> None:
        a, active = self.acts, state != IDLE
        a.start_training.setEnabled(not active)
        a.pause_training.setEnabled(state in (STARTING, "running", PAUSED))
        paused = state == PAUSED  # the one action then resumes, and looks it
        a.pause_training.setText("&Resume Training" if paused else "&Pause Training")
        a.pause_training.setIcon(icon("train-start" if paused else "train-pause"))
        a.pause_training.setToolTip(tooltip(a.pause_training, "&Resume Training", "Go on with the paused run")
                                    if paused else self._pause_tip)
        if self.session.current is not None:
            self.charts.set_paused(self._chart_runs.get(self.session.current.run_id, -1), paused)
        a.stop_training.setEnabled(active and state != STOPPING)
        a.load_weights.setEnabled(not active)
        a.save_weights.setEnabled(self.weights is not None)
        self.panel.set_running(state)
        self.state_changed.emit(state)

    def _confine_window(self, confined: bool) -> None:
        """The GUI thread (this one), the canvas's relay thread and the inference process: to the window's core
        while a CPU run trains on the others, everywhere again after it (core/train/cores.py)."""
        if self.cores is None or self._window_confined == confined:
            return
        self._window_confined = confined
        cores = self.cores.window if confined else None
        pin(cores)
        self.predictor.keep_to(cores)

    def _on_started(self, started: RunStarted) -> None:
        self._confine_window(started.device == "cpu")
        self._chart_runs[started.run_id] = self.charts.begin_run(started.name, started.steps_per_epoch,
                                                                   started.total_steps)
        self.panel.show_run_started(started)
        self.digits.set_classes(started.classes)
        self.digits.set_test_set(started.test_images, started.test_labels)
        self._evaluated_step = -1
        self._run_test_set = TestSet(name=started.dataset, images=started.test_images, labels=started.test_labels,
                                     classes=started.classes)
        text = f"Training {started.name} on {started.device_name} with {started.dataset_source}"
        if started.transfer_note:
            text += f". {started.transfer_note}"
        self.message.emit(text)

    def _on_progress(self, progress: Progress) -> None:
        run = self._chart_runs.get(progress.run_id)
        if run is not None and len(progress.steps):
            self.charts.add_steps(run, progress.steps, progress.losses, progress.lrs)
        self.panel.show_progress(progress)

    def _on_epoch(self, epoch: EpochEnded) -> None:
        self._evaluated_step = epoch.global_step
        run = self._chart_runs.get(epoch.run_id)
        if run is not None:
            self.charts.add_epoch(run, epoch.epoch, epoch.global_step, epoch.train_loss, epoch.train_accuracy,
                                  epoch.val_loss, epoch.val_accuracy, epoch.lr)

    def _on_weights(self, weights: WeightsPublished) -> None:
        self._use_weights(weights, note=f"live: run {weights.run_id}, step {weights.global_step:,}")

    def _on_finished(self, finished: RunFinished) -> None:
        self._confine_window(False)
        gc.unfreeze()  # what became garbage during the run is collected again
        self.document.set_locked(None)
        run = self._chart_runs.get(finished.run_id)
        if run is not None:
            self.charts.end_run(run, finished.status)
        self.panel.show_finished(finished)
        if self.weights is not None and self.weights.run_id == finished.run_id:
            self.digits.set_model_note(f"run {finished.run_id}, step {self.weights.global_step:,}"
                                       + (" (diverged)" if finished.status == "diverged" else ""))
            # Stopped mid-epoch: the views show the last epoch's evaluation; the final weights are newer.
            if (finished.ok and self._run_test_set is not None
                    and self._evaluated_step < self.weights.global_step):
                self._evaluate = _Evaluation(self._model_version, f"run {finished.run_id}, final weights (step "
                                             f"{self.weights.global_step:,})", self._run_test_set)
        self.panel.set_can_continue(self.weights is not None)
        self._on_state(self.session.state)
        self._evaluate_if_waiting()
        words = STATUS_WORDS.get(finished.status, "Training ended")
        if finished.ok:
            accuracy = (f": {finished.test_accuracy:.2%} test accuracy" if finished.test_accuracy is not None
                        else "")
            epochs = finished.epochs_completed
            self.message.emit(f"{words}{accuracy} after {epochs} epoch{'s' * (epochs != 1)}, "
                              f"{finished.global_step:,} step{'s' * (finished.global_step != 1)}")
        else:
            self.message.emit(f"{words}: {finished.message}")
            if not self._close_when_stopped:
                QMessageBox.critical(self.window, words, finished.message)
        if self._close_when_stopped:
            self._close_when_stopped = False
            QTimer.singleShot(0, self.window.close)

    # -- the weights the canvas predicts with -----------------------------------------------------------
    def _use_weights(self, weights: WeightsPublished, note: str) -> None:
        self.weights = weights
        self.weights_changed_graph = False
        self._model_version += 1
        self.predictor.set_model(weights.graph, weights.state_dict, weights.dataset, self._model_version)
        self.digits.set_model_note(note)
        self.acts.save_weights.setEnabled(True)
        self.weights_in_use.emit(weights, note)

    def _graph_edited(self) -> None:
        if self.session.active:
            return  # only layout edits get through the lock; the model is unchanged
        dataset = _graph_dataset(self.document.graph)
        if dataset != self._graph_dataset_name:  # the Input node's dataset was changed
            self._graph_dataset_name = dataset
            self.panel.set_graph_dataset(dataset)
        if self.weights is not None:
            self.weights_changed_graph = True
            self.digits.set_model_note(f"weights of run {self.weights.run_id} (the network has been edited since)"
                                       if self.weights.run_id else "loaded weights (the network has been edited since)")
            return
        self._model_timer.start()

    def _graph_replaced(self) -> None:
        if self.session.active:
            return
        self.weights = None
        self.panel.set_can_continue(False, "no weights yet: train once first")
        self.acts.save_weights.setEnabled(False)
        self._graph_dataset_name = _graph_dataset(self.document.graph)
        self.panel.set_graph_dataset(self._graph_dataset_name)
        self._model_timer.start()

    def _refresh_untrained_model(self) -> None:
        if self.weights is not None or self.session.active:
            return
        analysis = self.workbench.shapes.analysis
        if analysis is None or analysis.problems:
            self.digits.set_model_note("the network has problems: fix them to see predictions")
            return
        graph = self.document.graph.copy()
        self._model_version += 1
        self.predictor.set_model(graph, None, _graph_dataset(graph), self._model_version)
        note = "untrained weights: press Start (F5) to train"
        self.digits.set_model_note(note)
        try:  # the initial weights, for the weights view (no run is going: torch here races nothing)
            state = build_module(graph, "cpu").state_dict()
        except GraphError:
            return
        self.weights_in_use.emit(WeightsPublished(run_id=0, global_step=0, graph=graph, state_dict=state,
                                                  dataset=_graph_dataset(graph), classes=()), note)

    # -- the test set, with no run -------------------------------------------------------------------
    def _on_source_located(self, location: DatasetLocation) -> None:
        """The dataset a run would use, or where it comes from, is known (again): load its test split if it
        is another one than the last asked for (a download that has just finished replaces the sample, say)."""
        if location.kind == "error":
            return
        key = (location.name, location.kind, str(location.folder or ""))
        if key == self._test_set_key:
            return
        self._test_set_key = key
        self._test_set_token += 1
        self._test_set_loader.load(self._test_set_token, location.name)

    def _on_test_set(self, token: int, test_set: TestSet) -> None:
        if token != self._test_set_token:
            return  # an answer for a dataset no longer chosen
        self.test_set = test_set
        if self.session.active:
            return  # the canvas keeps the running run's test set; this one serves after the run
        self.digits.set_test_set(test_set.images, test_set.labels)
        if self.weights is None or not self.weights.classes:
            self.digits.set_classes(test_set.classes)
        self._evaluate_if_waiting()

    def _on_test_set_failed(self, token: int, message: str) -> None:
        if token == self._test_set_token:
            self.message.emit(message)

    def _evaluate_if_waiting(self) -> None:
        """Weights no run has evaluated are classified on their test set once it is here."""
        waiting = self._evaluate
        if waiting is not None and waiting.version != self._model_version:
            self._evaluate = waiting = None  # other weights since (a run's, say): those are not in use any more
        test_set = (waiting.test_set or self.test_set) if waiting is not None else None
        if waiting is None or test_set is None or self.session.active:
            return
        self._evaluate, self._evaluating = None, (waiting, test_set)
        self.predictor.evaluate_test_set(test_set.images, test_set.labels)
        self.message.emit(f"Evaluating {waiting.name} on the test set ({len(test_set.labels):,} images)…")

    def _on_evaluated(self, results: TestSetResults) -> None:
        if self._evaluating is None:
            return
        evaluation, test_set = self._evaluating
        if (results.weights_version != evaluation.version or self.session.active
                or results.images is not test_set.images):
            return  # newer weights, a run under way or another test set since: these results are stale
        self._evaluating = None
        classes = tuple(self.weights.classes) if self.weights is not None and self.weights.classes else \
            test_set.classes
        title = dataset_title(test_set.name)
        trained_on = evaluation.trained_on
        other_data = bool(trained_on) and _family(trained_on) != _family(test_set.name)
        trained = dataset_title(trained_on)
        note = f"{evaluation.name} · {results.accuracy:.1%} correct on {len(results.labels):,} test images"
        if other_data:
            note += f" of {title} (trained on {trained})"
        self.evaluated.emit(results, classes, note)
        said = f"{evaluation.name}: {results.accuracy:.2%} correct on the {title} test set"
        if other_data:
            said += f", but they were trained on {trained} (choose it in the Training panel)"
        self.message.emit(said)

    # -- checkpoints ------------------------------------------------------------------------------------
    def save_weights(self) -> bool:
        weights = self.weights
        if weights is None:
            return False
        suggested = str(Path(self.document.path).with_suffix(".pt")) if self.document.path else "weights.pt"
        path, _ = QFileDialog.getSaveFileName(self.window, "Save Weights", suggested, CHECKPOINT_FILTER)
        if not path:
            return False
        checkpoint = Checkpoint(graph=weights.graph, state_dict=weights.state_dict, config=dict(weights.config),
                                history=dict(weights.history),
                                extra={"dataset": weights.dataset, "classes": list(weights.classes),
                                       "global_step": weights.global_step, "status": "saved from the app"})
        try:
            save_checkpoint(path, checkpoint)  # atomic: a failed write leaves any old file as it was
        except (OSError, TypeError, CheckpointError) as exc:
            QMessageBox.critical(self.window, "Could not save the weights", f"{path}: {exc}")
            return False
        self.message.emit(f"Saved the weights of run {weights.run_id} to {path}" if weights.run_id
                          else f"Saved the weights to {path}")
        return True

    def load_weights(self, path: str | None = None) -> bool:
        """Load a checkpoint into the layers of the current network that match it (by name and shape)."""
        if self.session.active:
            return False
        if path is None:
            folder = str(Path(self.document.path).parent) if self.document.path else ""
            path, _ = QFileDialog.getOpenFileName(self.window, "Load Weights", folder, CHECKPOINT_FILTER)
            if not path:
                return False
        try:
            checkpoint = load_checkpoint(path)
        except CheckpointError as exc:
            QMessageBox.critical(self.window, "Could not load the weights", str(exc))
            return False
        graph = self.document.graph.copy()
        try:
            model = build_module(graph, "cpu")
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
        dataset = str(checkpoint.extra.get("dataset") or _graph_dataset(graph))
        classes = tuple(checkpoint.extra.get("classes") or ())
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self._use_weights(WeightsPublished(run_id=0, global_step=int(checkpoint.extra.get("global_step", 0)),
                                           graph=graph, state_dict=state, dataset=dataset, classes=classes,
                                           config=dict(checkpoint.config), history=dict(checkpoint.history)),
                          note=f"loaded from {Path(path).name}")
        if classes:
            self.digits.set_classes(classes)
        self._evaluate = _Evaluation(self._model_version, f"loaded from {Path(path).name}", None,
                                     trained_on=str(checkpoint.extra.get("dataset") or ""))
        self._evaluate_if_waiting()
        self.panel.set_can_continue(True)
        if report.skipped or report.missing:
            QMessageBox.information(self.window, "Some weights did not fit",
                                    f"Loaded what matches this network from {Path(path).name}; the rest keeps its "
                                    f"fresh initialisation.\n\n{report.summary()}")
        self.message.emit(f"Loaded weights from {path}: {report.summary()}")
        return True

    # -- closing -----------------------------------------------------------------------------------------
    def confirm_close(self) -> bool:
        """True when the window may close now. During a run: ask, and if the answer is yes, stop the run and
        close the window once it has ended (the event loop keeps running meanwhile)."""
        if not self.session.active:
            return True
        answer = QMessageBox.question(self.window, "Training is running",
                                      "A training run is in progress. Stop it and close the window?\n\n"
                                      "The run ends after its current step.",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        if answer == QMessageBox.StandardButton.Yes:
            self._close_when_stopped = True
            self.stop(closing=True)
        return False

    def shutdown(self) -> None:
        """The window is closing for good: no run may outlive it, and the predictor thread ends."""
        if self.session.active:  # only reachable if the close was forced; wind down, then wait
            self.session.stop(closing=True)
            self.session.wait()
        self.predictor.shutdown()
        self.panel.shutdown()  # a dataset download or lookup in flight ends with the window
        self._test_set_loader.shutdown()


def _family(dataset: str) -> str:
    """The data a dataset's images are drawn from: the offline sample is MNIST."""
    return "mnist" if dataset == "mnist-sample" else dataset


def _graph_dataset(graph: Graph) -> str:
    inputs = graph.nodes_of_kind("input")
    return str(inputs[0].params.get("dataset", "mnist")) if inputs else "mnist"
