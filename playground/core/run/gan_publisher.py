"""The Publisher of a GAN run (core/gan/trainer.py), in the training thread.

What the classifier's Publisher sends, it sends too, by the same clock:
Progress about ten times a second (position, speed; its losses are the
generator's), WeightsPublished (both networks, one state_dict keyed by node
id), ParamHistograms (both networks' layers). Then, for GANs:
- GanProgress with each Progress: every step's loss_D, loss_G, D(real), D(fake) since the last one;
- GanSamples every `samples_interval` seconds and at every epoch's end: the
  generator's images of the run's fixed noise, as uint8 (one forward pass of 64
  samples; time-based, never per step). A GAN on 2-D points has no images: its
  GanPointsFrames come from a GanPointsPublisher beside this (decision_publisher.py);
- GanEpochEnded at each epoch's end, with the judge's verdict (instead of EpochEnded; a GAN on points has no
  judge: its verdict says how near the generated points lie to the real ones, core/gan/plane.py);
- RunNote for what the trainer says while it prepares (training the judge).
As for classifiers, only the run's last WeightsPublished carries the history.
"""

from __future__ import annotations

import time

import numpy as np

from ..gan.plane import PointsReport
from .messages import GanEpochEnded, GanProgress, GanSamples, RunNote
from .publisher import Publisher

SAMPLES_INTERVAL = 2.0  # seconds between sample grids (a forward pass of 64 samples each: 1-3% of a CPU run)


class GanPublisher(Publisher):
    def __init__(self, send, job, wants_histograms=lambda: False):
        super().__init__(send, job, wants_histograms)
        self.samples_interval = getattr(job, "samples_interval", SAMPLES_INTERVAL)
        self._last_samples = 0.0

    def on_note(self, trainer, text: str) -> None:
        self.send(RunNote(self.job.run_id, text))

    def on_fit_start(self, trainer):
        super().on_fit_start(trainer)
        self._publish_samples(trainer)  # what the untrained generator makes: static

    def on_step_end(self, trainer, step):
        super().on_step_end(trainer, step)
        now = time.perf_counter()
        if now - self._last_samples >= self.samples_interval:
            self._publish_samples(trainer)

    def on_epoch_end(self, trainer, metrics):
        self._publish_progress(trainer, trainer.global_step, metrics.epoch)
        self._sent_in_epoch = 0
        judge = metrics.judge or {}
        verdict = PointsReport(**metrics.points).verdict if metrics.points else str(judge.get("verdict", ""))
        self.send(GanEpochEnded(
            run_id=self.job.run_id, epoch=metrics.epoch + 1, global_step=trainer.global_step,
            loss_d=metrics.loss_d, loss_g=metrics.loss_g, d_real=metrics.d_real, d_fake=metrics.d_fake,
            steps_per_second=metrics.steps_per_second, samples_per_second=metrics.samples_per_second,
            recognisable=judge.get("recognisable"), classes_covered=judge.get("classes_covered"),
            num_classes=trainer.num_classes, class_counts=tuple(judge.get("class_counts", ())),
            mode_collapse=bool(judge.get("mode_collapse", False)), verdict=verdict))
        self._publish_samples(trainer)
        self._publish_weights(trainer)

    def on_fit_end(self, trainer, result):
        super().on_fit_end(trainer, result)  # the last Progress, and the last weights with the run's history
        self._publish_samples(trainer)

    # -- publishing ----------------------------------------------------------------------------
    def _publish_progress(self, trainer, global_step: int, epoch: int, losses=None) -> None:
        rows = trainer.step_metrics()  # this epoch so far: one copy from the device
        new = rows[self._sent_in_epoch:]
        if len(new):
            steps = np.arange(global_step - len(new) + 1, global_step + 1, dtype=np.int64)
            self.send(GanProgress(run_id=self.job.run_id, steps=steps, loss_d=new[:, 0].copy(),
                                  loss_g=new[:, 1].copy(), d_real=new[:, 2].copy(), d_fake=new[:, 3].copy()))
        super()._publish_progress(trainer, global_step, epoch, losses=rows[:, 1].tolist())

    def _publish_samples(self, trainer) -> None:
        self._last_samples = time.perf_counter()
        if trainer.points is not None:
            return  # points, not images: GanPointsPublisher
        self.send(GanSamples(run_id=self.job.run_id, global_step=trainer.global_step,
                             epoch=min(trainer.epochs_completed, trainer.config.epochs - 1), elapsed=self._now(),
                             images=trainer.grid_samples()))
