"""Hostile checkpoint files (issue 19): a generated corpus (tests/core/hostile_checkpoints.py), refused by every
reader with one line naming the file and the reason, no traceback, no hang, no memory blow-up, no code run.

Readers: `load_checkpoint` (the one reader), the CLI (`predict`, `evaluate`, `export --checkpoint`, `train
--init-from`), the Trainer (`load_weights`, `from_checkpoint`), and the inference server's `load` (weights sent
by the app, checked by the same `weights_problem`). The app's Load Weights: tests/app/test_hostile_checkpoints.py.
Each reader is one test over the whole corpus, which lists every case that failed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from playground.cli import main
from playground.core.data import load_dataset
from playground.core.graph import load_graph
from playground.core.inference.server import InferenceError, LocalInference
from playground.core.train import CheckpointError, TrainConfig, Trainer, load_checkpoint
from playground.core.train import checkpoint as checkpoint_module

from .hostile_checkpoints import GOOD, MARKER, PipeWatchdog, good_payload, write_corpus, write_fashion_checkpoint
from .test_hostile_images import _run_measured

MEMORY_LIMIT = 1 << 30  # bytes: what a command may peak at on any checkpoint (torch alone is ~300 MB)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile_checkpoints")


@pytest.fixture(scope="module")
def corpus(folder):
    cases = write_corpus(folder)
    with PipeWatchdog(cases["pipe"].path if "pipe" in cases else None) as watchdog:
        yield cases
    assert not watchdog.hung, "a reader opened the named pipe and waited for a writer"
    assert not (folder / MARKER).exists(), "a checkpoint ran code"


@pytest.fixture(scope="module")
def hostile(corpus):
    return {name: case for name, case in corpus.items() if name != GOOD}


@pytest.fixture(scope="module")
def digit(folder):
    picture = np.full((64, 64), 255, np.uint8)
    picture[10:54, 28:36] = 0
    Image.fromarray(picture).save(folder / "digit.png")
    return folder / "digit.png"


@pytest.fixture(scope="module")
def small():
    sample = load_dataset("mnist-sample")
    return dataclasses.replace(sample, train_images=sample.train_images[:256], train_labels=sample.train_labels[:256],
                               test_images=sample.test_images[:64], test_labels=sample.test_labels[:64])


def _refusal_problem(message: str, case) -> str | None:
    """What is wrong with a refusal's message, or None: one line, the file first, then the reason's words."""
    if not message.startswith(f"{case.path}: "):
        return f"does not start with the file: {message!r}"
    if "\n" in message.strip() or "Traceback" in message:
        return f"not one line: {message!r}"
    if case.says not in message:
        return f"does not say {case.says!r}: {message!r}"
    return None


# -- the one reader ---------------------------------------------------------------------------------------


def test_load_checkpoint_refuses_every_hostile_file_in_words(hostile):
    failures = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name, case in hostile.items():
            try:
                load_checkpoint(case.path)
                failures.append(f"{name}: loaded")
            except CheckpointError as exc:
                if problem := _refusal_problem(str(exc), case):
                    failures.append(f"{name}: {problem}")
            except Exception as exc:  # any other exception is the failure reported
                failures.append(f"{name}: {type(exc).__name__}: {exc}")
    assert not failures, "\n".join(failures)
    assert not caught, [str(w.message) for w in caught]  # no library warning escapes
    assert not (hostile["code_torch"].path.parent / MARKER).exists()  # refused without running it


def test_a_file_that_cannot_be_opened_says_why(corpus, monkeypatch):
    """The corpus' chmod 000 file, wherever the tests run as root (who reads anything)."""
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(checkpoint_module, "open", refuse, raising=False)
    with pytest.raises(CheckpointError, match=r": cannot be read \(Permission denied\)$"):
        load_checkpoint(corpus[GOOD].path)


def test_the_good_checkpoint_loads_into_memory_of_its_own(corpus):
    ckpt = load_checkpoint(corpus[GOOD].path)
    expected = good_payload()["state_dict"]
    assert set(ckpt.state_dict) == set(expected)
    for key, value in ckpt.state_dict.items():
        assert torch.equal(value, expected[key]) and value.dtype == torch.float32
        value.add_(1)  # writable: copied out of the file's mapping, which is read-only
    assert ckpt.extra["classes"] == [str(i) for i in range(10)] and ckpt.history["step_loss"] == [2.3, 2.1]


