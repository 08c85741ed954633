"""Fine-tuning on a person's own digits: core (`finetune`) and `playground finetune`."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from playground.core.data import load_dataset
from playground.core.data.handwriting import HandwritingStore
from playground.core.run.job import FinetuneSpec, RunControl, TrainingJob, run_job
from playground.core.run.messages import FinetuneReport, RunControls, RunFinished, WeightsPublished
from playground.core.train import TrainConfig, Trainer
from playground.core.train.checkpoint import load_checkpoint
from playground.core.train.finetune import FinetuneError, finetune, frozen_nodes

from .cli_runs import run_cli
from .graphs import chain


@pytest.fixture(autouse=True)
def no_ambient_data(monkeypatch, tmp_path_factory):
    monkeypatch.delenv("PLAYGROUND_DATA_DIR", raising=False)
    monkeypatch.setenv("PLAYGROUND_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


def small_cnn():
    return chain(("conv1", "conv2d", {"filters": 8, "kernel_size": 3}), ("bn1", "batchnorm", {}),
                 ("relu1", "relu", {}), ("pool1", "maxpool2d", {"kernel_size": 2}), ("flatten", "flatten", {}),
                 ("dense1", "dense", {"units": 32}), ("relu2", "relu", {}), ("dense2", "dense", {"units": 10}))


@pytest.fixture(scope="module")
def sample():
    return load_dataset("mnist-sample")


@pytest.fixture(scope="module")
def trained(sample, tmp_path_factory):
    """A small CNN trained briefly on the offline sample, saved as a checkpoint."""
    data = dataclasses.replace(sample, train_images=sample.train_images[:3000], train_labels=sample.train_labels[:3000])
    trainer = Trainer(small_cnn(), TrainConfig(epochs=2, batch_size=64, device="cpu", seed=0), dataset=data)
    trainer.fit()
    path = tmp_path_factory.mktemp("ckpt") / "small.ckpt"
    trainer.save_checkpoint(path, "completed")
    return path


def own_digits(sample, per_class=5):
    """A person who writes differently: the sample's test digits, thick and slanted (5 a class)."""
    x, y = sample.test_images[:, 0].numpy(), sample.test_labels.numpy()
    images, labels = [], []
    for k in range(10):
        for i in np.flatnonzero(y == k)[:per_class]:
            a = x[i].astype(np.int32)
            thick = np.maximum.reduce([a, np.roll(a, 1, 0), np.roll(a, 1, 1), np.roll(a, (1, 1), (0, 1))])
            slanted = np.stack([np.roll(row, (14 - r) // 3) for r, row in enumerate(thick)])
            images.append(np.clip(slanted, 0, 255).astype(np.uint8))
            labels.append(k)
    return np.stack(images), np.asarray(labels, dtype=np.int64)


def test_finetune_learns_own_digits_and_keeps_mnist(trained, sample):
    ckpt = load_checkpoint(trained)
    x, y = own_digits(sample)
    result = finetune(ckpt, x, y, replay=sample, held_out_share=0.4, seed=0)
    s = result.summary()
    assert s["own_train"] == 30 and s["own_held_out"] == 20 and s["counts"]["3"] == 5
    assert result.own_after > result.own_before, s
    assert result.replay_after >= result.replay_before - 0.02, s
    assert result.frozen[-1] == "relu2" and result.trained == ["dense2"]
    assert result.seconds < 30 and s["replay_dataset"] == "mnist-sample"
    assert set(result.checkpoint.state_dict) == set(ckpt.state_dict)
    assert result.checkpoint.graph.nodes["conv1"].trainable  # the graph as it was: freezing was the run's
    # What the network says of each own digit: the held-out ones' account for the accuracies measured
    held = result.held_out
    assert held.sum() == 20 and len(result.predicted_before) == len(result.predicted_after) == 50
    assert np.mean(result.predicted_before[held] == y[held]) == pytest.approx(result.own_before)
    assert np.mean(result.predicted_after[held] == y[held]) == pytest.approx(result.own_after)


def test_frozen_layers_are_bit_identical_after(trained, sample):
    ckpt = load_checkpoint(trained)
    x, y = own_digits(sample, per_class=2)
    result = finetune(ckpt, x, y, replay=sample, freeze_until="pool1", epochs=1, oversample_to=64)
    assert result.frozen == ["input", "conv1", "bn1", "relu1", "pool1"]
    after = result.checkpoint.state_dict
    for key, value in ckpt.state_dict.items():  # conv weights and the BatchNorm's running statistics
        same = torch.equal(after[key], value)
        assert same == key.startswith(("conv1.", "bn1.")), key
    assert result.trained == ["dense1", "dense2"]


def test_which_nodes_stay_frozen(trained):
    graph = load_checkpoint(trained).graph
    assert frozen_nodes(graph) == ["input", "conv1", "bn1", "relu1", "pool1", "flatten", "dense1", "relu2"]
    assert frozen_nodes(graph, "flatten")[-1] == "flatten"
    with pytest.raises(FinetuneError, match="no node 'nope'"):
        frozen_nodes(graph, "nope")


def test_finetune_refuses_too_few_digits_and_nothing_to_train(trained, sample):
    ckpt = load_checkpoint(trained)
    x, y = own_digits(sample, per_class=2)
    with pytest.raises(FinetuneError, match="class 4 has only 1 digit"):
        keep = np.arange(len(y)) != np.flatnonzero(y == 4)[0]
        finetune(ckpt, x[keep], y[keep], replay=sample)
    with pytest.raises(FinetuneError, match="nothing is left to train"):
        finetune(ckpt, x, y, replay=sample, freeze_until="output")


# -- a fine-tuning run from the window (the training process's run_job) -----------------------------------


def finetune_job(trained, sample, **spec):
    ckpt = load_checkpoint(trained)
    x, y = own_digits(sample, per_class=3)
    return TrainingJob(run_id=4, name="Fine-tune 4", graph=ckpt.graph, config=TrainConfig(device="cpu"),
                       dataset="mnist-sample", initial_weights=ckpt.state_dict, weights_interval=0.0,
                       finetune=FinetuneSpec(images=x, labels=y, ids=tuple(f"d{i}" for i in range(len(y))), **spec))


def test_a_finetune_job_publishes_like_a_run_then_reports_before_and_after(trained, sample, monkeypatch):
    sent = []
    run_job(finetune_job(trained, sample, freeze_until="pool1"), RunControl(), sent.append)
    kinds = [type(m).__name__ for m in sent]
    assert kinds[0] == "RunStarted" and kinds[-2:] == ["FinetuneReport", "RunFinished"], kinds
    started, report, finished = sent[0], sent[-2], sent[-1]
    assert finished.status == "completed" and finished.message == "" and finished.global_step == report.steps > 0
    assert len(started.test_images) == report.held_out.sum() == 10  # the held-out own digits are the test split
    assert report.ids[0] == "d0" and len(report.predicted_after) == 30
    assert report.frozen[-1] == "pool1" and "dense2" in report.trained and "conv1" not in report.trained
    assert finished.test_accuracy == pytest.approx(report.own_after)
    held = report.held_out
    assert np.mean(report.predicted_after[held] == report.labels[held]) == pytest.approx(report.own_after)
    assert "mnist" in report.replay_dataset.lower()
    weights = [m for m in sent if isinstance(m, WeightsPublished)]
    assert weights and weights[-1].global_step == report.steps  # the tuned weights reach the window
    assert not weights[-1].graph.nodes["conv1"].trainable  # the run's graph: frozen as chosen


def test_a_finetune_job_that_cannot_start_says_why(trained, sample, monkeypatch):
    job = finetune_job(trained, sample)
    for broken, words in ((dataclasses.replace(job, initial_weights=None), "no weights to fine-tune"),
                          (dataclasses.replace(job, finetune=dataclasses.replace(job.finetune, freeze_until="nope")),
                           "no node 'nope'")):
        sent = []
        run_job(broken, RunControl(), sent.append)
        assert isinstance(sent[-1], RunFinished) and sent[-1].status == "failed"
        assert words in sent[-1].message
        assert not any(isinstance(m, FinetuneReport) for m in sent)


def test_a_stopped_finetune_job_reports_where_it_stopped(trained, sample, monkeypatch):
    sent = []
    run_job(finetune_job(trained, sample), RunControl(RunControls(stop=True)), sent.append)
    report, finished = sent[-2], sent[-1]
    assert isinstance(report, FinetuneReport) and report.status == finished.status == "stopped"
    assert report.steps < 200


# -- playground finetune ----------------------------------------------------------------------------------


@pytest.fixture
def my_digits(sample, tmp_path):
    """Own digits written the way the Draw dock writes them (HandwritingStore)."""
    store = HandwritingStore(tmp_path / "mine")
    x, y = own_digits(sample, per_class=3)
    for image, label in zip(x, y, strict=True):
        store.add(image, None, int(label))
    return store.folder


def test_cli_finetune_prints_before_and_after_as_json(capsys, trained, my_digits, tmp_path):
    out = tmp_path / "tuned.ckpt"
    code, lines, err = run_cli(capsys, "finetune", trained, "--images", my_digits, "-o", out)
    assert code == 0, err
    summary = json.loads(lines[-1])
    assert {"own_accuracy_before", "own_accuracy_after", "replay_accuracy_before", "replay_accuracy_after",
            "seconds", "frozen", "counts"} <= set(summary)
    assert summary["counts"]["7"] == 3 and summary["own_held_out"] == 10 and summary["frozen"][-1] == "relu2"
    assert any("own held-out accuracy" in line for line in lines[:-1])
    tuned = load_checkpoint(out)
    assert tuned.extra["finetune"]["own_train"] == 20


def test_cli_finetune_errors(capsys, trained, my_digits, tmp_path):
    out = tmp_path / "tuned.ckpt"
    bad = tmp_path / "bad.ckpt"
    bad.write_text("not a checkpoint")
    code, _, err = run_cli(capsys, "finetune", bad, "--images", my_digits, "-o", out)
    assert code == 2 and "bad.ckpt" in err
    code, _, err = run_cli(capsys, "finetune", trained, "--images", my_digits, "--freeze-until", "nope", "-o", out)
    assert code == 2 and "no node 'nope'" in err
    (my_digits / "x").mkdir()
    for name in ("a.png", "b.png"):
        (my_digits / "x" / name).write_bytes((next((my_digits / "1").glob("*.png"))).read_bytes())
    code, _, err = run_cli(capsys, "finetune", trained, "--images", my_digits, "-o", out)
    assert code == 2 and "x are no class" in err
    code, _, err = run_cli(capsys, "finetune", trained, "--images", tmp_path / "none", "-o", out)
    assert code == 2 and "no such folder" in err
    assert not out.exists()
