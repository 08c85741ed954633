"""One run as the training process runs it (`job.run_job`), in this process: what it says when things go wrong."""

from __future__ import annotations

import torch

from playground.app.training.job import Controls, TrainingJob, run_job
from playground.app.training.messages import Progress, RunFinished, RunStarted
from playground.core.graph.io import load_graph
from playground.core.train import TrainConfig, Trainer


def run(job: TrainingJob, controls: Controls | None = None) -> list[tuple[str, object]]:
    said: list[tuple[str, object]] = []
    run_job(job, controls or Controls(), lambda kind, message: said.append((kind, message)))
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
    kind, finished = said[-1]
    assert kind == "finished" and isinstance(finished, RunFinished)
    assert finished.status == "failed" and "RuntimeError: boom in a layer" in finished.message
    assert [k for k, _ in said].count("finished") == 1


def test_out_of_memory_in_the_run_is_said_plainly(monkeypatch):
    real_step = Trainer._train_step
    calls = []

    def step_then_run_out(self, x, y):
        calls.append(1)
        if len(calls) == 3:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_step(self, x, y)

    monkeypatch.setattr(Trainer, "_train_step", step_then_run_out)
    kind, finished = run(job(epochs=2))[-1]
    assert kind == "finished" and finished.status == "out_of_memory"
    assert "batch size" in finished.message and "step 3 of epoch 1" in finished.message


def test_a_stop_before_the_trainer_exists_ends_the_run_before_it_starts():
    controls = Controls()
    controls.stop()
    said = run(job(), controls)
    assert [k for k, _ in said] == ["finished"] and said[0][1].status == "stopped"


def test_weights_go_out_as_arrays_and_the_run_says_started_before_its_progress():
    said = run(job())
    kinds = [k for k, _ in said]
    assert kinds[0] == "started" and isinstance(said[0][1], RunStarted) and kinds[-1] == "finished"
    assert any(isinstance(m, Progress) for _, m in said)
    weights = [m for k, m in said if k == "weights_published"][-1]
    assert weights.state_dict and all(type(v).__module__ == "numpy" for v in weights.state_dict.values())
