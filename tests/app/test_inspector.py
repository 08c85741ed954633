"""The inspector: parameters as widgets, changes applied at once, one undo step per change, validated ids."""

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from playground.core.graph import Edge
from tests.app.helpers import click, node_pos


def select(window, node_id):
    click(window.workbench.view.viewport(), node_pos(window, node_id))
    assert window.workbench.scene.selected_node_ids() == [node_id]
    return window.workbench.inspector


def test_shows_the_selected_layer_with_a_widget_per_parameter(window):
    inspector = select(window, "conv1")
    assert inspector.id_edit.text() == "conv1"
    editors = inspector.editors
    assert isinstance(editors["filters"], QSpinBox) and editors["filters"].value() == 32
    assert (editors["filters"].minimum(), editors["filters"].maximum()) == (1, 1024)
    assert isinstance(editors["bias"], QCheckBox) and editors["bias"].isChecked()
    assert editors["kernel_size"].toolTip() == "Height and width of each filter."
    assert inspector.summary.text() == "Output: 32×26×26\nParameters: 320"
    inspector = select(window, "output")
    assert isinstance(inspector.editors["loss"], QComboBox)
    assert inspector.trainable is None  # Input and Output have nothing to train


def test_a_spin_box_edit_updates_the_graph_and_the_shapes_and_undoes(window, qtbot):
    wb = window.workbench
    inspector = select(window, "conv1")
    spin = inspector.editors["filters"]
    spin.setValue(16)
    assert wb.document.graph.nodes["conv1"].params["filters"] == 16
    qtbot.waitUntil(lambda: wb.scene.nodes["conv1"].shape_text == "→ 16×26×26")
    assert wb.scene.edges[Edge("conv1", "relu1")][0].label == "16×26×26"
    assert wb.scene.nodes["conv1"].summary == "16 filters · 3×3"
    assert window.isWindowModified()
    wb.document.undo_stack.undo()
    assert wb.document.graph.nodes["conv1"].params["filters"] == 32
    qtbot.waitUntil(lambda: wb.scene.nodes["conv1"].shape_text == "→ 32×26×26")
    assert spin.value() == 32  # the widget follows the model
    assert not window.isWindowModified()
    wb.document.undo_stack.redo()
    assert spin.value() == 16


def test_clicks_on_a_spin_box_merge_into_one_undo_step_until_the_edit_finishes(window):
    stack = window.workbench.document.undo_stack
    spin = select(window, "conv1").editors["filters"]
    for _ in range(3):
        spin.stepUp()
    assert window.workbench.document.graph.nodes["conv1"].params["filters"] == 35
    assert stack.count() == 1 and stack.undoText() == "Set conv1.filters"
    spin.editingFinished.emit()  # focus leaves, or Enter: the step is closed
    spin.stepUp()
    assert stack.count() == 2
    stack.undo()
    assert window.workbench.document.graph.nodes["conv1"].params["filters"] == 35
    stack.undo()
    assert window.workbench.document.graph.nodes["conv1"].params["filters"] == 32


def test_typing_a_value(window, qtbot):
    spin = select(window, "dense1").editors["units"]
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), "128")
    assert window.workbench.document.graph.nodes["dense1"].params["units"] == 64  # not until Enter
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert window.workbench.document.graph.nodes["dense1"].params["units"] == 128
    assert window.workbench.document.undo_stack.count() == 1


def test_choice_bool_and_float_parameters(window, qtbot):
    graph = window.workbench.document.graph
    combo = select(window, "output").editors["loss"]
    combo.activated.emit(combo.findText("mse"))
    assert graph.nodes["output"].params["loss"] == "mse"
    bias = select(window, "conv1").editors["bias"]
    bias.click()
    assert graph.nodes["conv1"].params["bias"] is False
    qtbot.waitUntil(lambda: window.workbench.scene.nodes["conv1"].param_count == 288)
    window.workbench.editor.add_kind("dropout")
    p = window.workbench.inspector.editors["p"]
    assert isinstance(p, QDoubleSpinBox) and p.text() == "0.5"
    p.lineEdit().selectAll()
    qtbot.keyClicks(p.lineEdit(), "0.25")
    qtbot.keyClick(p, Qt.Key.Key_Return)
    assert graph.nodes["drop1"].params["p"] == 0.25


def test_shape_parameters_are_edited_as_a_list_and_validated(window, qtbot):
    wb = window.workbench
    edit = select(window, "input").editors["shape"]
    assert isinstance(edit, QLineEdit) and edit.text() == "1, 28, 28"
    edit.selectAll()
    qtbot.keyClicks(edit, "1, 28, a")
    assert edit.property("invalid")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert wb.document.graph.nodes["input"].params["shape"] == [1, 28, 28]  # nothing committed
    edit.selectAll()
    qtbot.keyClicks(edit, "1×32×32")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert wb.document.graph.nodes["input"].params["shape"] == [1, 32, 32]
    # mnist samples are 1×28×28: the Input node is now in error, shown on the node, its tooltip, the inspector.
    qtbot.waitUntil(lambda: bool(wb.scene.nodes["input"].problems))
    message = "mnist samples are 1×28×28, not 1×32×32"
    assert wb.scene.nodes["input"].problems == [message]
    at = node_pos(window, "input")
    for pos in (at + QPoint(0, 200), at):  # the pointer leaves and comes back: tooltips are written on arrival
        QTest.mouseMove(wb.view.viewport(), pos)
    qtbot.waitUntil(lambda: message in wb.scene.nodes["input"].toolTip())
    assert message in wb.inspector.problems.text()
    assert window.status.validity.text() == "1 problem"


