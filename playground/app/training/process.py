"""The training process: one run from the window, in an interpreter of its own (Qt-free).

Why a process and not only a thread: the GIL. A training step calls into torch
a few dozen times, and gives up the GIL at each call; in the window's process
the GUI thread then takes it, and the step waits until a repaint or a chart
update lets go. Measured with `playground bench --gui` on a 2-core machine
(every view open), that was 2-4% of the training thread's time, plus 1-3% more
CPU per step from the hand-overs themselves. Here the run shares its GIL only
with the two threads below, which do nearly nothing.

The app's side is `worker.TrainingWorker` (a QThread). The protocol, over a
`Duplex` of two pipes:
- this process says ("ready", None) once torch is imported; it may wait as a
  spare (`core.engine_process`) until the app has a run for it;
- the app sends ("run", job, environment, cores): the `TrainingJob`, the app's
  `PLAYGROUND_*` variables now (a spare started before they changed), and the
  cores the app could use when it started (a spare inherits the affinity of
  the thread that started it);
- this process sends (kind, message) for each of the worker's signals, the
  last always ("finished", RunFinished), and then exits;
- the app sends "stop", "pause", "resume" or ("histograms", bool) at any time.
  End of file on the pipe (the app has gone) stops the run.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import sys
import threading

from ...core.engine_process import Duplex
from ...core.host_memory import keep_buffers_in_the_heap

log = logging.getLogger(__name__)

ENVIRONMENT_PREFIX = "PLAYGROUND_"


def app_environment() -> dict[str, str]:
    """The variables of the app's own that a run reads (data and cache folders), as the app has them now."""
    return {k: v for k, v in os.environ.items() if k.startswith(ENVIRONMENT_PREFIX)}


class _Sender:
    """Writes the run's messages to the pipe from a thread of its own, in order.

    The training thread pickles each message (a copy, made between two steps) and goes on at once: a write
    blocks while the pipe is full, until the app's worker has read it, and the app's worker needs the app's GIL
    for that. `close` waits for the last message ("finished") to be written."""

    def __init__(self, conn: Duplex):
        self.conn = conn
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._write, name="training-sender", daemon=True)
        self._thread.start()

    def send(self, kind: str, message) -> None:
        self._queue.put(pickle.dumps((kind, message), protocol=pickle.HIGHEST_PROTOCOL))

    def _write(self) -> None:
        while (data := self._queue.get()) is not None:
            try:
                self.conn.writer.send_bytes(data)
            except OSError:  # the app has gone; the reader stops the run
                return

    def close(self, timeout: float = 30.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)


def _read_controls(conn: Duplex, controls) -> None:
    """The app's controls, until the end of file (the app has gone, or closed its end: stop)."""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            controls.stop()
            return
        if message == "stop":
            controls.stop()
        elif message == "pause":
            controls.pause()
        elif message == "resume":
            controls.resume()
        elif isinstance(message, tuple) and message[:1] == ("histograms",):
            controls.wanted.histograms = bool(message[1])


def serve(conn: Duplex) -> None:
    """Import torch, say "ready", wait for one run, run it, exit."""
    keep_buffers_in_the_heap()  # first, before any thread (core/host_memory.py)
    from threadpoolctl import threadpool_limits

    from ...core.train import resolve_device
    from ...core.train.cores import pin
    from .job import Controls, run_job

    threadpool_limits(1, user_api="blas")  # NumPy's products here are small; torch keeps its own threads
    try:
        conn.send(("ready", None))
        request = conn.recv()
    except (EOFError, OSError):  # a spare the app never used: the app has gone
        return
    if not (isinstance(request, tuple) and len(request) == 4 and request[0] == "run"):
        return
    _, job, environment, cores = request
    for name in [k for k in os.environ if k.startswith(ENVIRONMENT_PREFIX)]:
        del os.environ[name]
    os.environ.update(environment)
    try:
        on_cpu = resolve_device(job.config.device).type == "cpu"
    except Exception:
        on_cpu = False
    # First, before any thread starts: the sender, the reader and torch's threads inherit these cores.
    pin(job.cores if on_cpu and job.cores else cores)
    controls = Controls(job.wanted)
    sender = _Sender(conn)
    threading.Thread(target=_read_controls, args=(conn, controls), name="training-controls", daemon=True).start()
    run_job(job, controls, sender.send)
    sender.close()


def serve_fds(read_fd: int, write_fd: int) -> None:
    """`serve` on two inherited pipe ends (the child's side of `TrainingWorker`)."""
    serve(Duplex.over(read_fd, write_fd))


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="training process: %(levelname)s %(name)s: %(message)s")
    serve_fds(int(sys.argv[1]), int(sys.argv[2]))
