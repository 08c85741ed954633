"""The activations view (every layer's output for one image) and the saliency view: layout, colours, the
mailbox, focus, previews, the empty state and PNG export."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtGui import QImage

from playground.app.viz.activations import RENDER_MS, ActivationsView, layer_levels
from playground.app.viz.colormap import DIVERGING, SEQUENTIAL, lut
from playground.app.viz.saliency import EXPLANATION, PICTURE, SaliencyView
from playground.core.train.insight import Insight, LayerView
from tests.app.helpers import on_screen

DIGITS = tuple(str(i) for i in range(10))
WAIT = 2000


# -- data ----------------------------------------------------------------------------------------------
def seven() -> np.ndarray:
    """A 28×28 uint8 "7": a bar and a diagonal stroke, soft edges."""
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float32)

    def segment(y0, x0, y1, x1):
        d = np.array([y1 - y0, x1 - x0], dtype=np.float32)
        t = np.clip(((yy - y0) * d[0] + (xx - x0) * d[1]) / float(d @ d), 0, 1)
        return np.hypot(yy - (y0 + t * d[0]), xx - (x0 + t * d[1]))

    dist = np.minimum(segment(6, 6, 6, 21), segment(6, 21, 23, 11))
    return (np.clip(1.6 - dist / 1.2, 0, 1) * 255).astype(np.uint8)


def conv_maps(image: np.ndarray, channels: int, size: int, seed: int, relu: bool = True) -> np.ndarray:
    """Feature maps that look like a trained layer's: the image correlated with random 3×3 kernels."""
    rng = np.random.default_rng(seed)
    x = image.astype(np.float32) / 255.0
    step = max(1, 26 // size)  # 26×26 windows; every other one for a pooled-size layer
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3))[::step, ::step][:size, :size]
    kernels = rng.normal(size=(channels, 3, 3)).astype(np.float32)
    out = np.einsum("hwij,cij->chw", windows, kernels)
    return np.maximum(out, 0) if relu else out


def layer(node_id, view, values, title=None, kind="conv2d", shape=None, truncated=False) -> LayerView:
    values = np.asarray(values, dtype=np.float32)
    return LayerView(node_id=node_id, kind=kind, title=title or view.title(), view=view,
                     shape=tuple(shape or values.shape), values=values, truncated=truncated)


def make_insight(*layers: LayerView, predicted: int = 7, p: float = 0.93, saliency=None) -> Insight:
    image = seven()
    probs = np.full(10, (1 - p) / 9, dtype=np.float32)
    probs[predicted] = p
    if saliency is None:
        saliency = (image.astype(np.float32) / 255.0) * np.linspace(-1, 1, 28, dtype=np.float32)[None, :]
    return Insight(image=image, probabilities=probs, predicted=predicted, layers=tuple(layers),
                   saliency=np.asarray(saliency, dtype=np.float32))


def cnn_insight() -> Insight:
    image = seven()
    normalized = (image.astype(np.float32) / 255.0 - 0.1307) / 0.3081
    rng = np.random.default_rng(3)
    return make_insight(
        layer("input", "maps", normalized[None], title="Input", kind="input"),
        layer("conv1", "maps", conv_maps(image, 32, 26, 1), title="Convolution 2D"),
        layer("conv2", "maps", conv_maps(image, 64, 11, 2), title="Convolution 2D", shape=(64, 11, 11)),
        layer("dense1", "units", np.maximum(rng.normal(size=128), 0), title="Dense", kind="dense"),
        layer("out", "units", rng.normal(size=10) * 3, title="Dense", kind="dense"),
    )


def attention_insight(heads: int = 4, tokens: int = 49) -> Insight:
    rng = np.random.default_rng(5)
    q = np.arange(tokens)
    near = -np.abs(q[:, None] - q[None, :]) / 3.0
    logits = near[None] * rng.uniform(0.3, 2, size=(heads, 1, 1)) + rng.normal(scale=0.5, size=(heads, tokens, tokens))
    att = np.exp(logits - logits.max(-1, keepdims=True))
    att /= att.sum(-1, keepdims=True)
    return make_insight(layer("attn", "attention", att, title="Self-attention", kind="self_attention"))


def rnn_insight(steps: int = 28, hidden: int = 256) -> Insight:
    rng = np.random.default_rng(6)
    drift = np.cumsum(rng.normal(scale=0.3, size=(steps, hidden)), axis=0)
    return make_insight(layer("lstm", "sequence", np.tanh(drift), title="LSTM", kind="lstm"))


