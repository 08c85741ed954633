"""Fine-tune on my digits from the window: the My digits window's controls, the editor's Trainable flags, the run
in the training process, and what the network said of each digit before and says after."""

from __future__ import annotations

import numpy as np
import pytest

from playground.app.editor import commands
from playground.core.data import load_dataset
from playground.core.graph import Node
from playground.core.run.messages import FinetuneReport, RunFinished

from .conftest import make_window
from .helpers import collect
from .test_training_window import RUN_TIMEOUT, configure


def own_digits(per_class: int = 3):
    """A person who writes differently: test digits of the offline sample, thickened (per_class a class)."""
    sample = load_dataset("mnist-sample")
    x, y = sample.test_images[:, 0].numpy(), sample.test_labels.numpy()
    for k in range(10):
        for i in np.flatnonzero(y == k)[:per_class]:
            a = x[i]
            yield np.maximum.reduce([a, np.roll(a, 1, 0), np.roll(a, 1, 1)]), str(k)


@pytest.fixture
def window(qtbot, settings, monkeypatch, tmp_path):
    monkeypatch.setenv("PLAYGROUND_USER_DATA_DIR", str(tmp_path / "user"))  # a store of this test's own
    monkeypatch.delenv("PLAYGROUND_DATA_DIR", raising=False)  # train on and replay the offline sample: quick
    window = make_window(qtbot, settings)
    window.workbench.files.new_from_preset("mlp")
    window.workbench.shapes.run_now()
    return window


def keep(row, digits) -> None:
    for image, label in digits:
        row.store.add(image, None, label)
    row.changed_digits()


def trainable(window) -> dict[str, bool]:
    return {nid: n.trainable for nid, n in window.workbench.document.graph.nodes.items()}


def test_fine_tuning_from_the_my_digits_window(qtbot, window):
    row = window.training.digits.my_digits
    box = row.show_gallery().finetune
    assert not box.button.isEnabled() and "Train the network" in box.state.text()  # no weights yet

    configure(window)
    finished = collect(window, RunFinished)
    window.acts.start_training.trigger()
    qtbot.waitUntil(lambda: bool(finished), timeout=RUN_TIMEOUT)
    assert finished[-1].status == "completed"
    assert not box.button.isEnabled() and "Keep a few digits" in box.state.text()

    keep(row, list(own_digits(1))[:1])  # a class with a single digit cannot be measured on
    assert not box.button.isEnabled() and "only 1 digit" in box.state.text()
    keep(row, list(own_digits(3))[1:])
    assert box.button.isEnabled(), box.state.text()

    # The Frozen list: the layers up to the last Dense, the default keeping all but the last Dense frozen
    items = [box.freeze.itemData(i) for i in range(box.freeze.count())]
    assert items == ["input", "flatten", "dense1", "relu1", "dropout1", "dense2", "relu2"]
    assert box.freeze.currentData() == "relu2" and "default" in box.freeze.currentText()
    assert all(trainable(window).values())  # nothing changed yet

    # Picking a layer sets the editor's Trainable flags, as one undo step
    box.freeze.setCurrentIndex(items.index("dense1"))
    box.freeze.activated.emit(box.freeze.currentIndex())
    flags = trainable(window)
    assert not flags["flatten"] and not flags["dense1"] and flags["dense2"] and flags["dense3"]
    window.workbench.document.undo()
    assert all(trainable(window).values())
    window.workbench.document.redo()

    reports = collect(window, FinetuneReport)
    first_run = window.training.weights.run_id
    box.button.click()
    qtbot.waitUntil(lambda: len(finished) == 2, timeout=RUN_TIMEOUT)
    assert finished[-1].status == "completed" and len(reports) == 1
    report = reports[0]
    assert report.frozen[-1] == "dense1" and set(report.trained) == {"dense2", "dense3"}
    assert not trainable(window)["dense1"]  # what the run froze, the editor shows

    # The weights in use are the tuned ones; the window says what fine-tuning bought and cost, side by side
    assert window.training.weights.run_id == finished[-1].run_id != first_run
    assert "before" in box.results.text() and "after" in box.results.text()
    assert f"{report.own_after:.1%}" in box.results.text() and "MNIST sample test (1,000)" in box.results.text()
    assert "Fine-tuned" in row.counter.text()
    # Each digit: what the network said before and says after; red where it is still wrong
    gallery = row.gallery
    texts = [gallery.list.item(i).text() for i in range(gallery.list.count())]
    assert len(texts) == 30 and all("→" in t for t in texts)
    assert sum(" · test" in t for t in texts) == int(report.held_out.sum()) == 10
    for i in range(gallery.list.count()):
        item = gallery.list.item(i)
        label, after = item.text().split("\n")[0].split(" ")[0], item.text().split("→ ")[1]
        assert item.foreground().color().name() == ("#1e823c" if after == label else "#be2828"), item.text()


def test_a_network_without_a_dense_layer_cannot_be_fine_tuned(qtbot, window):
    doc = window.workbench.document
    row = window.training.digits.my_digits
    box = row.show_gallery().finetune
    assert box.freeze.count() == 7
    doc.push(commands.remove(doc, [n for n, node in doc.graph.nodes.items() if node.kind == "dense"]))
    assert box.freeze.count() == 0 and not box.button.isEnabled()


def test_the_frozen_list_follows_any_network_without_failing(qtbot, window):
    """A Dense first in line (nothing before it to keep), a network on 2-D points, a GAN: no Frozen list, no
    error."""
    doc = window.workbench.document
    box = window.training.digits.my_digits.show_gallery().finetune
    window.acts.new.trigger()
    doc.push(commands.add_nodes(doc, [Node("dense", "dense", {"units": 4}, (0.0, 0.0))]))
    assert box.freeze.count() == 0 and not box.button.isEnabled()
    for preset in ("points-tfp", "dcgan-mnist"):
        doc.undo_stack.setClean()  # nothing to save
        window.workbench.files.new_from_preset(preset)
        assert box.freeze.count() == 0 and not box.button.isEnabled()
