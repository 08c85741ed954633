"""Starting the app's helper processes, without importing torch here.

Two kinds, each a module that serves over a `Duplex` (wire.py):
- the inference process (`core.inference.server`, INFERENCE_MODULE): the Draw
  dock's predictions and the looks inside the network;
- a training process per run (`core.run.process`, TRAINING_MODULE).

A helper starts from the executable that runs the app (`sys.executable`: a
venv's Python, or a frozen bundle's executable given a flag), never from a
`python` on PATH. Not multiprocessing: its "spawn" re-imports the caller's
__main__, which re-runs any script that opens the window without a
`__name__ == "__main__"` guard.

Torch-free (and Qt-free) so that the app can start a process as its window
appears, before it has imported torch itself: `start_spare_process` starts one,
and the next user of that kind takes it (`take_spare`) instead of starting its
own. The process imports torch meanwhile, on its own core.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from .wire import Duplex

INFERENCE_MODULE = "playground.core.inference.server"
TRAINING_MODULE = "playground.core.run.process"
# How a frozen app's executable is told to serve one of them (see cli.main): module -> flag.
SERVE_FLAGS = {INFERENCE_MODULE: "--playground-inference-process", TRAINING_MODULE: "--playground-training-process"}


def helper_command(read_fd: int, write_fd: int, module: str) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that start `module`'s server in a fresh interpreter."""
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[3])  # the folder holding the playground package
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    if getattr(sys, "frozen", False):
        return [sys.executable, SERVE_FLAGS[module], str(read_fd), str(write_fd)], env
    return [sys.executable, "-m", module, str(read_fd), str(write_fd)], env


def spawn(module: str) -> tuple[subprocess.Popen, Duplex]:
    """A new process serving `module` (it imports torch for a few seconds before it says it is ready) and the
    app's end of its pipes. OSError when it cannot start."""
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    command, env = helper_command(to_child_r, from_child_w, module)
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


def start_spare_process(module: str) -> int | None:
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


def take_spare(module: str) -> tuple[subprocess.Popen, Duplex] | None:
    """The spare process for `module`, if one was started and is still alive; None otherwise. Any thread."""
    with _spare_lock:
        spare = _spares.pop(module, None)
    if spare is not None and spare[0].poll() is not None:  # it died meanwhile
        spare[1].close()
        return None
    return spare
