"""On a CUDA GPU (skipped without one; benchmarks/gpu_check.sh runs these with -m cuda): the same behaviour as on
the CPU, with mixed precision, and the run protocol end to end."""

from __future__ import annotations

import pytest
import torch

from playground.core.build import build_module
from playground.core.data import load_dataset
from playground.core.graph import load_graph
from playground.core.run.job import RunControl, TrainingJob, run_job
from playground.core.run.messages import RunFinished, RunStarted, WeightsPublished
from playground.core.train import TrainConfig, Trainer
from playground.core.train.checkpoint import load_checkpoint

pytestmark = pytest.mark.cuda


@pytest.fixture(scope="module")
def sample():
    return load_dataset("mnist-sample")


def test_a_preset_builds_and_runs_on_the_gpu():
    model = build_module(load_graph("preset:vit-mini"), device="cuda")
    assert model(torch.randn(2, 1, 28, 28, device="cuda")).shape == (2, 10)


@pytest.mark.parametrize("amp", [False, True])
def test_a_short_run_learns_on_the_gpu_with_and_without_mixed_precision(sample, amp, tmp_path):
    config = TrainConfig(epochs=2, batch_size=128, device="cuda", amp=amp, seed=1)
    trainer = Trainer(load_graph("preset:mnist-cnn"), config, dataset=sample, checkpoint_path=tmp_path / "gpu.pt")
    assert trainer.device.type == "cuda" and trainer.amp == amp
    result = trainer.fit()
    assert result.status == "completed" and result.test.accuracy > 0.9
    # The checkpoint holds CPU tensors: it loads where there is no GPU.
    checkpoint = load_checkpoint(tmp_path / "gpu.pt")
    assert all(t.device.type == "cpu" for t in checkpoint.state_dict.values())


def test_a_diverging_gpu_run_is_caught_at_its_step(sample):
    config = TrainConfig(epochs=1, batch_size=128, device="cuda", optimizer="sgd", lr=1e12, grad_clip=0.0)
    trainer = Trainer(load_graph("preset:mlp"), config, dataset=sample)
    with pytest.raises(Exception, match="diverged"):
        trainer.fit()


def test_a_run_from_the_window_trains_on_the_gpu_and_publishes_cpu_weights():
    job = TrainingJob(run_id=1, name="Run 1", graph=load_graph("preset:mlp"),
                      config=TrainConfig(epochs=1, batch_size=128, device="cuda", augment="none"),
                      dataset="mnist-sample", metrics_interval=0.0, weights_interval=0.0)
    said: list = []
    run_job(job, RunControl(), said.append)
    started, finished = said[0], said[-1]
    assert isinstance(started, RunStarted) and started.device.startswith("cuda")
    assert isinstance(finished, RunFinished) and finished.status == "completed"
    weights = [m for m in said if isinstance(m, WeightsPublished)][-1]
    assert all(t.device.type == "cpu" for t in weights.state_dict.values())
