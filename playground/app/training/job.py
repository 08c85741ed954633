"""One run from the window, as it happens in the training process (Qt-free; `process.py` serves it).

`run_job` loads the dataset, builds the Trainer and runs `fit`, and says what
happens only through `send(kind, message)`: kind is the name of the worker's
signal that carries it ("started", "progress", ..., "finished"), message one of
the plain dataclasses of `messages.py`. "finished" is always the last, whatever
happened. Controls (pause, resume, stop) arrive through `Controls`, from
another thread, between two steps.

The bridge callback decides *when* to publish, by the clock: metrics about ten
times a second (every step's loss since the last publish, copied once), the
weights a few times a second (copies, as NumPy arrays, for live prediction and
Save Weights). A repaint per step would drown the event loop.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...core.build import GraphError
from ...core.data import DatasetError, load_dataset
from ...core.engine_process import weights_as_arrays, weights_as_tensors
from ...core.graph import Graph
from ...core.train import Callback, CheckpointError, ConfigError, TrainConfig, Trainer, TrainingError, resolve_device
from ...core.train.probes import HISTOGRAM_EDGES, param_histograms
from .messages import (
    EpochEnded,
    ParamHistograms,
    Progress,
    RunFinished,
    RunStarted,
    WeightsPublished,
    arrays_of_test_split,
)

log = logging.getLogger(__name__)

Send = Callable[[str, Any], None]  # (the worker signal's name, its message)

METRICS_INTERVAL = 0.1  # seconds between Progress messages (10 Hz: smooth enough for charts)
WEIGHTS_INTERVAL = 0.25  # seconds between weight copies for live prediction
HISTOGRAM_INTERVAL = 2.0  # seconds between weight/gradient histograms (4-9 ms each on a CPU), while the view is open
SPEED_WINDOW = 5.0  # seconds of recent steps that samples/s is measured over


def training_threads() -> int:
    """Torch threads for a run started from the window: every core but one, which stays with the UI.

    On a 2-core machine two torch threads fight the event loop (and each other)
    for the same cores; one thread trains nearly as fast and leaves the window
    responsive. `playground bench --gui` measures the headless run the same way.
    """
    return max(1, (os.cpu_count() or 2) - 1)


class Wanted:
    """What the open views want from a run beyond metrics and weights; set from the GUI thread at any time. The
    worker passes each change on to the training process, which reads it between steps (plain bool attributes:
    each read and write is atomic)."""

    def __init__(self, histograms: bool = False):
        self.histograms = histograms


@dataclass(frozen=True)
class TrainingJob:
    """Everything a run needs, decided in the GUI thread before it starts (the graph is a copy)."""

    run_id: int
    name: str
    graph: Graph
    config: TrainConfig
    dataset: str | None = None  # None: the graph's Input node says
    initial_weights: dict[str, Any] | None = field(default=None, repr=False)  # CPU tensors: continue from these
    threads: int | None = None  # torch intra-op threads for a CPU run (None: leave torch's setting)
    cores: frozenset[int] | None = None  # a CPU run's training thread keeps to these (core/train/cores.py)
    metrics_interval: float = METRICS_INTERVAL
    weights_interval: float = WEIGHTS_INTERVAL
    max_steps: int | None = None  # stop after this many steps (benchmarks)
    wanted: Wanted = field(default_factory=Wanted)  # shared with the GUI on purpose: the views open and close
    histogram_interval: float = HISTOGRAM_INTERVAL


class Bridge(Callback):
    """Turns the Trainer's per-step hooks into a few messages a second (runs in the training thread)."""

    def __init__(self, send: Send, job: TrainingJob):
        self.send = send
        self.job = job
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
        self._epoch = 0

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

    def on_resume(self, trainer):
        self._paused = False
        self._clock_base = time.perf_counter()

    # -- hooks ---------------------------------------------------------------------------------
    def on_step_end(self, trainer, step):
        self._lrs.append(step.lr)
        self._epoch = step.epoch
        now = time.perf_counter()
        if now - self._last_metrics >= self.job.metrics_interval:
            self._last_metrics = now
            self._publish_progress(trainer, step.global_step, step.epoch)
        if now - self._last_weights >= self.job.weights_interval:
            self._last_weights = now
            self._publish_weights(trainer)
        if self.job.wanted.histograms and now - self._last_histograms >= self.job.histogram_interval:
            # Here, right after the step: the gradients of this step still exist (the next step clears them).
            self._last_histograms = now
            self._publish_histograms(trainer, step.global_step)
        if self.job.max_steps is not None and step.global_step >= self.job.max_steps:
            trainer.stop()

    def on_epoch_end(self, trainer, metrics):
        self._publish_progress(trainer, trainer.global_step, metrics.epoch, losses=metrics.step_losses)
        self._sent_in_epoch = 0
        self.send("epoch_ended", EpochEnded(
            run_id=self.job.run_id, epoch=metrics.epoch + 1, global_step=trainer.global_step,
            train_loss=metrics.train_loss, train_accuracy=metrics.train_accuracy, val_loss=metrics.val_loss,
            val_accuracy=metrics.val_accuracy, lr=metrics.lr, samples_per_second=metrics.samples_per_second,
            confusion=trainer.last_eval.confusion if trainer.last_eval else None,
            predictions=trainer.last_eval.predicted if trainer.last_eval else None,
            confidences=trainer.last_eval.confidence if trainer.last_eval else None))
        self._publish_weights(trainer)

    def on_fit_end(self, trainer, result):
        # A stopped run: the steps of its partial epoch that were not published yet.
        self._publish_progress(trainer, trainer.global_step, trainer.epochs_completed)
        self._publish_weights(trainer)

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
        self.send("progress", Progress(
            run_id=self.job.run_id, epoch=shown_epoch, epochs=trainer.config.epochs,
            epoch_step=min(max(global_step - shown_epoch * spe, 0), spe),
            steps_per_epoch=spe, global_step=global_step, total_steps=trainer.total_steps, steps=steps,
            losses=new, lrs=lrs, samples_per_second=steps_per_second * trainer.config.batch_size,
            seconds_left=left / steps_per_second if steps_per_second > 0 else None, elapsed=now,
            published_at=time.perf_counter(), cpu_seconds=time.thread_time() - self._cpu_base))

    def _publish_histograms(self, trainer, global_step: int) -> None:
        names, weights, grads, weight_rms, grad_rms = param_histograms(trainer.model)
        self.send("histograms", ParamHistograms(
            run_id=self.job.run_id, global_step=global_step, layers=tuple(names),
            edges=HISTOGRAM_EDGES.numpy().copy(), weights=weights, grads=grads, weight_rms=weight_rms,
            grad_rms=grad_rms))

    def _publish_weights(self, trainer) -> None:
        self.send("weights_published", WeightsPublished(
            run_id=self.job.run_id, global_step=trainer.global_step, graph=trainer.graph,
            state_dict=weights_as_arrays(trainer.state_dict_copy()), dataset=trainer.dataset_name,
            classes=trainer.classes, config=trainer.config.to_dict(), history=trainer.history.to_dict()))