# -- fixtures ------------------------------------------------------------------------------------------
@pytest.fixture
def view(qtbot):
    v = on_screen(qtbot, ActivationsView(), 700, 500)
    return v


def shown(qtbot, v, insight: Insight, note: str = "") -> None:
    before = v.render_count
    v.show_insight(insight, note)
    qtbot.waitUntil(lambda: v.render_count > before, timeout=WAIT)
    qtbot.wait(10)  # the layout's pass over the new pictures


def rgb_at(image: QImage, x: int, y: int) -> tuple[int, int, int]:
    c = image.pixelColor(x, y)
    return c.red(), c.green(), c.blue()


def lut_rgb(name: str, index: int) -> tuple[int, int, int]:
    return tuple(int(c) for c in lut(name)[index])


def close(a, b, tol: int = 2) -> bool:
    return all(abs(int(x) - int(y)) <= tol for x, y in zip(a, b, strict=True))


# -- activations: layout ---------------------------------------------------------------------------------
def test_empty_before_any_insight(view):
    assert view.section_ids() == []
    assert view.empty_label.isVisible()
    assert "Draw a digit" in view.empty_label.text()
    assert view.preview_pixmap("conv1", QSize(64, 64)) is None


def test_sections_in_graph_order_with_titles(qtbot, view):
    shown(qtbot, view, cnn_insight(), "live: run 2, step 480")
    assert view.section_ids() == ["input", "conv1", "conv2", "dense1", "out"]
    assert view.section("conv1").title.text() == "conv1 · Convolution 2D  32×26×26"
    assert view.section("dense1").title.text() == "dense1 · Dense  128"
    assert view.note() == "live: run 2, step 480"
    assert not view.empty_label.isVisible()
    # Laid out top to bottom in that order.
    ys = [view.section(i).y() for i in view.section_ids()]
    assert ys == sorted(ys) and len(set(ys)) == len(ys)


def test_maps_layer_has_one_cell_per_channel_in_rows(qtbot, view):
    shown(qtbot, view, cnn_insight())
    section = view.section("conv1")
    cells = section.cells()
    assert len(cells) == 32
    side = cells[0].width()
    assert 40 <= side <= 56 and cells[0].height() == side  # 26×26 enlarged by an integer factor
    assert len({c.y() for c in cells}) > 1  # wrapped into rows within the view's width
    image = section.image()
    assert image.width() <= view.scroll.viewport().width()
    assert all(image.rect().contains(c) for c in cells)


def test_positive_layer_uses_viridis_from_zero_to_max(qtbot, view):
    values = np.zeros((3, 5, 5), dtype=np.float32)
    values[1] = 2.0  # the max: the top of the map
    values[2] = 1.0
    shown(qtbot, view, make_insight(layer("relu", "maps", values)))
    section = view.section("relu")
    assert section.scale.levels() == (0.0, 2.0)
    assert section.scale.text() == "activation: 0 … 2"
    image, cells = section.image(), section.cells()
    assert close(rgb_at(image, cells[0].center().x(), cells[0].center().y()), lut_rgb(SEQUENTIAL, 0))
    assert close(rgb_at(image, cells[1].center().x(), cells[1].center().y()), lut_rgb(SEQUENTIAL, 255))
    assert close(rgb_at(image, cells[2].center().x(), cells[2].center().y()), lut_rgb(SEQUENTIAL, 127), tol=4)


def test_signed_layer_uses_the_diverging_map_with_symmetric_levels(qtbot, view):
    values = np.array([[[-0.5]], [[0.0]], [[2.0]]], dtype=np.float32)  # 3 channels of 1×1
    shown(qtbot, view, make_insight(layer("bn", "maps", values)))
    section = view.section("bn")
    assert section.scale.levels() == (-2.0, 2.0)
    image, cells = section.image(), section.cells()
    zero = rgb_at(image, cells[1].center().x(), cells[1].center().y())
    top = rgb_at(image, cells[2].center().x(), cells[2].center().y())
    assert close(zero, lut_rgb(DIVERGING, 127))  # zero sits in the middle (white)
    assert close(top, lut_rgb(DIVERGING, 255))
    assert top[0] > top[2] + 80  # red
    low = rgb_at(image, cells[0].center().x(), cells[0].center().y())
    assert close(low, lut_rgb(DIVERGING, int((-0.5 + 2) * 255 / 4)))  # bluish, a quarter of the way
    assert low[2] > low[0]


