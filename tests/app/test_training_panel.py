"""The Training dock's settings panel: the form, its checks, the dataset source line and the download."""

from __future__ import annotations

import gzip
import os
import struct
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from playground.app.settings import AppSettings
from playground.app.training import datasets as panel_datasets
from playground.app.training.data_box import download_failure
from playground.app.training.fields import format_duration, format_megabytes, format_number, parse_number, step_125
from playground.app.training.panel import TrainingPanel
from playground.core.data import (
    CACHE_DIR_ENV,
    DATA_DIR_ENV,
    IDX_FILES,
    SPECS,
    DownloadCancelled,
    dataset_cache_dir,
)
from playground.core.data import sources as core_sources
from playground.core.run.messages import Progress, RunFinished, RunStarted
from playground.core.train.config import ConfigError, TrainConfig

MNIST_DIR = Path(os.environ.get("PLAYGROUND_MNIST_DIR") or Path(__file__).resolve().parents[3] / "shared/data/mnist")
HAS_MNIST = all((MNIST_DIR / f"{b}.gz").is_file() for b in IDX_FILES.values())


# -- fixtures and helpers -------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def isolated_data(tmp_path, monkeypatch):
    """An empty cache, no data folder from the environment, and no network at all."""
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise urllib.error.URLError("no network in the tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return calls


@pytest.fixture
def make_panel(qtbot, settings):
    panels = []

    def make(app_settings: AppSettings | None = settings) -> TrainingPanel:
        panel = TrainingPanel(app_settings)
        qtbot.addWidget(panel)
        panel.resize(320, 900)
        panels.append(panel)
        return panel

    yield make
    for panel in panels:  # no probe or download thread outlives the test
        panel.shutdown()


@pytest.fixture
def panel(make_panel) -> TrainingPanel:
    return make_panel()


def located(qtbot, panel: TrainingPanel):
    """Wait for the background look-up of the dataset's source; returns its answer."""
    qtbot.waitUntil(lambda: panel.source_location() is not None, timeout=5000)
    return panel.source_location()


def idx_files(labels: list[int]) -> dict[str, bytes]:
    """Four tiny, valid IDX files (gzip) with these labels in both splits."""
    n = len(labels)
    images = struct.pack(">IIII", 2051, n, 28, 28) + bytes(np.arange(n * 784, dtype=np.uint8))
    label_bytes = struct.pack(">II", 2049, n) + bytes(labels)
    return {
        "train-images-idx3-ubyte": gzip.compress(images),
        "train-labels-idx1-ubyte": gzip.compress(label_bytes),
        "t10k-images-idx3-ubyte": gzip.compress(images),
        "t10k-labels-idx1-ubyte": gzip.compress(label_bytes),
    }


SYNTHETIC_LABELS = [(i * 3) % 10 for i in range(20)]  # no dataset's fingerprint


def write_idx_folder(folder: Path, labels: list[int] = SYNTHETIC_LABELS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for base, data in idx_files(labels).items():
        (folder / f"{base}.gz").write_bytes(data)
    return folder


def progress_message(**changes) -> Progress:
    values = dict(run_id=1, epoch=1, epochs=4, epoch_step=120, steps_per_epoch=156, global_step=276,
                  total_steps=624, steps=np.zeros(0, np.int64), losses=np.zeros(0, np.float32),
                  lrs=np.zeros(0, np.float32), samples_per_second=2950.4, seconds_left=41.2, elapsed=30.0)
    values.update(changes)
    return Progress(**values)


def finished_message(status: str, **changes) -> RunFinished:
    values = dict(run_id=1, status=status, message="", epochs_completed=4, global_step=624, test_accuracy=0.9891,
                  samples_per_second=2950.0, seconds=83.0)
    values.update(changes)
    return RunFinished(**values)


NON_DEFAULT = TrainConfig(optimizer="rmsprop", lr=3e-4, weight_decay=5e-4, batch_size=96, epochs=12, schedule="step",
                          warmup_epochs=1.5, augment="none", grad_clip=0.0, seed=42, device="cpu", amp=False,
                          dataset="fashion-mnist")


# -- formatting ---------------------------------------------------------------------------------------------------
def test_formatting_helpers():
    assert [format_duration(s) for s in (0, 41.2, 83, 599.6, 3725, None)] == [
        "0:00", "0:41", "1:23", "10:00", "1:02:05", "–"]
    assert format_megabytes(3_200_000, 11_594_722) == "3.2 of 11.6 MB"
    assert [format_number(v) for v in (0.002, 1e-4, 1e-5, 0.05, 3.0)] == ["0.002", "0.0001", "1e-5", "0.05", "3"]
    assert parse_number(" 2e-3 ") == 0.002 and parse_number("0,5") == 0.5
    with pytest.raises(ValueError):
        parse_number("abc")
    # Rates step along 1-2-5; a value between rungs goes to the next rung first.
    assert step_125(0.002, 1, 1e-6) == 0.005 and step_125(0.002, -1, 1e-6) == 0.001
    assert step_125(0.003, -1, 1e-6) == 0.002 and step_125(0.003, 1, 1e-6) == 0.005
    assert step_125(0.0, 1, 1e-6) == 1e-6 and step_125(1e-6, -1, 1e-6) == 0.0
    assert step_125(1e-6, -1, 1e-6, zero=False) == 1e-6


def test_a_download_failure_in_one_line():
    core = ("MNIST was not found and the download failed: could not download train-images-idx3-ubyte.gz:\n"
            "  - https://a.example/mnist/train-images-idx3-ubyte.gz: HTTP 404 Not Found\n"
            "  - https://b.example/mnist/train-images-idx3-ubyte.gz: cannot connect (timed out)\n"
            "Looked in:\n  - cache /c: nothing there\nTo fix it, do one of these: ...")
    expected = "Could not download MNIST: HTTP 404 Not Found; cannot connect (timed out)."
    assert download_failure("MNIST", core) == expected
    disk = "/c/train-images-idx3-ubyte.gz.part: cannot write the download (No space left on device)"
    assert download_failure("MNIST", disk) == disk


# -- the form -----------------------------------------------------------------------------------------------------
def test_defaults_and_the_automatic_learning_rate(panel):
    assert panel.config() == TrainConfig(augment="default")
    assert panel.dataset_choice() == "graph"
    assert panel.lr_edit.text() == "" and panel.lr_edit.placeholderText() == "auto (0.002)"
    panel.optimizer_combo.setCurrentIndex(panel.optimizer_combo.findData("sgd"))
    assert panel.lr_edit.placeholderText() == "auto (0.05)"
    assert panel.config().lr is None and panel.config().effective_lr == 0.05
    assert [panel.optimizer_combo.itemText(i) for i in range(panel.optimizer_combo.count())] == [
        "SGD", "SGD + momentum", "Nesterov", "Adam", "AdamW", "RMSprop"]


def test_config_round_trips_non_default_values(panel):
    panel.set_config(NON_DEFAULT)
    assert panel.config() == NON_DEFAULT
    assert panel.dataset_choice() == "fashion-mnist"
    assert panel.lr_edit.text() == "0.0003" and panel.wd_edit.text() == "0.0005"
    assert panel.clip_spin.text() == "Off" and panel.warmup_spin.text() == "1.5 epochs"
    panel.restore_defaults()
    assert panel.config() == TrainConfig(augment="default")


def test_every_field_has_a_tooltip(panel):
    for name, field in panel.fields.items():
        assert len(field.editor.toolTip()) > 20, name
    assert "rotated" in panel.augment_check.toolTip() and "shifted" in panel.augment_check.toolTip()


def test_a_bad_learning_rate_is_marked_in_place_and_config_names_it(qtbot, panel):
    started = []
    panel.start_requested.connect(lambda: started.append(1))
    panel.lr_edit.setFocus()
    qtbot.keyClicks(panel.lr_edit, "abc")
    field = panel.fields["lr"]
    assert field.error and "not a number" in field.error
    assert not field.error_label.isHidden() and field.editor.property("invalid")
    assert "#" in field.marker.styleSheet() and "transparent" not in field.marker.styleSheet()
    with pytest.raises(ConfigError, match=r"^lr: 'abc' is not a number"):
        panel.config()
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert not started  # Start with a bad field shows the field instead
    panel.lr_edit.setText("1e-3")
    assert field.error is None and field.error_label.isHidden() and not field.editor.property("invalid")
    assert panel.config().lr == 0.001
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert started == [1]


def test_the_cores_checks_mark_their_fields(panel):
    panel.wd_edit.setText("2")
    with pytest.raises(ConfigError, match=r"^weight_decay: must be at least 0 and below 1"):
        panel.config()
    assert panel.fields["weight_decay"].error
    panel.wd_edit.setText("")
    with pytest.raises(ConfigError, match=r"^weight_decay: write a number"):
        panel.config()
    panel.wd_edit.setText("0")
    panel.lr_edit.setText("-1")
    with pytest.raises(ConfigError, match=r"^lr: the learning rate must be a positive number"):
        panel.config()
    panel.lr_edit.setText("")
    panel.warmup_spin.setValue(9)  # more than the 4 epochs
    with pytest.raises(ConfigError, match=r"^warmup_epochs:"):
        panel.config()
    assert panel.fields["warmup_epochs"].error and not panel.fields["lr"].error
    panel.epochs_spin.setValue(10)
    assert panel.fields["warmup_epochs"].error is None and panel.config().warmup_epochs == 9


def test_the_rate_fields_step_with_the_arrow_keys(qtbot, panel):
    panel.lr_edit.setFocus()
    qtbot.keyClick(panel.lr_edit, Qt.Key.Key_Up)  # from the automatic 0.002
    assert panel.lr_edit.text() == "0.005"
    qtbot.keyClick(panel.lr_edit, Qt.Key.Key_Down)
    qtbot.keyClick(panel.lr_edit, Qt.Key.Key_Down)
    assert panel.config().lr == 0.001
    panel.batch_spin.setValue(100)
    panel.batch_spin.stepBy(1)
    assert panel.batch_spin.value() == 128
    panel.batch_spin.stepBy(-2)
    assert panel.batch_spin.value() == 32


def test_without_cuda_the_cuda_item_is_there_but_greyed(monkeypatch, make_panel):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    panel = make_panel()
    combo = panel.device_combo
    assert [combo.itemData(i) for i in range(combo.count())] == ["auto", "cpu", "cuda"]
    index = combo.findData("cuda")
    assert combo.itemText(index) == "CUDA (no GPU found)"
    assert not combo.model().item(index).isEnabled()
    assert "no CUDA GPU" in combo.itemData(index, Qt.ItemDataRole.ToolTipRole)
    assert combo.itemText(0) == "Auto (CPU)"
    assert not panel.amp_check.isEnabled()  # mixed precision is CUDA only
    panel.set_config(TrainConfig(device="cuda:0"))  # a config from a GPU machine: auto here
    assert panel.config().device == "auto"


def test_cuda_devices_are_listed_by_name(monkeypatch, make_panel):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=0: f"Fake GPU {i}")
    panel = make_panel()
    combo = panel.device_combo
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "Auto (Fake GPU 0)", "CPU", "GPU 0: Fake GPU 0", "GPU 1: Fake GPU 1"]
    assert all(combo.model().item(i).isEnabled() for i in range(combo.count()))
    assert panel.amp_check.isEnabled()  # auto with CUDA
    combo.setCurrentIndex(combo.findData("cpu"))
    assert not panel.amp_check.isEnabled()
    combo.setCurrentIndex(combo.findData("cuda:1"))
    assert panel.amp_check.isEnabled() and panel.config().device == "cuda:1"


