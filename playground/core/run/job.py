"""One run from the window: what it is (`TrainingJob`) and how the training process runs it (`run_job`).

`run_job` loads the dataset, builds the Trainer and runs `fit` (or, for a job
with `finetune`, fine-tunes the weights it carries on a person's own digits:
core/train/finetune.py), and says what happens only through `send(message)`, one of the plain dataclasses of
`messages.py`: RunStarted first, RunFinished always last, whatever happened.
The app's wishes (pause, stop, histograms) arrive as `RunControls`, from the
process's reader thread, through `RunControl`, which hands them to the Trainer
between two steps.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...core.run.messages import FinetuneReport, RunControls, RunFinished, RunStarted, arrays_of_test_split
from ..build import GraphError
from ..data import DatasetError, folder_options, load_dataset
from ..data.points import is_points_dataset
from ..data.points_dataset import load_points_dataset
from ..gan.structure import is_gan_graph
from ..gan.trainer import GanTrainer
from ..graph import Graph
from ..train import CheckpointError, ConfigError, TrainConfig, Trainer, TrainingError, resolve_device
from ..train.checkpoint import Checkpoint
from ..train.finetune import FinetuneError, default_replay, finetune
from .decision_publisher import DecisionPublisher, GanPointsPublisher
from .gan_publisher import GanPublisher
from .publisher import Publisher, Send

log = logging.getLogger(__name__)

METRICS_INTERVAL = 0.1  # seconds between Progress messages (10 Hz: smooth enough for charts)
WEIGHTS_INTERVAL = 0.25  # seconds between weight copies for live prediction
HISTOGRAM_INTERVAL = 2.0  # seconds between weight/gradient histograms (4-9 ms each on a CPU), while the view is open


# Torch threads of a run on 2-D points on a CPU, wherever it starts: its operations are tiny (batches of 10 through
# a few dozen units), so a second thread only adds waiting, and when another process shares the cores each operation
# waits for the slower thread (the spiral took 22 s with two threads on a shared 2-core machine, 4.5 s with one).
POINTS_CPU_THREADS = 1


def training_threads() -> int:
    """Torch threads for a run started from the window: every core but one, which stays with the UI.

    On a 2-core machine two torch threads fight the event loop (and each other)
    for the same cores; one thread trains nearly as fast and leaves the window
    responsive. `playground bench --gui` measures the headless run the same way.
    """
    return max(1, (os.cpu_count() or 2) - 1)


@dataclass(frozen=True)
class FinetuneSpec:
    """A fine-tuning run's own digits (the job's `initial_weights` are what it tunes)."""

    images: np.ndarray = field(repr=False)  # uint8 [N, 28, 28]: the digits as the network sees them
    labels: np.ndarray = field(repr=False)  # int64 [N]: class numbers
    ids: tuple[str, ...] = ()  # the store's id of each digit, handed back in the FinetuneReport
    freeze_until: str | None = None  # None: everything before the last Dense stays frozen
    seed: int = 0


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
    cores: frozenset[int] | None = None  # a CPU run's training process keeps to these (core/train/cores.py)
    metrics_interval: float = METRICS_INTERVAL
    weights_interval: float = WEIGHTS_INTERVAL
    max_steps: int | None = None  # stop after this many steps (benchmarks)
    histogram_interval: float = HISTOGRAM_INTERVAL
    samples_interval: float = 2.0  # a GAN run's sample grid: seconds between two (gan_publisher.SAMPLES_INTERVAL)
    finetune: FinetuneSpec | None = None  # fine-tune `initial_weights` on these digits instead of training afresh


class RunControl:
    """The app's latest `RunControls`, handed to the run's Trainer (from any thread); the Trainer is attached
    once it exists, and gets the wishes made before then."""

    def __init__(self, controls: RunControls | None = None):
        self._lock = threading.Lock()  # guards _controls and _trainer across the reader and training threads
        self._controls = controls or RunControls()
        self._trainer: Trainer | None = None

    def apply(self, controls: RunControls) -> None:
        with self._lock:
            self._controls = controls
            self._hand_on()

    def attach(self, trainer: Trainer | None) -> None:
        """The run's Trainer (None: the run is over)."""
        with self._lock:
            self._trainer = trainer
            self._hand_on()

    def _hand_on(self) -> None:
        trainer, controls = self._trainer, self._controls
        if trainer is None:
            return
        if controls.stop:
            trainer.stop()
        elif controls.paused:
            trainer.pause()
        else:
            trainer.resume()

    @property
    def trainer(self) -> Trainer | None:
        return self._trainer

    @property
    def stop_requested(self) -> bool:
        return self._controls.stop

    @property
    def histograms(self) -> bool:
        return self._controls.histograms