class Controls:
    """Pause, resume and stop for a run, from any thread; the run attaches its Trainer once it has one.
    `wanted`: the run's own `Wanted`, which the controls' thread updates."""

    def __init__(self, wanted: Wanted | None = None):
        self.wanted = wanted if wanted is not None else Wanted()
        self._lock = threading.Lock()  # guards _trainer and the requests across threads
        self._trainer: Trainer | None = None
        self._stop_requested = False
        self._pause_requested = False

    def stop(self) -> None:
        with self._lock:
            self._stop_requested = True
            if self._trainer is not None:
                self._trainer.stop()

    def pause(self) -> None:
        with self._lock:
            self._pause_requested = True
            if self._trainer is not None:
                self._trainer.pause()

    def resume(self) -> None:
        with self._lock:
            self._pause_requested = False
            if self._trainer is not None:
                self._trainer.resume()

    @property
    def stop_requested(self) -> bool:
        with self._lock:
            return self._stop_requested

    def attach(self, trainer: Trainer | None) -> None:
        """Hand the requests so far on to `trainer` (None: the run is over)."""
        with self._lock:
            self._trainer = trainer
            if trainer is not None and self._stop_requested:
                trainer.stop()
            if trainer is not None and self._pause_requested:
                trainer.pause()


def run_job(job: TrainingJob, controls: Controls, send: Send) -> None:
    """The whole run, in the calling thread (the training process's main thread); never raises."""
    start = time.perf_counter()
    trainer: Trainer | None = None
    try:
        if job.threads and resolve_device(job.config.device).type == "cpu":
            import torch

            torch.set_num_threads(job.threads)
        name = job.dataset or job.config.dataset
        if name is None:
            inputs = job.graph.nodes_of_kind("input")
            name = inputs[0].params.get("dataset", "mnist") if inputs else "mnist"
        # A missing dataset falls back to the offline sample (the panel said so before Start).
        dataset = load_dataset(name, fallback_to_sample=True)
        if controls.stop_requested:
            send("finished", _finished(job, "stopped", "", start))
            return
        trainer = Trainer(job.graph, job.config, dataset=dataset)
        note = ""
        if job.initial_weights is not None:
            report = trainer.load_weights(weights_as_tensors(job.initial_weights))
            note = _transfer_note(report)
        controls.attach(trainer)
        send("started", _run_started(job, trainer, dataset, note))
        result = trainer.fit(callbacks=[Bridge(send, job), _PauseSignal(send)])
        send("finished", RunFinished(
            run_id=job.run_id, status=result.status, message="", epochs_completed=result.epochs_completed,
            global_step=result.global_step, test_accuracy=result.test.accuracy if result.test else None,
            samples_per_second=result.samples_per_second, seconds=time.perf_counter() - start))
    except TrainingError as exc:
        status = "out_of_memory" if exc.kind == "out_of_memory" else exc.kind
        send("finished", _finished(job, status, str(exc), start, trainer))
    except (GraphError, ConfigError, DatasetError, CheckpointError) as exc:
        send("finished", _finished(job, "failed", str(exc), start, trainer))
    except Exception as exc:  # a bug: say it plainly, keep the app up, keep the traceback in the log
        log.exception("training run %s failed", job.run_id)
        send("finished", _finished(job, "failed", f"an internal error stopped training: "
                                   f"{type(exc).__name__}: {exc}", start, trainer))
    finally:
        controls.attach(None)