def test_a_narrow_dock_puts_every_label_above_its_field(qtbot, panel):
    from PySide6.QtWidgets import QFormLayout

    policies = lambda: {form.rowWrapPolicy() for form in panel._forms}  # noqa: E731
    panel.show()
    qtbot.waitExposed(panel)
    assert policies() == {QFormLayout.RowWrapPolicy.DontWrapRows}  # 320 px: labels beside the fields
    panel.resize(220, 700)
    qtbot.waitUntil(lambda: policies() == {QFormLayout.RowWrapPolicy.WrapAllRows})
    content = panel.scroll.widget()
    qtbot.waitUntil(lambda: content.width() <= panel.scroll.viewport().width())
    assert content.minimumSizeHint().width() <= panel.scroll.viewport().width()  # nothing cut off at the right
    panel.resize(340, 700)
    qtbot.waitUntil(lambda: policies() == {QFormLayout.RowWrapPolicy.DontWrapRows})


def test_settings_are_read_only_unless_idle(panel):
    editors = [panel.dataset_combo, panel.optimizer_combo, panel.lr_edit, panel.wd_edit, panel.batch_spin,
               panel.epochs_spin, panel.schedule_combo, panel.warmup_spin, panel.clip_spin, panel.augment_check,
               panel.seed_spin, panel.device_combo, panel.defaults_button, panel.start_button]
    for state, title in (("starting", "Starting…"), ("running", "Training"), ("paused", "Paused"),
                         ("stopping", "Stopping…")):
        panel.set_running(state)
        assert panel.state_label.text() == title and panel.state() == state
        assert not any(e.isEnabled() for e in editors), state
    panel.set_running("idle")
    assert panel.state_label.text() == "Idle"
    assert all(e.isEnabled() for e in editors)
    with pytest.raises(ValueError, match="unknown training state"):
        panel.set_running("flying")


