"""A run's life in the window: Start, Pause and Stop, and what the window does as the run starts and ends.

On Start the graph is checked (problems are shown on their nodes, not sent to
the training process), the panel's settings become a TrainConfig, the document
is locked against edits that change the model, and an immutable `TrainingJob`
goes to the session. When the run ends, however it ends, the lock is lifted and
the outcome is said in plain words. Closing the window during a run asks
first, then closes once the run has stopped.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox, QWidget

from ...core.data.points import is_points_dataset
from ...core.gan.structure import GENERATION
from ...core.run.job import FinetuneSpec, TrainingJob
from ...core.run.messages import EpochEnded, GanEpochEnded, GanProgress, Progress, RunFinished, RunNote, RunStarted
from ...core.train import ConfigError
from ...core.train.cores import CoreSplit, pin
from .session import PAUSED, STOPPING

LOCK_MESSAGE = ("A training run is in progress: the network is locked (layers can still be moved). "
                "Stop training to edit it.")
STATUS_WORDS = {"completed": "Training finished", "stopped": "Training stopped",
                "diverged": "Training diverged", "out_of_memory": "Out of memory", "failed": "Training failed"}


class RunLifecycle:
    def __init__(self, window: QWidget, workbench, session, actions, panel, charts, digits, predictor, weights,
                 evaluations, say: Callable[[str], None], threads: int, cores: CoreSplit | None, gan_charts=None):
        self.window, self.workbench, self.document, self.session = window, workbench, workbench.document, session
        self.actions = actions
        self.panel, self.charts, self.digits, self.predictor = panel, charts, digits, predictor
        self.gan_charts = gan_charts  # None: no GAN charts (a window built without them)
        self._gan_runs: set[int] = set()  # session run ids of GAN runs
        self._finetune_runs: set[int] = set()  # session run ids of fine-tuning runs (their report says the outcome)
        self.weights, self.evaluations, self.say = weights, evaluations, say
        self.threads, self.cores = threads, cores
        self._window_confined = False
        self._chart_runs: dict[int, int] = {}  # session run id -> charts run id
        self._close_when_stopped = False
        self._queued: tuple[str | None, int | None] | None = None  # a Start asked for while a run was stopping
        # session run id -> its job without the initial weights: the network and settings a run started with
        # (File > Export > Training script of a finished run)
        self._jobs: dict[int, TrainingJob] = {}

    @property
    def start_queued(self) -> bool:
        return self._queued is not None

    # -- the person's actions ------------------------------------------------------------------------
    def start(self, dataset: str | None = None, max_steps: int | None = None,
              finetune: FinetuneSpec | None = None) -> bool:
        """Start a run of the document's network; False (and the reason said) when it cannot start.
        `dataset` overrides the panel's choice and `max_steps` ends the run early (for benchmarks).
        `finetune`: a fine-tuning run of the weights in use on these own digits (app/training/finetune.py)."""
        if finetune is not None and (self.session.active or self.weights.current is None):
            self.say("Fine-tuning needs trained weights and no run going.")
            return False
        if self.session.state == STOPPING and not self._close_when_stopped:
            # F5 while the last run is still stopping: remembered, and started as soon as that run has ended.
            self._queued = (dataset, max_steps)
            self.say("Starting when the current run has stopped…")
            return True
        if self.session.active:
            return False
        self._queued = None
        analysis = self.workbench.shapes.run_now()
        if analysis.problems:
            first = analysis.problems[0]
            where = f"{first.node}: " if first.node else ""
            count = len(analysis.problems)
            QMessageBox.warning(self.window, "Cannot train yet",
                                f"The network has {count} problem{'s' * (count != 1)} to fix before it can "
                                f"train.\n\n{where}{first.message}")
            self.workbench.next_problem()
            return False
        try:
            config = self.panel.config()
        except ConfigError as exc:
            QMessageBox.warning(self.window, "Check the training settings", str(exc))
            return False
        choice = dataset or self.panel.dataset_choice()
        initial = None
        if (finetune is not None or self.panel.continue_from_last()) and self.weights.current is not None:
            initial = self.weights.current.state_dict
        if finetune is not None:  # the digits the weights in use learnt are the ones replayed
            choice = self.weights.current.dataset or choice
        run_id = self.session.next_run_id()
        title = self.document.graph.name or self.document.display_name
        what = "Fine-tune" if finetune is not None else "Run"
        job = TrainingJob(run_id=run_id, name=f"{what} {run_id} — {title}", graph=self.document.graph.copy(),
                          config=config, dataset=None if choice == "graph" else choice, initial_weights=initial,
                          threads=self.threads, max_steps=max_steps,
                          cores=self.cores.training if self.cores else None, finetune=finetune)
        if finetune is not None:
            self._finetune_runs.add(run_id)
        else:  # what File ▸ Export ▸ Training Script… exports for this run (a fine-tuning's recipe is no script's)
            self._jobs[run_id] = replace(job, initial_weights=None)
        self.document.set_locked(LOCK_MESSAGE)
        # The collector's full passes walk every object in the process: with the window built that takes 100–230
        # ms, all of it holding the GIL (the event loop and the relay threads wait). Objects alive now are left
        # out of the passes during the run; they are handed back when it ends (finished).
        gc.freeze()
        self.session.start(job)
        self.say(f"Starting run {run_id}: loading the data and building the model…" if finetune is None else
                 f"Fine-tuning on {len(finetune.labels)} of my digits (run {run_id}): measuring before…")
        return True

    def job_of_chart_run(self, chart_run_id: int) -> TrainingJob | None:
        """The job (network and settings, without initial weights) of a run in the charts' history, or None."""
        for run_id, chart_id in self._chart_runs.items():
            if chart_id == chart_run_id:
                return self._jobs.get(run_id)
        return None

    def stop(self, closing: bool = False) -> None:
        if self.session.active:
            self.session.stop(closing)
            self.say("Stopping after the current step…")

    def confirm_close(self) -> bool:
        """True when the window may close now. During a run: ask, and if the answer is yes, stop the run and
        close the window once it has ended (the event loop keeps running meanwhile)."""
        if not self.session.active:
            return True
        answer = QMessageBox.question(self.window, "Training is running",
                                      "A training run is in progress. Stop it and close the window?\n\n"
                                      "The run ends after its current step.",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        if answer == QMessageBox.StandardButton.Yes:
            self._close_when_stopped = True
            self._queued = None
            self.stop(closing=True)
        return False

    def show_state(self, state: str) -> None:
        """The actions, the charts and the panel, as the session's state says."""
        self.actions.show(state)
        if self.session.current is not None and self.session.current.run_id in self._chart_runs:
            self.charts.set_paused(self._chart_runs[self.session.current.run_id], state == PAUSED)
        self.panel.set_running(state)

    # -- the run's messages (from the dispatcher) -----------------------------------------------------
    def started(self, started: RunStarted) -> None:
        self._confine_window(started.device == "cpu")
        if started.task == GENERATION and self.gan_charts is not None:
            self._gan_runs.add(started.run_id)
            self.gan_charts.begin_run(started.name, started.steps_per_epoch, started.total_steps,
                                      len(started.classes) or 10, points=is_points_dataset(started.dataset))
        else:
            self._chart_runs[started.run_id] = self.charts.begin_run(started.name, started.steps_per_epoch,
                                                                       started.total_steps)
        self.panel.show_run_started(started)
        self.digits.set_classes(started.classes)
        self.digits.set_test_set(started.test_images, started.test_labels)
        self.evaluations.run_started(started)
        text = f"Training {started.name} on {started.device_name} with {started.dataset_source}"
        if started.transfer_note:
            text += f". {started.transfer_note}"
        self.say(text)

    def progress(self, progress: Progress) -> None:
        run = self._chart_runs.get(progress.run_id)
        if run is not None and len(progress.steps):
            self.charts.add_steps(run, progress.steps, progress.losses, progress.lrs)
        self.panel.show_progress(progress)

    def note(self, note: RunNote) -> None:
        if self.session.active:
            self.say(note.text)

    def gan_progress(self, progress: GanProgress) -> None:
        if progress.run_id in self._gan_runs:
            self.gan_charts.add_steps(progress)

    def gan_epoch_ended(self, epoch: GanEpochEnded) -> None:
        self.evaluations.epoch_evaluated(epoch.global_step)
        if epoch.run_id in self._gan_runs:
            self.gan_charts.add_epoch(epoch)
            if epoch.recognisable is not None:
                self.say(f"Epoch {epoch.epoch}: {epoch.verdict}" if epoch.verdict else
                         f"Epoch {epoch.epoch}: {epoch.recognisable:.0%} of the samples are recognisable, covering "
                         f"{epoch.classes_covered} of {epoch.num_classes} classes")

    def epoch_ended(self, epoch: EpochEnded) -> None:
        self.evaluations.epoch_evaluated(epoch.global_step)
        run = self._chart_runs.get(epoch.run_id)
        if run is not None:
            self.charts.add_epoch(run, epoch.epoch, epoch.global_step, epoch.train_loss, epoch.train_accuracy,
                                  epoch.val_loss, epoch.val_accuracy, epoch.lr)

    def finished(self, finished: RunFinished) -> None:
        self._confine_window(False)
        gc.unfreeze()  # what became garbage during the run is collected again
        self.document.set_locked(None)
        run = self._chart_runs.get(finished.run_id)
        if run is not None:
            self.charts.end_run(run, finished.status)
        if finished.run_id in self._gan_runs:
            self.gan_charts.end_run(finished.status)
        self.panel.show_finished(finished)
        weights = self.weights.current
        if weights is not None and weights.run_id == finished.run_id:
            self.digits.set_model_note(f"run {finished.run_id}, step {weights.global_step:,}"
                                       + (" (diverged)" if finished.status == "diverged" else ""))
        self.panel.set_can_continue(weights is not None)
        self.show_state(self.session.state)
        self.evaluations.run_finished(finished)
        words = STATUS_WORDS.get(finished.status, "Training ended")
        if finished.ok and finished.run_id in self._finetune_runs:
            pass  # its FinetuneReport, just before, said what it bought and what it cost
        elif finished.ok:
            accuracy = (f": {finished.test_accuracy:.2%} test accuracy" if finished.test_accuracy is not None
                        else "")
            epochs = finished.epochs_completed
            said = (f"{words}{accuracy} after {epochs} epoch{'s' * (epochs != 1)}, "
                    f"{finished.global_step:,} step{'s' * (finished.global_step != 1)}")
            # A run that ended in an unusual way (its process hung and was ended) says why, where one looks.
            self.say(f"{said}: {finished.message}" if finished.message else said)
        else:
            self.say(f"{words}: {finished.message}")
            if not self._close_when_stopped:
                QMessageBox.critical(self.window, words, finished.message)
        if self._close_when_stopped:
            self._close_when_stopped = False
            self._queued = None
            QTimer.singleShot(0, self.window.close)
        elif self._queued is not None:
            dataset, max_steps = self._queued
            self._queued = None
            QTimer.singleShot(0, lambda: self.start(dataset, max_steps))  # after this run's last word is said

    def _confine_window(self, confined: bool) -> None:
        """The GUI thread (this one), the predictor's relay thread and the inference process: to the window's
        core while a CPU run trains on the others, everywhere again after it (core/train/cores.py)."""
        if self.cores is None or self._window_confined == confined:
            return
        self._window_confined = confined
        cores = self.cores.window if confined else None
        pin(cores)
        self.predictor.keep_to(cores)
