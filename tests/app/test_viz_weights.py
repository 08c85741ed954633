"""The weights views: filters and weight matrices of one layer (WeightsView), weight and gradient histograms over a
run (HistogramsView). Real preset graphs and their real initial weights; pixels read back from the pictures."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PySide6.QtGui import QImage

from playground.app.viz import histograms as histograms_module
from playground.app.viz import weights as weights_module
from playground.app.viz.colormap import DIVERGING, SEQUENTIAL, lut
from playground.app.viz.histograms import (
    MAX_COLUMNS,
    REPAINT_MS,
    HistogramsView,
    History,
    Snapshot,
    decade_label,
    gradient_warning,
)
from playground.app.viz.weights import MAX_GRID, RENDER_DELAY_MS, WeightsView, block_mean, render_dense
from playground.core.build import build_module
from playground.core.graph import load_graph
from playground.core.run.messages import ParamHistograms
from tests.app.helpers import on_screen

WEIGHT_KINDS = ("conv2d", "patch_embedding", "dense")


@pytest.fixture(scope="module")
def presets():
    """Graphs and their initial weights, built once for the module (building takes a moment)."""
    out = {}
    for name in ("mnist-cnn", "mlp", "lenet5", "vit-mini", "resnet-mini"):
        graph = load_graph(f"preset:{name}")
        out[name] = (graph, build_module(graph).state_dict())
    return out


def copied(state_dict):
    return {k: v.clone() for k, v in state_dict.items()}


@pytest.fixture
def view(qtbot):
    v = on_screen(qtbot, WeightsView(), 900, 700)
    return v


def show_weights(qtbot, view, graph, state_dict, note=""):
    """set_weights, then wait for the timer to draw them."""
    before = view.render_count
    view.set_weights(graph, state_dict, note)
    qtbot.waitUntil(lambda: view.render_count > before, timeout=2000)


def rgb_at(image: QImage, x: float, y: float) -> tuple[int, int, int]:
    c = image.pixelColor(int(x), int(y))
    return c.red(), c.green(), c.blue()


def cell_center(box, i: int, j: int, kh: int, kw: int) -> tuple[float, float]:
    """The middle of kernel pixel (row i, column j) inside a tile's rect."""
    return box.x() + (j + 0.5) * box.width() / kw, box.y() + (i + 0.5) * box.height() / kh


RED_END = tuple(int(c) for c in lut(DIVERGING)[255])
BLUE_END = tuple(int(c) for c in lut(DIVERGING)[0])
WHITE_MIDDLE = tuple(int(c) for c in lut(DIVERGING)[127])


# -- WeightsView ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mnist-cnn", "mlp", "lenet5", "vit-mini", "resnet-mini"])
def test_combo_lists_exactly_the_conv_and_dense_nodes_in_graph_order(qtbot, view, presets, name):
    graph, state = presets[name]
    show_weights(qtbot, view, graph, state)
    order, _ = graph.topological_order()
    expected = [n for n in order if graph.nodes[n].kind in WEIGHT_KINDS]
    assert view.layers() == expected
    convs = [n for n in expected if graph.nodes[n].kind != "dense"]
    assert view.current_layer() == (convs[0] if convs else expected[0])  # the first conv, else the first dense


def test_mnist_cnn_lists_its_five_layers_and_starts_on_conv1(qtbot, view, presets):
    graph, state = presets["mnist-cnn"]
    show_weights(qtbot, view, graph, state)
    assert view.layers() == ["conv1", "conv2", "conv3", "dense1", "dense2"]
    assert view.current_layer() == "conv1"
    assert view.combo.currentText().startswith("conv1")


def test_first_conv_layer_draws_one_image_per_filter(qtbot, view, presets):
    graph, state = presets["mnist-cnn"]
    show_weights(qtbot, view, graph, state)
    tiles = view.tiles()
    assert len(tiles) == 32 == state["conv1.weight"].shape[0]
    image = view.image()
    for box in tiles:
        assert image.rect().contains(box)
        assert 24 <= box.width() == box.height() <= 48  # a 3×3 kernel scaled up by a whole number
    assert len({(b.x(), b.y()) for b in tiles}) == 32  # no two tiles on top of each other
    assert "32 filters of 3×3" in view.note_text()
    lo, hi = view.levels()
    assert lo == -hi and hi == pytest.approx(float(state["conv1.weight"].abs().max()))
    assert view.scale.isVisibleTo(view) and view.scale.levels() == (lo, hi)
    assert view.scale.text().startswith("weight:")