def test_units_wrap_into_rows_of_32(qtbot, view):
    shown(qtbot, view, make_insight(layer("fc", "units", np.linspace(0, 1, 40), kind="dense")))
    cells = view.section("fc").cells()
    assert len(cells) == 40
    assert len({c.y() for c in cells[:32]}) == 1
    assert cells[32].y() > cells[0].y() and cells[32].x() == cells[0].x()
    image = view.section("fc").image()
    assert close(rgb_at(image, cells[39].center().x(), cells[39].center().y()), lut_rgb(SEQUENTIAL, 255))


def test_sequence_heatmap_rows_are_time_steps(qtbot, view):
    values = np.zeros((28, 256), dtype=np.float32)
    values[27, :] = 1.0  # the last step bright, the rest 0
    shown(qtbot, view, make_insight(layer("rnn", "sequence", values, kind="lstm")))
    section = view.section("rnn")
    assert "time step ↓" in section.axes.text() and "feature →" in section.axes.text()
    assert section.axes.isVisible()
    image = section.image()
    assert image.width() >= 256 and image.height() >= 28 * 2
    assert close(rgb_at(image, 10, image.height() - 1), lut_rgb(SEQUENTIAL, 255))
    assert close(rgb_at(image, 10, 0), lut_rgb(SEQUENTIAL, 0))


def test_attention_one_heatmap_per_head_in_viridis(qtbot, view):
    shown(qtbot, view, attention_insight(heads=4, tokens=49))
    section = view.section("attn")
    assert len(section.cells()) == 4
    assert section.scale.text().startswith("attention weight: 0 …")
    assert section.scale.levels()[0] == 0.0
    assert layer_levels(view.insight().layers[0])[1] == SEQUENTIAL
    assert section.describe(section.cells()[2].center()) == "head 3"


def test_truncated_layer_says_so(qtbot, view):
    values = np.ones((64, 13, 13), dtype=np.float32)
    shown(qtbot, view, make_insight(layer("wide", "maps", values, shape=(128, 13, 13), truncated=True)))
    section = view.section("wide")
    assert section.title.text() == "wide · Maps  128×13×13  (first 64 of 128 channels)"
    assert len(section.cells()) == 64


def test_sections_are_kept_when_the_layers_are_the_same(qtbot, view):
    shown(qtbot, view, cnn_insight())
    first = view.section("conv1")
    shown(qtbot, view, cnn_insight(), "step 2")
    assert view.section("conv1") is first
    shown(qtbot, view, attention_insight())
    assert view.section_ids() == ["attn"] and view.section("conv1") is None


# -- activations: the mailbox --------------------------------------------------------------------------
def test_a_burst_of_insights_renders_once_the_newest(qtbot, view):
    shown(qtbot, view, cnn_insight())  # the view is laid out: no resize re-render later
    count = view.render_count
    for step in range(5):
        view.show_insight(cnn_insight(), f"live: run 1, step {step}")
    assert view.render_count == count  # nothing heavy per call
    qtbot.waitUntil(lambda: view.render_count > count, timeout=WAIT)
    qtbot.wait(RENDER_MS * 3)
    assert view.render_count == count + 1
    assert view.note() == "live: run 1, step 4"


# -- activations: focus ----------------------------------------------------------------------------------
def test_focus_scrolls_to_the_section_and_enlarges_it(qtbot, view):
    image = seven()
    layers = [layer(f"conv{i}", "maps", conv_maps(image, 32, 26, i)) for i in range(6)]
    shown(qtbot, view, make_insight(*layers))
    last = view.section("conv5")
    assert last.visibleRegion().isEmpty()  # far below the fold
    normal = last.cells()[0].width()
    normal_height = last.sizeHint().height()

    view.focus_node("conv5")
    qtbot.waitUntil(lambda: not last.visibleRegion().isEmpty(), timeout=WAIT)
    assert view.focused_node() == "conv5" and last.is_focused()
    assert last.cells()[0].width() == 2 * normal
    assert last.sizeHint().height() > normal_height
    top_left = last.mapTo(view.scroll.viewport(), last.rect().topLeft())
    assert 0 <= top_left.y() < view.scroll.viewport().height()

    view.focus_node("conv0")
    qtbot.waitUntil(lambda: not view.section("conv0").visibleRegion().isEmpty(), timeout=WAIT)
    assert view.focused_node() == "conv0"
    assert not last.is_focused() and last.cells()[0].width() == normal

    view.focus_node("no-such-node")  # no error; nothing enlarged
    assert view.focused_node() is None
    assert view.section("conv0").cells()[0].width() == normal


def test_focus_kept_for_a_later_insight(qtbot, view):
    view.focus_node("conv1")  # before any insight
    shown(qtbot, view, cnn_insight())
    assert view.focused_node() == "conv1"
    enlarged = view.section("conv1").cells()[0].width()
    view.focus_node(None)
    assert view.focused_node() is None
    assert view.section("conv1").cells()[0].width() * 2 == enlarged