def run_job(job: TrainingJob, control: RunControl, send: Send) -> None:
    """The whole run, in the calling thread (the training process's main thread); never raises."""
    start = time.perf_counter()
    trainer: Trainer | None = None
    try:
        name = job.dataset or job.config.dataset or job.graph.input_dataset()
        points = is_points_dataset(name)
        threads = POINTS_CPU_THREADS if points else job.threads
        if threads and resolve_device(job.config.device).type == "cpu":
            import torch

            torch.set_num_threads(threads)
        if job.finetune is not None:
            _run_finetune(job, control, send, start)
            return
        gan = is_gan_graph(job.graph)  # a GAN: its own trainer and publisher, the same messages around them
        # A missing dataset falls back to the offline sample (the panel said so before Start).
        dataset = (load_points_dataset(name, job.config, own=job.graph.points, gan=gan) if points
                   else load_dataset(name, job.config.folder, fallback_to_sample=True,
                                     **folder_options(job.config)))
        if control.stop_requested:
            send(_finished(job, "stopped", "", start))
            return
        trainer = (GanTrainer if gan else Trainer)(job.graph, job.config, dataset=dataset)
        note = ""
        if job.initial_weights is not None:
            report = trainer.load_weights(job.initial_weights)
            note = _transfer_note(report)
        control.attach(trainer)
        send(_run_started(job, trainer, dataset, note))
        callbacks = [(GanPublisher if gan else Publisher)(send, job, lambda: control.histograms)]
        if points:  # the decision surface and every neuron's picture (a GAN: GAN Lab's), many times a second
            callbacks.append((GanPointsPublisher if gan else DecisionPublisher)(send, job))
        result = trainer.fit(callbacks=callbacks)
        test = getattr(result, "test", None)
        send(RunFinished(
            run_id=job.run_id, status=result.status, message="", epochs_completed=result.epochs_completed,
            global_step=result.global_step, test_accuracy=test.accuracy if test else None,
            samples_per_second=result.samples_per_second, seconds=time.perf_counter() - start))
    except TrainingError as exc:
        status = "out_of_memory" if exc.kind == "out_of_memory" else exc.kind
        send(_finished(job, status, str(exc), start, trainer or control.trainer))
    except (GraphError, ConfigError, DatasetError, CheckpointError, FinetuneError) as exc:
        send(_finished(job, "failed", str(exc), start, trainer or control.trainer))
    except Exception as exc:  # a bug: say it plainly, keep the app up, keep the traceback in the log
        log.exception("training run %s failed", job.run_id)
        send(_finished(job, "failed", f"an internal error stopped training: {type(exc).__name__}: {exc}", start,
                       trainer or control.trainer))
    finally:
        control.attach(None)


def _run_finetune(job: TrainingJob, control: RunControl, send: Send, start: float) -> None:
    """A fine-tuning run: the job's weights tuned on its own digits mixed with replayed ones, published like any
    run's (charts, live weights), then a FinetuneReport (before and after) and RunFinished. Raises what run_job
    reports."""
    spec = job.finetune
    if not job.initial_weights:
        raise FinetuneError("there are no weights to fine-tune: train the network or load weights first")
    name = job.dataset or job.config.dataset or job.graph.input_dataset()
    checkpoint = Checkpoint(graph=job.graph, state_dict=job.initial_weights, optimizer_state=None,
                            config=job.config.to_dict(), history={}, extra={"dataset": name})
    replay = default_replay(checkpoint, job.config.folder)

    def started(trainer: Trainer, mixed) -> None:
        control.attach(trainer)
        send(_run_started(job, trainer, mixed, ""))

    result = finetune(checkpoint, spec.images, spec.labels, freeze_until=spec.freeze_until, replay=replay,
                      seed=spec.seed, device=job.config.device,
                      callbacks=[Publisher(send, job, lambda: control.histograms)], on_start=started)
    trainer = control.trainer
    send(FinetuneReport(
        run_id=job.run_id, status=result.status, ids=tuple(spec.ids), labels=np.asarray(spec.labels, np.int64),
        held_out=result.held_out, predicted_before=result.predicted_before, predicted_after=result.predicted_after,
        own_before=result.own_before, own_after=result.own_after, replay_before=result.replay_before,
        replay_after=result.replay_after, replay_dataset=replay.name,
        replay_source=replay.source, replay_test_size=len(replay.test_labels), frozen=tuple(result.frozen),
        trained=tuple(result.trained), steps=result.steps, seconds=result.seconds))
    send(RunFinished(
        run_id=job.run_id, status=result.status, message="", epochs_completed=trainer.epochs_completed,
        global_step=result.steps, test_accuracy=result.own_after,
        samples_per_second=result.steps * trainer.config.batch_size / max(result.train_seconds, 1e-9),
        seconds=time.perf_counter() - start))


def _finished(job: TrainingJob, status: str, message: str, start: float, trainer: Trainer | None = None
              ) -> RunFinished:
    test = trainer.last_eval if trainer is not None else None
    return RunFinished(run_id=job.run_id, status=status, message=message,
                       epochs_completed=trainer.epochs_completed if trainer else 0,
                       global_step=trainer.global_step if trainer else 0,
                       test_accuracy=test.accuracy if test else None, samples_per_second=0.0,
                       seconds=time.perf_counter() - start)


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
        test_images=images, test_labels=labels, transfer_note=note, task=getattr(trainer, "task", "classification"))


def _transfer_note(report) -> str:
    if not report.skipped and not report.missing:
        return ""
    return f"Started from the last weights: {report.summary()}."