def test_a_known_positive_weight_shows_the_red_end_and_a_negative_one_the_blue_end(qtbot, view, presets):
    graph, state = presets["mnist-cnn"]
    state = copied(state)
    w = torch.zeros_like(state["conv1.weight"])
    w[5, 0, 1, 2] = 0.5
    w[7, 0, 0, 0] = -0.5
    state["conv1.weight"] = w
    show_weights(qtbot, view, graph, state)
    image, tiles = view.image(), view.tiles()
    assert view.levels() == (-0.5, 0.5)
    assert rgb_at(image, *cell_center(tiles[5], 1, 2, 3, 3)) == RED_END
    assert rgb_at(image, *cell_center(tiles[7], 0, 0, 3, 3)) == BLUE_END
    zero = rgb_at(image, *cell_center(tiles[5], 0, 0, 3, 3))
    assert zero in (WHITE_MIDDLE, tuple(int(c) for c in lut(DIVERGING)[128]))  # zero sits in the white middle
    # every pixel of a tile's kernel cell is the same colour (nearest neighbour, no smoothing)
    box = tiles[5]
    cell_w = box.width() // 3
    x0, y0 = box.x() + 2 * cell_w, box.y() + cell_w
    assert {rgb_at(image, x0 + dx, y0 + dy) for dx in range(cell_w) for dy in range(cell_w)} == {RED_END}


def test_deeper_conv_is_a_grid_row_per_filter_column_per_input_channel_capped(qtbot, view, presets):
    graph, state = presets["mnist-cnn"]
    state = copied(state)
    w = torch.zeros_like(state["conv2.weight"])  # [64, 32, 3, 3]
    w[3, 7, 1, 1] = 2.0
    w[40, 0, 1, 1] = -9.0  # beyond the first 32 filters: not drawn, but it sets the layer's shared levels
    state["conv2.weight"] = w
    show_weights(qtbot, view, graph, state)
    view.set_current_layer("conv2")
    tiles = view.tiles()
    assert len(tiles) == MAX_GRID * 32  # 32 of 64 filters × all 32 input channels
    assert "first 32 of 64 filters" in view.note_text()
    assert "input channels" not in view.note_text().split("Showing")[1]
    assert view.levels() == (-9.0, 9.0)
    tile = tiles[3 * 32 + 7]  # row = filter 3, column = input channel 7
    assert tiles[3 * 32].y() == tile.y() and tiles[7].x() == tile.x()
    expected = tuple(int(c) for c in lut(DIVERGING)[int((2.0 + 9.0) * 255 / 18)])
    assert rgb_at(view.image(), *cell_center(tile, 1, 1, 3, 3)) == expected
    assert max(view.image().width(), view.image().height()) <= 1024

    view.set_current_layer("conv3")  # [64, 64, 3, 3]: both capped
    assert len(view.tiles()) == 32 * 32
    assert "first 32 of 64 filters and the first 32 of 64 input channels" in view.note_text()


def test_lenet_second_conv_shows_all_its_kernels_without_a_cap_note(qtbot, view, presets):
    graph, state = presets["lenet5"]
    show_weights(qtbot, view, graph, state)
    view.set_current_layer("conv2")
    assert len(view.tiles()) == 16 * 6
    assert "Showing" not in view.note_text()
    assert view.tiles()[0].width() == 30  # 5×5 scaled by 6


def test_patch_embedding_filters_are_shown_like_a_first_conv(qtbot, view, presets):
    graph, state = presets["vit-mini"]
    show_weights(qtbot, view, graph, state)
    assert view.current_layer() == "patches"
    assert len(view.tiles()) == 64
    assert "64 filters of 4×4" in view.note_text()