def test_persisted_values_survive_a_new_panel(make_panel, settings_dir):
    first = make_panel(AppSettings(settings_dir))
    first.set_config(NON_DEFAULT)
    first.lr_edit.setText("oops")  # an invalid edit is not stored over the last valid values
    first.shutdown()
    second = make_panel(AppSettings(settings_dir))
    assert second.config() == NON_DEFAULT
    assert make_panel(None).config() == TrainConfig(augment="default")  # no settings: defaults, nothing stored


def test_a_stored_gpu_this_machine_lacks_falls_back_to_auto(monkeypatch, make_panel, settings):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    settings.qsettings.setValue("training/config", '{"device": "cuda:3", "epochs": 7}')
    panel = make_panel(settings)
    assert panel.config().epochs == 7 and panel.config().device == "auto"
    settings.qsettings.setValue("training/config", "{not json")
    assert make_panel(settings).config() == TrainConfig(augment="default")


# -- the status block ---------------------------------------------------------------------------------------------
def test_run_started_progress_and_time_left(panel):
    panel.set_running("running")
    panel.show_run_started(RunStarted(
        run_id=1, name="Run 1 — mnist-cnn", dataset="mnist", dataset_source="MNIST from folder /data/mnist",
        classes=tuple("0123456789"), device="cuda:0", device_name="Fake GPU", epochs=4, first_epoch=0,
        steps_per_epoch=156, total_steps=624, batch_size=128, test_images=np.zeros((1, 28, 28), np.uint8),
        test_labels=np.zeros(1, np.int64)))
    info = panel.run_info_label.toolTip()
    assert "MNIST from folder /data/mnist" in info and "Fake GPU (cuda:0)" in info
    panel.show_progress(progress_message())
    assert panel.epoch_label.text() == "Epoch 2 of 4 · step 120 of 156"
    assert panel.speed_label.text() == "2,950 samples/s · 0:41 left"
    assert (panel.run_bar.value(), panel.run_bar.maximum()) == (276, 624)
    panel.show_progress(progress_message(seconds_left=None))
    assert panel.speed_label.text() == "2,950 samples/s · estimating time left…"
    panel.show_progress(progress_message(seconds_left=3725, epoch=3, epoch_step=156, global_step=624))
    assert panel.speed_label.text().endswith("1:02:05 left")
    assert panel.epoch_label.text() == "Epoch 4 of 4 · step 156 of 156" and panel.run_bar.value() == 624


