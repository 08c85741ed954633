"""The training session: a real run in a training process, driven only through the session's controls; its
messages reach the app's dispatcher (with stand-ins for what shows them)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from playground.app.training.dispatch import RunDispatcher
from playground.app.training.session import IDLE, PAUSED, RUNNING, STOPPING, TrainingSession
from playground.core.graph.io import load_graph
from playground.core.run.job import TrainingJob
from playground.core.run.messages import EpochEnded, Progress, RunFinished, RunStarted, WeightsPublished
from playground.core.train import TrainConfig, Trainer

RUN_TIMEOUT = 60_000


class _Ignored:
    """Stands in for the parts of the window that show a run (the run's life, the weights in use)."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


class Recorder:
    """The app's dispatcher, with every message it routes kept in order, and the session's states."""

    def __init__(self):
        self.dispatcher = RunDispatcher()
        self.dispatcher.runs = self.dispatcher.weights = _Ignored()
        self.dispatcher.observe(self.append)
        self.events: list = []
        self.states: list[str] = []

    def append(self, message) -> None:
        self.events.append(message)

    def of(self, kind) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    @property
    def finished(self) -> RunFinished | None:
        done = self.of(RunFinished)
        return done[-1] if done else None


@pytest.fixture
def session(qtbot):
    rec = Recorder()
    s = TrainingSession(rec.dispatcher.dispatch)
    rec.dispatcher.session = s
    s.state_changed.connect(rec.states.append)
    s.recorder = rec
    yield s
    if s.active:
        s.stop()
        qtbot.waitUntil(lambda: not s.active, timeout=RUN_TIMEOUT)


def job(run_id=1, preset="mlp", **config) -> TrainingJob:
    settings = {"epochs": 1, "batch_size": 128, "augment": "none", "device": "cpu", **config}
    return TrainingJob(run_id=run_id, name=f"Run {run_id}", graph=load_graph(f"preset:{preset}"),
                       config=TrainConfig(**settings), dataset="mnist-sample", threads=1,
                       metrics_interval=0.0, weights_interval=0.0)


def test_a_run_publishes_every_step_once_and_ends_with_the_trainers_numbers(qtbot, session):
    rec = session.recorder
    session.start(job(epochs=2))
    assert session.state == "starting"
    qtbot.waitUntil(lambda: rec.finished is not None, timeout=RUN_TIMEOUT)
    qtbot.waitUntil(lambda: session.state == IDLE)

    started = rec.of(RunStarted)[0]
    assert rec.events[0] is started
    assert started.dataset == "mnist-sample" and started.device == "cpu"
    assert started.test_images.shape[1:] == (28, 28) and started.test_images.dtype == np.uint8
    assert len(started.test_labels) == len(started.test_images)

    progress = rec.of(Progress)
    steps = np.concatenate([p.steps for p in progress])
    losses = np.concatenate([p.losses for p in progress])
    total = started.total_steps
    assert steps.tolist() == list(range(1, total + 1))  # every step exactly once, in order
    assert np.isfinite(losses).all()
    assert all(len(p.lrs) == len(p.steps) for p in progress)
    last = progress[-1]  # the run is over: the last epoch, all its steps (not "step 0 of" a next epoch)
    assert (last.epoch, last.epoch_step) == (started.epochs - 1, started.steps_per_epoch)

    epochs = rec.of(EpochEnded)
    assert [e.epoch for e in epochs] == [1, 2]
    assert epochs[-1].global_step == total
    assert np.array(epochs[-1].confusion).sum() == len(started.test_labels)

    finished = rec.finished
    assert finished.status == "completed" and finished.ok
    assert finished.global_step == total and finished.epochs_completed == 2
    assert finished.test_accuracy == pytest.approx(epochs[-1].val_accuracy)
    assert rec.of(WeightsPublished)[-1].global_step == total
    assert rec.states == ["starting", "running", "idle"]


def test_the_published_weights_are_copies_that_training_does_not_change(qtbot, session):
    rec = session.recorder
    session.start(job(epochs=1))
    qtbot.waitUntil(lambda: rec.finished is not None, timeout=RUN_TIMEOUT)
    weights = rec.of(WeightsPublished)
    first, last = weights[0], weights[-1]
    assert first.global_step < last.global_step
    key = next(k for k in first.state_dict if k.endswith("weight"))
    assert not first.state_dict[key].equal(last.state_dict[key])  # the early copy kept its old values
    # The final weights are the model's: rebuilt from them, it scores the accuracy the run reported.
    trainer = Trainer(last.graph, TrainConfig(device="cpu"), dataset=_sample())
    trainer.model.load_state_dict(last.state_dict)
    assert trainer.evaluate().accuracy == pytest.approx(rec.finished.test_accuracy)


def _sample():
    from playground.core.data import load_dataset

    return load_dataset("mnist-sample")


def test_pause_resume_and_stop(qtbot, session):
    rec = session.recorder
    session.start(job(epochs=50))
    qtbot.waitUntil(lambda: session.state == RUNNING and bool(rec.of(Progress)), timeout=RUN_TIMEOUT)
    session.pause()
    qtbot.waitUntil(lambda: session.state == PAUSED, timeout=RUN_TIMEOUT)
    qtbot.wait(50)  # let anything published before the pause arrive
    before = rec.of(Progress)[-1]
    held = before.global_step
    paused_at = time.perf_counter()
    qtbot.wait(400)
    assert rec.of(Progress)[-1].global_step == held  # no step while paused
    session.resume()
    qtbot.waitUntil(lambda: session.state == RUNNING, timeout=RUN_TIMEOUT)
    qtbot.waitUntil(lambda: rec.of(Progress)[-1].global_step > held, timeout=RUN_TIMEOUT)
    after = next(p for p in rec.of(Progress) if p.global_step > held)
    # The pause is not training time: neither the clock nor the speed counts it.
    assert after.elapsed - before.elapsed < time.perf_counter() - paused_at - 0.3
    assert after.samples_per_second > 0
    session.stop()
    assert session.state == STOPPING
    qtbot.waitUntil(lambda: rec.finished is not None, timeout=RUN_TIMEOUT)
    assert rec.finished.status == "stopped"
    assert session.state == IDLE
    assert rec.states[-3:] == ["running", "stopping", "idle"]
    # Every step trained was published before the end, including the partial epoch's.
    steps = np.concatenate([p.steps for p in rec.of(Progress)])
    assert steps[-1] == rec.finished.global_step


def test_stop_while_paused_ends_the_run(qtbot, session):
    rec = session.recorder
    session.start(job(epochs=50))
    qtbot.waitUntil(lambda: session.state == RUNNING, timeout=RUN_TIMEOUT)
    session.pause()
    qtbot.waitUntil(lambda: session.state == PAUSED, timeout=RUN_TIMEOUT)
    session.stop()
    qtbot.waitUntil(lambda: rec.finished is not None, timeout=RUN_TIMEOUT)
    assert rec.finished.status == "stopped"


def test_divergence_in_the_worker_is_reported_and_a_new_run_can_start(qtbot, session):
    rec = session.recorder
    session.start(job(optimizer="sgd", lr=1e12, grad_clip=0.0, epochs=3))
    qtbot.waitUntil(lambda: rec.finished is not None, timeout=RUN_TIMEOUT)
    assert rec.finished.status == "diverged" and not rec.finished.ok
    assert "learning rate" in rec.finished.message
    qtbot.waitUntil(lambda: session.state == IDLE)

    session.start(job(run_id=2))
    qtbot.waitUntil(lambda: rec.finished.run_id == 2, timeout=RUN_TIMEOUT)
    assert rec.finished.status == "completed"


def test_a_graph_that_cannot_be_built_fails_with_the_builders_message(qtbot, session):
    bad = load_graph("preset:mlp")
    bad.edges = bad.edges[:-1]  # the output is no longer connected
    rec = session.recorder
    session.start(TrainingJob(run_id=1, name="bad", graph=bad, config=TrainConfig(device="cpu"),
                              dataset="mnist-sample"))
    qtbot.waitUntil(lambda: rec.finished is not None, timeout=RUN_TIMEOUT)
    assert rec.finished.status == "failed"
    assert rec.finished.message and "internal error" not in rec.finished.message
    assert not rec.of(RunStarted)


def test_continuing_from_published_weights_starts_where_the_last_run_ended(qtbot, session):
    rec = session.recorder
    session.start(job(epochs=1))
    qtbot.waitUntil(lambda: rec.finished is not None, timeout=RUN_TIMEOUT)
    first_accuracy = rec.finished.test_accuracy
    weights = rec.of(WeightsPublished)[-1].state_dict
    qtbot.waitUntil(lambda: session.state == IDLE)

    continued = TrainingJob(**{**job(run_id=2, epochs=1, lr=1e-9, schedule="constant").__dict__,
                               "initial_weights": weights})
    session.start(continued)
    qtbot.waitUntil(lambda: rec.finished.run_id == 2, timeout=RUN_TIMEOUT)
    # With a vanishing learning rate the continued run keeps the first run's accuracy (a fresh start would not).
    assert rec.finished.test_accuracy == pytest.approx(first_accuracy, abs=0.01)
    assert first_accuracy > 0.5


# -- the training process: a run trains in a process of its own, and whatever happens to it is said --------------

def test_the_run_trains_in_a_process_of_its_own_that_is_gone_after_it(qtbot, session):
    import os

    rec = session.recorder
    session.start(job(epochs=1))
    qtbot.waitUntil(lambda: bool(rec.of(Progress)), timeout=RUN_TIMEOUT)
    pid = session.process_id
    assert pid is not None and pid != os.getpid()
    os.kill(pid, 0)  # alive (raises if not)
    qtbot.waitUntil(lambda: session.state == IDLE, timeout=RUN_TIMEOUT)
    assert rec.finished.status == "completed" and session.process_id is None
    if os.path.exists("/proc/self"):
        assert not os.path.exists(f"/proc/{pid}")  # exited and reaped: no zombie left behind


def test_a_training_process_that_dies_is_a_plain_message_and_a_new_run_can_start(qtbot, session):
    import os
    import signal

    rec = session.recorder
    session.start(job(epochs=3))
    qtbot.waitUntil(lambda: bool(rec.of(Progress)), timeout=RUN_TIMEOUT)
    os.kill(session.process_id, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    qtbot.waitUntil(lambda: rec.finished is not None, timeout=RUN_TIMEOUT)
    assert rec.finished.status == "failed"
    assert "killed by SIGKILL" in rec.finished.message and "out of memory" in rec.finished.message
    assert rec.finished.global_step >= rec.of(Progress)[-1].global_step > 0
    qtbot.waitUntil(lambda: session.state == IDLE)

    session.start(job(run_id=2))
    qtbot.waitUntil(lambda: rec.finished.run_id == 2, timeout=RUN_TIMEOUT)
    assert rec.finished.status == "completed"


def test_a_run_that_does_not_stop_is_ended_and_says_so(qtbot, session, monkeypatch):
    import os
    import signal

    import playground.app.training.worker as worker_module

    monkeypatch.setattr(worker_module, "STOP_TIMEOUT", 1.0)
    rec = session.recorder
    session.start(job(epochs=3))
    qtbot.waitUntil(lambda: bool(rec.of(Progress)), timeout=RUN_TIMEOUT)
    os.kill(session.process_id, signal.SIGSTOP)  # hung: it will never finish its step
    session.stop()
    qtbot.waitUntil(lambda: rec.finished is not None, timeout=RUN_TIMEOUT)
    assert rec.finished.status == "stopped" and "did not stop within 1 s and was ended" in rec.finished.message
    qtbot.waitUntil(lambda: session.state == IDLE)


def test_a_training_process_that_cannot_start_is_a_plain_message(qtbot, session, monkeypatch):
    import playground.app.training.worker as worker_module

    def no_process(module):
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(worker_module, "take_spare", lambda module: None)
    monkeypatch.setattr(worker_module, "spawn", no_process)
    monkeypatch.setattr(worker_module, "start_spare_process", lambda module: None)
    rec = session.recorder
    session.start(job())
    qtbot.waitUntil(lambda: rec.finished is not None, timeout=RUN_TIMEOUT)
    assert rec.finished.status == "failed"
    assert "could not start" in rec.finished.message and "Too many open files" in rec.finished.message
    qtbot.waitUntil(lambda: session.state == IDLE)


def test_a_run_takes_the_spare_training_process_and_a_new_spare_follows(qtbot, session):
    from playground.core.run.launcher import TRAINING_MODULE, start_spare_process, take_spare

    if (left := take_spare(TRAINING_MODULE)) is not None:  # an earlier run's: this test starts its own
        left[1].close()
        left[0].kill()
        left[0].wait()
    spare = start_spare_process(TRAINING_MODULE)
    rec = session.recorder
    session.start(job(epochs=1))
    qtbot.waitUntil(lambda: bool(rec.of(Progress)), timeout=RUN_TIMEOUT)
    assert session.process_id == spare  # the run trains in the spare: torch was imported already
    qtbot.waitUntil(lambda: session.state == IDLE, timeout=RUN_TIMEOUT)
    following = take_spare(TRAINING_MODULE)  # the run's end started it, for the next run
    assert following is not None and following[0].pid not in (spare, None)
    following[1].close()  # end of file: it exits
    assert following[0].wait(30) == 0


@pytest.mark.parametrize("stopped_first", [False, True])
def test_a_run_stopped_because_the_window_closes_starts_no_spare(qtbot, session, monkeypatch, stopped_first):
    import playground.app.training.worker as worker_module

    spares = []
    monkeypatch.setattr(worker_module, "start_spare_process", spares.append)
    rec = session.recorder
    session.start(job(epochs=3))
    qtbot.waitUntil(lambda: bool(rec.of(Progress)), timeout=RUN_TIMEOUT)
    if stopped_first:  # Stop pressed, then the window closed while the run wound down
        session.stop()
    session.stop(closing=True)
    assert session.state == STOPPING
    qtbot.waitUntil(lambda: session.state == IDLE, timeout=RUN_TIMEOUT)
    assert rec.finished.status == "stopped"
    assert spares == []  # a plain Stop starts one (test_a_run_takes_the_spare_training_process_...)