def test_a_three_channel_first_conv_is_drawn_in_colour(qtbot, view, presets):
    graph, _ = presets["mnist-cnn"]
    graph = graph.copy()
    graph.nodes["input"].params["shape"] = [3, 28, 28]
    w = torch.zeros(8, 3, 3, 3)
    w[0, :, 0, 0] = torch.tensor([1.0, -1.0, 0.0])
    show_weights(qtbot, view, graph, {"conv1.weight": w})
    assert view.layers() == ["conv1"]
    assert len(view.tiles()) == 8
    assert view.levels() is None and not view.scale.isVisibleTo(view)  # no single colour scale for RGB
    assert "grey is 0" in view.note_text()
    assert rgb_at(view.image(), *cell_center(view.tiles()[0], 0, 0, 3, 3)) == (255, 0, 127)


def test_the_chosen_layer_survives_new_weights_and_falls_back_when_gone(qtbot, view, presets):
    graph, state = presets["mnist-cnn"]
    show_weights(qtbot, view, graph, state)
    view.set_current_layer("dense1")
    for seed in (1, 2):
        show_weights(qtbot, view, graph, build_module(graph, seed=seed).state_dict(), note=f"step {seed}")
        assert view.current_layer() == "dense1"
        assert view.title.text().startswith("dense1")
        assert view.summary_text().endswith(f"step {seed}")
    mlp, mlp_state = presets["mlp"]
    show_weights(qtbot, view, mlp, mlp_state)  # mlp has a dense1 too: kept
    assert view.current_layer() == "dense1"
    lenet, lenet_state = presets["lenet5"]
    view.set_current_layer("dense3")
    show_weights(qtbot, view, lenet, lenet_state)
    assert view.current_layer() == "dense3"
    show_weights(qtbot, view, graph, state)  # mnist-cnn has no dense3: back to the first conv
    assert view.current_layer() == "conv1"


def test_several_quick_updates_draw_once_with_the_latest(qtbot, view, presets):
    graph, state = presets["mnist-cnn"]
    for i in range(5):
        view.set_weights(graph, state, note=f"step {i}")
    assert view.render_count == 0  # nothing drawn inside set_weights
    qtbot.waitUntil(lambda: view.render_count == 1, timeout=2000)
    qtbot.wait(RENDER_DELAY_MS + 150)
    assert view.render_count == 1
    assert view.summary_text().endswith("step 4")


def test_nothing_is_drawn_while_hidden_and_the_latest_is_drawn_on_show(qtbot, presets):
    graph, state = presets["mnist-cnn"]
    v = WeightsView()
    qtbot.addWidget(v)
    v.set_weights(graph, state, note="first")
    v.set_weights(graph, state, note="second")
    qtbot.wait(RENDER_DELAY_MS + 150)
    assert v.render_count == 0 and v.image() is None
    v.show()
    qtbot.waitExposed(v)
    assert v.render_count == 1
    assert v.summary_text().endswith("second")
    v.hide()
    v.set_weights(graph, state, note="third")
    qtbot.wait(RENDER_DELAY_MS + 150)
    assert v.render_count == 1
    v.show()
    assert v.render_count == 2 and v.summary_text().endswith("third")


def test_the_tensors_are_never_modified(qtbot, view, presets):
    graph, state = presets["mlp"]
    before = copied(state)
    show_weights(qtbot, view, graph, state)
    for layer in view.layers():
        view.set_current_layer(layer)
        view.as_images.setChecked(not view.as_images.isChecked())
    for key, value in state.items():
        assert torch.equal(value, before[key]), key
    array = weights_module.as_array(state["dense1.weight"])
    assert not array.flags.writeable
    assert np.shares_memory(array, state["dense1.weight"].numpy())  # a view, not a copy of a large matrix


def test_dense_matrix_heatmap_rows_are_units_columns_are_inputs(qtbot, view, presets):
    graph, state = presets["mnist-cnn"]
    state = copied(state)
    w = torch.zeros_like(state["dense2.weight"])  # [10, 64]
    w[2, 5] = 0.25
    w[9, 63] = -0.25
    state["dense2.weight"] = w
    show_weights(qtbot, view, graph, state)
    view.set_current_layer("dense2")
    assert not view.as_images.isVisibleTo(view)  # 64 inputs are no image
    image = view.image()
    sy, sx = image.height() / 10, image.width() / 64
    assert sy == int(sy) and sx == int(sx) and sy >= 2  # whole pixels per weight, scaled up from 10×64
    assert rgb_at(image, (5 + 0.5) * sx, (2 + 0.5) * sy) == RED_END
    assert rgb_at(image, (63 + 0.5) * sx, (9 + 0.5) * sy) == BLUE_END
    assert "weight 10×64" in view.summary_text() and "mean" in view.summary_text() and "std" in view.summary_text()