# -- activations: preview, clear, export ---------------------------------------------------------------
def test_preview_pixmap(qtbot, view):
    view.show_insight(cnn_insight())  # the newest insight counts even before it is rendered
    for node_id, size in (("conv1", QSize(120, 90)), ("dense1", QSize(64, 64)), ("input", QSize(48, 48))):
        pixmap = view.preview_pixmap(node_id, size)
        assert pixmap is not None and not pixmap.isNull() and pixmap.size() == size
        colours = {pixmap.toImage().pixel(x, y) for x in range(0, size.width(), 4) for y in range(0, size.height(), 4)}
        assert len(colours) > 3  # a picture, not a blank square
    assert view.preview_pixmap("nope", QSize(64, 64)) is None


def test_clear_empties_the_view(qtbot, view):
    shown(qtbot, view, cnn_insight(), "live")
    view.clear("Nothing to show")
    assert view.section_ids() == [] and view.section("conv1") is None
    assert view.empty_label.isVisible() and view.empty_label.text() == "Nothing to show"
    assert view.note() == ""
    assert view.preview_pixmap("conv1", QSize(32, 32)) is None
    # A render that was due is dropped.
    count = view.render_count
    view.show_insight(cnn_insight())
    view.clear("Again empty")
    qtbot.wait(RENDER_MS * 3)
    assert view.render_count == count and view.section_ids() == []


def test_export_png_writes_the_whole_content(qtbot, view, tmp_path):
    shown(qtbot, view, cnn_insight())
    path = tmp_path / "act.png"
    view.export_png(path)
    image = QImage(str(path))
    assert not image.isNull()
    assert image.size() == view.content().size()
    assert image.height() > view.scroll.viewport().height()  # also what is scrolled away


def test_export_button_asks_where(qtbot, view, tmp_path, dialogs):
    shown(qtbot, view, cnn_insight())
    target = tmp_path / "chosen"
    dialogs.choose_file(str(target))
    qtbot.mouseClick(view.export_button, Qt.MouseButton.LeftButton)
    assert dialogs.shown[-1] == ("save", "Export PNG", "activations.png")
    assert not QImage(str(target) + ".png").isNull()


# -- saliency ----------------------------------------------------------------------------------------------
@pytest.fixture
def saliency_view(qtbot):
    v = on_screen(qtbot, SaliencyView(), 560, 320)
    return v


def strong_saliency() -> np.ndarray:
    sal = np.zeros((28, 28), dtype=np.float32)
    sal[6, 10] = 3.0  # on the bar of the 7: pushed it up
    sal[20, 4] = -3.0  # off the stroke: pushed it down
    sal[14, 14] = 0.05  # faint: no colour in the overlay
    return sal


def test_saliency_title_pictures_and_scale(qtbot, saliency_view):
    v = saliency_view
    assert v.empty_label.isVisible() and v.title() == ""
    v.show_insight(make_insight(predicted=7, p=0.93, saliency=strong_saliency()), DIGITS)
    qtbot.waitUntil(lambda: v.render_count == 1, timeout=WAIT)
    assert v.title() == "What made it say ‘7’ (93%)"
    assert v.explanation.text() == EXPLANATION and v.explanation.isVisible()
    assert v.scale.text() == "gradient × input: -3 … 3"
    images = v.images()
    assert all(img.size() == QSize(PICTURE, PICTURE) for img in images)
    digit, saliency, overlay = images
    x, y = (int((c + 0.5) * PICTURE / 28) for c in (10, 6))  # the pixel (row 6, column 10)
    grey = rgb_at(digit, x, y)
    assert grey[0] == grey[1] == grey[2] > 200  # the stroke, in grey
    assert close(rgb_at(saliency, x, y), lut_rgb(DIVERGING, 255))
    r, g, b = rgb_at(overlay, x, y)
    assert r > g + 60 and r > b + 60  # strongly positive: red
    bx, by = (int((c + 0.5) * PICTURE / 28) for c in (4, 20))
    r, g, b = rgb_at(overlay, bx, by)
    assert b > r + 60  # strongly negative: blue
    fx, fy = (int((c + 0.5) * PICTURE / 28) for c in (14, 14))
    r, g, b = rgb_at(overlay, fx, fy)
    assert abs(r - g) <= 2 and abs(g - b) <= 2  # faint: the grey digit only


