"""The worker: a QThread that runs one `TrainingJob` in a training process and relays what the run says.

The GUI thread never runs a training step and never waits here. It hands over
an immutable `TrainingJob`, then hears back only through queued signals that
carry the plain messages of `messages.py`. The run itself (`job.run_job`)
trains in a process of its own (`process.py` says why: the GIL); this thread
starts or takes that process, sends it the job, and turns each message from
its pipe into the signal of the same name. Controls (pause, resume, stop) and
the views' wishes (`Wanted`) go down the same pipe, from any thread.

Whatever happens, `finished` is the last signal: the run's own RunFinished,
or one that says the process could not start, died, or did not stop.
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

from ...core.engine_process import (
    TRAINER_MODULE,
    Duplex,
    spawn,
    start_spare_process,
    take_spare,
    weights_as_arrays,
    weights_as_tensors,
)
from ...core.train import cores as core_affinity
from .job import TrainingJob
from .messages import RunFinished, WeightsPublished
from .process import app_environment

log = logging.getLogger(__name__)

START_TIMEOUT = 180.0  # seconds for a new process to import torch (a cold start on a slow disk)
STOP_TIMEOUT = 30.0  # seconds a run may take to stop (one step, or an evaluation) before its process is ended
EXIT_TIMEOUT = 10.0  # seconds for the process to exit after its last message
POLL_SECONDS = 0.05  # how often this thread looks at the views' wishes
SIGNALS = ("started", "progress", "epoch_ended", "weights_published", "histograms", "paused", "finished")


class TrainingWorker(QObject):
    """Lives in its own QThread; `run` is connected to the thread's `started`."""

    started = Signal(object)  # RunStarted
    progress = Signal(object)  # Progress
    epoch_ended = Signal(object)  # EpochEnded
    weights_published = Signal(object)  # WeightsPublished
    histograms = Signal(object)  # ParamHistograms (only while job.wanted.histograms)
    paused = Signal(bool)  # the run has really paused (True) or gone on (False)
    finished = Signal(object)  # RunFinished: always the last signal, whatever happened

    def __init__(self, job: TrainingJob):
        super().__init__()
        self.job = job
        self._lock = threading.Lock()  # guards _conn and the requests; every write to the pipe holds it
        self._conn: Duplex | None = None  # once the process has the job
        self._stop_requested = False
        self._pause_requested = False
        self._last_step = 0  # of the newest Progress: where a run that dies had got to
        self._process: subprocess.Popen | None = None
        self._watchdog: threading.Timer | None = None  # ends a run that does not stop within STOP_TIMEOUT
        self._ended_unstopped = False
        self._spare_after = True  # start the next run's process once this one ends (not when the window closes)

    @property
    def process_id(self) -> int | None:
        """The training process's pid, while it runs."""
        process = self._process
        return process.pid if process is not None else None

    # -- controls: any thread --------------------------------------------------------------------
    def stop(self, spare_after: bool = True) -> None:
        """`spare_after` False: no next run is coming (the window is closing), so no spare process is started
        for one: it would import torch only to exit with the app."""
        with self._lock:
            self._spare_after = self._spare_after and spare_after
            if not self._stop_requested:
                self._stop_requested = True
                # A run that hangs (or a process stuck in the middle of a message) cannot stop itself.
                self._watchdog = threading.Timer(STOP_TIMEOUT, self._end_unstopped)
                self._watchdog.daemon = True
                self._watchdog.start()
            self._send("stop")

    def _end_unstopped(self) -> None:
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                self._ended_unstopped = True
                self._process.kill()  # the relay hears the end of file

    def pause(self) -> None:
        with self._lock:
            self._pause_requested = True
            self._send("pause")

    def resume(self) -> None:
        with self._lock:
            self._pause_requested = False
            self._send("resume")

    def _send(self, message) -> None:
        """To the process, if it has the job (hold the lock). A process that has gone is noticed by `run`."""
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.send(message)

    # -- the run: worker thread ------------------------------------------------------------------
    @Slot()
    def run(self) -> None:
        start = time.perf_counter()
        try:
            process, conn = take_spare(TRAINER_MODULE) or spawn(TRAINER_MODULE)
        except OSError as exc:
            self.finished.emit(self._ended(f"the training process could not start: {exc}", start))
            return
        with self._lock:
            self._process = process
        try:
            self.finished.emit(self._relay(process, conn, start))
        except Exception as exc:  # a bug here: say it plainly, keep the app up
            log.exception("relaying training run %s failed", self.job.run_id)
            self.finished.emit(self._ended(f"an internal error stopped training: {type(exc).__name__}: {exc}",
                                           start))
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
                start_spare_process(TRAINER_MODULE)  # so that the next run starts at once

    def _relay(self, process: subprocess.Popen, conn: Duplex, start: float) -> RunFinished:
        if not self._wait_ready(process, conn):
            if self._stop_requested:
                process.kill()  # it has no job yet: nothing of the person's is lost
                return self._ended("", start, status="stopped")
            if process.poll() is not None:
                return self._ended(_died(process, "while it started"), start)
            process.kill()
            return self._ended(f"the training process did not start within {START_TIMEOUT:.0f} s", start)
        job = self.job
        if job.initial_weights is not None:
            job = dataclasses.replace(job, initial_weights=weights_as_arrays(job.initial_weights))
        conn.send(("run", job, app_environment(), core_affinity.at_start()))
        with self._lock:
            self._conn = conn
            if self._stop_requested:
                self._send("stop")
            if self._pause_requested:
                self._send("pause")
        histograms = job.wanted.histograms
        while True:
            if self.job.wanted.histograms != histograms:
                histograms = self.job.wanted.histograms
                with self._lock:
                    self._send(("histograms", histograms))
            if not conn.poll(POLL_SECONDS):
                continue
            try:
                kind, message = conn.recv()
            except (EOFError, OSError):
                if self._ended_unstopped:
                    return self._ended(f"the run did not stop within {STOP_TIMEOUT:g} s, so its process was ended",
                                       start, status="stopped")
                return self._ended(_died(process, "during the run"), start)
            if kind not in SIGNALS:
                log.warning("the training process sent an unknown message %r", kind)
                continue
            if isinstance(message, WeightsPublished):
                message = dataclasses.replace(message, state_dict=weights_as_tensors(message.state_dict))
            if kind == "finished":
                return message
            if kind == "progress":
                self._last_step = message.global_step
            getattr(self, kind).emit(message)

    def _wait_ready(self, process: subprocess.Popen, conn: Duplex) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and not self._stop_requested:
            if conn.poll(POLL_SECONDS):
                try:
                    return conn.recv() == ("ready", None)
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
