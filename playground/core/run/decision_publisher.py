"""Runs on 2-D points show what they compute over the plane, many times a second: two Trainer callbacks.

- `DecisionPublisher` (a network on points, task "points"): a DecisionFrame, the output's surface, every neuron's
  thumbnail and the losses over all the points (`core/train/surface.py`);
- `GanPointsPublisher` (a GAN on points): a GanPointsFrame, the discriminator's verdict over the plane, the real
  and generated points and where the generator pushes each (`core/gan/plane.py`), in place of the GanPublisher's
  image samples.

run_job adds one beside the run's Publisher. By the clock, between steps, each sends a frame, and keeps its own
cost to at most a fifth of the run's time, so a big network gets fewer frames instead of slower training.
"""

from __future__ import annotations

import time

from ..data.points import EXTENT
from ..train import Callback
from ..train.surface import Surface
from .messages import DecisionFrame, GanPointsFrame
from .publisher import Send

FRAME_INTERVAL = 1 / 30  # seconds: as often as the window repaints them (30 Hz), no more
COST_SHARE = 0.2  # the most of the run's time that making frames may take


class _FramePublisher(Callback):
    """A frame at the start, by the clock between steps (within COST_SHARE), and at the end."""

    def __init__(self, send: Send, job, interval: float = FRAME_INTERVAL):
        self.send = send
        self.job = job
        self.interval = interval
        self._next = 0.0
        self.frames = 0

    def on_fit_start(self, trainer):
        self._publish(trainer, trainer.global_step, trainer.epochs_completed)  # the untrained network, at once

    def on_step_end(self, trainer, step):
        if time.perf_counter() >= self._next:
            self._publish(trainer, step.global_step, step.epoch)

    def on_fit_end(self, trainer, result):
        self._publish(trainer, trainer.global_step, max(0, trainer.epochs_completed - 1))

    def _publish(self, trainer, global_step: int, epoch: int) -> None:
        start = time.perf_counter()
        self.send(self._frame(trainer, global_step, epoch))
        self.frames += 1
        # The next one `interval` after this one began, not after it ended (that made 1/(interval + cost) frames a
        # second: 27 instead of 30 headless; docs/performance.md, issue 21), and never sooner than keeps the frames'
        # cost within COST_SHARE of the run's time.
        self._next = start + max(self.interval, (time.perf_counter() - start) / COST_SHARE)

    def _frame(self, trainer, global_step: int, epoch: int):
        """The message to send now: each kind of run's own (the subclasses below)."""
        raise NotImplementedError


class DecisionPublisher(_FramePublisher):
    def __init__(self, send: Send, job, interval: float = FRAME_INTERVAL):
        super().__init__(send, job, interval)
        self.surface: Surface | None = None

    def on_fit_start(self, trainer):
        self.surface = Surface(trainer.model, trainer.graph, trainer.device, trainer.loss_kind, trainer.regression)
        super().on_fit_start(trainer)

    def _frame(self, trainer, global_step: int, epoch: int) -> DecisionFrame:
        output, units, totals, train_loss, test_loss = self.surface.frame(trainer.train_data, trainer.test_data)
        return DecisionFrame(run_id=self.job.run_id, global_step=global_step, epoch=epoch, extent=EXTENT,
                             output=output, units=units, units_total=totals, train_loss=train_loss,
                             test_loss=test_loss)


class GanPointsPublisher(_FramePublisher):
    def _frame(self, trainer, global_step: int, epoch: int) -> GanPointsFrame:
        real, fake, gradient, surface = trainer.plane.frame()
        metrics = trainer.latest_metrics()  # NaN before the first step
        return GanPointsFrame(run_id=self.job.run_id, global_step=global_step, epoch=epoch, extent=EXTENT,
                              gan_loss=trainer.config.gan_loss, real=real, fake=fake, gradient=gradient,
                              surface=surface, loss_d=metrics["loss_d"], loss_g=metrics["loss_g"])
