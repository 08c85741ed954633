"""One run as the training process runs it (`job.run_job`), in this process: what it says when things go wrong."""

from __future__ import annotations

import torch

from playground.core.graph.io import load_graph
from playground.core.run.job import RunControl, TrainingJob, run_job
from playground.core.run.messages import Progress, RunControls, RunFinished, RunStarted, WeightsPublished
from playground.core.run.wire import dumps
from playground.core.train import TrainConfig, Trainer


def run(job: TrainingJob, control: RunControl | None = None) -> list:
    said: list = []
    run_job(job, control or RunControl(), said.append)
    return said


def job(**config) -> TrainingJob:
    settings = {"epochs": 1, "batch_size": 128, "augment": "none", "device": "cpu", **config}
    return TrainingJob(run_id=1, name="Run 1", graph=load_graph("preset:mlp"), config=TrainConfig(**settings),
                       dataset="mnist-sample", threads=1, metrics_interval=0.0, weights_interval=0.0)


def test_a_crash_inside_the_run_is_a_plain_message_and_the_last_word(monkeypatch):
    def broken_fit(self, callbacks=()):
        raise RuntimeError("boom in a layer")

    monkeypatch.setattr(Trainer, "fit", broken_fit)
    said = run(job())
    finished = said[-1]
    assert isinstance(finished, RunFinished)
    assert finished.status == "failed" and "RuntimeError: boom in a layer" in finished.message
    assert [type(m) for m in said].count(RunFinished) == 1


def test_out_of_memory_in_the_run_is_said_plainly(monkeypatch):
    real_step = Trainer._train_step
    calls = []

    def step_then_run_out(self, x, y):
        calls.append(1)
        if len(calls) == 3:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_step(self, x, y)

    monkeypatch.setattr(Trainer, "_train_step", step_then_run_out)
    finished = run(job(epochs=2))[-1]
    assert isinstance(finished, RunFinished) and finished.status == "out_of_memory"
    assert "batch size" in finished.message and "step 3 of epoch 1" in finished.message


def test_a_stop_before_the_trainer_exists_ends_the_run_before_it_starts():
    said = run(job(), RunControl(RunControls(stop=True)))
    assert len(said) == 1 and isinstance(said[0], RunFinished) and said[0].status == "stopped"


def test_the_run_says_started_before_its_progress_and_publishes_cpu_copies_of_its_weights():
    said = run(job())
    assert isinstance(said[0], RunStarted) and isinstance(said[-1], RunFinished)
    assert any(isinstance(m, Progress) for m in said)
    weights = [m for m in said if isinstance(m, WeightsPublished)][-1]
    assert weights.state_dict and all(isinstance(v, torch.Tensor) and v.device.type == "cpu"
                                      for v in weights.state_dict.values())


def test_the_weights_a_run_publishes_do_not_grow_with_the_run_only_its_last_carry_the_history():
    """Issue 19: every WeightsPublished (several a second) carried the run's whole metric history, a loss per
    step, so each message, and what the window held and unpickled, grew with the run. Here every step publishes."""
    said = run(job(epochs=2))
    weights = [m for m in said if isinstance(m, WeightsPublished)]
    *during, last = weights
    assert len(during) >= 64  # a publish per step (the sample's epochs are 32 steps), and one per epoch end
    # What the messages during the run carry of the history, item by item: nothing, however long the run.
    assert sum(len(m.history.get("step_loss", ())) + len(m.history.get("epochs", ())) for m in during) == 0
    sizes = [len(dumps(m)) for m in during]
    assert max(sizes) - min(sizes) < 64, "a message of the weights grows with the run"
    # The run's last weights (what Save Weights saves after it) carry its whole history, once.
    assert len(last.history["step_loss"]) == last.global_step and len(last.history["epochs"]) == 2
