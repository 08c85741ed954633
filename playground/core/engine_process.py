"""Starting the canvas's inference process (`core.train.engine`), without importing torch here.

Torch-free (and Qt-free) so that the app can start the process as its window
appears, before it has imported torch itself: `start_spare_process` starts one,
and the first `ProcessEngine` takes it (`take_spare`) instead of starting its
own. The process imports torch meanwhile, on its own core, while the app
imports it too; the first drawing is classified seconds sooner.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path

ENGINE_FLAG = "--playground-inference-engine"  # how a frozen app's executable is told to serve (see cli.main)
ENGINE_MODULE = "playground.core.train.engine"


def engine_command(read_fd: int, write_fd: int) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that start `serve` in a fresh interpreter. Not multiprocessing: its
    "spawn" re-imports the caller's __main__, which re-runs any script that opens the window without a
    `__name__ == "__main__"` guard."""
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])  # the folder holding the playground package
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    if getattr(sys, "frozen", False):
        return [sys.executable, ENGINE_FLAG, str(read_fd), str(write_fd)], env
    return [sys.executable, "-m", ENGINE_MODULE, str(read_fd), str(write_fd)], env


class Duplex:
    """One connection object over two one-way pipes (the shape `serve` and `ProcessEngine` talk through)."""

    def __init__(self, reader: Connection, writer: Connection):
        self.reader, self.writer = reader, writer

    @classmethod
    def over(cls, read_fd: int, write_fd: int) -> Duplex:
        """Over the read end of one pipe and the write end of the other."""
        return cls(Connection(read_fd, writable=False), Connection(write_fd, readable=False))

    def send(self, obj) -> None:
        self.writer.send(obj)

    def recv(self):
        return self.reader.recv()

    def poll(self, timeout: float) -> bool:
        return self.reader.poll(timeout)

    def close(self) -> None:
        self.reader.close()
        self.writer.close()


def spawn() -> tuple[subprocess.Popen, Duplex]:
    """A new engine process (it imports torch for a few seconds before it answers "ready") and the app's end of
    its pipes. OSError when it cannot start."""
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    command, env = engine_command(to_child_r, from_child_w)
    try:
        # A session of its own: Ctrl+C in the terminal goes to the app, which ends the process itself (end of file
        # on its pipe), not also to the process, which would print a KeyboardInterrupt from inside torch's import.
        process = subprocess.Popen(command, env=env, pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    except OSError:
        for fd in (to_child_r, to_child_w, from_child_r, from_child_w):
            os.close(fd)
        raise
    os.close(to_child_r)  # the child's ends: only the child holds them now
    os.close(from_child_w)
    return process, Duplex.over(from_child_r, to_child_w)


_spare_lock = threading.Lock()
_spare: tuple[subprocess.Popen, Duplex] | None = None


def start_spare_process() -> int | None:
    """Start an engine process for the next `ProcessEngine` to take (one spare at most): its pid. A spare nobody
    takes ends with the app: its pipe closes, and the process stops at the end of file. None: it could not start
    (the predictor tries again when it needs one, and says why)."""
    global _spare
    with _spare_lock:
        if _spare is not None and _spare[0].poll() is None:
            return _spare[0].pid
    try:
        spare = spawn()
    except OSError:
        return None
    with _spare_lock:
        old, _spare = _spare, spare
    if old is not None:  # it had died
        old[1].close()
    return spare[0].pid


def take_spare() -> tuple[subprocess.Popen, Duplex] | None:
    """The spare process, if one was started and is still alive; None otherwise. Any thread."""
    global _spare
    with _spare_lock:
        spare, _spare = _spare, None
    if spare is not None and spare[0].poll() is not None:  # it died meanwhile
        spare[1].close()
        return None
    return spare
