"""The one place where the app routes a run's messages, by their type.

Each message of `core.run.messages` arrives here once, in the GUI thread (the
worker's `message` signal, queued; the run's last word, its RunFinished, from
the session once the run's thread has ended), and goes to what shows it:

    RunStarted        the session (running), the run's life (charts, panel, Draw dock), the views
    Progress          the run's life: the charts and the Training panel
    EpochEnded        the run's life (charts), the views (Confusion, Predictions)
    WeightsPublished  the weights in use: the predictor, the Weights view, Save Weights
    ParamHistograms   the views (Histograms)
    Paused            the session (paused or running)
    RunNote           the run's life: said in the status bar ("training the judge…")
    GanProgress       the run's life: the GAN charts (losses of D and G, D(real), D(fake))
    GanSamples        the views (Samples: the grid of fixed-noise samples, its history)
    GanEpochEnded     the run's life: the GAN charts (recognisable share, class coverage, mode collapse)
    DecisionFrame     the points controller: the Decision view, the editor's neuron thumbnails
    GanPointsFrame    the points controller: the Decision view (a GAN on 2-D points)
    FinetuneReport    fine-tuning: the My digits window (before and after), the Draw dock's counter line
    RunFinished       the run's life: unlock, say how it ended

The views keep the latest of what they are given and repaint from a timer,
never once per message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Slot

from ...core.run.messages import (
    DecisionFrame,
    EpochEnded,
    FinetuneReport,
    GanEpochEnded,
    GanPointsFrame,
    GanProgress,
    GanSamples,
    ParamHistograms,
    Paused,
    Progress,
    RunFinished,
    RunNote,
    RunStarted,
    WeightsPublished,
)

log = logging.getLogger(__name__)


class RunDispatcher(QObject):
    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.session = self.runs = self.weights = None  # set by the TrainingController that owns all three
        self.finetune = None  # the FinetuneControl, likewise
        self.views = None  # the InsightController, once the views exist
        self.points = None  # the PointsController (the Decision dock and the neuron thumbnails), likewise
        self._observers: list[Callable[[object], None]] = []

    def observe(self, observer: Callable[[object], None]) -> None:
        """Also hand every message to `observer`, after it has been routed (for measurements and tests)."""
        self._observers.append(observer)

    @Slot(object)
    def dispatch(self, message) -> None:
        views = self.views
        match message:
            case RunStarted():
                self.session.run_started(message)
                self.runs.started(message)
                if views is not None:
                    views.run_started(message)
                if self.points is not None:
                    self.points.run_started(message.run_id)
            case DecisionFrame():
                if self.points is not None:
                    self.points.frame(message)
            case GanPointsFrame():
                if self.points is not None:
                    self.points.gan_frame(message)
            case Progress():
                self.runs.progress(message)
            case EpochEnded():
                self.runs.epoch_ended(message)
                if views is not None:
                    views.epoch_ended(message)
            case WeightsPublished(run_id=run_id, global_step=step):
                self.weights.use(message, note=f"live: run {run_id}, step {step:,}")
            case ParamHistograms():
                if views is not None:
                    views.histograms_taken(message)
            case Paused(paused=paused):
                self.session.run_paused(paused)
            case RunNote():
                self.runs.note(message)
            case GanProgress():
                self.runs.gan_progress(message)
            case GanSamples():
                if views is not None:
                    views.gan_samples(message)
            case GanEpochEnded():
                self.runs.gan_epoch_ended(message)
            case FinetuneReport():
                if self.finetune is not None:
                    self.finetune.reported(message)
            case RunFinished():
                self.runs.finished(message)
            case _:
                log.warning("a run sent a message the window does not know: %r", message)
                return
        for observer in self._observers:
            observer(message)