def test_an_error_shows_on_the_node_and_in_the_status_bar(window, qtbot):
    wb = window.workbench
    select(window, "conv3").editors["kernel_size"].setValue(9)
    qtbot.waitUntil(lambda: bool(wb.scene.nodes["conv3"].problems))
    assert wb.scene.nodes["conv3"].problems == ["a 9×9 kernel does not fit a 5×5 input"]
    assert "⚠ a 9×9 kernel does not fit a 5×5 input" in wb.inspector.problems.text()
    assert window.status.validity.text().endswith("problem")
    wb.document.undo_stack.undo()
    qtbot.waitUntil(lambda: window.status.validity.text() == "Valid network")
    assert wb.scene.nodes["conv3"].problems == []


def test_graph_level_problems_show_in_the_status_bar(empty_window, qtbot):
    empty_window.workbench.editor.add_kind("input")
    empty_window.workbench.shapes.run_now()
    assert empty_window.status.validity.text() == "1 problem: the graph has no Output node"


def test_renaming_is_validated_and_undoable(window, qtbot):
    wb = window.workbench
    inspector = select(window, "relu1")
    edit = inspector.id_edit
    for bad, why in (("1st", "not a valid id"), ("conv1", "already called 'conv1'"), ("self", "reserved")):
        edit.selectAll()
        qtbot.keyClicks(edit, bad)
        qtbot.keyClick(edit, Qt.Key.Key_Return)
        assert why in inspector.id_error.text()
        assert "relu1" in wb.document.graph.nodes
    edit.selectAll()
    qtbot.keyClicks(edit, "act1")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    graph = wb.document.graph
    assert "act1" in graph.nodes and "relu1" not in graph.nodes
    assert Edge("conv1", "act1") in graph.edges and Edge("act1", "pool1") in graph.edges
    assert list(graph.nodes).index("act1") == 2  # keeps its place in the file
    assert wb.scene.nodes["act1"].isSelected() and inspector.node_id == "act1"
    wb.document.undo_stack.undo()
    assert "relu1" in graph.nodes and Edge("conv1", "relu1") in graph.edges
    assert set(wb.scene.nodes) == set(graph.nodes)


def test_trainable_checkbox(window):
    inspector = select(window, "dense1")
    inspector.trainable.click()
    assert window.workbench.document.graph.nodes["dense1"].trainable is False
    assert "frozen" in window.workbench.scene.nodes["dense1"].summary
    window.workbench.document.undo_stack.undo()
    assert window.workbench.document.graph.nodes["dense1"].trainable is True
    assert inspector.trainable.isChecked()


def test_network_name_with_nothing_selected(window, qtbot):
    inspector = window.workbench.inspector
    assert inspector.network_name.text() == "MNIST CNN"
    inspector.network_name.selectAll()
    qtbot.keyClicks(inspector.network_name, "My CNN")
    qtbot.keyClick(inspector.network_name, Qt.Key.Key_Return)
    assert window.workbench.document.graph.name == "My CNN"
    window.workbench.document.undo_stack.undo()
    assert inspector.network_name.text() == "MNIST CNN"


def test_syncing_widgets_from_the_model_emits_nothing(window):
    spin = select(window, "conv1").editors["filters"]
    stack = window.workbench.document.undo_stack
    window.workbench.document.set_param("conv1", "filters", 8)  # a change that bypasses the widgets
    assert spin.value() == 8
    assert stack.count() == 0


def test_a_files_invalid_values_are_shown_as_written_in_red_not_the_defaults(window, qtbot):
    doc = window.workbench.document
    window.workbench.editor.add_kind("dropout")
    graph = doc.graph.copy()
    graph.nodes["conv1"].params.update(filters=5000, bias="yes")
    graph.nodes["drop1"].params["p"] = 1.5
    graph.nodes["output"].params["loss"] = "hinge"
    graph.nodes["input"].params["shape"] = [1, 0, 28]
    doc.load(graph, None, None)
    window.workbench.shapes.run_now()
    committed = []

    def pick(window, node_id):
        window.workbench.scene.select_nodes([node_id])
        return window.workbench.inspector

    inspector = pick(window, "conv1")
    for editor in inspector.editors.values():
        editor.committed.connect(committed.append)
    filters, bias = inspector.editors["filters"], inspector.editors["bias"]
    qtbot.wait(100)  # (restyled and repainted: a spin box sets its text again then)
    assert filters.text() == "5000" and filters.property("invalid")  # not the default 32
    assert "⚠" in filters.toolTip()
    filters.interpretText()
    assert filters.text() == "5000" and doc.graph.nodes["conv1"].params["filters"] == 5000
    assert bias.text() == "yes" and bias.property("invalid")
    assert inspector.editors["kernel_size"].text() == "3" and not inspector.editors["kernel_size"].property("invalid")
    p = pick(window, "drop1").editors["p"]
    qtbot.wait(100)
    assert p.text() == "1.5" and p.property("invalid")
    p.interpretText()  # as when focus leaves it unedited: nothing is committed
    assert doc.graph.nodes["drop1"].params["p"] == 1.5 and p.text() == "1.5"
    loss = pick(window, "output").editors["loss"]
    assert loss.currentIndex() == -1 and loss.placeholderText() == "hinge" and loss.property("invalid")
    shape = pick(window, "input").editors["shape"]
    assert shape.text() == "1, 0, 28" and shape.property("invalid")
    assert committed == []
    assert doc.graph.nodes["conv1"].params["filters"] == 5000  # showing it changed nothing
    window.workbench.inspector.editors["shape"].setFocus()
    filters = pick(window, "conv1").editors["filters"]
    filters.setValue(64)  # an edit replaces it
    assert doc.graph.nodes["conv1"].params["filters"] == 64 and not filters.property("invalid")