def test_weights_saved_as_float64_load_as_the_networks_float32(tmp_path):
    payload = good_payload()
    payload["state_dict"] = {k: v.double() for k, v in payload["state_dict"].items()}
    torch.save(payload, tmp_path / "f64.pt")
    ckpt = load_checkpoint(tmp_path / "f64.pt")
    assert all(v.dtype == torch.float32 for v in ckpt.state_dict.values())


@pytest.mark.parametrize("limit", ["MAX_PICKLE_OPCODES", "MAX_PICKLE_BYTES", "MAX_ZIP_MEMBERS",
                                   "MAX_METADATA_ITEMS"])
def test_each_size_limit_is_enforced_with_a_message_saying_so(tmp_path, monkeypatch, limit):
    """The limits are far above a real checkpoint, so a small stand-in limit stands for a file beyond the real one."""
    payload = good_payload()
    payload["history"]["step_loss"] = [1.0] * 3000
    torch.save(payload, tmp_path / "big.pt")
    load_checkpoint(tmp_path / "big.pt")  # within the real limits
    monkeypatch.setattr(checkpoint_module, limit, {"MAX_PICKLE_OPCODES": 2000, "MAX_PICKLE_BYTES": 20_000,
                                                   "MAX_ZIP_MEMBERS": 5, "MAX_METADATA_ITEMS": 2000}[limit])
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(tmp_path / "big.pt")
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'big.pt'}: ") and "\n" not in message
    assert {"MAX_PICKLE_OPCODES": "2,000 entries", "MAX_PICKLE_BYTES": "a checkpoint's is at most",
            "MAX_ZIP_MEMBERS": "members; a checkpoint has at most 5",
            "MAX_METADATA_ITEMS": "over 2,000 values"}[limit] in message, message


# -- the CLI ------------------------------------------------------------------------------------------------


