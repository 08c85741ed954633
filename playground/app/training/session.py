"""The training session: one run at a time on a QThread, and its state.

States: idle → starting (dataset and model being prepared) → running ⇄ paused
→ stopping → idle. The session starts each run's `TrainingWorker` on a thread
of its own and connects the worker's one `message` signal straight to the
dispatcher it was given (dispatch.py); the dispatcher tells the session when
the run has really started or paused. The run's last word, its RunFinished,
goes to the dispatcher once the thread has ended and the state is idle again,
so a new run may start from there. The GUI thread never blocks on the worker:
stopping is a request, and the window hears back when the run has wound down
(after the current step).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal

from ...core.run.job import TrainingJob
from ...core.run.messages import RunStarted
from .worker import TrainingWorker

IDLE, STARTING, RUNNING, PAUSED, STOPPING = "idle", "starting", "running", "paused", "stopping"


class TrainingSession(QObject):
    state_changed = Signal(str)

    def __init__(self, dispatch: Callable[[object], None], parent: QObject | None = None):
        """`dispatch`: a method of a QObject of the GUI thread, so that the messages are queued into it."""
        super().__init__(parent)
        if not isinstance(getattr(dispatch, "__self__", None), QObject):
            raise TypeError("dispatch must be a method of a QObject (the messages are queued into its thread)")
        self.dispatch = dispatch
        self.state = IDLE
        self.run_count = 0
        self.current: RunStarted | None = None  # the live run, once it has started
        self.histograms = False  # whether runs publish weight/gradient histograms (the Histograms view is open)
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None

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
        self._thread = thread = QThread(self)
        thread.setObjectName(f"training-run-{job.run_id}")
        self._worker = worker = TrainingWorker(job, histograms=self.histograms)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.message.connect(self.dispatch)  # queued into the dispatcher's (the GUI) thread
        thread.finished.connect(self._on_thread_finished)
        self._set_state(STARTING)
        thread.start()

    def pause(self) -> None:
        if self._worker is not None and self.state in (STARTING, RUNNING):
            self._worker.set_paused(True)

    def resume(self) -> None:
        if self._worker is not None and self.state in (STARTING, RUNNING, PAUSED):
            self._worker.set_paused(False)

    def toggle_pause(self) -> None:
        self.resume() if self.state == PAUSED else self.pause()

    def want_histograms(self, wanted: bool) -> None:
        """For this run and the next ones."""
        self.histograms = wanted
        if self._worker is not None:
            self._worker.want_histograms(wanted)

    def stop(self, closing: bool = False) -> None:
        """Ask the run to end after its current step; its RunFinished follows. `closing`: the window is closing,
        so no spare process is started for a next run (also when the run is stopping already)."""
        if self._worker is not None and self.state != IDLE and (closing or self.state != STOPPING):
            self._worker.stop(spare_after=not closing)
            self._set_state(STOPPING)

    def wait(self, milliseconds: int = 30000) -> bool:
        """Block until the thread has ended (only for the very end of the app, and for tests)."""
        return self._thread is None or self._thread.wait(milliseconds)

    # -- told by the dispatcher ----------------------------------------------------------------
    def run_started(self, started: RunStarted) -> None:
        self.current = started
        if self.state == STARTING:
            self._set_state(RUNNING)

    def run_paused(self, paused: bool) -> None:
        if self.state in (RUNNING, PAUSED):
            self._set_state(PAUSED if paused else RUNNING)

    # -- the thread has ended ------------------------------------------------------------------
    def _on_thread_finished(self) -> None:
        worker, thread = self._worker, self._thread
        finished = worker.result if worker is not None else None
        if worker is not None:
            worker.deleteLater()
        if thread is not None:
            thread.deleteLater()
        self._worker = self._thread = None
        self._set_state(IDLE)
        if finished is not None:
            self.dispatch(finished)
