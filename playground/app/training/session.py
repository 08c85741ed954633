"""The training session: one run at a time on a QThread, and the state the window shows.

States: idle → starting (dataset and model being prepared) → running ⇄ paused
→ stopping → idle. `finished` always arrives, once per run, after the thread
has ended, so a new run may start from its handler. The GUI thread never
blocks on the worker: stopping is a request, and the window hears back when
the run has wound down (after the current step).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QThread, Signal

from .job import TrainingJob
from .messages import RunFinished, RunStarted, WeightsPublished
from .worker import TrainingWorker

IDLE, STARTING, RUNNING, PAUSED, STOPPING = "idle", "starting", "running", "paused", "stopping"


class TrainingSession(QObject):
    state_changed = Signal(str)
    started = Signal(object)  # RunStarted
    progress = Signal(object)  # Progress
    epoch_ended = Signal(object)  # EpochEnded
    weights_published = Signal(object)  # WeightsPublished
    histograms = Signal(object)  # ParamHistograms
    finished = Signal(object)  # RunFinished

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.state = IDLE
        self.run_count = 0
        self.current: RunStarted | None = None  # the live run, once it has started
        self.last_weights: WeightsPublished | None = None  # the newest weights of any run
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None
        self._pending_finish: RunFinished | None = None

    @property
    def active(self) -> bool:
        return self.state != IDLE

    @property
    def process_id(self) -> int | None:
        """The pid of the process the run trains in, while it runs (for diagnostics and tests)."""
        return self._worker.process_id if self._worker is not None else None

    def next_run_id(self) -> int:
        return self.run_count + 1

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)

    # -- controls -----------------------------------------------------------------------------
    def start(self, job: TrainingJob) -> None:
        if self.active:
            raise RuntimeError("a run is already going; stop it first")
        self.run_count = job.run_id
        self.current = None
        self._pending_finish = None
        self._thread = thread = QThread(self)
        thread.setObjectName(f"training-run-{job.run_id}")
        self._worker = worker = TrainingWorker(job)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.started.connect(self._on_started)
        worker.progress.connect(self.progress)
        worker.epoch_ended.connect(self.epoch_ended)
        worker.weights_published.connect(self._on_weights)
        worker.histograms.connect(self.histograms)
        worker.paused.connect(self._on_paused)
        worker.finished.connect(self._on_worker_finished)
        # The thread ends as soon as the run does, without a round trip through the GUI thread, so that
        # `wait` cannot deadlock with an event loop that is blocked in it.
        worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(self._on_thread_finished)
        self._set_state(STARTING)
        thread.start()

    def pause(self) -> None:
        if self._worker is not None and self.state in (STARTING, RUNNING):
            self._worker.pause()

    def resume(self) -> None:
        if self._worker is not None and self.state in (STARTING, RUNNING, PAUSED):
            self._worker.resume()

    def toggle_pause(self) -> None:
        self.resume() if self.state == PAUSED else self.pause()

    def stop(self, closing: bool = False) -> None:
        """Ask the run to end after its current step; `finished` follows. `closing`: the window is closing, so
        no spare process is started for a next run (also when the run is stopping already)."""
        if self._worker is not None and self.state != IDLE and (closing or self.state != STOPPING):
            self._worker.stop(spare_after=not closing)
            self._set_state(STOPPING)

    def wait(self, milliseconds: int = 30000) -> bool:
        """Block until the thread has ended (only for the very end of the app, and for tests)."""
        return self._thread is None or self._thread.wait(milliseconds)

    # -- from the worker (queued into this thread) ---------------------------------------------
    def _on_started(self, started: RunStarted) -> None:
        self.current = started
        if self.state == STARTING:
            self._set_state(RUNNING)
        self.started.emit(started)

    def _on_weights(self, weights: WeightsPublished) -> None:
        self.last_weights = weights
        self.weights_published.emit(weights)

    def _on_paused(self, paused: bool) -> None:
        if self.state in (RUNNING, PAUSED):
            self._set_state(PAUSED if paused else RUNNING)

    def _on_worker_finished(self, finished: RunFinished) -> None:
        self._pending_finish = finished  # announced once the thread has ended (_on_thread_finished)

    def _on_thread_finished(self) -> None:
        finished = self._pending_finish
        if self._worker is not None:
            self._worker.deleteLater()
        if self._thread is not None:
            self._thread.deleteLater()
        self._worker = self._thread = None
        self._pending_finish = None
        self._set_state(IDLE)
        if finished is not None:
            self.finished.emit(finished)