COMMANDS = {
    "predict": lambda ckpt, folder, digit: ["predict", ckpt, digit],
    "evaluate": lambda ckpt, folder, digit: ["evaluate", ckpt, "--dataset", "mnist-sample"],
    "export": lambda ckpt, folder, digit: ["export", "preset:mlp", "--format", "python", "-o", folder / "out.py",
                                           "--checkpoint", ckpt],
    "train --init-from": lambda ckpt, folder, digit: ["train", "preset:mlp", "--dataset", "mnist-sample",
                                                      "--epochs", "1", "--init-from", ckpt],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_refuses_every_hostile_checkpoint_in_one_line_exit_2(command, hostile, folder, digit, capsys):
    failures = []
    for name, case in hostile.items():
        code = main([str(a) for a in COMMANDS[command](case.path, folder, digit)])
        out, err = capsys.readouterr()
        prefix = "playground: error: "
        if code != 2 or not err.startswith(prefix) or err.count("\n") != 1:
            failures.append(f"{name}: exit {code}, stderr {err!r}")
        elif problem := _refusal_problem(err[len(prefix):], case):
            failures.append(f"{name}: {problem}")
        elif out:
            failures.append(f"{name}: printed {out!r}")
    assert not failures, "\n".join(failures)
    assert not (folder / "out.py").exists()


def test_the_good_checkpoint_serves_every_command(corpus, folder, digit, capsys):
    good = corpus[GOOD].path
    for command in ("predict", "evaluate", "export"):
        code = main([str(a) for a in COMMANDS[command](good, folder, digit)])
        err = capsys.readouterr().err
        assert code == 0, (command, err)
    assert (folder / "out.py").exists()
    (folder / "out.py").unlink()
    (folder / "out.pth").unlink(missing_ok=True)


def test_a_checkpoint_trained_on_another_dataset_is_noted_by_evaluate_and_labelled_by_predict(folder, digit,
                                                                                                 capsys):
    fashion = write_fashion_checkpoint(folder)
    assert main(["evaluate", str(fashion), "--dataset", "mnist-sample"]) == 0
    out, err = capsys.readouterr()
    assert f"note: {fashion} was trained on fashion-mnist; these are its scores on mnist-sample" in err
    assert json.loads(out.splitlines()[-1])["dataset"] == "mnist-sample"
    assert main(["predict", str(fashion), str(digit)]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["label"] in ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                               "Bag", "Ankle boot")


def test_evaluate_refuses_a_dataset_its_network_cannot_take(corpus, capsys, monkeypatch, small):
    """Every dataset today is 28×28 in 10 classes; one of 2 classes stands in for the kinds to come."""
    two = dataclasses.replace(small, classes=("no", "yes"))
    monkeypatch.setattr("playground.commands.train.load_data", lambda *a, **k: two)
    assert main(["evaluate", str(corpus[GOOD].path)]) == 2
    err = capsys.readouterr().err
    assert "its network takes 1×28×28 and answers 10, but mnist-sample holds 1×28×28 images of 2 classes" in err


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX: process groups and resource usage")
def test_predict_on_a_3_gib_tensor_stays_small(corpus, digit, tmp_path):
    """A real process: stderr as a person sees it, a deadline for a hang, and peak memory measured (torch.load
    without mmap peaked at 3.4 GB on this file)."""
    if "sparse_huge" not in corpus:
        pytest.skip("no sparse files here")
    case = corpus["sparse_huge"]
    command = [sys.executable, "-m", "playground", "predict", str(case.path), str(digit)]
    code, out, err, peak = _run_measured(command, timeout=90, tmp_path=tmp_path)
    assert code == 2 and out == "", err
    assert err.startswith(f"playground: error: {case.path}: ") and err.count("\n") == 1, err
    assert case.says in err and "Traceback" not in err and "Warning" not in err, err
    assert peak < MEMORY_LIMIT, f"peaked at {peak / 2**20:.0f} MiB"


# -- the Trainer: transfer learning and resuming ----------------------------------------------------------------


def test_the_trainer_refuses_every_hostile_checkpoint_and_keeps_its_weights(hostile, small):
    trainer = Trainer(load_graph("preset:mlp"), TrainConfig(epochs=1, batch_size=64, device="cpu"), dataset=small)
    before = trainer.state_dict_copy()
    failures = []
    for name, case in hostile.items():
        for what, read in (("load_weights", trainer.load_weights),
                           ("from_checkpoint", lambda p: Trainer.from_checkpoint(p, dataset=small))):
            try:
                read(case.path)
                failures.append(f"{what} {name}: loaded")
            except CheckpointError as exc:
                if problem := _refusal_problem(str(exc), case):
                    failures.append(f"{what} {name}: {problem}")
    assert not failures, "\n".join(failures)
    after = trainer.state_dict_copy()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_resuming_refuses_optimizer_state_of_other_shapes(tmp_path, small):
    trainer = Trainer(load_graph("preset:mlp"), TrainConfig(epochs=1, batch_size=64, device="cpu",
                                                            optimizer="adam"), dataset=small)
    trainer.fit()
    ckpt = trainer.checkpoint()
    ckpt.optimizer_state["state"][0]["exp_avg"] = torch.zeros(3)
    checkpoint_module.save_checkpoint(tmp_path / "c.pt", ckpt)
    with pytest.raises(CheckpointError, match=r"optimizer state does not fit .*exp_avg is \[3\]"):
        Trainer.from_checkpoint(tmp_path / "c.pt", dataset=small)


# -- the inference server: weights sent by the app ---------------------------------------------------------


def test_the_inference_server_refuses_weights_that_do_not_fit_and_keeps_serving():
    graph = load_graph("preset:mlp")
    good = good_payload()["state_dict"]
    nan = good["dense2.weight"].clone()
    nan[0, 0] = math.nan
    cases = {
        "missing": ({k: v for k, v in good.items() if k != "dense1.bias"}, "missing dense1.bias"),
        "extra": ({**good, "extra.weight": torch.zeros(2)}, "unexpected extra.weight"),
        "shape": ({**good, "dense1.bias": torch.zeros(3)}, "dense1.bias is 3 in the weights but 256 in the graph"),
        "int": ({**good, "dense1.bias": torch.zeros(256, dtype=torch.int32)}, "numbers of the wrong kind"),
        "text": ({**good, "dense1.bias": "hello"}, "dense1.bias"),
        "objects": ({**good, "dense1.bias": np.array([object()] * 256)}, "do not fit"),
        "number key": ({**good, 3: torch.zeros(1)}, "names that are not text"),
        "nan": ({**good, "dense2.weight": nan}, "NaN or infinite values in dense2.weight"),
        "inf": ({**good, "dense3.bias": torch.full((10,), math.inf)}, "NaN or infinite values in dense3.bias"),
        "huge claim": ({**good, "dense1.weight": torch.zeros(1).expand(10**10)}, "10000000000 in the weights"),
    }
    local = LocalInference()
    for name, (weights, says) in cases.items():
        with pytest.raises(InferenceError) as info:
            local.call("load", graph, weights, "mnist")
        assert says in str(info.value) and "\n" not in str(info.value), (name, str(info.value))
        local.call("load", graph, good, "mnist")  # and it serves the next weights
        assert local.call("classify", np.zeros((28, 28), np.uint8)).shape == (10,)