def test_paused_shows_no_speed_nor_time_left_until_it_goes_on(panel):
    panel.set_running("running")
    panel.show_progress(progress_message())
    panel.set_running("paused")
    assert panel.speed_label.text().startswith("Paused") and "left" not in panel.speed_label.text()
    panel.show_progress(progress_message(epoch_step=121, global_step=277))  # a step reported after the pause
    assert panel.speed_label.text().startswith("Paused")
    assert panel.epoch_label.text() == "Epoch 2 of 4 · step 121 of 156"
    panel.set_running("running")
    panel.show_progress(progress_message(epoch_step=122, global_step=278))
    assert panel.speed_label.text() == "2,950 samples/s · 0:41 left"


def test_show_progress_sets_only_what_changed(panel):
    panel.show_progress(progress_message())
    calls = []
    for label in (panel.epoch_label, panel.speed_label):
        original = label.setText
        label.setText = lambda text, original=original: (calls.append(text), original(text))
    for _ in range(20):
        panel.show_progress(progress_message())
    assert calls == []
    panel.show_progress(progress_message(epoch_step=121, global_step=277))
    assert calls == ["Epoch 2 of 4 · step 121 of 156"]


def test_finished_lines(panel):
    panel.show_finished(finished_message("completed"))
    assert panel.result_text() == "Completed: 98.9% test accuracy in 1:23"
    assert panel.result_label.styleSheet() == ""
    panel.show_finished(finished_message("stopped", epochs_completed=1, global_step=200, test_accuracy=None,
                                         seconds=45))
    assert panel.result_text() == "Stopped after 1 epoch (200 steps, 0:45)"
    panel.show_finished(finished_message("diverged", message="the loss became NaN at step 12", test_accuracy=None))
    assert panel.result_text() == "Diverged: the loss became NaN at step 12"
    assert "color:" in panel.result_label.styleSheet()  # in the error red


