"""Callbacks: how the CLI, the training process's Publisher and tests watch a run (after PyTorch Lightning's).

Every hook runs in the training thread, between steps, with the model in a
consistent state: a callback may read the trainer (`latest_loss`,
`step_losses`, `state_dict_copy`, its `model`) from inside a hook. It should keep
each call short and decide itself how often to publish — `on_step_end` runs
every step, and anything that copies to the host there costs a GPU sync.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .metrics import EpochMetrics, EvalMetrics, StepInfo

if TYPE_CHECKING:
    from .trainer import Trainer, TrainResult


class Callback:
    """Base class: every hook is a no-op; override the ones you need."""

    def on_fit_start(self, trainer: Trainer) -> None:
        """Before the first step (the model, optimizer and data are ready)."""

    def on_step_end(self, trainer: Trainer, step: StepInfo) -> None:
        """After every optimizer step."""

    def on_validation_end(self, trainer: Trainer, metrics: EvalMetrics) -> None:
        """After the end-of-epoch evaluation, before `on_epoch_end`."""

    def on_epoch_end(self, trainer: Trainer, metrics: EpochMetrics) -> None:
        """After each full epoch (and its evaluation)."""

    def on_pause(self, trainer: Trainer) -> None:
        """The run has paused (between two steps); called once per pause."""

    def on_resume(self, trainer: Trainer) -> None:
        """The run goes on after a pause."""

    def on_exception(self, trainer: Trainer, exc: BaseException) -> None:
        """The run failed (divergence, out of memory, or a bug); `fit` raises right after."""

    def on_fit_end(self, trainer: Trainer, result: TrainResult) -> None:
        """The run finished or was stopped; `result` is what `fit` returns."""


class JsonlLogger(Callback):
    """Appends one JSON object per line: {"type": "step", ...} every `every_steps` steps
    (0: none) and {"type": "epoch", ...} per epoch, between a "start" and an "end" (or "error") record.
    Flushed per line, so it can be tailed."""

    def __init__(self, path: str | os.PathLike, every_steps: int = 50, mode: str = "a"):
        self.path = Path(path)
        self.every_steps = every_steps
        self.mode = mode  # "a" appends (a resumed run continues its log), "w" starts afresh
        self._file = None

    def _write(self, record: dict[str, Any]) -> None:
        if self._file is not None:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()

    def on_fit_start(self, trainer):
        self._file = open(self.path, self.mode, encoding="utf-8")  # noqa: SIM115 (closed in on_fit_end/on_exception)
        self._write({"type": "start", "time": time.time(), "config": trainer.config.to_dict(),
                     "dataset": trainer.dataset_name, "device": str(trainer.device)})

    def on_step_end(self, trainer, step):
        if self.every_steps and step.global_step % self.every_steps == 0:
            self._write({"type": "step", "epoch": step.epoch, "global_step": step.global_step,
                         "loss": trainer.latest_loss(), "lr": step.lr})

    def on_epoch_end(self, trainer, metrics):
        self._write({"type": "epoch", **metrics.to_dict()})

    def _close(self):
        if self._file is not None:
            self._file.close()
            self._file = None

    def on_exception(self, trainer, exc):
        self._write({"type": "error", "message": str(exc)})
        self._close()

    def on_fit_end(self, trainer, result):
        self._write({"type": "end", "status": result.status, "epochs_completed": result.epochs_completed,
                     "test": result.test.to_dict() if result.test else None})
        self._close()
