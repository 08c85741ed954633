"""The Training panel for a network on 2-D points (task "points"): its datasets, the Points group, L1 and L2, the
points' recipe and each task's own values, and what the Decision view's preview follows (points_changed)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from playground.app.settings import AppSettings
from playground.app.training.panel import TrainingPanel
from playground.core.data import CACHE_DIR_ENV, DATA_DIR_ENV
from playground.core.data.points import POINT_SETS
from playground.core.train.config import ConfigError, TrainConfig, default_config

POINTS_CONFIG = default_config("points", dataset="spiral", points=300, points_noise=0.25, points_test_share=0.3,
                               points_seed=7, l1=0.001, l2=0.003, batch_size=20, epochs=50, seed=3, device="cpu")


@pytest.fixture(autouse=True)
def isolated_data(tmp_path, monkeypatch):
    """An empty cache and no data folder from the environment: the image source line looks nowhere real."""
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)


@pytest.fixture
def make_panel(qtbot, settings):
    panels = []

    def make(app_settings: AppSettings | None = settings, task: str = "points") -> TrainingPanel:
        panel = TrainingPanel(app_settings)
        qtbot.addWidget(panel)
        panel.resize(320, 1100)
        panel.set_task(task)
        panels.append(panel)
        return panel

    yield make
    for panel in panels:  # no probe thread outlives the test
        panel.shutdown()


@pytest.fixture
def panel(make_panel) -> TrainingPanel:
    return make_panel()


def shown(panel: TrainingPanel, name: str) -> bool:
    return panel.fields[name].container.isVisibleTo(panel)


def items(panel: TrainingPanel) -> list[str]:
    return [panel.dataset_combo.itemData(i) for i in range(panel.dataset_combo.count())]


# -- what shows for which task --------------------------------------------------------------------------------------
def test_a_points_network_shows_the_points_group_and_regularization_not_the_images_parts(panel):
    assert panel.points_group.isVisibleTo(panel) and panel.schedule_group.isVisibleTo(panel)
    assert not panel.gan_group.isVisibleTo(panel)
    for name in ("points", "points_noise", "points_test_share", "points_seed", "l1", "l2", "weight_decay", "lr"):
        assert shown(panel, name), name
    assert panel.regenerate_button.isVisibleTo(panel)
    assert not shown(panel, "augment")
    assert not panel.source_label.isVisibleTo(panel) and not panel.download_button.isVisibleTo(panel)
    assert items(panel) == ["graph", *POINT_SETS]
    titles = [panel.dataset_combo.itemText(i) for i in range(panel.dataset_combo.count())]
    assert "Spiral" in titles and "Your own points" in titles
    assert "TensorFlow Playground" in panel.dataset_combo.toolTip()

    panel.set_task("classification")  # images: their datasets, source line and augmentation; no Points group
    assert items(panel) == ["graph", "mnist", "fashion-mnist", "mnist-sample", "folder"]
    assert not panel.points_group.isVisibleTo(panel)
    assert shown(panel, "augment") and panel.source_label.isVisibleTo(panel)
    assert shown(panel, "l1") and shown(panel, "l2")

    panel.set_task("generation")  # a GAN has its own Adam: no regularization fields
    assert not shown(panel, "l1") and not shown(panel, "l2") and not panel.points_group.isVisibleTo(panel)
    assert items(panel) == ["graph", "mnist", "fashion-mnist", "mnist-sample"]  # digits only: no image folder


def test_the_graph_item_names_the_inputs_points_set(panel):
    panel.set_graph_dataset("moons")
    assert panel.dataset_combo.itemText(0) == "From the network (Moons)"
    assert panel.effective_dataset() == "moons" and panel.source_location() is None  # points: nothing to look up


# -- the form ---------------------------------------------------------------------------------------------------
def test_points_settings_round_trip(panel):
    panel.set_config(POINTS_CONFIG)
    assert panel.config() == POINTS_CONFIG
    assert panel.dataset_choice() == "spiral"
    assert panel.noise_spin.text() == "25 %" and panel.test_share_spin.text() == "30 %"
    assert panel.l1_edit.text() == "0.001" and panel.l2_edit.text() == "0.003"
    assert panel.points_settings() == ("spiral", 300, 0.25, 0.3, 7)
    panel.restore_defaults()
    assert panel.config() == default_config("points")


def test_regularization_round_trips_for_images_too(make_panel):
    panel = make_panel(task="classification")
    config = TrainConfig(l1=1e-5, l2=0.02, dataset="mnist-sample")
    panel.set_config(config)
    assert panel.config() == config


def test_regenerate_draws_the_next_seed_and_says_so(qtbot, panel):
    panel.set_config(POINTS_CONFIG)
    with qtbot.waitSignal(panel.points_changed, timeout=1000):
        qtbot.mouseClick(panel.regenerate_button, Qt.MouseButton.LeftButton)
    assert panel.points_seed_spin.value() == 8 and panel.config().points_seed == 8
    assert panel.points_settings() == ("spiral", 300, 0.25, 0.3, 8)
    panel.points_seed_spin.setValue(panel.points_seed_spin.maximum())
    panel.regenerate_button.click()
    assert panel.points_seed_spin.value() == 0  # after the largest seed: back to the first


def test_points_changed_follows_each_setting_of_the_points_and_nothing_else(panel):
    heard = []
    panel.points_changed.connect(lambda: heard.append(panel.points_settings()))
    panel.select_dataset("circle")
    panel.points_spin.setValue(200)
    panel.noise_spin.setValue(10)
    panel.test_share_spin.setValue(20)
    panel.points_seed_spin.setValue(5)
    assert heard == [("circle", 500, 0.0, 0.5, 0), ("circle", 200, 0.0, 0.5, 0), ("circle", 200, 0.1, 0.5, 0),
                     ("circle", 200, 0.1, 0.2, 0), ("circle", 200, 0.1, 0.2, 5)]
    panel.epochs_spin.setValue(7)
    panel.l2_edit.setText("0.01")
    assert len(heard) == 5  # training settings: the same points
    panel.select_dataset("graph")
    assert heard[-1] == (None, 200, 0.1, 0.2, 5)  # None: the graph's Input says which


def test_your_own_points_have_no_count_nor_noise(panel):
    assert panel.points_spin.isEnabled()
    panel.select_dataset("own-points")  # the Decision view's Load CSV does this
    assert panel.points_settings()[0] == "own-points" and panel.config().dataset == "own-points"
    assert not panel.points_spin.isEnabled() and "Off for your own points" in panel.points_spin.toolTip()
    assert not panel.noise_spin.isEnabled()  # nor noise: they are as they are
    assert panel.test_share_spin.isEnabled() and panel.regenerate_button.isEnabled()  # the split still applies
    panel.select_dataset("graph")
    assert panel.points_spin.isEnabled() and "Off for" not in panel.points_spin.toolTip()
    panel.set_graph_dataset("own-points")  # the network's own choice counts too
    assert not panel.points_spin.isEnabled()


def test_a_points_set_is_not_offered_to_an_image_network(make_panel):
    panel = make_panel(task="classification")
    with pytest.raises(ValueError, match="for a network on 2-D points"):
        panel.select_dataset("own-points")
    panel.set_config(POINTS_CONFIG)  # a dataset the task does not list: the network's own
    assert panel.dataset_choice() == "graph"


def test_bad_entries_are_named_and_hold_start(qtbot, panel):
    started = []
    panel.start_requested.connect(lambda: started.append(1))
    panel.l2_edit.setFocus()
    panel.l2_edit.selectAll()
    qtbot.keyClicks(panel.l2_edit, "abc")
    assert "'abc' is not a number" in panel.fields["l2"].error
    assert not panel.fields["l2"].error_label.isHidden()
    with pytest.raises(ConfigError, match=r"^l2: 'abc' is not a number"):
        panel.config()
    panel.start_button.click()
    assert not started
    panel.l2_edit.setText("0")
    panel.l1_edit.setText("2")
    with pytest.raises(ConfigError, match=r"^l1: the regularisation rate must be between 0 \(off\) and 1"):
        panel.config()
    panel.l1_edit.setText("")
    with pytest.raises(ConfigError, match=r"^l1: write a number"):
        panel.config()
    panel.l1_edit.setText("0")

    # Noise goes up to 50 %, as TensorFlow Playground's: the box takes no more.
    panel.noise_spin.setFocus()
    panel.noise_spin.selectAll()
    qtbot.keyClicks(panel.noise_spin, "80")
    panel.noise_spin.interpretText()
    assert panel.noise_spin.value() == 8 and panel.config().points_noise == 0.08  # the 0 is refused
    panel.start_button.click()
    assert started == [1]


def test_a_gan_holds_nothing_up_over_regularization_it_does_not_use(make_panel):
    panel = make_panel(task="generation")
    panel.l2_edit.setText("abc")
    assert panel.config().l2 == 0.0 and panel.fields["l2"].error is None
    panel.set_task("classification")
    with pytest.raises(ConfigError, match=r"^l2:"):
        panel.config()


# -- each task's recipe and the person's values for it ----------------------------------------------------------
RECIPE_FIELDS = ("batch_size", "epochs", "optimizer", "lr", "schedule", "augment", "weight_decay", "grad_clip")


def recipe(config: TrainConfig) -> dict:
    return {name: getattr(config, name) for name in RECIPE_FIELDS}


def test_switching_to_points_applies_its_recipe_and_each_task_keeps_its_own(make_panel, settings_dir):
    panel = make_panel(task="classification")
    assert recipe(panel.config()) == recipe(TrainConfig())
    panel.batch_spin.setValue(64)
    panel.seed_spin.setValue(9)
    panel.set_task("points")
    assert recipe(panel.config()) == recipe(default_config("points"))
    assert panel.config().seed == 9  # not the recipe's: the same for every task
    assert panel.dataset_choice() == "graph"
    panel.batch_spin.setValue(25)
    panel.select_dataset("spiral")

    panel.set_task("classification")
    assert panel.config().batch_size == 64 and panel.config().optimizer == "adamw"
    assert panel.dataset_choice() == "graph"
    panel.set_task("points")
    assert panel.config().batch_size == 25 and panel.dataset_choice() == "spiral"
    assert panel.config().epochs == 200

    again = make_panel(AppSettings(settings_dir), task="classification")  # the next start of the app
    assert again.config().batch_size == 64 and again.config().seed == 9
    again.set_task("points")
    assert again.config().batch_size == 25 and again.dataset_choice() == "spiral"
    again.restore_defaults()  # the task's recipe
    assert again.config() == default_config("points", seed=0)
    again.set_task("classification")
    assert again.config().batch_size == 64  # restoring the points' defaults left the classifier's alone


def test_a_gan_takes_its_recipe_the_same_way(make_panel):
    panel = make_panel(task="classification")
    panel.lr_edit.setText("0.004")
    panel.set_task("generation")
    assert (panel.config().batch_size, panel.config().epochs) == (16, 10)
    panel.epochs_spin.setValue(3)
    panel.set_task("classification")
    assert (panel.config().batch_size, panel.config().epochs, panel.config().lr) == (128, 4, 0.004)
    panel.set_task("generation")
    assert (panel.config().batch_size, panel.config().epochs) == (16, 3)


# -- in the window ------------------------------------------------------------------------------------------------
def test_the_window_panel_follows_the_inputs_dataset(qtbot, settings):
    from playground.app.editor.commands import set_param

    from .conftest import make_window

    window = make_window(qtbot, settings)
    window.workbench.files.new_from_preset("mlp")
    document, panel = window.workbench.document, window.training.panel
    (node,) = document.graph.nodes_of_kind("input")
    assert panel.task == "classification"
    document.push(set_param(document, node.id, "dataset", "spiral"))
    assert panel.task == "points" and panel.points_group.isVisibleTo(panel)
    assert panel.dataset_combo.itemText(0) == "From the network (Spiral)"
    assert panel.effective_dataset() == "spiral" and panel.config().batch_size == 10
    document.undo()
    assert panel.task == "classification" and not panel.points_group.isVisibleTo(panel)
    assert panel.dataset_combo.itemText(0) == "From the network (MNIST)"
    qtbot.waitUntil(lambda: panel.source_location() is not None, timeout=5000)
    assert panel.source_location().name == "mnist"  # looked up again, for the images


def test_a_broken_record_of_a_task_falls_back_to_its_recipe(make_panel, settings):
    settings.qsettings.setValue("training/task_settings",
                                '{"points": {"batch_size": "many"}, "classification": {"epochs": 7}, "x": 3}')
    panel = make_panel(settings, task="classification")
    assert panel.config().epochs == 7
    panel.set_task("points")
    assert panel.config().batch_size == 10
    settings.qsettings.setValue("training/task_settings", "{not json")
    assert make_panel(settings, task="classification").config().epochs == 4