def test_a_stopped_run_that_was_ended_says_why_in_its_line(panel):
    panel.show_finished(finished_message(
        "stopped", epochs_completed=0, global_step=116, test_accuracy=None, seconds=45, samples_per_second=0.0,
        message="the training process did not stop within 30 s and was ended"))
    assert panel.result_text() == ("Stopped after 0 epochs (116 steps, 0:45): "
                                   "the training process did not stop within 30 s and was ended")


def test_a_run_without_an_average_speed_shows_the_last_measured_or_nothing(panel):
    panel.set_running("running")
    panel.show_progress(progress_message())
    panel.show_finished(finished_message("failed", message="the training process was killed by SIGKILL",
                                         samples_per_second=0.0))
    assert panel.speed_label.text() == "2,950 samples/s when last measured"
    panel.show_run_started(RunStarted(
        run_id=2, name="Run 2", dataset="mnist", dataset_source="MNIST", classes=tuple("0123456789"),
        device="cpu", device_name="CPU", epochs=1, first_epoch=0, steps_per_epoch=10, total_steps=10,
        batch_size=128, test_images=np.zeros((1, 28, 28), np.uint8), test_labels=np.zeros(1, np.int64)))
    panel.show_finished(finished_message("stopped", samples_per_second=0.0, test_accuracy=None))
    assert panel.speed_label.text() == "" and panel.speed_label.isHidden()
    panel.show_finished(finished_message("completed"))
    assert panel.speed_label.text() == "2,950 samples/s on average" and not panel.speed_label.isHidden()


def test_continue_from_the_last_weights(panel):
    assert not panel.continue_check.isEnabled() and not panel.continue_from_last()
    panel.set_can_continue(True)
    panel.continue_check.setChecked(True)
    assert panel.continue_from_last()
    panel.set_running("running")
    assert not panel.continue_check.isEnabled()
    panel.set_running("idle")
    assert panel.continue_check.isEnabled() and panel.continue_from_last()
    panel.set_can_continue(False, "the network has changed since")
    assert not panel.continue_from_last() and not panel.continue_check.isChecked()
    assert "the network has changed since" in panel.continue_check.toolTip()


