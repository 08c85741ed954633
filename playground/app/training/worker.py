"""The worker: a QThread that has one `TrainingJob` run in a training process and relays what the run says.

The GUI thread never runs a training step and never waits here. It hands over
an immutable job, then hears back through one queued signal, `message`, that
carries each message of `core.run.messages` as it came off the pipe
(RunStarted, Progress, EpochEnded, WeightsPublished, ParamHistograms, Paused).
The last word, a RunFinished, is not emitted: it is `result` once the thread
has ended, also when the process could not start, died, or did not stop.

Controls go the other way, from any thread, through one setter each
(`set_paused`, `stop`, `want_histograms`): each sends the whole `RunControls`
down the pipe, or keeps it for when the process has the job.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import signal
import subprocess
import threading
import time

from PySide6.QtCore import QObject, Signal, Slot

from ...core.run.job import TrainingJob
from ...core.run.launcher import TRAINING_MODULE, spawn, start_spare_process, take_spare
from ...core.run.messages import Progress, Ready, RunControls, RunFinished, StartRun
from ...core.run.process import app_environment
from ...core.run.wire import Duplex
from ...core.train import cores as core_affinity

log = logging.getLogger(__name__)

START_TIMEOUT = 180.0  # seconds for a new process to import torch (a cold start on a slow disk)
STOP_TIMEOUT = 30.0  # seconds a run may take to stop (one step, or an evaluation) before its process is ended
EXIT_TIMEOUT = 10.0  # seconds for the process to exit after its last message
POLL_SECONDS = 0.05  # how often a process that is starting is asked whether it is ready


class TrainingWorker(QObject):
    """Lives in its own QThread; `run` is connected to the thread's `started`."""

    message = Signal(object)  # each of the run's messages but the last (see the module doc)

    def __init__(self, job: TrainingJob, histograms: bool = False):
        super().__init__()
        self.job = job
        self.result: RunFinished | None = None  # the run's last word, once `run` has returned
        self._lock = threading.Lock()  # guards _conn, _controls and _process; every write to the pipe holds it
        self._controls = RunControls(histograms=histograms)
        self._conn: Duplex | None = None  # once the process has the job
        self._process: subprocess.Popen | None = None
        self._last_step = 0  # of the newest Progress: where a run that dies had got to
        self._watchdog: threading.Timer | None = None  # ends a run that does not stop within STOP_TIMEOUT
        self._ended_unstopped = False
        self._spare_after = True  # start the next run's process once this one ends (not when the window closes)

    @property
    def process_id(self) -> int | None:
        """The training process's pid, while it runs."""
        process = self._process
        return process.pid if process is not None else None

    # -- controls: any thread --------------------------------------------------------------------
    def set_paused(self, paused: bool) -> None:
        self._control(paused=paused)

    def want_histograms(self, wanted: bool) -> None:
        self._control(histograms=wanted)

    def stop(self, spare_after: bool = True) -> None:
        """`spare_after` False: no next run is coming (the window is closing), so no spare process is started
        for one: it would import torch only to exit with the app."""
        with self._lock:
            self._spare_after = self._spare_after and spare_after
            if self._watchdog is None:
                # A run that hangs (or a process stuck in the middle of a message) cannot stop itself.
                self._watchdog = threading.Timer(STOP_TIMEOUT, self._end_unstopped)
                self._watchdog.daemon = True
                self._watchdog.start()
        self._control(stop=True)

    def _control(self, **changes) -> None:
        with self._lock:
            self._controls = dataclasses.replace(self._controls, **changes)
            if self._conn is not None:  # a process that has gone is noticed by `run`
                with contextlib.suppress(OSError):
                    self._conn.send(self._controls)

    def _end_unstopped(self) -> None:
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                self._ended_unstopped = True
                self._process.kill()  # the relay hears the end of file

    # -- the run: worker thread ------------------------------------------------------------------
    @Slot()
    def run(self) -> None:
        try:
            self._run()
        finally:
            # The thread ends as soon as the run does, without a round trip through the GUI thread, so that the
            # session's `wait` cannot deadlock with an event loop that is blocked in it.
            self.thread().quit()

    def _run(self) -> None:
        start = time.perf_counter()
        try:
            process, conn = take_spare(TRAINING_MODULE) or spawn(TRAINING_MODULE)
        except OSError as exc:
            self.result = self._ended(f"the training process could not start: {exc}", start)
            return
        with self._lock:
            self._process = process
        try:
            self.result = self._relay(process, conn, start)
        except Exception as exc:  # a bug here: say it plainly, keep the app up
            log.exception("relaying training run %s failed", self.job.run_id)
            self.result = self._ended(f"an internal error stopped training: {type(exc).__name__}: {exc}", start)
        finally:
            with self._lock:
                self._conn = None
                if self._watchdog is not None:
                    self._watchdog.cancel()
            conn.close()  # end of file: a process still running stops its run and exits
            _end(process)
            with self._lock:
                self._process = None
            if self._spare_after:
                start_spare_process(TRAINING_MODULE)  # so that the next run starts at once

    def _relay(self, process: subprocess.Popen, conn: Duplex, start: float) -> RunFinished:
        if not self._wait_ready(process, conn):
            if self._controls.stop:
                process.kill()  # it has no job yet: nothing of the person's is lost
                return self._ended("", start, status="stopped")
            if process.poll() is not None:
                return self._ended(_died(process, "while it started"), start)
            process.kill()
            return self._ended(f"the training process did not start within {START_TIMEOUT:.0f} s", start)
        with self._lock:
            conn.send(StartRun(self.job, self._controls, app_environment(), core_affinity.at_start()))
            self._conn = conn
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                if self._ended_unstopped:
                    return self._ended(f"the training process did not stop within {STOP_TIMEOUT:g} s and was ended",
                                       start, status="stopped")
                return self._ended(_died(process, "during the run"), start)
            if isinstance(message, RunFinished):
                return message
            if isinstance(message, Progress):
                self._last_step = message.global_step
            self.message.emit(message)

    def _wait_ready(self, process: subprocess.Popen, conn: Duplex) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and not self._controls.stop:
            if conn.poll(POLL_SECONDS):
                try:
                    return isinstance(conn.recv(), Ready)
                except (EOFError, OSError):
                    return False
        return False

    def _ended(self, message: str, start: float, status: str = "failed") -> RunFinished:
        """The last word for a run whose process had none to say (it could not start, died, or was ended)."""
        return RunFinished(run_id=self.job.run_id, status=status, message=message, epochs_completed=0,
                           global_step=self._last_step, test_accuracy=None, samples_per_second=0.0,
                           seconds=time.perf_counter() - start)


def _died(process: subprocess.Popen, when: str) -> str:
    """What to tell the person when the training process ended without a last word."""
    try:
        code = process.wait(EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        return f"the training process stopped answering {when}"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (the system may have run out of memory)" if name == "SIGKILL" else ""
        return f"the training process was killed by {name} {when}{hint}"
    return f"the training process exited unexpectedly {when} (exit code {code})"


def _end(process: subprocess.Popen) -> None:
    try:
        process.wait(EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        log.warning("the training process %s did not exit; killing it", process.pid)
        process.kill()
        process.wait()
