"""The Training panel's "Image folder…" source: choose, load in the background, cancel, errors, fit the network,
train on it from the window (issue 22)."""

from __future__ import annotations

import pytest

import playground.app.dialogs as app_dialogs
from playground.app.training.panel import TrainingPanel
from playground.core.run.messages import RunFinished
from playground.core.train import TrainConfig

from ..core.test_folders import make_folder
from .conftest import make_window
from .helpers import collect

LOAD_TIMEOUT = 30_000


@pytest.fixture(autouse=True)
def own_cache(monkeypatch, tmp_path_factory):
    monkeypatch.delenv("PLAYGROUND_DATA_DIR", raising=False)
    monkeypatch.setenv("PLAYGROUND_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def panel(qtbot):
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.resize(320, 900)
    yield panel
    panel.shutdown()


def choose(monkeypatch, qtbot, panel, folder, wait=True) -> None:
    monkeypatch.setattr(app_dialogs, "get_existing_directory", lambda *args: str(folder))
    panel.data_group.folder_button.click()
    if wait:
        qtbot.waitUntil(lambda: not panel.data_group.folder_loading(), timeout=LOAD_TIMEOUT)


def test_choosing_a_folder_loads_it_and_the_source_line_says_what_it_holds(qtbot, monkeypatch, panel, tmp_path):
    folder = make_folder(tmp_path / "shapes", per_class=10)
    panel.select_dataset("folder")
    assert panel.fields["folder"].container.isVisibleTo(panel)
    assert "No image folder chosen" in panel.source_text
    assert panel.fields["folder"].error  # Start would show the folder field
    choose(monkeypatch, qtbot, panel, folder)
    text = panel.source_text
    assert "3 classes (circle, square, triangle)" in text and "3×32×32" in text and "30 images" in text
    assert "6 held out" in text
    config = panel.config()
    assert (config.dataset, config.folder, config.folder_size, config.folder_channels) == (
        "folder", str(folder), None, "auto")
    panel.grab().save(str(tmp_path / "panel.png"))


def test_changing_size_and_channels_loads_it_again(qtbot, monkeypatch, panel, tmp_path):
    folder = make_folder(tmp_path / "shapes", per_class=10)
    panel.select_dataset("folder")
    choose(monkeypatch, qtbot, panel, folder)
    panel.data_group.folder_size_spin.setValue(16)
    panel.data_group.set_folder_channels("gray")
    panel.data_group.folder_edited.emit()
    qtbot.waitUntil(lambda: "1×16×16" in panel.source_text, timeout=LOAD_TIMEOUT)
    assert panel.config().folder_size == 16 and panel.config().folder_channels == "gray"


def test_cancel_keeps_the_previous_folder(qtbot, monkeypatch, panel, tmp_path):
    first = make_folder(tmp_path / "first", per_class=10)
    second = make_folder(tmp_path / "second", per_class=10)
    panel.select_dataset("folder")
    choose(monkeypatch, qtbot, panel, first)
    choose(monkeypatch, qtbot, panel, second, wait=False)
    assert panel.data_group.folder_loading() and panel.data_group.folder_row.isVisibleTo(panel)
    panel.data_group.folder_cancel_button.click()
    qtbot.waitUntil(lambda: not panel.data_group.folder_loading(), timeout=LOAD_TIMEOUT)
    # (a load that finished before Cancel took effect is fine too: then it is the second folder, loaded)
    config = panel.config()
    assert config.folder in (str(first), str(second))
    assert f"{config.folder.rsplit('/', 1)[-1]}: 3 classes" in panel.source_text
    assert not panel.data_group.folder_row.isVisibleTo(panel)


def test_cancel_before_the_load_answers_reverts_to_the_previous_folder(qtbot, monkeypatch, panel, tmp_path):
    first = make_folder(tmp_path / "first", per_class=10)
    second = make_folder(tmp_path / "second", per_class=10)
    panel.select_dataset("folder")
    choose(monkeypatch, qtbot, panel, first)
    data = panel.data_group
    data._folder_load.load = lambda *args: None  # a load that never answers by itself
    choose(monkeypatch, qtbot, panel, second, wait=False)
    assert data.folder_path() == str(second)
    data.folder_cancel_button.click()
    data._on_folder_cancelled(data._folder_token)  # what the thread sends once it has stopped
    assert data.folder_path() == str(first) and panel.config().folder == str(first)
    assert "first: 3 classes" in panel.source_text


def test_a_folder_with_a_bad_layout_is_reported_in_words(qtbot, monkeypatch, panel, tmp_path, dialogs):
    bad = tmp_path / "flat"
    bad.mkdir()
    (bad / "a.png").write_bytes(b"not really")
    panel.select_dataset("folder")
    choose(monkeypatch, qtbot, panel, bad)
    assert "flat" in panel.source_text and panel.source_label.styleSheet()  # red, in words
    assert panel.fields["folder"].error
    assert not dialogs.texts()  # no dialog


def test_settings_round_trip_through_set_config(panel, tmp_path):
    config = TrainConfig(dataset="folder", folder=str(tmp_path), folder_size=24, folder_channels="rgb",
                         folder_test_share=0.3)
    panel.set_config(config)
    back = panel.config_dict()
    assert (back["dataset"], back["folder"], back["folder_size"], back["folder_channels"],
            back["folder_test_share"]) == ("folder", str(tmp_path), 24, "rgb", 0.3)
    panel.set_config(TrainConfig())
    assert panel.config_dict()["folder"] is None and panel.config_dict()["folder_size"] is None


def test_the_settings_are_kept_between_sessions(qtbot, monkeypatch, settings, tmp_path):
    folder = make_folder(tmp_path / "shapes", per_class=10)
    panel = TrainingPanel(settings)
    qtbot.addWidget(panel)
    panel.select_dataset("folder")
    choose(monkeypatch, qtbot, panel, folder)
    panel.data_group.folder_size_spin.setValue(20)
    qtbot.waitUntil(lambda: not panel.data_group.folder_loading(), timeout=LOAD_TIMEOUT)
    panel.shutdown()
    again = TrainingPanel(settings)
    qtbot.addWidget(again)
    assert again.config_dict()["folder"] == str(folder) and again.config_dict()["folder_size"] == 20
    qtbot.waitUntil(lambda: not again.data_group.folder_loading(), timeout=LOAD_TIMEOUT)
    again.shutdown()


def test_fit_the_network_is_one_undo_step_and_a_short_run_trains_on_the_folder(qtbot, monkeypatch, settings,
                                                                                 tmp_path):
    folder = make_folder(tmp_path / "shapes", per_class=12, size=(16, 16))
    window = make_window(qtbot, settings)
    window.workbench.files.new_from_preset("mlp")
    window.workbench.shapes.run_now()
    doc = window.workbench.document
    panel = window.training.panel
    panel.set_config(TrainConfig(epochs=2, batch_size=8, augment="none", device="cpu"))
    panel.select_dataset("folder")
    choose(monkeypatch, qtbot, panel, folder)
    data = panel.data_group
    assert data.fit_text and data.fit_button.isVisibleTo(panel)
    params = lambda: {n.id: dict(n.params) for n in doc.graph.nodes.values()}  # noqa: E731
    before = params()
    undo_count = doc.undo_stack.count()
    data.fit_button.click()
    assert doc.undo_stack.count() == undo_count + 1
    (input_node,) = doc.graph.nodes_of_kind("input")
    assert input_node.params["shape"] == [3, 16, 16] and input_node.params["dataset"] == "folder"
    (output,) = doc.graph.nodes_of_kind("output")
    (edge,) = doc.graph.inputs_of(output.id)
    assert doc.graph.nodes[edge.source].params["units"] == 3
    assert not data.fit_button.isVisibleTo(panel)  # it fits now
    doc.undo_stack.undo()
    assert params() == before
    assert data.fit_button.isVisibleTo(panel)
    doc.undo_stack.redo()
    panel.select_dataset("graph")  # "From the network": the Input says "folder"
    assert "Image folder" in panel.dataset_combo.itemText(0) and panel.effective_dataset() == "folder"
    window.workbench.shapes.run_now()

    runs = collect(window, RunFinished)
    window.acts.start_training.trigger()
    qtbot.waitUntil(lambda: bool(runs), timeout=120_000)
    assert runs[0].status == "completed", runs[0]


def combo_choices(panel) -> list[str]:
    combo = panel.data_group.dataset_combo
    return [combo.itemData(i) for i in range(combo.count())]


def test_a_gan_is_offered_no_image_folder(qtbot, panel, tmp_path):
    """A GAN trains on MNIST-like digits: no "Image folder…" in its list and no folder fields, even when the
    classifier's choice was a folder; back to a classifier, both return."""
    from playground.core.task import CLASSIFICATION, GENERATION

    panel.select_dataset("folder")
    panel.set_config(TrainConfig(dataset="folder", folder=str(tmp_path), folder_test_share=0.3))
    assert panel.fields["folder_test_share"].container.isVisibleTo(panel)
    panel.set_task(GENERATION)
    assert "folder" not in combo_choices(panel) and "mnist" in combo_choices(panel)
    assert "folder" not in panel.data_group.choices()
    assert panel.data_group.dataset_choice() != "folder"
    for name in ("folder", "folder_size", "folder_channels", "folder_test_share"):
        assert not panel.fields[name].container.isVisibleTo(panel), name
    with pytest.raises(ValueError):
        panel.select_dataset("folder")
    assert panel.config().dataset != "folder"
    panel.set_task(CLASSIFICATION)
    assert "folder" in combo_choices(panel)
    panel.select_dataset("folder")
    assert panel.fields["folder_test_share"].container.isVisibleTo(panel)


@pytest.mark.parametrize("preset", ["dcgan-mnist", "mlp-gan-mnist", "dcgan-fashion"])
def test_the_gan_presets_show_no_image_folder_in_the_window(qtbot, settings, preset):
    window = make_window(qtbot, settings)
    panel = window.training.panel
    assert "folder" in combo_choices(panel)
    window.workbench.files.new_from_preset(preset)
    window.workbench.shapes.run_now()
    qtbot.waitUntil(lambda: panel.task == "generation", timeout=10_000)
    assert "folder" not in combo_choices(panel)
    assert not panel.fields["folder"].container.isVisibleTo(panel)
    window.workbench.files.new_from_preset("mnist-cnn")
    window.workbench.shapes.run_now()
    qtbot.waitUntil(lambda: panel.task == "classification", timeout=10_000)
    assert "folder" in combo_choices(panel)


def test_the_test_share_is_shown_in_per_cent_and_kept_as_a_fraction(qtbot, panel, tmp_path):
    panel.select_dataset("folder")
    share = panel.data_group.folder_share_spin
    assert share.text() == "20 %"  # TrainConfig's 0.2
    panel.set_config(TrainConfig(dataset="folder", folder=str(tmp_path), folder_test_share=0.35))
    assert share.text() == "35 %" and share.suffix() == " %"
    share.setValue(15)
    assert panel.config_dict()["folder_test_share"] == 0.15 and panel.config().folder_test_share == 0.15
    assert type(share) is type(panel.points_group.test_spin)  # one per-cent box, as the points' test share


def test_the_folder_constants_come_without_torch():
    """The Training panel reads the folder dataset's name and sizes from a torch-free module."""
    import subprocess
    import sys

    code = ("import sys\nfrom playground.core.data import FOLDER\n"
            "from playground.core.data.class_folders import LARGEST_SIZE, MIN_SIZE\n"
            "assert FOLDER == 'folder' and (MIN_SIZE, LARGEST_SIZE) == (4, 256)\n"
            "print('torch' in sys.modules, 'numpy' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]
    from playground.app.training import data_box
    from playground.core.data import class_folders, folders

    assert data_box.FOLDER is folders.FOLDER is class_folders.FOLDER
    assert (data_box.MIN_SIZE, data_box.LARGEST_SIZE) == (folders.MIN_SIZE, folders.LARGEST_SIZE)