# -- where the data comes from ------------------------------------------------------------------------------------
def test_not_found_offers_the_download_and_says_what_start_would_do(qtbot, panel, isolated_data):
    location = located(qtbot, panel)
    assert location.kind == "missing" and location.name == "mnist"
    assert "MNIST is not on this computer" in panel.source_text
    assert "offline sample" in panel.source_text
    assert str(dataset_cache_dir("mnist")) in panel.source_label.toolTip()  # where it looked
    assert not panel.download_button.isHidden() and panel.download_button.isEnabled()
    assert panel.download_button.text() == "Download (11.6 MB)"
    assert "Download MNIST from the internet" in panel.download_button.toolTip()
    assert not isolated_data  # looking never touches the network


def test_a_folder_from_the_environment(qtbot, make_panel, monkeypatch, tmp_path):
    folder = write_idx_folder(tmp_path / "data" / "mnist")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))  # its mnist/ subfolder is found, as the core does
    panel = make_panel()
    location = located(qtbot, panel)
    assert location.kind == "folder" and location.folder == folder
    assert panel.source_text.startswith("MNIST from folder") and panel.source_label.toolTip() == str(folder)
    assert panel.download_button.isHidden()
    # The same files, as the core would read them.
    assert core_sources.load_dataset("mnist").source == f"MNIST from folder {folder}"


@pytest.mark.skipif(not HAS_MNIST, reason=f"the shared MNIST files are not at {MNIST_DIR} (set PLAYGROUND_MNIST_DIR)")
def test_the_real_mnist_folder(qtbot, make_panel, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(MNIST_DIR))
    panel = make_panel()
    assert located(qtbot, panel).kind == "folder"
    assert panel.source_label.toolTip() == str(MNIST_DIR)
    panel.dataset_combo.setCurrentIndex(panel.dataset_combo.findData("fashion-mnist"))
    location = located(qtbot, panel)  # MNIST's files are not taken for Fashion-MNIST
    assert location.kind == "missing" and "holds MNIST, not Fashion-MNIST" in location.detail


def test_fashion_files_are_told_apart_and_the_graph_dataset_is_followed(qtbot, make_panel, monkeypatch, tmp_path):
    fingerprint = list(SPECS["fashion-mnist"].test_label_fingerprint)
    folder = write_idx_folder(tmp_path / "clothes", [*fingerprint, 0, 1, 2, 3])
    monkeypatch.setenv(DATA_DIR_ENV, str(folder))
    panel = make_panel()
    location = located(qtbot, panel)
    assert location.kind == "missing" and "holds Fashion-MNIST, not MNIST" in location.detail
    panel.set_graph_dataset("fashion-mnist")
    assert panel.dataset_combo.itemText(0) == "From the network (Fashion-MNIST)"
    assert panel.dataset_choice() == "graph" and panel.effective_dataset() == "fashion-mnist"
    location = located(qtbot, panel)
    assert location.kind == "folder" and panel.source_text == f"Fashion-MNIST from folder {folder}"
    panel.select_dataset("mnist-sample")
    assert panel.dataset_choice() == "mnist-sample" and panel.config().dataset == "mnist-sample"
    assert located(qtbot, panel).kind == "sample" and "5,000" in panel.source_text
    with pytest.raises(ValueError, match="unknown dataset choice"):
        panel.select_dataset("cifar")


def test_the_cache_and_a_missing_data_folder(qtbot, make_panel, monkeypatch, tmp_path):
    write_idx_folder(dataset_cache_dir("mnist"))
    panel = make_panel()
    assert located(qtbot, panel).kind == "cache"
    assert "MNIST from the cache" in panel.source_text
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "typo"))
    panel.refresh_source()
    location = located(qtbot, panel)
    assert location.kind == "error" and "no such folder" in panel.source_text
    assert "color:" in panel.source_label.styleSheet()