def test_as_images_is_offered_only_for_a_dense_layer_reading_the_784_pixels(qtbot, view, presets):
    graph, state = presets["mlp"]
    state = copied(state)
    w = torch.zeros_like(state["dense1.weight"])  # [256, 784]
    w[3, 10 * 28 + 20] = 1.0  # unit 3 likes the pixel at row 10, column 20
    state["dense1.weight"] = w
    show_weights(qtbot, view, graph, state)
    assert view.current_layer() == "dense1"
    assert view.as_images.isVisibleTo(view)
    assert len(view.tiles()) == 1  # the matrix first
    view.as_images.setChecked(True)
    tiles = view.tiles()
    assert len(tiles) == 256 and (tiles[0].width(), tiles[0].height()) == (28, 28)
    assert rgb_at(view.image(), tiles[3].x() + 20, tiles[3].y() + 10) == RED_END
    assert "28×28" in view.note_text()
    view.set_current_layer("dense2")  # 256 inputs: not an image
    assert not view.as_images.isVisibleTo(view) and len(view.tiles()) == 1
    cnn, cnn_state = presets["mnist-cnn"]
    show_weights(qtbot, view, cnn, cnn_state)
    view.set_current_layer("dense1")  # 576 inputs after the convolutions: not the image either
    assert not view.as_images.isVisibleTo(view)


def test_large_matrices_are_averaged_in_blocks():
    matrix = np.arange(6 * 9, dtype=np.float32).reshape(6, 9)
    mean, block = block_mean(matrix, limit=3)
    assert block == (2, 3)
    np.testing.assert_allclose(mean, matrix.reshape(3, 2, 3, 3).mean(axis=(1, 3)))
    ragged, block = block_mean(np.ones((5, 7), np.float32), limit=3)  # padded blocks average only real values
    assert block == (2, 3) and ragged.shape == (3, 3) and np.all(ragged == 1)
    picture = render_dense(np.random.default_rng(0).normal(size=(2048, 3000)).astype(np.float32))
    assert picture.image.width() <= 1024 and picture.image.height() <= 1024
    assert "mean of a 2×3 block" in picture.note


def test_clear_shows_the_message_and_forgets_the_weights(qtbot, view, presets):
    graph, state = presets["mnist-cnn"]
    show_weights(qtbot, view, graph, state)
    assert view.export_button.isEnabled()
    view.clear("Build the network to see its weights.")
    assert view.message.isVisibleTo(view) and view.message.text() == "Build the network to see its weights."
    assert not view.scroll.isVisibleTo(view)
    assert view.layers() == [] and view.image() is None and not view.export_button.isEnabled()
    view.set_weights(graph, state)
    view.clear()  # a pending update is dropped too
    qtbot.wait(RENDER_DELAY_MS + 150)
    assert view.image() is None


def test_a_network_without_weights_to_show_says_so(qtbot, view, presets):
    graph = load_graph("preset:lstm-rows")
    state = build_module(graph).state_dict()
    show_weights(qtbot, view, graph, state)
    assert view.layers() == ["dense"]  # the LSTM's own weights are not a conv or dense node
    show_weights(qtbot, view, graph, {k: v for k, v in state.items() if not k.startswith("dense.")})
    assert view.layers() == [] and view.message.isVisibleTo(view)
    assert "no convolution or dense layer" in view.message.text()


def test_filters_export_png_writes_the_picture_with_its_scale(qtbot, view, presets, tmp_path, dialogs):
    graph, state = presets["mnist-cnn"]
    show_weights(qtbot, view, graph, state)
    path = tmp_path / "filters.png"
    view.export_png(path)
    saved = QImage(str(path))
    assert not saved.isNull() and saved.width() >= view.image().width()
    assert saved.height() > view.image().height() + view.scale.height()  # title, picture, scale, summary
    dialogs.choose_file(str(tmp_path / "chosen"))
    view.export_button.click()
    assert dialogs.shown[-1][0] == "save" and "conv1" in dialogs.shown[-1][2]
    assert not QImage(str(tmp_path / "chosen.png")).isNull()


