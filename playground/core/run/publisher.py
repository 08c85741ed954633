"""The Publisher: the Trainer's per-step hooks become a few messages a second (in the training thread).

It decides *when* to publish, by the clock: metrics about ten times a second
(every step's loss since the last publish, copied once), the weights a few
times a second (CPU copies, for live prediction and Save Weights), weight and
gradient histograms every two seconds while the Histograms view is open. A
message per step would drown the window's event loop.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ...core.run.messages import EpochEnded, ParamHistograms, Paused, Progress, WeightsPublished
from ..train import Callback
from ..train.probes import HISTOGRAM_EDGES, param_histograms

Send = Callable[[Any], None]  # puts one message on the wire

SPEED_WINDOW = 5.0  # seconds of recent steps that samples/s is measured over


class Publisher(Callback):
    """`job`: the TrainingJob (its run id and intervals); `wants_histograms`: read at each step (the app's wish
    as it is now)."""

    def __init__(self, send: Send, job, wants_histograms: Callable[[], bool] = lambda: False):
        self.send = send
        self.job = job
        self.wants_histograms = wants_histograms
        self._lrs: list[float] = []  # learning rate of each step not yet published
        self._sent_in_epoch = 0  # steps of the current epoch already published
        self._last_metrics = 0.0
        self._last_weights = 0.0
        self._last_histograms = 0.0
        self._speed: collections.deque[tuple[float, int]] = collections.deque()  # (train clock, global step)
        self._train_clock = 0.0  # seconds of training, pauses excluded
        self._clock_base = 0.0
        self._cpu_base = 0.0
        self._paused = False

    # -- the clock, with pauses taken out ----------------------------------------------------
    def _now(self) -> float:
        if self._paused:
            return self._train_clock
        return self._train_clock + (time.perf_counter() - self._clock_base)

    def on_fit_start(self, trainer):
        self._clock_base, self._cpu_base = time.perf_counter(), time.thread_time()
        self._speed.append((0.0, trainer.global_step))

    def on_pause(self, trainer):
        self._train_clock = self._now()
        self._paused = True
        self.send(Paused(self.job.run_id, True))

    def on_resume(self, trainer):
        self._paused = False
        self._clock_base = time.perf_counter()
        self.send(Paused(self.job.run_id, False))

    # -- hooks ---------------------------------------------------------------------------------
    def on_step_end(self, trainer, step):
        self._lrs.append(step.lr)
        now = time.perf_counter()
        if now - self._last_metrics >= self.job.metrics_interval:
            self._last_metrics = now
            self._publish_progress(trainer, step.global_step, step.epoch)
        if now - self._last_weights >= self.job.weights_interval:
            self._last_weights = now
            self._publish_weights(trainer)
        if self.wants_histograms() and now - self._last_histograms >= self.job.histogram_interval:
            # Here, right after the step: the gradients of this step still exist (the next step clears them).
            self._last_histograms = now
            self._publish_histograms(trainer, step.global_step)
        if self.job.max_steps is not None and step.global_step >= self.job.max_steps:
            trainer.stop()

    def on_epoch_end(self, trainer, metrics):
        self._publish_progress(trainer, trainer.global_step, metrics.epoch, losses=metrics.step_losses)
        self._sent_in_epoch = 0
        last = trainer.last_eval
        self.send(EpochEnded(
            run_id=self.job.run_id, epoch=metrics.epoch + 1, global_step=trainer.global_step,
            train_loss=metrics.train_loss, train_accuracy=metrics.train_accuracy, val_loss=metrics.val_loss,
            val_accuracy=metrics.val_accuracy, lr=metrics.lr, samples_per_second=metrics.samples_per_second,
            confusion=last.confusion if last else None, predictions=last.predicted if last else None,
            confidences=last.confidence if last else None))
        # Each epoch's weights, unless epochs are shorter than the interval (2-D points: dozens a second).
        now = time.perf_counter()
        if now - self._last_weights >= self.job.weights_interval:
            self._last_weights = now
            self._publish_weights(trainer)

    def on_fit_end(self, trainer, result):
        # A stopped run: the steps of its partial epoch that were not published yet.
        self._publish_progress(trainer, trainer.global_step, trainer.epochs_completed)
        self._publish_weights(trainer, final=True)

    # -- publishing ----------------------------------------------------------------------------
    def _publish_progress(self, trainer, global_step: int, epoch: int, losses: list[float] | None = None) -> None:
        if losses is None:
            losses = trainer.step_losses()  # this epoch so far: one copy from the device
        new = np.asarray(losses[self._sent_in_epoch:], dtype=np.float32)
        self._sent_in_epoch += len(new)
        lrs = np.asarray(self._lrs[-len(new):] if len(new) else [], dtype=np.float32)
        if len(lrs) < len(new):  # not expected; keep the arrays aligned
            lrs = np.pad(lrs, (len(new) - len(lrs), 0), mode="edge" if len(lrs) else "constant")
        self._lrs.clear()
        steps = np.arange(global_step - len(new) + 1, global_step + 1, dtype=np.int64)
        now = self._now()
        self._speed.append((now, global_step))
        while len(self._speed) > 2 and now - self._speed[0][0] > SPEED_WINDOW:
            self._speed.popleft()
        (t0, s0), (t1, s1) = self._speed[0], self._speed[-1]
        steps_per_second = (s1 - s0) / (t1 - t0) if t1 > t0 and s1 > s0 else 0.0
        left = trainer.total_steps - global_step
        if self.job.max_steps is not None:
            left = min(left, self.job.max_steps - global_step)
        spe = trainer.steps_per_epoch
        # At the end of the last epoch, `epoch` is the count of epochs done: show that last one, all its steps.
        shown_epoch = min(epoch, trainer.config.epochs - 1)
        self.send(Progress(
            run_id=self.job.run_id, epoch=shown_epoch, epochs=trainer.config.epochs,
            epoch_step=min(max(global_step - shown_epoch * spe, 0), spe),
            steps_per_epoch=spe, global_step=global_step, total_steps=trainer.total_steps, steps=steps,
            losses=new, lrs=lrs, samples_per_second=steps_per_second * trainer.config.batch_size,
            seconds_left=left / steps_per_second if steps_per_second > 0 else None, elapsed=now,
            published_at=time.perf_counter(), cpu_seconds=time.thread_time() - self._cpu_base))

    def _publish_histograms(self, trainer, global_step: int) -> None:
        names, weights, grads, weight_rms, grad_rms = param_histograms(trainer.model)
        self.send(ParamHistograms(
            run_id=self.job.run_id, global_step=global_step, layers=tuple(names),
            edges=HISTOGRAM_EDGES.numpy().copy(), weights=weights, grads=grads, weight_rms=weight_rms,
            grad_rms=grad_rms))

    def _publish_weights(self, trainer, final: bool = False) -> None:
        # The run's metric history (a loss per step, a dict per epoch) grows with the run: only the run's last
        # weights carry it. Sent with each of the weights (several times a second), it made every message, and
        # the window's memory, grow with the run (issue 19, docs/performance.md).
        self.send(WeightsPublished(
            run_id=self.job.run_id, global_step=trainer.global_step, graph=trainer.graph,
            state_dict=trainer.state_dict_copy(), dataset=trainer.dataset_name, classes=trainer.classes,
            config=published_config(trainer), history=trainer.history.to_dict() if final else {}))


def published_config(trainer) -> dict:
    """The run's settings as WeightsPublished carries them; an image folder's run adds its input scaling
    ("normalization": {"mean", "std"}), which the catalog does not know: what the inference server needs to
    classify with these weights (`InferenceServer.load`'s options), as a checkpoint's extra["normalization"]."""
    config = trainer.config.to_dict()
    normalization = getattr(trainer, "normalization", None)
    dataset = getattr(trainer, "dataset", None)
    if getattr(dataset, "name", None) == "folder" and normalization is not None:
        config["normalization"] = {"mean": float(normalization.mean), "std": float(normalization.std)}
    return config