def test_saliency_class_names_and_mailbox(qtbot, saliency_view):
    v = saliency_view
    letters = tuple("abcdefghij")
    for p in (0.2, 0.4, 0.615):
        v.show_insight(make_insight(predicted=2, p=p), letters)
    assert v.render_count == 0
    qtbot.waitUntil(lambda: v.render_count == 1, timeout=WAIT)
    qtbot.wait(RENDER_MS * 3)
    assert v.render_count == 1
    assert v.title() == "What made it say ‘c’ (62%)"


def test_saliency_clear_and_export(qtbot, saliency_view, tmp_path, dialogs):
    v = saliency_view
    v.show_insight(make_insight(), DIGITS)
    qtbot.waitUntil(lambda: v.render_count == 1, timeout=WAIT)
    path = tmp_path / "sal.png"
    v.export_png(path)
    image = QImage(str(path))
    assert not image.isNull() and image.size() == v.content().size()
    assert image.width() >= 3 * PICTURE

    dialogs.choose_file(str(tmp_path / "via-dialog.png"))
    qtbot.mouseClick(v.export_button, Qt.MouseButton.LeftButton)
    assert dialogs.shown[-1] == ("save", "Export PNG", "saliency.png")
    assert not QImage(str(tmp_path / "via-dialog.png")).isNull()

    v.clear("Start a run first")
    assert v.empty_label.text() == "Start a run first" and v.empty_label.isVisible()
    assert v.title() == "" and all(img.isNull() for img in v.images())
    assert not v.export_button.isEnabled()


def test_odd_layers_do_not_break_the_view(qtbot, view):
    nan_maps = np.full((2, 4, 4), np.nan, dtype=np.float32)
    odd = make_insight(
        layer("nan", "maps", nan_maps),
        layer("none", "units", np.zeros(0)),
        layer("flat", "units", np.zeros(5)),  # all zero: levels (0, tiny), no division by zero
        layer("weird", "graph", np.ones(3)),
    )
    shown(qtbot, view, odd)
    assert view.section_ids() == ["nan", "none", "flat", "weird"]
    image, cells = view.section("nan").image(), view.section("nan").cells()
    assert rgb_at(image, cells[0].center().x(), cells[0].center().y()) == (128, 128, 128)  # NaN: grey
    assert view.section("none").picture.text() == "(no values)"
    assert close(rgb_at(view.section("flat").image(), 2, 2), lut_rgb(SEQUENTIAL, 0))
    assert "no picture" in view.section("weird").axes.text()


def test_tooltips_name_the_channel_and_unit(qtbot, view):
    values = np.zeros((3, 4, 4), dtype=np.float32)
    values[1, 0, 0] = 2.0
    shown(qtbot, view, make_insight(layer("c", "maps", values), layer("u", "units", [0.5, 0.25], kind="dense")))
    maps = view.section("c")
    assert maps.describe(maps.cells()[1].center()) == "channel 2: mean 0.125, max 2"
    assert maps.describe(maps.cells()[0].topRight() + QPoint(1, 0)) is None  # the gap between cells
    units = view.section("u")
    assert units.describe(units.cells()[1].center()) == "unit 2: 0.25"


def test_only_sections_in_sight_are_redrawn_and_the_others_catch_up_when_scrolled_to(qtbot, view):
    first = cnn_insight()
    shown(qtbot, view, first)
    bottom = view.section("out")
    assert bottom.y() > view.scroll.viewport().height()  # out of sight at 700×500
    before_bottom, before_top = bottom.image().copy(), view.section("input").image().copy()
    newer = make_insight(*[layer(v.node_id, v.view, -v.values if v.node_id in ("input", "out") else v.values,
                                 title=v.title, kind=v.kind, shape=v.shape) for v in first.layers])
    shown(qtbot, view, newer)
    assert view.section("input").image() != before_top  # in sight: drawn with the new values
    assert bottom.image() == before_bottom and bottom.deferred() is not None  # out of sight: put off
    view.scroll.verticalScrollBar().setValue(view.scroll.verticalScrollBar().maximum())
    assert bottom.deferred() is None and bottom.image() != before_bottom  # scrolled to: drawn now
    assert bottom.layer() is newer.layers[-1]


def test_export_draws_the_sections_put_off(qtbot, view, tmp_path):
    first = cnn_insight()
    shown(qtbot, view, first)
    newer = make_insight(*[layer(v.node_id, v.view, v.values * 2, title=v.title, kind=v.kind, shape=v.shape)
                           for v in first.layers])
    shown(qtbot, view, newer)
    assert view.section("out").deferred() is not None
    view.export_png(tmp_path / "a.png")
    assert view.section("out").deferred() is None and view.section("out").layer() is newer.layers[-1]