# -- HistogramsView ------------------------------------------------------------------------------------------------

EDGES = np.linspace(-10, 2, 49).astype(np.float32)  # 48 bins of a quarter decade
CENTERS = (EDGES[:-1] + EDGES[1:]) / 2
LAYERS = ("conv1", "conv2", "dense1")


def band(mu: float, sd: float = 0.5) -> np.ndarray:
    p = np.exp(-0.5 * ((CENTERS - mu) / sd) ** 2)
    return (p / p.sum()).astype(np.float32)


def message(run_id: int, step: int, grad_log10=(-3.0, -3.5, -4.0), layers=LAYERS, weight_log10=-1.5):
    """A ParamHistograms as the worker sends it: per layer a band of fractions around 10**mu; NaN mu = frozen."""
    grads = np.stack([np.full(len(CENTERS), np.nan, np.float32) if math.isnan(mu) else band(mu)
                      for mu in grad_log10])
    weights = np.stack([band(weight_log10) for _ in layers])
    grad_rms = np.array([10 ** mu for mu in grad_log10], np.float32)
    return ParamHistograms(run_id, step, tuple(layers), EDGES, weights, grads,
                           np.full(len(layers), 10 ** weight_log10, np.float32), grad_rms)


@pytest.fixture
def hist(qtbot):
    v = on_screen(qtbot, HistogramsView(), 900, 800)
    return v


def repainted(qtbot, view):
    before = view.render_count
    qtbot.waitUntil(lambda: view.render_count > before, timeout=2000)


def test_begin_run_forgets_the_previous_run_and_other_runs_are_ignored(qtbot, hist):
    hist.begin_run(1)
    for step in (10, 20, 30):
        hist.add(message(1, step))
    repainted(qtbot, hist)
    assert list(hist.steps()) == [10, 20, 30] and hist.layers() == list(LAYERS)
    hist.begin_run(2)
    assert len(hist.steps()) == 0 and hist.message.isVisibleTo(hist)
    hist.add(message(1, 40))  # a late message of the old run
    assert len(hist.steps()) == 0
    hist.add(message(2, 5))
    repainted(qtbot, hist)
    assert list(hist.steps()) == [5] and hist.scroll.isVisibleTo(hist)


def test_columns_grow_then_are_thinned_evenly_keeping_the_first_and_the_last(qtbot, hist):
    hist.begin_run(7)
    for i in range(1, 11):
        hist.add(message(7, i))
    assert list(hist.steps()) == list(range(1, 11))
    for n in range(11, 2501):
        hist.add(message(7, n))
        if n in (MAX_COLUMNS, MAX_COLUMNS + 1, 1234, 2500):
            steps = hist.steps()
            assert len(steps) <= MAX_COLUMNS + 1
            assert steps[0] == 1 and steps[-1] == n  # the whole run, up to the newest message
    kept = hist.steps()
    assert len(kept) > MAX_COLUMNS // 2
    assert len(set(np.diff(kept[:-1]).tolist())) == 1  # evenly spaced (the newest may sit off the stride)
    repainted(qtbot, hist)
    assert hist.render_count == 1  # 2,500 messages, one repaint


def test_pictures_coloured_a_few_snapshots_at_a_time_match_pictures_coloured_at_once(qtbot, hist):
    """Each repaint colours only the snapshots that are new since the last one: through thinning, a newest message
    off the stride, a frozen layer and a change of levels, the pictures are the same as coloured from scratch."""
    hist.history.limit = 16  # thinned many times in this test
    rng = np.random.default_rng(3)
    hist.begin_run(1)
    messages = []
    for step in range(1, 60):
        mu = (-3.0 - step / 30, -2.0 + rng.normal(), math.nan)
        m = message(1, step, grad_log10=mu)
        if step > 40:  # levels change: a much more peaked band
            m.weights[0] = np.eye(len(CENTERS), dtype=np.float32)[step % len(CENTERS)]
        messages.append(m)
        hist.add(m)
        if step % 3 == 0:
            hist._repaint()
    hist._repaint()
    fresh = on_screen(qtbot, HistogramsView(), 900, 800)
    fresh.history.limit = 16
    fresh.begin_run(1)
    for m in messages:
        fresh.add(m)
    fresh._repaint()
    assert list(fresh.steps()) == list(hist.steps()) and len(hist.steps()) <= 17
    for node_id in LAYERS:
        for kind in ("weights", "grads"):
            ours, theirs = getattr(hist.rows[node_id], kind).image(), getattr(fresh.rows[node_id], kind).image()
            assert (ours is None) == (theirs is None) == (node_id == "dense1" and kind == "grads")
            assert ours is None or ours == theirs, (node_id, kind)


