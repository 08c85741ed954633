"""Stop, pause and resume: what every trainer offers any thread, and honours between two steps.

The Trainer and the GanTrainer share it, so a control means the same in both runs and the run path treats
them alike.
"""

from __future__ import annotations

import threading
import time


class StopRequested(Exception):
    """Internal: a stop request seen between steps."""


class Controls:
    """Mixed into a trainer, which calls `_init_controls` in its constructor and sets `_active_callbacks`
    (the callbacks of the running `fit`), `model` and `frozen_nodes`."""

    def _init_controls(self) -> None:
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._wake = threading.Event()  # set on every control change, so a paused loop re-checks
        self._active_callbacks: list = []

    # -- any thread ----------------------------------------------------------------------------
    def stop(self) -> None:
        """Finish the current step, then end the run (saving a checkpoint if one is configured)."""
        self._stop.set()
        self._wake.set()

    def pause(self) -> None:
        """Block between steps until `resume` or `stop` (no busy waiting)."""
        self._paused.set()
        self._wake.set()

    def resume(self) -> None:
        self._paused.clear()
        self._wake.set()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # -- the training thread -----------------------------------------------------------------------
    def _call(self, hook: str, *args) -> None:
        for cb in self._active_callbacks:
            getattr(cb, hook)(self, *args)

    def _between_steps(self) -> float:
        """Honour pause and stop. Returns the seconds spent paused."""
        if self._stop.is_set():
            raise StopRequested
        if not self._paused.is_set():
            return 0.0
        start = time.perf_counter()
        self._call("on_pause")
        while True:
            self._wake.clear()
            if self._stop.is_set():
                raise StopRequested
            if not self._paused.is_set():
                break
            self._wake.wait()
        self._call("on_resume")
        return time.perf_counter() - start

    def _set_train_mode(self) -> None:
        self.model.train()
        for node_id in self.frozen_nodes:
            getattr(self.model, node_id).eval()
