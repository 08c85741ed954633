"""TaskWatch: what the open network is trained to do follows the document (app/task.py)."""

from __future__ import annotations

from playground.app.document import Document
from playground.app.editor.commands import set_param
from playground.app.task import CLASSIFICATION, GENERATION, POINTS, TaskWatch
from playground.core.graph import load_graph


def input_id(document: Document) -> str:
    return document.graph.nodes_of_kind("input")[0].id


def test_the_inputs_dataset_makes_a_network_a_points_network_and_back(qtbot):
    document = Document()
    document.load(load_graph("preset:mlp"))
    watch = TaskWatch(document)
    seen = []
    watch.changed.connect(seen.append)
    assert watch.task == CLASSIFICATION and not watch.points and not watch.gan

    document.push(set_param(document, input_id(document), "dataset", "spiral"))
    assert watch.task == POINTS and watch.points and seen == [POINTS]
    document.push(set_param(document, input_id(document), "dataset", "moons"))  # points still: nothing to say
    assert seen == [POINTS]
    document.undo()
    document.undo()
    assert watch.task == CLASSIFICATION and seen == [POINTS, CLASSIFICATION]
    document.redo()
    assert watch.task == POINTS and seen == [POINTS, CLASSIFICATION, POINTS]


def test_other_parameters_and_other_nodes_leave_the_task_alone(qtbot, monkeypatch):
    document = Document()
    document.load(load_graph("preset:mlp"))
    watch = TaskWatch(document)
    checks = []
    monkeypatch.setattr(watch, "_check", lambda *args: checks.append(args))
    dense = document.graph.nodes_of_kind("dense")[0].id
    document.push(set_param(document, dense, "units", 17))
    assert checks == []  # only the Input's parameters can change the task: the rest is not looked at
    document.push(set_param(document, input_id(document), "dataset", "fashion-mnist"))
    assert len(checks) == 1


def test_a_gan_is_generation(qtbot):
    document = Document()
    watch = TaskWatch(document)
    document.load(load_graph("preset:dcgan-mnist"))
    assert watch.task == GENERATION and watch.gan and not watch.points