def test_history_stride_doubles_each_time_it_is_full():
    h = History(limit=8)
    for step in range(1, 40):
        h.add(Snapshot(step, np.zeros((1, 2)), np.zeros((1, 2)), np.ones(1), np.ones(1)))
        assert len(h) <= 9
    steps = [s.step for s in h.snapshots()]
    assert steps[0] == 1 and steps[-1] == 39
    assert np.diff(steps[:-1]).tolist() == [8] * (len(steps) - 2)


def test_vanishing_and_exploding_gradients_are_named_and_healthy_ones_are_not(qtbot, hist):
    hist.begin_run(1)
    hist.add(message(1, 1, grad_log10=(-3.0, -3.0, -3.0)))
    hist.add(message(1, 2, grad_log10=(-8.5, 3.0, -3.2)))
    repainted(qtbot, hist)
    warnings = hist.warnings()
    assert len(warnings) == 2
    assert warnings[0].startswith("conv1: gradients are vanishing (RMS 3.2e-09")
    assert warnings[1].startswith("conv2: gradients are exploding (RMS 1e+03)")
    assert hist.rows["conv1"].warning.isVisibleTo(hist) and not hist.rows["dense1"].warning.isVisibleTo(hist)
    assert "gradients are vanishing" in hist.status_text("conv1")
    assert hist.warnings_label.isVisibleTo(hist) and "conv2: gradients are exploding" in hist.warnings_label.text()
    assert hist.status_text("dense1") == "at step 2: weights RMS 0.0316  ·  gradients RMS 6.3e-04"


def test_a_drift_of_more_than_1000x_since_the_start_warns_even_within_the_absolute_limits(qtbot, hist):
    hist.begin_run(1)
    hist.add(message(1, 100, grad_log10=(-1.0, -4.0, -3.0)))
    hist.add(message(1, 200, grad_log10=(-4.5, -0.5, -3.1)))  # 3,162× lower, 3,162× higher, healthy
    repainted(qtbot, hist)
    assert hist.warnings() == [
        "conv1: gradients are vanishing (RMS 3.2e-05, 3,162× lower than at step 100)",
        "conv2: gradients are exploding (RMS 0.316, 3,162× what it was at step 100)",
    ]


def test_healthy_and_frozen_layers_give_no_warning(qtbot, hist):
    hist.begin_run(1)
    for step in range(1, 201):
        hist.add(message(1, step, grad_log10=(-3.0 - step / 200, -4.0, math.nan)))
    repainted(qtbot, hist)
    assert hist.warnings() == [] and not hist.warnings_label.isVisibleTo(hist)
    assert hist.status_text("dense1") == "at step 200: weights RMS 0.0316  ·  no gradient (frozen)"
    assert hist.rows["dense1"].grads.image() is None  # the panel says "no gradient (a frozen layer)"
    assert hist.rows["dense1"].weights.image() is not None


def test_gradient_warning_thresholds():
    assert gradient_warning("a", 1e-3) is None
    assert gradient_warning("a", math.nan) is None
    assert gradient_warning("a", 9e-8) == "a: gradients are vanishing (RMS 9.0e-08)"
    assert gradient_warning("a", 0.0) == "a: gradients are vanishing (RMS 0)"
    assert gradient_warning("a", 101.0) == "a: gradients are exploding (RMS 101)"
    assert gradient_warning("a", math.inf) == "a: gradients are exploding (not finite)"
    assert gradient_warning("a", 1e-4, start_rms=0.2, start_step=3).endswith("2,000× lower than at step 3)")
    assert gradient_warning("a", 1e-4, start_rms=0.05) is None  # 500×: not yet
    assert gradient_warning("a", 1e-4, start_rms=0.0) is None  # no ratio from a zero start


