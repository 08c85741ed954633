"""`playground train / evaluate / predict / bench`: output shapes, files written, and clean errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from playground.core.data import load_dataset

from .cli_runs import run_cli

MNIST_DIR = os.environ.get("PLAYGROUND_MNIST_DIR")
HAVE_MNIST = bool(MNIST_DIR and Path(MNIST_DIR).is_dir())


def last_json(lines):
    return json.loads(lines[-1])


@pytest.fixture(autouse=True)
def no_ambient_data(monkeypatch, tmp_path_factory):
    """No dataset from the environment or the user's cache unless a test asks for it."""
    monkeypatch.delenv("PLAYGROUND_DATA_DIR", raising=False)
    monkeypatch.setenv("PLAYGROUND_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A checkpoint of the MLP trained for 3 epochs on the offline sample, and the run's JSON summary."""
    folder = tmp_path_factory.mktemp("trained")
    ckpt = folder / "mlp.pt"
    result = subprocess.run([sys.executable, "-m", "playground", "train", "preset:mlp", "--dataset", "mnist-sample",
                             "--epochs", "3", "--checkpoint", str(ckpt), "--metrics-jsonl", str(folder / "m.jsonl"),
                             "--log-every", "20", "--device", "cpu"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return ckpt, result


def test_train_prints_epochs_then_one_json_line(trained):
    ckpt, result = trained
    lines = result.stdout.strip().splitlines()
    assert [line.split()[1] for line in lines[:-1]] == ["1/3", "2/3", "3/3"]  # one line per epoch
    summary = json.loads(lines[-1])
    assert {"test_accuracy", "test_loss", "epochs", "seconds", "samples_per_second"} <= set(summary)
    assert summary["epochs"] == 3 and summary["dataset"] == "mnist-sample" and summary["status"] == "completed"
    assert summary["test_accuracy"] > 0.85 and summary["samples_per_second"] > 0
    assert "\r" not in result.stderr  # no progress bar when stderr is not a terminal
    records = [json.loads(line) for line in (ckpt.parent / "m.jsonl").read_text().splitlines()]
    kinds = [r["type"] for r in records]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("epoch") == 3
    assert kinds.count("step") == 3 * 31 // 20
    assert records[-2]["val_accuracy"] == summary["test_accuracy"]


def test_evaluate_matches_training(trained, capsys):
    ckpt, result = trained
    code, lines, _ = run_cli(capsys, "evaluate", ckpt, "--dataset", "mnist-sample", "--device", "cpu")
    assert code == 0
    evaluation = last_json(lines)
    assert evaluation["test_accuracy"] == pytest.approx(json.loads(result.stdout.splitlines()[-1])["test_accuracy"])
    assert evaluation["test_loss"] > 0 and len(evaluation["per_class_accuracy"]) == 10


def _write_pngs(folder: Path, images: np.ndarray):
    from PIL import Image

    paths = []
    for i, image in enumerate(images):
        light = folder / f"light{i}.png"  # as MNIST: white ink on black
        Image.fromarray(image).save(light)
        dark = folder / f"dark{i}.png"  # as on paper: black ink on white, larger, in RGB
        big = Image.fromarray(255 - image).resize((112, 112), Image.NEAREST).convert("RGB")
        big.save(dark)
        paths.append((light, dark))
    return paths


def test_predict_png_digits_both_polarities(trained, capsys, tmp_path):
    ckpt, _ = trained
    data = load_dataset("mnist", data_dir=MNIST_DIR) if HAVE_MNIST else load_dataset("mnist-sample")
    picks = [int(np.flatnonzero(data.test_labels.numpy() == d)[0]) for d in range(10)]
    images = data.test_images[picks, 0].numpy()
    paths = _write_pngs(tmp_path, images)
    code, lines, err = run_cli(capsys, "predict", ckpt, *[p for pair in paths for p in pair])
    assert code == 0, err
    answers = [json.loads(line) for line in lines]
    assert len(answers) == 20
    for answer in answers:
        assert set(answer) >= {"file", "digit", "probabilities"}
        assert len(answer["probabilities"]) == 10 and sum(answer["probabilities"]) == pytest.approx(1.0)
        assert answer["digit"] == int(np.argmax(answer["probabilities"]))
    light, dark = answers[0::2], answers[1::2]
    assert [a["file"] for a in light] == [str(p[0]) for p in paths]
    assert sum(a["digit"] == b["digit"] for a, b in zip(light, dark, strict=True)) >= 9  # polarity does not matter
    assert sum(a["digit"] == d for a, d in zip(light, range(10), strict=True)) >= 8  # and they are mostly right


def test_fallback_to_the_offline_sample(capsys):
    code, lines, err = run_cli(capsys, "train", "preset:mlp", "--epochs", "1", "--batch-size", "256", "--device", "cpu")
    assert code == 0, err
    assert "note: mnist was not found" in err and "mnist-sample" in err
    assert last_json(lines)["dataset"] == "mnist-sample"


def test_divergence_is_a_message_not_a_crash(capsys):
    code, lines, err = run_cli(capsys, "train", "preset:mlp", "--dataset", "mnist-sample", "--lr", "1e6",
                           "--optimizer", "sgd", "--schedule", "constant", "--device", "cpu")
    assert code == 2
    assert "diverged" in err and "learning rate" in err and "Traceback" not in err
    assert last_json(lines)["status"] == "diverged"


def _bad_graph(tmp_path) -> Path:
    graph = json.loads((Path(__file__).parents[2] / "resources/presets/mlp.json").read_text())
    for node in graph["nodes"]:
        if node["id"] == "dense3":
            node["params"]["units"] = 5
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(graph))
    return path


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_errors_are_one_line_and_exit_2(capsys, tmp_path, trained):
    ckpt, _ = trained
    evil = tmp_path / "evil.pt"
    torch.save({"format": "playground-checkpoint", "x": _Payload(tmp_path / "pwned")}, evil)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    text = tmp_path / "note.png"
    text.write_text("not an image")
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (["train", tmp_path / "missing.json"], "no such file"),
        (["train", _bad_graph(tmp_path), "--dataset", "mnist-sample"], "must end in 10 scores"),
        (["train", "preset:mlp", "--dataset", "mnist", "--data-dir", empty], "MNIST was not found"),
        (["train", "preset:mlp", "--data-dir", tmp_path / "nowhere"], "no such folder"),
        (["train", "preset:mlp", "--lr", "-1"], "lr"),
        (["train", "preset:mlp", "--dataset", "mnist-sample", "--checkpoint", tmp_path / "no/such/dir/c.pt"],
         "does not exist"),
        (["evaluate", tmp_path / "missing.pt"], "no such checkpoint"),
        (["evaluate", evil, "--dataset", "mnist-sample"], "refused without running it"),
        (["evaluate", foreign], "not a Playground checkpoint"),
        (["predict", ckpt, text], "not an image file"),
        (["predict", ckpt, tmp_path / "missing.png"], "no such file"),
    ]
    if not torch.cuda.is_available():
        cases.append((["evaluate", ckpt, "--device", "cuda"], "no CUDA"))
    for argv, message in cases:
        code, _, err = run_cli(capsys, *argv)
        assert code == 2, (argv, err)
        assert err.startswith("playground: error: ") and message in err, (argv, err)
        assert "Traceback" not in err
    assert not (tmp_path / "pwned").exists()


def test_train_amp_bf16_on_a_cpu_without_bf16_says_so_and_trains_in_fp32(capsys, monkeypatch):
    from playground.core.train import trainer as trainer_module

    monkeypatch.setattr(trainer_module, "cpu_has_bf16", lambda: False)
    code, lines, err = run_cli(capsys, "train", "preset:mlp", "--dataset", "mnist-sample", "--device", "cpu",
                           "--epochs", "1", "--amp", "bf16")
    assert code == 0, err
    assert "does not compute in bf16" in err and "fp32" in err.splitlines()[-1]
    assert last_json(lines)["status"] == "completed"


def test_bench_json(capsys):
    code, lines, err = run_cli(capsys, "bench", "--json", "--epochs", "1", "--train-samples", "512",
                           "--shape-repeats", "3", "--device", "cpu")
    assert code == 0, err
    report = last_json(lines)
    for key in ("plain_loop_samples_per_second", "trainer_samples_per_second",
                "trainer_publisher_samples_per_second"):
        assert report[key] > 0
    assert report["trainer_vs_plain"] == pytest.approx(
        report["trainer_samples_per_second"] / report["plain_loop_samples_per_second"], rel=0.01)
    messages = report["publisher_messages"]  # what the app would have received: an EpochEnded per epoch, ...
    assert messages["EpochEnded"] == 2 and messages["Progress"] >= 2 and messages["WeightsPublished"] >= 3
    shapes = report["shape_inference"]
    assert shapes["cold_ms"] > 0 and shapes["warm_ms"] > 0 and shapes["preset"]
    assert report["ab"] == []


def test_bench_ab_takes_turns_and_reports_both_sides(capsys):
    code, lines, err = run_cli(capsys, "bench", "--json", "--epochs", "2", "--train-samples", "1024", "--device", "cpu",
                           "--ab", "publisher", "--ab", "bf16", "--ab-only")
    assert code == 0, err
    report = last_json(lines)
    assert "trainer_samples_per_second" not in report  # --ab-only
    publisher, bf16 = report["ab"]
    for ab in (publisher, bf16):
        assert ab["a_samples_per_second"] > 0 and ab["b_samples_per_second"] > 0
        assert ab["a_vs_b"] == pytest.approx(ab["a_samples_per_second"] / ab["b_samples_per_second"], rel=0.01)
        assert len(ab["pair_ratios"]) == 2  # the two measured epochs (after a warm-up), each with steps of both
        steps = ab["measured_steps"]  # of the 2 × 8 measured epochs' steps, not the first of an epoch or a block
        assert steps["a"] > 0 and steps["b"] > 0 and steps["a"] + steps["b"] <= 16 - 2 - 2
    assert publisher["messages"]["EpochEnded"] == 3 and publisher["messages"]["Progress"] >= 3
    assert "A/B bf16" in err


def test_bench_offers_every_ab_there_is():
    from playground.cli import build_parser
    from playground.commands.bench_ab import NAMES

    bench = build_parser()._subparsers._group_actions[0].choices["bench"]
    (ab,) = [action for action in bench._actions if action.dest == "ab"]
    assert set(ab.choices) == set(NAMES)
