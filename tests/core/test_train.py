"""The Trainer: learning, callbacks, controls from another thread, divergence, checkpoints, transfer learning
and determinism. CPU only, small data: fast on two cores."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pickle
import threading
import time
from pathlib import Path

import pytest
import torch

from playground.core.data import Dataset, load_dataset
from playground.core.graph import load_graph
from playground.core.train import (
    Callback,
    CheckpointError,
    ConfigError,
    TrainConfig,
    Trainer,
    TrainingError,
    load_checkpoint,
)
from playground.core.train.optim import lr_at

from .graphs import chain

MNIST_DIR = os.environ.get("PLAYGROUND_MNIST_DIR")
needs_mnist = pytest.mark.skipif(not (MNIST_DIR and Path(MNIST_DIR).is_dir()),
                                 reason="set PLAYGROUND_MNIST_DIR to a folder with the MNIST IDX files")
FASHION_DIRS = [os.environ.get("PLAYGROUND_FASHION_DIR"), "/usr/share/datasets/fashion-mnist"]


def subset(ds: Dataset, n_train: int, n_test: int) -> Dataset:
    return dataclasses.replace(ds, train_images=ds.train_images[:n_train], train_labels=ds.train_labels[:n_train],
                               test_images=ds.test_images[:n_test], test_labels=ds.test_labels[:n_test])


@pytest.fixture(scope="module")
def sample():
    return load_dataset("mnist-sample")


@pytest.fixture(scope="module")
def small(sample):
    return subset(sample, 1024, 300)


def fast_config(**kw) -> TrainConfig:
    base = {"epochs": 1, "batch_size": 64, "device": "cpu", "seed": 1}
    return TrainConfig(**{**base, **kw})


def tiny_cnn(trainable=()):
    """conv(8) -> batchnorm -> relu -> pool -> flatten -> dense(10); `trainable` lists nodes to keep training
    when given (the others are frozen)."""
    g = chain(("conv1", "conv2d", {"filters": 8, "kernel_size": 3}), ("bn1", "batchnorm", {}),
              ("relu1", "relu", {}), ("pool1", "maxpool2d", {"kernel_size": 2}), ("flatten", "flatten", {}),
              ("head", "dense", {"units": 10}))
    if trainable:
        for node in g.nodes.values():
            node.trainable = node.id in trainable
    return g


class Recorder(Callback):
    def __init__(self):
        self.events = []
        self.step_losses = []

    def on_fit_start(self, trainer):
        self.events.append("fit_start")

    def on_step_end(self, trainer, step):
        assert isinstance(step.loss, torch.Tensor)  # the device tensor, not a synced float
        self.events.append("step")

    def on_validation_end(self, trainer, metrics):
        self.events.append("validation")

    def on_epoch_end(self, trainer, metrics):
        self.events.append("epoch")

    def on_pause(self, trainer):
        self.events.append("pause")

    def on_resume(self, trainer):
        self.events.append("resume")

    def on_exception(self, trainer, exc):
        self.events.append(("exception", exc))

    def on_fit_end(self, trainer, result):
        self.events.append("fit_end")


# -- config and schedules ---------------------------------------------------------------------


def test_config_is_json_and_validated():
    config = TrainConfig(optimizer="nesterov", lr=0.1, augment=False, warmup_epochs=0.5)
    data = json.loads(json.dumps(dataclasses.asdict(config)))
    assert TrainConfig.from_dict(data) == config
    assert TrainConfig.from_dict({**data, "from_the_future": 1}) == config
    for bad in ({"optimizer": "adagrad"}, {"lr": -1.0}, {"lr": math.nan}, {"batch_size": 0}, {"epochs": 0},
                {"schedule": "linear"}, {"augment": "heavy"}, {"device": "tpu"}, {"warmup_epochs": 9.0},
                {"amp": "fp16"}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            TrainConfig(**bad).validate()
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA"):
            TrainConfig(device="cuda").validate()


def test_schedules():
    c = TrainConfig(lr=1.0, epochs=10, schedule="onecycle")
    total, per_epoch = 1000, 100
    assert lr_at(0, total, c, per_epoch) == pytest.approx(1 / 25)
    assert lr_at(300, total, c, per_epoch) == pytest.approx(1.0)  # the peak after 30% of the run
    assert lr_at(999, total, c, per_epoch) < 1e-3
    lrs = [lr_at(s, total, c, per_epoch) for s in range(total)]
    assert lrs.index(max(lrs)) == 300
    c = TrainConfig(lr=1.0, epochs=10, schedule="cosine", warmup_epochs=0.5)  # warm-up of 50 steps
    assert lr_at(0, total, c, per_epoch) == pytest.approx(1 / 50)
    assert lr_at(49, total, c, per_epoch) == pytest.approx(1.0)
    assert lr_at(525, total, c, per_epoch) == pytest.approx(0.5, abs=0.01)
    c = TrainConfig(lr=1.0, epochs=10, schedule="step")
    assert [lr_at(s, total, c, per_epoch) for s in (0, 499, 500, 750)] == pytest.approx([1, 1, 0.1, 0.01])
    c = TrainConfig(lr=1.0, epochs=10, schedule="constant")
    assert {lr_at(s, total, c, per_epoch) for s in range(total)} == {1.0}


# -- training -------------------------------------------------------------------------------------


def test_trainer_learns_and_reports(sample):
    recorder = Recorder()
    trainer = Trainer(load_graph("preset:mlp"), fast_config(epochs=2, batch_size=128), dataset=sample)
    result = trainer.fit([recorder])
    steps = trainer.steps_per_epoch
    assert steps == 4000 // 128
    assert result.status == "completed" and result.epochs_completed == 2 and result.global_step == 2 * steps
    assert result.test.accuracy > 0.85, result.test
    assert result.samples_per_second > 0 and result.train_seconds <= result.seconds
    # Events, in Lightning's order.
    assert recorder.events == ["fit_start", *["step"] * steps, "validation", "epoch",
                               *["step"] * steps, "validation", "epoch", "fit_end"]
    history = result.history
    assert len(history.step_loss) == 2 * steps and all(math.isfinite(v) for v in history.step_loss)
    assert history.step_loss[-1] < history.step_loss[0]
    first, last = history.epochs
    assert last["val_accuracy"] == result.test.accuracy and last["train_loss"] < first["train_loss"]
    assert {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "samples_per_second", "lr"} <= set(last)
    confusion = torch.tensor(result.test.confusion)
    assert confusion.shape == (10, 10) and int(confusion.sum()) == 1000
    per_class = (confusion.diagonal() / confusion.sum(1)).tolist()
    assert result.test.per_class_accuracy == pytest.approx(per_class)
    assert result.test.accuracy == pytest.approx(confusion.diagonal().sum().item() / 1000)
    json.dumps(result.summary())


def test_no_host_copy_per_step(small, monkeypatch):
    """Losses and counts stay on the device; they come back once per epoch, not once per step."""
    trainer = Trainer(load_graph("preset:mlp"), fast_config(epochs=2, batch_size=32), dataset=small)
    calls = {"cpu": 0, "tolist": 0}
    real_cpu, real_tolist = torch.Tensor.cpu, torch.Tensor.tolist

    def counting(name, real):
        def wrapper(self, *args, **kwargs):
            calls[name] += 1
            return real(self, *args, **kwargs)
        return wrapper

    monkeypatch.setattr(torch.Tensor, "cpu", counting("cpu", real_cpu))
    monkeypatch.setattr(torch.Tensor, "tolist", counting("tolist", real_tolist))
    trainer.fit()
    assert trainer.steps_per_epoch == 32
    assert calls["cpu"] <= 4 * 2 and calls["tolist"] <= 4 * 2, calls  # a handful per epoch, 64 steps


def test_determinism_same_seed_same_numbers(small):
    def run(seed):
        trainer = Trainer(load_graph("preset:mlp"), fast_config(seed=seed), dataset=small)  # dropout + augment
        result = trainer.fit()
        return result.history.step_loss, trainer.state_dict_copy(), result.test.loss

    losses_a, weights_a, test_a = run(3)
    losses_b, weights_b, test_b = run(3)
    assert losses_a == losses_b and test_a == test_b
    assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)
    losses_c, _, _ = run(4)
    assert losses_c != losses_a


def test_frozen_everything_is_an_error(small):
    g = load_graph("preset:mlp")
    for node in g.nodes.values():
        node.trainable = False
    with pytest.raises(ValueError, match="nothing to train"):
        Trainer(g, fast_config(), dataset=small)


# -- controls from another thread -----------------------------------------------------------------


def test_pause_resume_and_stop_from_another_thread(small, tmp_path):
    started = threading.Event()

    class Signal(Callback):
        def on_step_end(self, trainer, step):
            if step.global_step == 3:
                started.set()
            time.sleep(0.005)  # keep steps from outrunning the test thread

    recorder = Recorder()
    ckpt = tmp_path / "stopped.pt"
    trainer = Trainer(load_graph("preset:mlp"), fast_config(epochs=50, batch_size=16), dataset=small,
                      checkpoint_path=ckpt)
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(result=trainer.fit([Signal(), recorder])))
    thread.start()
    try:
        assert started.wait(30)
        trainer.pause()
        at_pause = trainer.global_step
        time.sleep(0.4)
        assert trainer.global_step <= at_pause + 1  # the step in flight finishes, no other starts
        paused_at = trainer.global_step
        assert "pause" in recorder.events
        time.sleep(0.2)
        assert trainer.global_step == paused_at  # still paused
        trainer.resume()
        deadline = time.monotonic() + 30
        while trainer.global_step < paused_at + 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert trainer.global_step >= paused_at + 5
        assert "resume" in recorder.events
        trainer.pause()
        time.sleep(0.1)
        trainer.stop()  # while paused
        thread.join(30)
        assert not thread.is_alive()
    finally:
        trainer.stop()
        thread.join(30)
    result = outcome["result"]
    assert result.status == "stopped" and recorder.events[-1] == "fit_end"
    assert result.epochs_completed < 50 and result.global_step == trainer.global_step
    assert len(result.history.step_loss) == result.global_step
    saved = load_checkpoint(ckpt)  # stopping wrote a final checkpoint of a consistent model
    assert saved.extra["status"] == "stopped" and saved.extra["global_step"] == result.global_step
    live = trainer.state_dict_copy()
    assert all(torch.equal(saved.state_dict[k], live[k]) for k in live)


# -- failures ------------------------------------------------------------------------------------


def test_nan_loss_stops_at_once_with_a_plain_message(small):
    class Poison(Callback):
        def on_step_end(self, trainer, step):
            if step.global_step == 3:
                with torch.no_grad():
                    trainer.model.dense3.weight.fill_(math.nan)

    recorder = Recorder()
    trainer = Trainer(load_graph("preset:mlp"), fast_config(epochs=3), dataset=small)
    with pytest.raises(TrainingError) as info:
        trainer.fit([Poison(), recorder])
    error = info.value
    assert error.kind == "diverged" and error.result.status == "diverged"
    assert "step 4 of epoch 1" in str(error) and "learning rate" in str(error)
    assert trainer.global_step == 4  # stopped at once
    assert recorder.events[-1] == ("exception", error) and "fit_end" not in recorder.events


def test_huge_learning_rate_diverges(small):
    trainer = Trainer(load_graph("preset:mlp"), fast_config(lr=1e6, optimizer="sgd", schedule="constant"),
                      dataset=small)
    with pytest.raises(TrainingError, match=r"diverged.*try a lower one, such as 0\.05") as info:
        trainer.fit()
    assert info.value.kind == "diverged" and trainer.global_step < trainer.steps_per_epoch


def test_out_of_memory_is_reported_not_crashed(small, monkeypatch):
    trainer = Trainer(load_graph("preset:mlp"), fast_config(batch_size=128), dataset=small)

    def explode(x):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(trainer.model, "forward", explode)
    recorder = Recorder()
    with pytest.raises(TrainingError, match="ran out of memory at step 1 of epoch 1 with batch size 128; "
                                            "try a smaller batch size") as info:
        trainer.fit([recorder])
    assert info.value.kind == "out_of_memory" and recorder.events[-1][0] == "exception"


# -- checkpoints ---------------------------------------------------------------------------------


def test_checkpoint_resume_continues_exactly(small, tmp_path):
    """Stop after epoch 1 of 2, resume from the checkpoint: the same weights as an uninterrupted run."""
    config = fast_config(epochs=2, optimizer="adam")
    straight = Trainer(load_graph("preset:mlp"), config, dataset=small)
    straight_result = straight.fit()

    class StopAfterFirstEpoch(Callback):
        def on_epoch_end(self, trainer, metrics):
            trainer.stop()

    path = tmp_path / "half.pt"
    first = Trainer(load_graph("preset:mlp"), config, dataset=small, checkpoint_path=path)
    assert first.fit([StopAfterFirstEpoch()]).status == "stopped"
    ckpt = load_checkpoint(path)
    assert ckpt.extra["epochs_completed"] == 1 and ckpt.config == config.to_dict()
    assert ckpt.optimizer_state["state"]  # Adam's moments travel with the weights
    assert len(ckpt.history["epochs"]) == 1

    resumed = Trainer.from_checkpoint(path, dataset=small)
    assert resumed.epochs_completed == 1 and resumed.global_step == resumed.steps_per_epoch
    result = resumed.fit()
    assert result.epochs_completed == 2 and len(result.history.epochs) == 2
    assert result.history.step_loss == straight_result.history.step_loss
    a, b = straight.state_dict_copy(), resumed.state_dict_copy()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert result.test.loss == straight_result.test.loss


def test_checkpoint_from_another_graph_is_refused(small, tmp_path):
    path = tmp_path / "c.pt"
    trainer = Trainer(load_graph("preset:mlp"), fast_config(), dataset=small, checkpoint_path=path)
    trainer.save_checkpoint()
    ckpt = load_checkpoint(path)
    assert ckpt.graph.name == "MLP" and set(ckpt.state_dict) == set(trainer.model.state_dict())
    # A damaged one: weights of another shape under the same names.
    ckpt.state_dict["dense1.weight"] = torch.zeros(3, 3)
    from playground.core.train.checkpoint import save_checkpoint
    save_checkpoint(path, ckpt)
    with pytest.raises(CheckpointError, match="do not fit"):
        Trainer.from_checkpoint(path, dataset=small)


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("writer", ["torch", "pickle2", "pickle4"])
def test_untrusted_checkpoint_never_runs_code(tmp_path, writer):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    payload = {"format": "playground-checkpoint", "format_version": 1, "graph_json": "{}",
               "state_dict": {"x": _Payload(marker)}}
    if writer == "torch":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=int(writer[-1])))
    assert pickle.loads(pickle.dumps(_Payload(tmp_path / "control"))) == 0  # the payload is live...
    assert (tmp_path / "control").exists()
    # (protocol 4 is refused even before its GLOBAL is reached: weights_only does not read FRAME)
    refusal = "not a PyTorch checkpoint" if writer == "pickle4" else r"posix\.system.*refused without running it"
    with pytest.raises(CheckpointError, match=refusal):
        load_checkpoint(path)
    assert not marker.exists()  # ...but loading the checkpoint did not run it


def test_foreign_and_damaged_files(tmp_path):
    (tmp_path / "text.pt").write_text("hello")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "plain.pt")
    cases = {"text.pt": "not a PyTorch checkpoint", "plain.pt": "not a Playground checkpoint",
             "missing.pt": "no such checkpoint"}
    for name, message in cases.items():
        with pytest.raises(CheckpointError, match=message):
            load_checkpoint(tmp_path / name)


# -- transfer learning ---------------------------------------------------------------------------


def _fashion_or_none():
    for folder in FASHION_DIRS:
        if folder and Path(folder).is_dir():
            try:
                return load_dataset("fashion-mnist", data_dir=folder)
            except Exception:
                pass
    return None


def test_transfer_learning_fine_tunes_only_the_head(sample, tmp_path):
    if MNIST_DIR and Path(MNIST_DIR).is_dir():
        source_data = subset(load_dataset("mnist", data_dir=MNIST_DIR), 2048, 500)
    else:
        source_data = subset(sample, 2048, 500)
    target_data = _fashion_or_none() or sample
    target_data = subset(target_data, 1024, 500)

    path = tmp_path / "source.pt"
    source = Trainer(tiny_cnn(), fast_config(), dataset=source_data, checkpoint_path=path)
    assert source.fit().test.accuracy > 0.8
    before = load_checkpoint(path).state_dict

    target = Trainer(tiny_cnn(trainable={"head"}), fast_config(seed=7), dataset=target_data)
    report = target.load_weights(path)
    assert set(report.loaded) == set(before) and not report.skipped and not report.missing
    trainable = {id(p) for p in target.model.head.parameters()}
    optimized = [p for group in target.optimizer.param_groups for p in group["params"]]
    assert {id(p) for p in optimized} == trainable  # only the head reaches the optimizer
    head_before = target.model.head.weight.detach().clone()
    result = target.fit()
    assert result.test.accuracy > (0.5 if target_data.name == "fashion-mnist" else 0.8)
    after = target.state_dict_copy()
    frozen = [k for k in before if not k.startswith("head.")]
    assert any(k.startswith("bn1.running_") for k in frozen)
    for key in frozen:  # frozen weights and BatchNorm statistics unchanged, bit for bit
        assert torch.equal(after[key], before[key]), key
    assert not torch.equal(target.model.head.weight.detach(), head_before)
    assert target.model.bn1.training is False and target.model.head.training is True


def test_transfer_report_names_what_does_not_fit(small):
    source = Trainer(load_graph("preset:mlp"), fast_config(), dataset=small)
    g = load_graph("preset:mlp")
    g.nodes["dense2"].params["units"] = 64  # dense2 changes shape, and so does dense3's weight
    target = Trainer(g, fast_config(), dataset=small)
    report = target.load_weights(source.state_dict_copy())
    assert set(report.loaded) == {"dense1.weight", "dense1.bias", "dense3.bias"}
    assert set(report.skipped) == {"dense2.weight", "dense2.bias", "dense3.weight"}
    assert "does not fit" in report.skipped["dense2.weight"] and "dense2.weight" in report.missing
    assert "dense1" in report.summary()


# -- what a callback reads ----------------------------------------------------------------------


def test_a_callback_reads_the_loss_and_a_copy_of_the_weights(small):
    seen = {}

    class Reader(Callback):
        def on_step_end(self, trainer, step):
            if step.global_step == 2:
                seen["loss"], seen["step_loss"] = trainer.latest_loss(), float(step.loss)
                seen["weights"] = trainer.state_dict_copy()

    trainer = Trainer(tiny_cnn(), fast_config(), dataset=small)
    trainer.fit([Reader()])
    assert seen["loss"] == seen["step_loss"] and math.isfinite(seen["loss"])
    weights = seen["weights"]  # a copy as it was at step 2: training went on without changing it...
    assert not torch.equal(weights["head.weight"], trainer.model.head.weight.detach())
    weights["head.weight"].zero_()  # ...and changing it leaves the model alone
    assert trainer.model.head.weight.abs().sum() > 0


# -- the real thing ------------------------------------------------------------------------------


@needs_mnist
def test_default_recipe_on_real_mnist():
    """mnist-cnn, the default recipe, two epochs of the 20,000 real MNIST training digits: a strong test accuracy.

    Measured: 98.25% on the 10,000 test digits (one epoch alone gives 97.1%; four, the default, 99.06%);
    about 20 s on two idle CPU cores.
    """
    mnist = load_dataset("mnist", data_dir=MNIST_DIR)
    trainer = Trainer(load_graph("preset:mnist-cnn"), TrainConfig(epochs=2, device="cpu"), dataset=mnist)
    result = trainer.fit()
    assert len(mnist.test_labels) == 10_000
    assert result.test.accuracy > 0.975, result.summary()


def test_gradient_clipping_bounds_each_sgd_step(small):
    one_batch = subset(small, 64, 64)

    def largest_step(clip):
        config = fast_config(optimizer="sgd", lr=1.0, schedule="constant", augment="none", grad_clip=clip,
                             weight_decay=0.0)
        trainer = Trainer(tiny_cnn(), config, dataset=one_batch)
        before = torch.cat([p.detach().flatten().clone() for p in trainer.model.parameters()])
        trainer.fit()
        after = torch.cat([p.detach().flatten() for p in trainer.model.parameters()])
        return float((after - before).norm())

    assert largest_step(1e-3) == pytest.approx(1e-3, rel=1e-3), "one SGD step of lr 1 moves exactly the clip norm"
    assert largest_step(0.0) > 1e-2, "without clipping the same step is far larger"
    with pytest.raises(ConfigError, match="grad_clip"):
        fast_config(grad_clip=-1).validate()


def test_bf16_on_a_cpu_only_when_asked_and_only_where_it_computes_in_bf16(small, monkeypatch):
    from playground.core.train import trainer as trainer_module
    from playground.core.train.trainer import amp_settings

    cpu = torch.device("cpu")
    for has_bf16 in (False, True):
        monkeypatch.setattr(trainer_module, "cpu_has_bf16", lambda has_bf16=has_bf16: has_bf16)
        assert amp_settings(cpu, True) == (False, torch.float32)  # the default: not shown to pay on a CPU
        assert amp_settings(cpu, False) == (False, torch.float32)
        expected = (True, torch.bfloat16) if has_bf16 else (False, torch.float32)  # emulated bf16 is slower
        assert amp_settings(cpu, "bf16") == expected

    # A CPU with bf16 (this one may only emulate it): the layers compute in bf16, and the run still learns.
    trainer = Trainer(tiny_cnn(), fast_config(amp="bf16", epochs=2), dataset=small)
    outputs = []
    trainer.model.conv1.register_forward_hook(lambda _module, _inputs, output: outputs.append(output.dtype))
    result = trainer.fit()
    assert outputs and set(outputs) == {torch.bfloat16}  # training steps and evaluation
    assert result.test.accuracy > 0.7 and all(math.isfinite(v) for v in result.history.step_loss)


def test_cpu_bf16_is_read_from_torch_or_from_the_cpus_flags(monkeypatch, tmp_path):
    from playground.core.train import trainer as trainer_module

    def has_bf16():
        trainer_module.cpu_has_bf16.cache_clear()
        return trainer_module.cpu_has_bf16()

    try:
        for capabilities, expected in (({"amx_bf16": True, "avx2": True}, True), ({"avx512_bf16": True}, True),
                                       ({"avx512_f": True, "amx_bf16": False, "l2_cache_size": 1}, False)):
            monkeypatch.setattr(torch.cpu, "get_capabilities", lambda c=capabilities: c, raising=False)
            assert has_bf16() is expected, capabilities
        monkeypatch.delattr(torch.cpu, "get_capabilities", raising=False)  # an older torch
        cpuinfo = tmp_path / "cpuinfo"
        monkeypatch.setattr(trainer_module, "CPUINFO", cpuinfo)
        for flags, expected in (("fpu sse2 avx2 avx512f avx512_bf16", True), ("fpu sse2 avx2 amx_tile", False)):
            cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
            assert has_bf16() is expected, flags
        cpuinfo.unlink()
        assert has_bf16() is False  # no such file (not Linux)
    finally:
        monkeypatch.undo()
        trainer_module.cpu_has_bf16.cache_clear()


def test_optimizers_update_all_parameters_in_one_kernel():
    from playground.core.train.optim import make_optimizer

    model = torch.nn.Linear(4, 2)
    for name in ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop"):
        optimizer = make_optimizer(model, TrainConfig(optimizer=name))
        assert optimizer.defaults.get("fused") or optimizer.defaults.get("foreach"), name


def test_evaluation_does_not_depend_on_its_batch_size(small, monkeypatch):
    from playground.core.train import trainer as trainer_module

    trainer = Trainer(load_graph("preset:mnist-cnn"), fast_config(), dataset=small)
    seen = []
    real_batches = type(trainer.test_data).batches

    def recording(self, batch_size, **kw):
        seen.append(batch_size)
        return real_batches(self, batch_size, **kw)

    monkeypatch.setattr(type(trainer.test_data), "batches", recording)
    default = trainer.evaluate("test", keep_predictions=True)
    assert seen == [trainer_module.EVAL_BATCH_SIZE["cpu"]]  # the CPU's size: 300 images in two batches
    whole = trainer_module.evaluate(trainer.model, trainer.test_data, batch_size=1000, keep_predictions=True,
                                    memory_format=trainer.memory_format)
    assert default.confusion == whole.confusion
    assert default.loss == pytest.approx(whole.loss, rel=1e-5)
    assert (default.predicted == whole.predicted).all()
    assert default.confidence == pytest.approx(whole.confidence, rel=1e-4)
