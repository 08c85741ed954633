"""Training in the window: the pieces that make it up, built and connected in one place.

- `session.py`: one run at a time on a QThread, and its state;
- `dispatch.py`: where each of the run's messages goes;
- `runs.py`: Start, Pause, Stop and closing, and what the window does as a run starts and ends;
- `weights.py`: the weights the window uses (predictor, Weights view, Save Weights);
- `evaluation.py`: test sets with no run, and evaluating weights no run has evaluated;
- `finetune.py`: Fine-tune on my digits (the My digits window): when it can start, what stays frozen, the run;
- `checkpoints.py`: the Save Weights and Load Weights dialogs;
- `script_export.py`: File > Export > Training script;
- `model_export.py`: File > Export > PyTorch source, ONNX model, torch.export program (with the weights in use);
- `action_states.py`: which actions can be used in each state.

docs/ARCHITECTURE.md has the processes and threads behind them.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from ...core.run.job import training_threads
from ...core.train.cores import core_split
from ..drawing_first import DrawingFirst
from .action_states import TrainingActions
from .checkpoints import CheckpointDialogs
from .dispatch import RunDispatcher
from .evaluation import Evaluations
from .finetune import FinetuneControl
from .folder_fit import FolderFit
from .model_export import ModelExport
from .runs import RunLifecycle
from .script_export import TrainingScriptExport
from .session import TrainingSession
from .weights import WeightsInUse


class TrainingController(QObject):
    """The main window places the widgets and wires the actions here."""

    message = Signal(str)  # a line for the status bar
    state_changed = Signal(str)

    def __init__(self, window: QWidget, workbench, actions, panel, charts, digits, predictor,
                 threads: int | None = None, gan_charts=None):
        super().__init__(window)
        self.panel, self.charts, self.digits, self.predictor = panel, charts, digits, predictor
        self.gan_charts = gan_charts
        self.dispatcher = RunDispatcher(self)
        self.session = TrainingSession(self.dispatcher.dispatch, self)
        self.in_use = WeightsInUse(workbench, self.session, panel, digits, predictor, actions.save_weights, self)
        self.evaluations = Evaluations(self.session, panel, digits, predictor, self.in_use, self.message.emit, self)
        self.cores = core_split()  # None: one core, or an OS without thread affinity
        self.runs = RunLifecycle(window, workbench, self.session, TrainingActions(actions, self.in_use), panel, charts,
                                 digits, predictor, self.in_use, self.evaluations, self.message.emit,
                                 training_threads() if threads is None else threads, self.cores, gan_charts)
        self.checkpoints = CheckpointDialogs(window, workbench.document, self.session, panel, digits, self.in_use,
                                             self.evaluations, self.message.emit)
        self.script_export = TrainingScriptExport(window, workbench.document, panel, charts, self.runs,
                                                  window.settings, self.message.emit)
        self.model_export = ModelExport(window, workbench.document, self.in_use, window.settings, self.message.emit)
        self.folder_fit = FolderFit(workbench.document, panel, self.message.emit, self)
        self.finetune = FinetuneControl(workbench.document, self.session, self.in_use, self.runs, digits,
                                        self.message.emit, self)
        self.dispatcher.session, self.dispatcher.runs, self.dispatcher.weights = self.session, self.runs, self.in_use
        self.dispatcher.finetune = self.finetune
        self.weights_in_use = self.in_use.weights_in_use  # (WeightsPublished, note): what the views show
        self.evaluated = self.evaluations.evaluated  # (TestSetResults, classes, note) of weights no run evaluated

        self.session.state_changed.connect(self._on_state)
        panel.start_requested.connect(lambda: self.start())
        predictor.failed.connect(lambda text: self.message.emit(f"Prediction: {text}"))
        # Drawing first: while strokes come, repaints of the charts and views wait (app/drawing_first.py).
        self.drawing_first = DrawingFirst(self)
        digits.canvas.changed.connect(self.drawing_first.stroke)
        digits.prediction_shown.connect(self.drawing_first.answered)
        charts.schedule_repaints_with(self.drawing_first.run)
        if gan_charts is not None:
            gan_charts.schedule_repaints_with(self.drawing_first.run)
        self._on_state(self.session.state)

    @property
    def weights(self):
        """The WeightsPublished in use (None: the network's untrained weights)."""
        return self.in_use.current

    # -- the person's actions ----------------------------------------------------------------------------
    def start(self, dataset: str | None = None, max_steps: int | None = None) -> bool:
        return self.runs.start(dataset, max_steps)

    def toggle_pause(self) -> None:
        self.session.toggle_pause()

    def stop(self, closing: bool = False) -> None:
        self.runs.stop(closing)

    def save_weights(self) -> bool:
        return self.checkpoints.save_weights()

    def load_weights(self, path: str | None = None) -> bool:
        return self.checkpoints.load_weights(path)

    def _on_state(self, state: str) -> None:
        self.runs.show_state(state)
        self.state_changed.emit(state)

    # -- closing -----------------------------------------------------------------------------------------
    def confirm_close(self) -> bool:
        return self.runs.confirm_close()

    def shutdown(self) -> None:
        """The window is closing for good: no run may outlive it, and the predictor thread ends."""
        if self.session.active:  # only reachable if the close was forced; wind down, then wait
            self.session.stop(closing=True)
            self.session.wait()
        self.predictor.shutdown()
        self.panel.shutdown()  # a dataset download or lookup in flight ends with the window
        self.evaluations.shutdown()
