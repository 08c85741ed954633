"""`playground export --format train-script`: a standalone train.py that runs the recipe on one device or many.

Every preset either exports a script that trains a few steps and writes a checkpoint Playground reads (image
classifiers), or is refused in words (GANs, 2-D points). The scripts run on a tiny synthetic IDX dataset, all in one
background process (torch is imported once); the checks that need the real data use the shared MNIST subset.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from playground.cli import main
from playground.core.data import DEFAULT_AUGMENTATION, DeviceData
from playground.core.data.sources import Dataset
from playground.core.export import ExportError, export_graph
from playground.core.export.train_script import train_script_source
from playground.core.graph import load_graph
from playground.core.resources import preset_names
from playground.core.task import CLASSIFICATION, task_of
from playground.core.train import Callback, TrainConfig, Trainer, load_checkpoint
from playground.core.train.config import default_config
from playground.core.train.optim import lr_at, make_optimizer
from playground.core.train.trainer import epoch_seed

MNIST_DIR = os.environ.get("PLAYGROUND_MNIST_DIR")
PRESETS = preset_names()
EXPORTABLE = [name for name in PRESETS if task_of(load_graph(f"preset:{name}")) == CLASSIFICATION]
TRAIN, TEST, BATCH = 192, 64, 16  # the tiny dataset: 12 steps per epoch
QUICK = ["--epochs", "1", "--max-steps", "2", "--batch-size", str(BATCH), "--log-every", "0"]


def write_idx(path: Path, array: np.ndarray) -> None:
    magic = 0x0803 if array.ndim == 3 else 0x0801
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def tiny_arrays():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(TRAIN + TEST, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=TRAIN + TEST, dtype=np.uint8)
    return images[:TRAIN], labels[:TRAIN], images[TRAIN:], labels[TRAIN:]


def tiny_dataset() -> Dataset:
    train_x, train_y, test_x, test_y = tiny_arrays()
    return Dataset("mnist", "tiny", torch.from_numpy(train_x).unsqueeze(1), torch.from_numpy(train_y).long(),
                   torch.from_numpy(test_x).unsqueeze(1), torch.from_numpy(test_y).long(), tuple("0123456789"))


def import_script(path: Path):
    spec = importlib.util.spec_from_file_location(f"train_script_{path.stem.replace('-', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Runs each job's script as __main__ with its arguments, one after another in this one process, and prints a JSON
# list: per job, the exit status, the last line of stdout and the tail of stderr.
DRIVER = textwrap.dedent("""\
    import contextlib, io, json, runpy, sys, traceback
    results = []
    for name, script, args in json.load(open(sys.argv[1])):
        out, err, code = io.StringIO(), io.StringIO(), 0
        sys.argv = [script, *args]
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                runpy.run_path(script, run_name="__main__")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
            err.write(str(exc.code))
        except BaseException:
            code = 1
            err.write(traceback.format_exc())
        lines = out.getvalue().strip().splitlines()
        results.append({"name": name, "code": code, "last": lines[-1] if lines else "", "stdout": out.getvalue(),
                        "stderr": err.getvalue()[-3000:]})
    print(json.dumps(results))