# -- the download -------------------------------------------------------------------------------------------------
def test_a_failed_download_shows_the_message_and_the_panel_stays_usable(qtbot, panel, isolated_data):
    located(qtbot, panel)
    qtbot.mouseClick(panel.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.download_running(), timeout=10_000)
    assert isolated_data  # the click, and only the click, went to the network (refused here)
    message = panel.download_text
    assert message == "Could not download MNIST: cannot connect (no network in the tests)."
    assert "MNIST was not found and the download failed" in panel.download_label.toolTip()  # the whole story
    assert "Looked in" in panel.download_label.toolTip() and "https://" in panel.download_label.toolTip()
    assert "color:" in panel.download_label.styleSheet() and not panel.download_label.isHidden()
    assert panel.download_row.isHidden()
    located(qtbot, panel)
    assert not panel.download_button.isHidden() and panel.download_button.isEnabled()
    panel.lr_edit.setText("0.01")
    assert panel.config().lr == 0.01


def test_cancel_stops_the_download(qtbot, panel, monkeypatch):
    seen = []

    def endless(urls, dest, checksum, *, timeout, progress, cancel):
        done = 0
        while not cancel.is_set():
            done = min(done + 100_000, 9_000_000)
            progress(done, 9_912_422, f"Downloading {Path(dest).name} from http://example.invalid/")
            time.sleep(0.005)
        seen.append(done)
        raise DownloadCancelled("cancelled")

    monkeypatch.setattr(core_sources, "download_file", endless)
    located(qtbot, panel)
    qtbot.mouseClick(panel.download_button, Qt.MouseButton.LeftButton)
    assert panel.download_running() and panel.download_button.isHidden()
    assert not panel.download_row.isHidden()
    qtbot.waitUntil(lambda: panel.download_bar.value() > 0, timeout=5000)
    assert panel.download_bar.maximum() == 11_594_722  # all four files, in bytes
    assert panel.download_bar.format().endswith("of 11.6 MB")
    assert panel.download_text.startswith("Downloading train-images-idx3-ubyte.gz (1/4)")
    assert "http://example.invalid/" in panel.download_label.toolTip()
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.download_running(), timeout=5000)
    assert seen and panel.download_text.startswith("Download cancelled")
    located(qtbot, panel)
    assert panel.download_button.isEnabled() and not panel.download_button.isHidden()


def test_a_download_fills_the_cache_and_the_source_line_follows(qtbot, panel, monkeypatch):
    files = idx_files(SYNTHETIC_LABELS)

    def fake(urls, dest, checksum, *, timeout, progress, cancel):
        data = files[Path(dest).name.removesuffix(".gz")]
        progress(len(data), len(data), f"Downloading {Path(dest).name} from {urls[0]}")
        Path(dest).write_bytes(data)
        return urls[0]

    monkeypatch.setattr(core_sources, "download_file", fake)
    located(qtbot, panel)
    finished = []
    qtbot.mouseClick(panel.download_button, Qt.MouseButton.LeftButton)
    panel.data_group._download.finished.connect(finished.append)
    qtbot.waitUntil(lambda: not panel.download_running(), timeout=10_000)
    assert panel.download_text.startswith("Downloaded.")
    location = located(qtbot, panel)
    assert location.kind == "cache" and panel.source_text.startswith("MNIST from the cache")
    assert panel.download_button.isHidden()


def test_the_download_object_alone(qtbot, monkeypatch):
    """DatasetDownload without the panel: signals, and shutdown() cancels and joins."""
    def endless(urls, dest, checksum, *, timeout, progress, cancel):
        while not cancel.is_set():
            progress(1000, 2000, "Downloading x from http://example.invalid/")
            time.sleep(0.005)
        raise DownloadCancelled("cancelled")

    monkeypatch.setattr(core_sources, "download_file", endless)
    download = panel_datasets.DatasetDownload("fashion-mnist")
    got = []
    download.progress.connect(lambda done, total, message: got.append((done, total)))
    download.start()
    qtbot.waitUntil(lambda: bool(got), timeout=5000)
    # Bytes over the whole download: this file's real size (the server's word) plus the other three's.
    assert got[0] == (1000, 2000 + 29_515 + 4_422_102 + 5_148)
    with qtbot.waitSignal(download.cancelled, timeout=5000):
        assert download.shutdown()
    assert not download.is_running()
    with pytest.raises(ValueError, match="unknown dataset"):
        panel_datasets.DatasetDownload("cifar")
