"""GANs in the window, driven as a person does: presets and palette, problems on the node, the Training panel's
adversarial settings, a short run with its charts, samples, latent walk, views and Draw dock, and continuing it."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from playground.app.charts.gan import GanCharts
from playground.app.training.session import IDLE, PAUSED, RUNNING
from playground.app.viz.samples import MAX_GRIDS, SampleHistory
from playground.core.run.messages import (
    GanEpochEnded,
    GanProgress,
    GanSamples,
    RunFinished,
    RunStarted,
    WeightsPublished,
)
from playground.core.train import ConfigError, TrainConfig

from .helpers import click, collect, drag_wire, node_pos, on_screen

RUN_TIMEOUT = 120_000
GAN_PRESETS = ("dcgan-mnist", "mlp-gan-mnist", "dcgan-fashion")
Ok = QMessageBox.StandardButton.Ok


def open_preset(window, name: str) -> None:
    """File ▸ New from Preset ▸ `name`, as a person picks it."""
    action = next(a for a in window.preset_menu.actions() if a.data() == name)
    action.trigger()
    window.workbench.shapes.run_now()


def configure_gan(window, **settings) -> None:
    """Small and quick, on the bundled sample, without the judge (it trains a classifier first)."""
    config = TrainConfig(**{"epochs": 3, "batch_size": 128, "device": "cpu", "gan_judge": False, **settings})
    window.training.panel.set_config(config)
    window.training.panel.select_dataset("mnist-sample")


def select(window, node_id):
    click(window.workbench.view.viewport(), node_pos(window, node_id))
    assert window.workbench.scene.selected_node_ids() == [node_id]
    return window.workbench.inspector


def wait_state(qtbot, window, state: str) -> None:
    qtbot.waitUntil(lambda: window.training.session.state == state, timeout=RUN_TIMEOUT)


# -- 1. presets, palette, one scene, problems on the node ---------------------------------------------------------
def test_new_from_preset_lists_the_gans_beside_the_classifiers(window):
    titles = {a.data(): a.text() for a in window.preset_menu.actions()}
    assert {"mnist-cnn", "mlp", *GAN_PRESETS} <= set(titles)
    assert "DCGAN" in titles["dcgan-mnist"]
    assert window.workbench.task.task == "classification"
    assert window.task_charts.currentWidget() is window.training.charts
    open_preset(window, "dcgan-mnist")
    assert window.workbench.task.task == "generation"
    assert window.task_charts.currentWidget() is window.training.gan_charts  # the Charts dock follows the task
    samples_dock = window.view_docks["samples"]
    assert samples_dock.windowTitle() == "Samples" and not samples_dock.visibleRegion().isEmpty()
    open_preset(window, "mnist-cnn")
    assert window.task_charts.currentWidget() is window.training.charts
    assert not window.draw_dock.visibleRegion().isEmpty()  # the Draw dock comes back in front of Samples


def test_the_palette_offers_the_generators_layers_in_sensible_groups(window, qtbot):
    palette = window.workbench.palette
    groups = {kind: palette.items[kind].parent().text(0) for kind in ("noise", "generated", "conv_transpose2d",
                                                                        "upsample", "tanh", "reshape", "batchnorm",
                                                                        "leaky_relu")}
    assert groups["noise"] == groups["generated"] == "Input/Output"
    assert groups["conv_transpose2d"] == groups["upsample"] == "Convolution"
    for kind in ("noise", "conv_transpose2d"):
        assert not palette.items[kind].parent().icon(0).isNull()
        assert palette.items[kind].toolTip(0)
    palette.search.setText("transposed")
    assert "conv_transpose2d" in palette.visible_kinds()


def test_both_networks_show_in_one_scene_with_shapes_on_the_wires(window):
    open_preset(window, "dcgan-mnist")
    wb = window.workbench
    graph = wb.document.graph
    assert set(wb.scene.nodes) == set(graph.nodes)  # generator and discriminator, side by side
    labels = {(e.source, e.target): items[0].label for e, items in wb.scene.edges.items()}
    assert labels[("g_reshape", "g_up1")] == "64×7×7"
    assert labels[("g_tanh", "generated")] == "1×28×28"
    assert labels[("d_dense", "output")] == "1"
    assert all(not item.problems for item in wb.scene.nodes.values())


def test_gan_problems_show_on_their_node_and_start_is_refused_with_the_reason(window, qtbot, dialogs):
    open_preset(window, "dcgan-mnist")
    wb = window.workbench
    padding = select(window, "g_up2").editors["padding"]
    padding.setValue(0)  # the last transposed convolution now makes 30×30 images
    wb.shapes.run_now()
    message = "generator makes 1×30×30, the data is 1×28×28"
    qtbot.waitUntil(lambda: wb.scene.nodes["generated"].problems == [message])
    runs = collect(window, RunStarted)
    dialogs.answer(Ok)
    window.acts.start_training.trigger()
    assert dialogs.shown[-1][1] == "Cannot train yet"
    assert f"generated: {message}" in dialogs.shown[-1][2]
    assert not runs and window.training.session.state == IDLE
    wb.document.undo()
    wb.shapes.run_now()
    assert not wb.scene.nodes["generated"].problems

    units = select(window, "d_dense").editors["units"]
    units.setValue(2)  # the discriminator must end in one value
    wb.shapes.run_now()
    qtbot.waitUntil(lambda: bool(wb.scene.nodes["output"].problems))
    assert "must end in one value" in wb.scene.nodes["output"].problems[0]

    wb.document.undo()
    drag_wire(window, "g_relu2", "d_flatten")  # a wire joining the two networks
    assert any((e.source, e.target) == ("g_relu2", "d_flatten") for e in wb.document.graph.edges)
    wb.shapes.run_now()
    qtbot.waitUntil(lambda: any("joins the generator to the discriminator" in p
                                for p in wb.scene.nodes["d_flatten"].problems))


# -- 2. the Training panel -----------------------------------------------------------------------------------------
def test_the_training_panel_shows_the_gan_settings_for_a_gan(window, qtbot, dialogs):
    panel = window.training.panel
    gan_only = ("gan_loss", "gan_d_steps", "gan_lr_g", "gan_lr_d", "gan_beta1", "gan_label_smoothing", "gan_ema",
                "gan_judge")
    classifier_only = ("optimizer", "lr", "weight_decay", "schedule", "warmup_epochs", "grad_clip", "augment")
    assert not panel.gan_group.isVisibleTo(panel)
    open_preset(window, "dcgan-mnist")
    assert panel.gan_group.isVisibleTo(panel) and not panel.schedule_group.isVisibleTo(panel)
    for name in gan_only:
        assert panel.fields[name].container.isVisibleTo(panel), name
    for name in classifier_only:
        assert not panel.fields[name].container.isVisibleTo(panel), name
    for name in ("batch_size", "epochs", "seed", "device", "dataset"):
        assert panel.fields[name].container.isVisibleTo(panel), name
    assert panel.gan_beta1_spin.value() == 0.5  # Adam β1 0.5, as practitioners use
    assert panel.gan_ema_spin.value() == TrainConfig().gan_ema

    # Set like a person: least squares, two D steps, rates typed, smoothing 0.1.
    panel.gan_loss_combo.setCurrentIndex(panel.gan_loss_combo.findData("least_squares"))
    panel.gan_d_steps_spin.setValue(2)
    for edit, text in ((panel.gan_lr_g_edit, "1e-4"), (panel.gan_lr_d_edit, "0.0004")):
        edit.selectAll()
        qtbot.keyClicks(edit, text)
    panel.gan_smoothing_spin.setValue(0.1)
    config = panel.config()
    assert (config.gan_loss, config.gan_d_steps, config.gan_lr_g, config.gan_lr_d, config.gan_label_smoothing) == (
        "least_squares", 2, 1e-4, 4e-4, 0.1)

    # A setting the GAN does not use holds nothing up; a bad GAN rate is shown in place and refused at Start.
    panel.lr_edit.setText("fast")
    panel.config()
    panel.gan_lr_g_edit.selectAll()
    qtbot.keyClicks(panel.gan_lr_g_edit, "2")
    assert panel.fields["gan_lr_g"].error_label.isVisibleTo(panel)
    assert "below 1" in panel.fields["gan_lr_g"].error_label.text()
    with pytest.raises(ConfigError, match="gan_lr_g"):
        panel.config()
    runs = collect(window, RunStarted)
    dialogs.answer(Ok)
    window.acts.start_training.trigger()
    assert dialogs.shown[-1][1] == "Check the training settings" and "gan_lr_g" in dialogs.shown[-1][2]
    assert not runs

    # Back to a classifier: its own settings, and the bad rate it does use is its problem again.
    open_preset(window, "mlp")
    assert not panel.gan_group.isVisibleTo(panel) and panel.fields["lr"].container.isVisibleTo(panel)
    with pytest.raises(ConfigError, match="lr"):
        panel.config()


# -- 3-6. a short run: charts, samples, walk, views, Draw dock; pause, stop, continue ----------------------------
def test_a_gan_trains_from_the_window_and_every_view_follows(qtbot, window, dialogs, tmp_path):
    open_preset(window, "dcgan-mnist")
    configure_gan(window, batch_size=128)  # 31 steps an epoch on the sample's 4,000 images
    t, views = window.training, window.insight
    started, progress = collect(window, RunStarted), collect(window, GanProgress)
    grids, epochs, finished = collect(window, GanSamples), collect(window, GanEpochEnded), collect(window, RunFinished)
    weights = collect(window, WeightsPublished)
    window.view_docks["histograms"].raise_()  # open: histograms are collected
    window.view_docks["samples"].raise_()
    t.panel.start_button.click()
    wait_state(qtbot, window, RUNNING)
    assert started[0].task == "generation"
    qtbot.waitUntil(lambda: len(progress) >= 3 and len(grids) >= 1, timeout=RUN_TIMEOUT)

    window.acts.pause_training.trigger()  # F6, the same Pause
    wait_state(qtbot, window, PAUSED)
    window.acts.pause_training.trigger()
    wait_state(qtbot, window, RUNNING)
    qtbot.waitUntil(lambda: bool(epochs) and len(grids) >= 3, timeout=RUN_TIMEOUT)  # the first epoch's end
    window.acts.stop_training.trigger()
    qtbot.waitUntil(lambda: bool(finished), timeout=RUN_TIMEOUT)
    assert finished[0].status == "stopped"
    wait_state(qtbot, window, IDLE)

    # Charts: both losses and D(real), D(fake) per step; the epoch's verdict (no judge: it says so).
    charts = t.gan_charts
    charts.flush()
    steps = sum(len(p.steps) for p in progress)
    assert len(charts.run) == steps >= 31
    x, y = charts.smooth["loss_d"].getData()
    assert len(x) == steps and np.isfinite(y).all()
    assert np.allclose(charts.run.values["d_fake"].view, np.concatenate([p.d_fake for p in progress]))
    assert "judge is off" in charts.verdict_text() and not charts.mode_collapse_shown()
    path = tmp_path / "charts.png"
    charts.export_png(path)
    assert path.stat().st_size > 1000

    # Samples: the grids of the run, a slider back through them, the latent walk from the inference process.
    samples = window.view_docks["samples"].widget()
    samples.flush()
    assert len(samples.history) == len({g.global_step for g in grids}) >= 3
    assert samples.shown() is samples.history[-1]
    samples.slider.setValue(0)
    samples.flush()
    assert samples.shown().global_step == 0 and "step 0 " in samples.grid_title.text()
    qtbot.waitUntil(lambda: samples.walk_images() is not None, timeout=RUN_TIMEOUT)
    assert samples.walk_images().shape == (10, 28, 28)
    samples.export_png(tmp_path / "samples.png")
    assert (tmp_path / "samples.png").stat().st_size > 1000

    # Weights: a network selector; the generator's transposed convolutions, the discriminator's convolutions.
    window.view_docks["weights"].raise_()
    view = window.view_docks["weights"].widget()
    qtbot.waitUntil(lambda: view.network_combo.isVisibleTo(view) and bool(view.layers()), timeout=RUN_TIMEOUT)
    view.set_network("generator")
    assert view.layers() == ["g_dense", "g_up1", "g_up2"]
    view.set_current_layer("g_up1")
    assert view.image() is not None and "ConvTranspose2d" in view.title.text()
    view.set_network("discriminator")
    assert view.layers() == ["d_conv1", "d_conv2", "d_dense"]

    # Histograms: both networks' layers, one network at a time.
    window.view_docks["histograms"].raise_()
    hist = window.view_docks["histograms"].widget()
    qtbot.waitUntil(lambda: bool(hist.layers()), timeout=RUN_TIMEOUT)
    assert hist.network_combo.isVisibleTo(hist)
    hist.set_network("generator")
    assert hist.shown_layers() and all(n.startswith("g_") for n in hist.shown_layers())
    hist.set_network("discriminator")
    assert hist.shown_layers() and all(n.startswith("d_") for n in hist.shown_layers())

    # Draw: the discriminator's "real" probability for a drawn digit, live.
    from .test_draw import draw

    digits = t.digits
    assert digits.gan_mode and digits.bars.classes() == ("real",)
    assert not digits.mistakes_button.isVisibleTo(digits)
    draw(digits.canvas, [(0.5, 0.2), (0.5, 0.5), (0.5, 0.8)])
    qtbot.waitUntil(lambda: digits.real_probability() is not None, timeout=RUN_TIMEOUT)
    assert 0.0 <= digits.real_probability() <= 1.0

    # Activations: the discriminator looks at the drawing; the generator makes an image from noise.
    window.view_docks["activations"].raise_()
    acts = views.activations
    assert acts.network_combo.isVisibleTo(acts)
    qtbot.waitUntil(lambda: acts.insight() is not None and "d_conv1" in [lv.node_id for lv in acts.insight().layers],
                    timeout=RUN_TIMEOUT)
    acts.set_network("generator")
    qtbot.waitUntil(lambda: acts.insight() is not None and "g_up1" in [lv.node_id for lv in acts.insight().layers],
                    timeout=RUN_TIMEOUT)
    assert window.view_docks["confusion"].widget() is not None

    # Continue from the last weights: the next run starts where this one stopped (its first grid is the last one).
    last = grids[-1]
    assert weights[-1].global_step == finished[0].global_step
    assert t.panel.continue_check.isEnabled()
    t.panel.continue_check.setChecked(True)
    window.view_docks["samples"].raise_()
    window.workbench.view.setFocus()
    qtbot.keyClick(window.workbench.view, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: len(started) == 2 and len(grids) > len(started) and grids[-1].run_id != last.run_id,
                    timeout=RUN_TIMEOUT)
    first_of_next = next(g for g in grids if g.run_id == started[1].run_id)
    assert first_of_next.global_step == 0
    # ... what the last weights of the first run make of the run's fixed noise.
    from playground.core.gan.model import build_gan
    from playground.core.gan.samples import GRID_SAMPLES, as_uint8, fixed_noise, generate

    gan = build_gan(weights[-1].graph)
    gan.load_state_dict(weights[-1].state_dict)
    noise = fixed_noise(GRID_SAMPLES, 64, "normal", 0, "grid")
    assert np.array_equal(first_of_next.images, as_uint8(generate(gan.generator, noise, "tanh")))
    assert not np.array_equal(first_of_next.images, grids[0].images)  # not the untrained generator's static
    window.acts.stop_training.trigger()
    qtbot.waitUntil(lambda: len(finished) == 2, timeout=RUN_TIMEOUT)
    wait_state(qtbot, window, IDLE)


def test_save_weights_of_a_gan_then_load_them(qtbot, window, dialogs, tmp_path):
    """Both networks go into the checkpoint and come back."""
    from playground.core.gan.model import build_gan
    from playground.core.train import load_checkpoint

    open_preset(window, "mlp-gan-mnist")
    configure_gan(window, batch_size=256, epochs=1)
    finished = collect(window, RunFinished)
    window.acts.start_training.trigger()
    qtbot.waitUntil(lambda: bool(finished), timeout=RUN_TIMEOUT)
    assert finished[0].ok and window.acts.save_weights.isEnabled()
    path = tmp_path / "gan.pt"
    dialogs.choose_file(str(path))
    window.acts.save_weights.trigger()
    assert path.is_file()
    trained = window.training.weights.state_dict
    both = {k.split(".")[0] for k in build_gan(window.workbench.document.graph).state_dict()}
    assert {k.split(".")[0] for k in trained} == both and any(n.startswith("g_") for n in both) and any(
        n.startswith("d_") for n in both)
    open_preset(window, "mlp-gan-mnist")  # untrained again
    assert window.training.weights is None
    dialogs.choose_file(str(path))
    window.acts.load_weights.trigger()
    saved = load_checkpoint(path)
    assert set(saved.state_dict) == set(trained) and saved.extra.get("task") == "generation"
    loaded = window.training.weights.state_dict
    assert all(loaded[k].equal(trained[k]) for k in trained)
    assert window.training.digits.gan_mode


# -- 3. the charts' verdict: mode collapse, in those words --------------------------------------------------------
def _epoch(epoch: int, recognisable: float, covered: int, collapse: bool) -> GanEpochEnded:
    verdict = (f"mode collapse: the recognisable samples cover only {covered} of 10 classes" if collapse
               else f"{recognisable:.0%} of the samples are recognisable, covering {covered} of 10 classes")
    return GanEpochEnded(run_id=1, epoch=epoch, global_step=31 * epoch, loss_d=1.2, loss_g=0.9, d_real=0.6,
                         d_fake=0.4, steps_per_second=10, samples_per_second=1280, recognisable=recognisable,
                         classes_covered=covered, num_classes=10, class_counts=(0,) * 10, mode_collapse=collapse,
                         verdict=verdict)


def test_the_gan_charts_plot_the_judges_verdict_and_say_mode_collapse(qtbot):
    charts = on_screen(qtbot, GanCharts(), 900, 600)
    charts.begin_run("Run 1 — DCGAN MNIST", steps_per_epoch=31, total_steps=93)
    steps = np.arange(1, 32, dtype=np.int64)
    values = np.linspace(1, 0.5, 31, dtype=np.float32)
    charts.add_steps(GanProgress(run_id=1, steps=steps, loss_d=values, loss_g=values + 1, d_real=values * 0 + 0.7,
                                 d_fake=values * 0 + 0.3))
    charts.add_epoch(_epoch(1, 0.35, 9, False))
    charts.flush()
    assert "covering 9 of 10 classes" in charts.verdict_text() and not charts.mode_collapse_shown()
    charts.add_epoch(_epoch(2, 0.62, 3, True))
    charts.flush()
    assert "mode collapse" in charts.verdict_text() and charts.mode_collapse_shown()
    assert charts.collapse_label.textItem.toPlainText() == "mode collapse"
    x, y = charts.recognisable_curve.getData()
    assert list(x) == [1, 2] and np.allclose(y, [35, 62])
    x, y = charts.coverage_curve.getData()
    assert list(y) == [9, 3]
    assert charts.repaints <= 3  # a repaint per flush, never one per message


def test_the_sample_history_keeps_at_most_its_limit_and_the_whole_run_in_reach():
    history = SampleHistory()
    image = np.zeros((64, 28, 28), np.uint8)
    for step in range(0, 5 * MAX_GRIDS):
        history.add(GanSamples(run_id=1, global_step=step, epoch=0, elapsed=step / 10, images=image))
    assert len(history) <= MAX_GRIDS
    kept = [g.global_step for g in history.grids]
    assert kept[0] == 0 and kept[-1] == 5 * MAX_GRIDS - 1 and kept == sorted(kept)
    gaps = np.diff(kept)
    assert gaps.max() <= 16  # thinned evenly, not the oldest dropped


# -- 4, 6. the predictor asks a GAN: the walk and the generator's layers, the discriminator for a drawing ----------
def test_the_predictor_asks_the_generator_only_while_wanted_and_again_for_new_weights(qtbot):
    from playground.app.predictor import GeneratorRequest, Predictor
    from playground.core.gan.model import build_gan
    from playground.core.graph import load_graph

    graph = load_graph("preset:dcgan-mnist")
    predictor = Predictor(in_process=True)
    try:
        looks, predictions = [], []
        predictor.generator_ready.connect(looks.append)
        predictor.predicted.connect(predictions.append)
        predictor.set_model(graph, None, "mnist", 1, {"gan_loss": "non_saturating"})
        predictor.want_generator(GeneratorRequest(1, 2, 5, layers=True))
        qtbot.waitUntil(lambda: bool(looks), timeout=20_000)
        assert looks[0].images.shape == (5, 28, 28) and looks[0].weights_version == 1
        assert "g_up1" in [lv.node_id for lv in looks[0].layers]
        state = {k: v.clone() for k, v in build_gan(graph, seed=7).state_dict().items()}
        predictor.set_model(graph, state, "mnist", 2, {"gan_loss": "non_saturating"})
        qtbot.waitUntil(lambda: looks[-1].weights_version == 2, timeout=20_000)  # new weights: asked again
        assert not np.array_equal(looks[-1].images, looks[0].images)
        predictor.want_generator(None)
        predictor.set_model(graph, None, "mnist", 3)
        image = np.zeros((28, 28), np.uint8)
        image[4:24, 13:15] = 255
        predictor.request(image, 1, 0.0)
        qtbot.waitUntil(lambda: bool(predictions), timeout=20_000)
        assert predictions[0].probabilities.shape == (1,)  # P(real)
        qtbot.wait(300)
        assert all(look.weights_version < 3 for look in looks)  # not wanted: not asked
    finally:
        predictor.shutdown()