def test_the_picture_puts_time_along_x_and_large_values_at_the_top(qtbot, hist):
    hist.begin_run(1)
    # The first half of the run all of conv1's gradients sit in the top bin, the second half in the bottom one.
    for step in range(1, 101):
        m = message(1, step)
        grads = m.grads.copy()
        grads[0] = 0
        grads[0, -1 if step <= 50 else 0] = 1.0
        hist.add(ParamHistograms(1, step, m.layers, m.edges, m.weights, grads, m.weight_rms, m.grad_rms))
    repainted(qtbot, hist)
    image = hist.rows["conv1"].grads.image()
    top_end = tuple(int(c) for c in lut(SEQUENTIAL)[255])
    low_end = tuple(int(c) for c in lut(SEQUENTIAL)[0])
    assert hist.levels()["gradients"] == (0.0, 1.0)
    assert rgb_at(image, 5, 0) == top_end and rgb_at(image, 5, image.height() - 1) == low_end
    assert rgb_at(image, image.width() - 5, image.height() - 1) == top_end
    assert rgb_at(image, image.width() - 5, 0) == low_end
    assert hist.grad_scale.text() == "fraction of gradients: 0 … 1"


def test_a_bin_full_of_zeros_does_not_set_the_colour_scale(qtbot, hist):
    """Dead ReLU units give exact-zero gradients (the bottom bin): the other bands must stay readable."""
    hist.begin_run(1)
    m = message(1, 1)
    grads = m.grads.copy()
    grads[2] = 0.25 * band(-3.0)
    grads[2, 0] = 0.75  # three quarters of dense1's gradients are exactly zero
    hist.add(ParamHistograms(1, 1, m.layers, m.edges, m.weights, grads, m.weight_rms, m.grad_rms))
    repainted(qtbot, hist)
    lo, hi = hist.levels()["gradients"]
    assert lo == 0 and hi < 0.75 and hi >= float(grads[:, 1:].max())
    image = hist.rows["dense1"].grads.image()
    assert rgb_at(image, 5, image.height() - 1) == tuple(int(c) for c in lut(SEQUENTIAL)[255])  # clipped: full colour
    assert hist.levels()["weights"][1] >= float(m.weights.max())


def test_histograms_repaint_once_for_many_messages_and_not_while_hidden(qtbot):
    v = HistogramsView()
    qtbot.addWidget(v)
    v.begin_run(3)
    for step in range(1, 6):
        v.add(message(3, step))
    qtbot.wait(REPAINT_MS + 150)
    assert v.render_count == 0
    v.show()
    qtbot.waitExposed(v)
    assert v.render_count == 1 and list(v.steps()) == [1, 2, 3, 4, 5]
    for step in range(6, 20):
        v.add(message(3, step))
    repainted(qtbot, v)
    qtbot.wait(REPAINT_MS + 150)
    assert v.render_count == 2


def test_histograms_clear_and_export(qtbot, hist, tmp_path, dialogs):
    hist.begin_run(1)
    for step in range(1, 30):
        hist.add(message(1, step, grad_log10=(-9.0, -3.0, -3.0)))
    repainted(qtbot, hist)
    path = tmp_path / "hist.png"
    hist.export_png(path)
    saved = QImage(str(path))
    assert not saved.isNull() and saved.height() > 3 * hist.rows["conv1"].grads.height()
    dialogs.choose_file(str(tmp_path / "chosen.png"))
    hist.export_button.click()
    assert not QImage(str(tmp_path / "chosen.png")).isNull()
    hist.clear("Train a network to see its histograms.")
    assert hist.message.text() == "Train a network to see its histograms." and hist.message.isVisibleTo(hist)
    assert len(hist.steps()) == 0 and hist.warnings() == [] and not hist.export_button.isEnabled()


def test_axis_labels_are_decades():
    assert [decade_label(d) for d in (-8, -4, 0)] == ["1e-8", "1e-4", "1e0"]
    assert histograms_module.nice_step(12, 6) == 2
    assert histograms_module.nice_step(2000, 4) == 500
