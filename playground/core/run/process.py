"""The training process: one run from the window, in an interpreter of its own (Qt-free).

Why a process: Python's interpreter lock. A training step calls into torch a
few dozen times and gives the lock up at each call; in the window's process the
GUI thread would take it then, and the step would wait for a repaint to end.
Here the run shares its lock only with the two threads below, which do nearly
nothing. A crash, an out-of-memory kill or a hang takes only this process.

The protocol (messages.py), over a `Duplex` (wire.py):
- this process says `Ready()` once torch is imported; it may wait as a spare
  (launcher.py) until the app has a run for it;
- the app sends one `StartRun` (the job, the controls as they are, the app's
  environment and cores); the run's messages follow, `RunFinished` last, and
  then this process exits;
- the app sends `RunControls` whenever a wish changes. End of file on the pipe
  (the app has gone, or its worker gave up on the run) stops the run.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading

from ...core.run.messages import Ready, RunControls, StartRun
from ..host_memory import keep_buffers_in_the_heap
from .wire import Duplex, dumps

log = logging.getLogger(__name__)

ENVIRONMENT_PREFIX = "PLAYGROUND_"


def app_environment() -> dict[str, str]:
    """The variables of the app's own that a run reads (data and cache folders), as the app has them now."""
    return {k: v for k, v in os.environ.items() if k.startswith(ENVIRONMENT_PREFIX)}


class _Sender:
    """Writes the run's messages to the pipe from a thread of its own, in order.

    The training thread encodes each message (a copy, made between two steps) and goes on at once: a write
    blocks while the pipe is full, until the app has read it. `close` waits for the last message to be
    written."""

    def __init__(self, conn: Duplex):
        self.conn = conn
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._write, name="training-sender", daemon=True)
        self._thread.start()

    def send(self, message) -> None:
        self._queue.put(dumps(message))

    def _write(self) -> None:
        while (data := self._queue.get()) is not None:
            try:
                self.conn.send_encoded(data)
            except OSError:  # the app has gone; the reader stops the run
                return

    def close(self, timeout: float = 30.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)


def _read_controls(conn: Duplex, control) -> None:
    """The app's controls, until the end of file (the app has gone, or closed its end: stop)."""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            control.apply(RunControls(stop=True))
            return
        if isinstance(message, RunControls):
            control.apply(message)
        else:
            log.warning("ignored a message the run does not know: %r", message)


def serve(conn: Duplex) -> None:
    """Import torch, say it is ready, wait for one run, run it, exit."""
    keep_buffers_in_the_heap()  # first, before any thread (core/host_memory.py)
    from threadpoolctl import threadpool_limits

    from ..train import resolve_device
    from ..train.cores import pin
    from .job import RunControl, run_job

    threadpool_limits(1, user_api="blas")  # NumPy's products here are small; torch keeps its own threads
    try:
        conn.send(Ready())
        request = conn.recv()
    except (EOFError, OSError):  # a spare the app never used: the app has gone
        return
    if not isinstance(request, StartRun):
        return
    job = request.job
    for name in [k for k in os.environ if k.startswith(ENVIRONMENT_PREFIX)]:
        del os.environ[name]
    os.environ.update(request.environment)
    try:
        on_cpu = resolve_device(job.config.device).type == "cpu"
    except Exception:
        on_cpu = False
    # First, before any thread starts: the sender, the reader and torch's threads inherit these cores.
    pin(job.cores if on_cpu and job.cores else request.cores)
    control = RunControl(request.controls)
    sender = _Sender(conn)
    threading.Thread(target=_read_controls, args=(conn, control), name="training-controls", daemon=True).start()
    run_job(job, control, sender.send)
    sender.close()


def serve_fds(read_fd: int, write_fd: int) -> None:
    """`serve` on two inherited pipe ends (the child's side of the app's `TrainingWorker`)."""
    serve(Duplex.over(read_fd, write_fd))


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="training process: %(levelname)s %(name)s: %(message)s")
    serve_fds(int(sys.argv[1]), int(sys.argv[2]))