def _finished(job: TrainingJob, status: str, message: str, start: float, trainer: Trainer | None = None
              ) -> RunFinished:
    test = trainer.last_eval if trainer is not None else None
    return RunFinished(run_id=job.run_id, status=status, message=message,
                       epochs_completed=trainer.epochs_completed if trainer else 0,
                       global_step=trainer.global_step if trainer else 0,
                       test_accuracy=test.accuracy if test else None, samples_per_second=0.0,
                       seconds=time.perf_counter() - start)



class _PauseSignal(Callback):
    """Tells the window when the run has really paused or gone on (between two steps)."""

    def __init__(self, send: Send):
        self.send = send

    def on_pause(self, trainer):
        self.send("paused", True)

    def on_resume(self, trainer):
        self.send("paused", False)


def _device_name(device) -> str:
    if device.type == "cuda":
        import torch

        return torch.cuda.get_device_name(device)
    return "CPU"


def _run_started(job: TrainingJob, trainer: Trainer, dataset, note: str) -> RunStarted:
    images, labels = arrays_of_test_split(dataset)
    return RunStarted(
        run_id=job.run_id, name=job.name, dataset=dataset.name, dataset_source=dataset.source,
        classes=tuple(trainer.classes), device=str(trainer.device), device_name=_device_name(trainer.device),
        epochs=trainer.config.epochs, first_epoch=trainer.epochs_completed,
        steps_per_epoch=trainer.steps_per_epoch, total_steps=trainer.total_steps,
        batch_size=trainer.config.batch_size,
        test_images=images, test_labels=labels, transfer_note=note)


def _transfer_note(report) -> str:
    if not report.skipped and not report.missing:
        return ""
    return f"Started from the last weights: {report.summary()}."
