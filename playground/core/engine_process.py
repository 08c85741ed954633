"""Starting the app's helper processes, without importing torch here.

Two kinds, each a module that serves over a pair of pipes:
- the canvas's inference process (`core.train.engine`, ENGINE_MODULE);
- a training process per run (`app.training.process`, TRAINER_MODULE): the
  run trains there, so that its Python never waits for the window's GIL.

Torch-free (and Qt-free) so that the app can start a process as its window
appears, before it has imported torch itself: `start_spare_process` starts one,
and the next user of that kind takes it (`take_spare`) instead of starting its
own. The process imports torch meanwhile, on its own core; the first drawing is
classified, and the first run starts, seconds sooner.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ENGINE_MODULE = "playground.core.train.engine"
TRAINER_MODULE = "playground.app.training.process"
# How a frozen app's executable is told to serve one of them (see cli.main): module -> flag.
SERVE_FLAGS = {ENGINE_MODULE: "--playground-inference-engine", TRAINER_MODULE: "--playground-training-process"}


def engine_command(read_fd: int, write_fd: int, module: str = ENGINE_MODULE) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that start `module`'s server in a fresh interpreter. Not
    multiprocessing: its "spawn" re-imports the caller's __main__, which re-runs any script that opens the window
    without a `__name__ == "__main__"` guard."""
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])  # the folder holding the playground package
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    if getattr(sys, "frozen", False):
        return [sys.executable, SERVE_FLAGS[module], str(read_fd), str(write_fd)], env
    return [sys.executable, "-m", module, str(read_fd), str(write_fd)], env


class Duplex:
    """One connection object over two one-way pipes (the shape both ends of a helper process talk through).

    Messages are plain pickles, not multiprocessing's: its pickler sends a torch tensor as a handle to shared
    memory that only a multiprocessing child can open. Both ends are this app, so pickle is safe here. Send
    weights as NumPy arrays: a tensor pickles by value too, but 5-40x slower."""

    def __init__(self, reader: Connection, writer: Connection):
        self.reader, self.writer = reader, writer

    @classmethod
    def over(cls, read_fd: int, write_fd: int) -> Duplex:
        """Over the read end of one pipe and the write end of the other."""
        return cls(Connection(read_fd, writable=False), Connection(write_fd, readable=False))

    def send(self, obj) -> None:
        self.writer.send_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))

    def recv(self):
        return pickle.loads(self.reader.recv_bytes())

    def poll(self, timeout: float) -> bool:
        return self.reader.poll(timeout)

    def close(self) -> None:
        self.reader.close()
        self.writer.close()


def weights_as_arrays(state_dict: dict[str, Any]) -> dict[str, Any]:
    """CPU tensors as NumPy arrays sharing their memory, for a `Duplex` (a tensor pickles 5-40x slower). A dtype
    NumPy lacks (bfloat16) stays a tensor."""
    return {k: v.numpy() if hasattr(v, "numpy") and _numpy_has(v.dtype) else v for k, v in state_dict.items()}


def weights_as_tensors(state_dict: dict[str, Any]) -> dict[str, Any]:
    """The inverse of `weights_as_arrays` (the tensors share the arrays' memory)."""
    import numpy
    import torch

    return {k: torch.from_numpy(v) if isinstance(v, numpy.ndarray) else v for k, v in state_dict.items()}


def _numpy_has(dtype) -> bool:
    return str(dtype) not in ("torch.bfloat16", "torch.float8_e4m3fn", "torch.float8_e5m2")


def spawn(module: str = ENGINE_MODULE) -> tuple[subprocess.Popen, Duplex]:
    """A new process serving `module` (it imports torch for a few seconds before it answers "ready") and the
    app's end of its pipes. OSError when it cannot start."""
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    command, env = engine_command(to_child_r, from_child_w, module)
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
_spares: dict[str, tuple[subprocess.Popen, Duplex]] = {}  # module -> its spare process


def start_spare_process(module: str = ENGINE_MODULE) -> int | None:
    """Start a process serving `module` for the next user of that kind to take (one spare each at most): its
    pid. A spare nobody takes ends with the app: its pipe closes, and the process stops at the end of file.
    None: it could not start (its user tries again when it needs one, and says why)."""
    with _spare_lock:
        spare = _spares.get(module)
        if spare is not None and spare[0].poll() is None:
            return spare[0].pid
    try:
        spare = spawn(module)
    except OSError:
        return None
    with _spare_lock:
        old, _spares[module] = _spares.get(module), spare
    if old is not None:  # it had died
        old[1].close()
    return spare[0].pid


def take_spare(module: str = ENGINE_MODULE) -> tuple[subprocess.Popen, Duplex] | None:
    """The spare process for `module`, if one was started and is still alive; None otherwise. Any thread."""
    with _spare_lock:
        spare = _spares.pop(module, None)
    if spare is not None and spare[0].poll() is not None:  # it died meanwhile
        spare[1].close()
        return None
    return spare
