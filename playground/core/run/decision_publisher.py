"""The DecisionPublisher: a run on 2-D points shows what it computes over the plane, many times a second.

A Trainer callback beside the Publisher (run_job adds it for task "points"). By
the clock, between steps, it sends a DecisionFrame: the output's surface, every
neuron's thumbnail and the losses over all the points (`core/train/surface.py`).
It keeps its own cost to at most a fifth of the run's time, so a big network
gets fewer frames instead of slower training.
"""

from __future__ import annotations

import time

from ..data.points import EXTENT
from ..train import Callback
from ..train.surface import Surface
from .messages import DecisionFrame
from .publisher import Send

FRAME_INTERVAL = 1 / 30  # seconds: as often as the window repaints them (30 Hz), no more
COST_SHARE = 0.2  # the most of the run's time that making frames may take


class DecisionPublisher(Callback):
    def __init__(self, send: Send, job, interval: float = FRAME_INTERVAL):
        self.send = send
        self.job = job
        self.interval = interval
        self.surface: Surface | None = None
        self._next = 0.0
        self.frames = 0

    def on_fit_start(self, trainer):
        self.surface = Surface(trainer.model, trainer.graph, trainer.device, trainer.loss_kind, trainer.regression)
        self._publish(trainer, trainer.global_step, trainer.epochs_completed)  # the untrained network, at once

    def on_step_end(self, trainer, step):
        if time.perf_counter() >= self._next:
            self._publish(trainer, step.global_step, step.epoch)

    def on_fit_end(self, trainer, result):
        self._publish(trainer, trainer.global_step, max(0, trainer.epochs_completed - 1))

    def _publish(self, trainer, global_step: int, epoch: int) -> None:
        start = time.perf_counter()
        output, units, totals, train_loss, test_loss = self.surface.frame(trainer.train_data, trainer.test_data)
        self.send(DecisionFrame(run_id=self.job.run_id, global_step=global_step, epoch=epoch, extent=EXTENT,
                                output=output, units=units, units_total=totals, train_loss=train_loss,
                                test_loss=test_loss))
        self.frames += 1
        # The next one `interval` after this one began, not after it ended (that made 1/(interval + cost) frames a
        # second: 27 instead of 30 headless; docs/performance.md, issue 21), and never sooner than keeps the frames'
        # cost within COST_SHARE of the run's time.
        self._next = start + max(self.interval, (time.perf_counter() - start) / COST_SHARE)