""")


class StopAfter(Callback):
    def __init__(self, steps: int):
        self.steps = steps

    def on_step_end(self, trainer, step):
        if step.global_step >= self.steps:
            trainer.stop()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every job below, run by one background process: each exportable preset for two steps; an interrupted and
    resumed run beside an uninterrupted one; and a run from a Trainer's starting point (for step-by-step parity)."""
    root = tmp_path_factory.mktemp("train_scripts")
    data = root / "data"
    data.mkdir()
    train_x, train_y, test_x, test_y = tiny_arrays()
    for name, array in (("train-images-idx3-ubyte", train_x), ("train-labels-idx1-ubyte", train_y),
                        ("t10k-images-idx3-ubyte", test_x), ("t10k-labels-idx1-ubyte", test_y)):
        write_idx(data / name, array)
    jobs = []
    for name in EXPORTABLE:
        script = root / f"{name}.py"
        assert main(["export", f"preset:{name}", "--format", "train-script", "-o", str(script)]) == 0
        jobs.append((name, str(script), ["--data-dir", str(data), *QUICK, "--checkpoint", str(root / f"{name}.ckpt")]))
    # Resuming: one epoch of two, stopped by --max-steps at the epoch's end, then resumed; and the whole run.
    mlp = str(root / "mlp.py")
    common = ["--data-dir", str(data), "--epochs", "2", "--batch-size", str(BATCH), "--log-every", "0"]
    jobs += [("first-half", mlp, [*common, "--max-steps", str(TRAIN // BATCH), "--checkpoint", str(root / "A.ckpt")]),
             ("resumed", mlp, [*common, "--resume", str(root / "A.ckpt"), "--checkpoint", str(root / "B.ckpt")]),
             ("whole", mlp, [*common, "--checkpoint", str(root / "C.ckpt")])]
    # Parity with the Trainer: the script resumes from the Trainer's step 0 (its initial weights) and takes 5 steps.
    config = default_config(epochs=1, batch_size=BATCH, device="cpu")
    trainer = Trainer(load_graph("preset:mnist-cnn"), config, dataset=tiny_dataset())
    trainer.save_checkpoint(root / "T0.ckpt")
    jobs.append(("parity", str(root / "mnist-cnn.py"),
                 ["--data-dir", str(data), "--epochs", "1", "--batch-size", str(BATCH), "--max-steps", "5",
                  "--log-every", "0", "--resume", str(root / "T0.ckpt"), "--checkpoint", str(root / "P.ckpt")]))
    (root / "jobs.json").write_text(json.dumps(jobs))
    (root / "driver.py").write_text(DRIVER)
    # One torch thread there and in the parity test here: sums split over other thread counts round differently
    # (an earlier test of this process may have set torch's thread count, as a run on 2-D points does).
    done = subprocess.run([sys.executable, str(root / "driver.py"), str(root / "jobs.json")], capture_output=True,
                          text=True, timeout=300, cwd=root, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    results = {r["name"]: r for r in json.loads(done.stdout.strip().splitlines()[-1])}
    return root, results


def summary(result) -> dict:
    assert result["code"] == 0, result["stderr"]
    return json.loads(result["last"])


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_exports_a_script_that_trains_or_is_refused(name, runs, tmp_path):
    if name not in EXPORTABLE:  # GANs and networks on 2-D points: refused in words, nothing written
        out = tmp_path / "train.py"
        with pytest.raises(ExportError, match=r"cannot export a training script: .*(GAN|2-D points).*playground "
                                              "train"):
            export_graph(load_graph(f"preset:{name}"), "train-script", out)
        assert not out.exists()
        return
    root, results = runs
    result = summary(results[name])
    assert result["status"] == "stopped" and result["steps"] == 2 and result["processes"] == 1
    assert 0.0 <= result["test_accuracy"] <= 1.0 and np.isfinite(result["test_loss"])
    ckpt = load_checkpoint(root / f"{name}.ckpt")  # Playground's own reader: weights_only, checked through
    assert ckpt.extra["global_step"] == 2 and ckpt.extra["dataset"] == "mnist"
    assert ckpt.extra["test"]["accuracy"] == result["test_accuracy"]
    assert TrainConfig.from_dict({**ckpt.config, "device": "cpu"}).batch_size == BATCH


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
def test_generated_scripts_are_ruff_clean(runs):
    root, _ = runs
    scripts = [str(root / f"{name}.py") for name in EXPORTABLE]
    config = Path(__file__).resolve().parents[2] / "pyproject.toml"
    done = subprocess.run(["ruff", "check", "--no-cache", "--config", str(config), *scripts], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_script_imports_only_torch_numpy_and_the_standard_library(runs):
    root, _ = runs
    for name in EXPORTABLE:
        source = (root / f"{name}.py").read_text()
        imported = {line.split()[1].split(".")[0] for line in source.splitlines()
                    if line.startswith(("import ", "from "))}
        assert imported - sys.stdlib_module_names <= {"torch", "numpy"}, (name, imported)


def test_one_process_takes_the_trainers_steps(runs):
    """From the same weights, the script's first 5 steps are the Trainer's: data order, augmentation, optimizer,
    schedule, clipping and the checkpoint's weights agree to the last bit."""
    root, results = runs
    assert summary(results["parity"])["steps"] == 5
    trainer = Trainer.from_checkpoint(root / "T0.ckpt", dataset=tiny_dataset(), device="cpu")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the script ran (the runs fixture)
    try:
        trainer.fit([StopAfter(5)])
    finally:
        torch.set_num_threads(threads)
    script = load_checkpoint(root / "P.ckpt")
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(value.cpu().contiguous(), script.state_dict[key]), key
    assert script.history["step_loss"] == pytest.approx(trainer.history.step_loss, abs=0)


def test_a_resumed_run_goes_on_as_the_whole_run(runs):
    root, results = runs
    first, resumed, whole = (summary(results[n]) for n in ("first-half", "resumed", "whole"))
    assert first["status"] == "stopped" and first["epochs"] == 1
    assert resumed["status"] == whole["status"] == "completed" and resumed["epochs"] == whole["epochs"] == 2
    assert resumed["steps"] == whole["steps"] == 2 * TRAIN // BATCH
    b, c = load_checkpoint(root / "B.ckpt"), load_checkpoint(root / "C.ckpt")
    for key in c.state_dict:
        assert torch.equal(b.state_dict[key], c.state_dict[key]), key
    assert resumed["test_accuracy"] == whole["test_accuracy"]
    # Playground can go on from the script's checkpoint too (its optimizer state fits the Trainer's).
    trainer = Trainer.from_checkpoint(root / "A.ckpt", dataset=tiny_dataset(), device="cpu")
    assert trainer.epochs_completed == 1 and trainer.global_step == TRAIN // BATCH


def test_schedules_and_data_match_the_trainer(tmp_path):
    """get_lr is lr_at for every schedule; the batches are DeviceData's; the optimizer's groups are the Trainer's."""
    graph = load_graph("preset:mlp")
    for schedule in ("onecycle", "constant", "step", "cosine"):
        for warmup in (0.0, 1.0):
            config = TrainConfig(schedule=schedule, warmup_epochs=warmup, epochs=3, optimizer="nesterov")
            path = tmp_path / f"{schedule}_{int(warmup)}.py"
            path.write_text(train_script_source(graph, config))
            script = import_script(path)
            for total, per_epoch in ((30, 10), (7, 3)):
                got = [script.get_lr(step, total, per_epoch) for step in range(total + 2)]
                assert got == [lr_at(step, total, config, per_epoch) for step in range(total + 2)], schedule
    model = script.MLP()
    mine, theirs = script.make_optimizer(model), make_optimizer(model, config)
    assert type(mine) is type(theirs)
    assert [(len(g["params"]), g["weight_decay"], g["momentum"], g["nesterov"]) for g in mine.param_groups] == \
        [(len(g["params"]), g["weight_decay"], g["momentum"], g["nesterov"]) for g in theirs.param_groups]

    dataset = tiny_dataset()
    images, labels = dataset.split("train")
    expected = DeviceData.from_dataset(dataset, "train").batches(BATCH, shuffle=True, generator=epoch_seed(0, 3),
                                                                  drop_last=True, augment=DEFAULT_AUGMENTATION)
    positions = torch.arange(len(images))
    got = script.train_batches(images, labels, 3, positions, BATCH)
    count = 0
    for (x, y), (ex, ey) in zip(got, expected, strict=True):
        assert torch.equal(x, ex) and torch.equal(y, ey)
        count += 1
    assert count == TRAIN // BATCH
    # Two processes: the sampler's positions split each epoch into disjoint halves of the same order.
    halves = [list(script.DistributedSampler(range(TRAIN), num_replicas=2, rank=r, shuffle=False, drop_last=True))
              for r in (0, 1)]
    assert sorted(halves[0] + halves[1]) == list(range(TRAIN)) and len(halves[0]) == len(halves[1])


def test_refusals_and_recipes_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "train.py"
    assert main(["export", "preset:points-tfp", "--format", "train-script", "-o", str(out)]) == 2
    assert "2-D points" in capsys.readouterr().err and not out.exists()
    assert main(["export", "preset:mlp", "--format", "train-script", "-o", str(tmp_path / "train.txt")]) == 2
    assert "ending in .py" in capsys.readouterr().err
    assert main(["export", "preset:mlp", "--format", "python", "-o", str(out), "--config", "x.json"]) == 2
    assert "--format train-script" in capsys.readouterr().err
    recipe = tmp_path / "run.json"
    recipe.write_text(json.dumps({"optimizer": "rmsprop", "lr": 0.01, "epochs": 7, "augment": "none",
                                  "dataset": "fashion-mnist"}))
    assert main(["export", "preset:mlp", "--format", "train-script", "-o", str(out), "--config", str(recipe)]) == 0
    source = out.read_text()
    for line in ('OPTIMIZER = "rmsprop"', "LR = 0.01", "EPOCHS = 7", "AUGMENT = False", 'DATASET = "fashion-mnist"',
                 "MEAN, STD = 0.286, 0.353", "torch.optim.RMSprop("):
        assert line in source, line
    recipe.write_text(json.dumps({"optimizer": "adamax"}))
    assert main(["export", "preset:mlp", "--format", "train-script", "-o", str(out), "--config", str(recipe)]) == 2
    assert "optimizer" in capsys.readouterr().err


@pytest.mark.skipif(not MNIST_DIR, reason="set PLAYGROUND_MNIST_DIR to a folder with the MNIST IDX files")
def test_mnist_cnn_script_trains_and_playground_evaluates_its_checkpoint(tmp_path, capsys):
    """The default recipe of preset:mnist-cnn, one epoch cut short, on the shared MNIST: `playground evaluate` of the
    checkpoint it wrote gives the script's own test accuracy."""
    script = tmp_path / "train.py"
    assert main(["export", "preset:mnist-cnn", "--format", "train-script", "-o", str(script)]) == 0
    capsys.readouterr()
    done = subprocess.run([sys.executable, str(script), "--data-dir", MNIST_DIR, "--epochs", "1", "--max-steps", "40",
                           "--device", "cpu"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("epoch 1/1  train loss ")
    result = json.loads(lines[-1])
    assert result["status"] == "stopped" and result["steps"] == 40 and result["dataset"] == "mnist"
    assert result["test_accuracy"] > 0.6  # 40 steps of the one-cycle warm-up already learn something
    assert (tmp_path / "train.ckpt").is_file() and not list(tmp_path.glob(".*.tmp"))
    assert main(["evaluate", str(tmp_path / "train.ckpt"), "--data-dir", MNIST_DIR, "--device", "cpu"]) == 0
    evaluated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert evaluated["samples"] == 10_000
    assert evaluated["test_accuracy"] == pytest.approx(result["test_accuracy"], abs=1e-4)
    assert evaluated["test_loss"] == pytest.approx(result["test_loss"], rel=1e-5)


TORCHRUN_WRAPPER = textwrap.dedent("""\
    # Runs the exported script's main() in this process, then keeps what this rank trained (for the test to compare).
    import importlib.util, os, sys, torch
    spec = importlib.util.spec_from_file_location("train", sys.argv[1])
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    sys.argv = sys.argv[1:]
    model = train.main()
    torch.save(model.state_dict(), f"rank{os.environ['RANK']}.pt")
""")


def test_torchrun_two_processes_agree_and_write_one_checkpoint(runs):
    """torchrun --nproc_per_node=2 (gloo on the CPU): both ranks end with the same weights and buffers, the
    checkpoint (only rank 0 writes) holds them, and the metrics count each test image once."""
    root, _ = runs
    work = root / "ddp"
    work.mkdir()
    (work / "wrapper.py").write_text(TORCHRUN_WRAPPER)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           "wrapper.py", str(root / "resnet-mini.py"), "--data-dir", str(root / "data"),
                           "--epochs", "1", "--max-steps", "3", "--batch-size", "8", "--log-every", "0",
                           "--device", "cpu"], capture_output=True, text=True, timeout=300, cwd=work, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["processes"] == 2 and result["steps"] == 3 and result["status"] == "stopped"
    assert sorted(p.name for p in work.iterdir()) == ["rank0.pt", "rank1.pt", "train.ckpt", "wrapper.py"]
    rank0, rank1 = (torch.load(work / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    ckpt = load_checkpoint(work / "train.ckpt")
    assert ckpt.extra["test"]["samples"] == TEST and ckpt.config["batch_size"] == 16  # 2 processes × 8
    for key, value in rank0.items():
        assert torch.equal(value, rank1[key]), key
        assert torch.equal(value.contiguous(), ckpt.state_dict[key]), key
