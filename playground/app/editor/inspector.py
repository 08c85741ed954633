"""The inspector: the selected layer's id, kind and parameters as editable widgets.

Widgets → model through undo commands; model → widgets by re-reading the
graph whenever it changes, with the widgets' signals blocked while they are
set (as napari's layer controls do). With nothing selected it shows the
network's name, description, size and graph-level problems.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ...core.graph import Node
from ...core.graph.validate import id_error
from ...core.layers import CATALOG, fmt_shape
from ..document import MISSING, Document
from . import commands
from .param_editors import make_editor
from .scene import GraphScene
from .theme import blend, theme


def _error_style() -> str:
    """The editor's error red for this palette (a darker red on light backgrounds, a lighter one on dark)."""
    return f"color: {theme(QGuiApplication.palette()).error.name()};"


def _label(text: str = "", *, wrap: bool = True, dim: bool = False, selectable: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(wrap)
    label.setTextFormat(Qt.TextFormat.PlainText)
    if dim:  # secondary text: a blend of the text and background colours, readable in light and dark themes
        palette = label.palette()
        role = QPalette.ColorRole
        palette.setColor(role.WindowText, blend(palette.color(role.Window), palette.color(role.WindowText), 0.75))
        label.setPalette(palette)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class Inspector(QScrollArea):
    def __init__(self, doc: Document, scene: GraphScene, parent=None):
        super().__init__(parent)
        self.setObjectName("inspector")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.doc, self.scene = doc, scene
        self.node_id: str | None = None
        self.analysis = None
        self.editors: dict[str, QWidget] = {}
        self.id_edit: QLineEdit | None = None
        self.id_error: QLabel | None = None
        self.trainable: QCheckBox | None = None
        self._build_empty()
        scene.selectionChanged.connect(self.refresh)
        doc.changed.connect(self.sync)
        doc.reset.connect(self.refresh)
        doc.node_renamed.connect(self._renamed)

    # -- which page ---------------------------------------------------------------------------
    def refresh(self) -> None:
        if self.scene.wire_drag is not None:
            return
        ids = self.scene.selected_node_ids()
        if len(ids) == 1 and ids[0] in self.doc.graph.nodes:
            if ids[0] != self.node_id or self.id_edit is None:
                self._build_node(ids[0])
            self.sync()
        elif len(ids) > 1:
            self._build_message(f"{len(ids)} layers selected", "Select a single layer to edit its parameters.")
        else:
            self._build_network()
            self.sync()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.node_id = None  # rebuild the page: its secondary and error colours come from the palette
            QTimer.singleShot(0, self.refresh)

    def _renamed(self, old: str, new: str) -> None:
        if self.node_id == old:
            self.node_id = new

    def set_analysis(self, analysis) -> None:
        self.analysis = analysis
        self._sync_analysis()

    def _page(self) -> tuple[QWidget, QVBoxLayout]:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(6)
        old = self.takeWidget()
        if old is not None:
            old.deleteLater()
        self.setWidget(page)
        self.node_id, self.editors, self.id_edit, self.id_error, self.trainable = None, {}, None, None, None
        self.network_name = self.network_description = None
        self.summary = self.problems = None
        return page, layout

    def _build_empty(self) -> None:
        self._build_message("", "")

    def _build_message(self, title: str, text: str) -> None:
        _, layout = self._page()
        heading = _label(title)
        heading.setObjectName("inspectorTitle")
        font = heading.font()
        font.setBold(True)
        heading.setFont(font)
        layout.addWidget(heading)
        layout.addWidget(_label(text, dim=True))
        layout.addStretch(1)

    # -- one layer ------------------------------------------------------------------------------
    def _build_node(self, node_id: str) -> None:
        _, layout = self._page()
        self.node_id = node_id
        node = self.doc.graph.nodes[node_id]
        spec = CATALOG.get(node.kind)
        title = _label(spec.title if spec else node.kind, wrap=False)
        title.setObjectName("inspectorTitle")
        font = title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.25)
        title.setFont(font)
        layout.addWidget(title)
        kind = _label(f"{node.kind} · {spec.group}" if spec else f"{node.kind} · unknown kind", dim=True)
        layout.addWidget(kind)
        if spec:
            help_label = _label(spec.help)
            help_label.setObjectName("inspectorHelp")
            layout.addWidget(help_label)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.id_edit = QLineEdit(node_id)
        self.id_edit.setObjectName("idEdit")
        self.id_edit.setToolTip("The layer's name: unique, letters, digits and _; used in exported code.")
        self.id_edit.editingFinished.connect(self._commit_id)
        self.id_edit.textEdited.connect(self._check_id)
        form.addRow("Id", self.id_edit)
        self.id_error = _label()
        self.id_error.setStyleSheet(_error_style())
        self.id_error.hide()
        form.addRow("", self.id_error)
        for param in spec.params if spec else ():
            editor = make_editor(param)
            editor.setObjectName(f"param_{param.name}")
            editor.committed.connect(lambda value, name=param.name: self._commit_param(name, value))
            editor.finished.connect(self.doc.seal_merging)
            label = QLabel(param.label or param.name.replace("_", " ").capitalize())
            label.setToolTip(param.help)
            label.setBuddy(editor)
            form.addRow(label, editor)
            self.editors[param.name] = editor
        if node.kind not in ("input", "output"):
            self.trainable = QCheckBox("Trainable")
            self.trainable.setObjectName("trainable")
            self.trainable.setToolTip("Update this layer's weights during training (untick to freeze them).")
            self.trainable.toggled.connect(self._commit_trainable)
            form.addRow("", self.trainable)
        layout.addLayout(form)

        self._add_summary_and_problems(layout)
        layout.addStretch(1)

    def _add_summary_and_problems(self, layout) -> None:
        """The size summary and the problem list that both the layer and the network pages end with."""
        self.summary = _label(selectable=True)
        self.summary.setObjectName("inspectorSummary")
        layout.addWidget(self.summary)
        self.problems = _label(selectable=True)
        self.problems.setObjectName("inspectorProblems")
        self.problems.setStyleSheet(_error_style())
        layout.addWidget(self.problems)

    def _node(self) -> Node | None:
        return self.doc.graph.nodes.get(self.node_id) if self.node_id else None

    def sync(self) -> None:
        """Model → widgets, without emitting anything back."""
        if self.network_name is not None:
            self._sync_network()
            return
        node = self._node()
        if node is None:
            if self.node_id is not None:  # the node was deleted (or undone away)
                self.refresh()
            return
        spec = CATALOG.get(node.kind)
        if self.id_edit is not None and not self.id_edit.hasFocus():
            blocked = self.id_edit.blockSignals(True)
            self.id_edit.setText(node.id)
            self.id_edit.blockSignals(blocked)
            self.id_error.hide()
        for name, editor in self.editors.items():
            param = spec.param(name)
            value = node.params.get(name, MISSING)
            error = None if value is MISSING else param.error(value)
            if value is MISSING:
                editor.set_value(param.normalise(param.default))
            elif error:
                editor.show_invalid(value)  # what the file says, in the red field: not the default
            else:
                editor.set_value(value)
            editor.set_error(error)
        if self.trainable is not None:
            blocked = self.trainable.blockSignals(True)
            self.trainable.setChecked(node.trainable)
            self.trainable.blockSignals(blocked)
        self._sync_analysis()

    def _sync_analysis(self) -> None:
        if self.network_name is not None:
            self._sync_network()
            return
        if self.summary is None or self.node_id is None:
            return
        if self.analysis is None:
            self.summary.setText("Computing shapes…")
            self.problems.setText("")
            return
        shape = self.analysis.shapes.get(self.node_id)
        count = self.analysis.param_counts.get(self.node_id)
        lines = [f"Output: {fmt_shape(shape)}" if shape is not None else "Output: unknown"]
        if count is not None:
            lines.append(f"Parameters: {count:,}")
        self.summary.setText("\n".join(lines))
        self.problems.setText("\n".join(f"⚠ {p.message}" for p in self.analysis.problems_of(self.node_id)))

    # -- widget → model -------------------------------------------------------------------------
    def _commit_param(self, name: str, value) -> None:
        node = self._node()
        if node is None or node.params.get(name, MISSING) == value:
            return
        self.doc.push(commands.set_param(self.doc, node.id, name, value))

    def _commit_trainable(self, on: bool) -> None:
        node = self._node()
        if node is not None and node.trainable != on:
            self.doc.push(commands.set_trainable(self.doc, node.id, on))

    def _id_problem(self, new: str) -> str | None:
        if new != self.node_id and new in self.doc.graph.nodes:
            return f"another layer is already called '{new}'"
        return id_error(new) if new else "the id cannot be empty"

    def _check_id(self, text: str) -> None:
        problem = self._id_problem(text.strip())
        self.id_error.setText(problem or "")
        self.id_error.setVisible(bool(problem))

    def _commit_id(self) -> None:
        node = self._node()
        if node is None or self.id_edit is None:
            return
        new = self.id_edit.text().strip()
        if new == node.id:
            self.id_error.hide()
            return
        problem = self._id_problem(new)
        if problem:
            self.id_error.setText(problem)
            self.id_error.show()
            return
        self.doc.push(commands.rename(self.doc, node.id, new))

    # -- the network as a whole -------------------------------------------------------------------
    def _build_network(self) -> None:
        _, layout = self._page()
        title = _label("Network", wrap=False)
        title.setObjectName("inspectorTitle")
        font = title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.25)
        title.setFont(font)
        layout.addWidget(title)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.network_name = QLineEdit(objectName="networkName", placeholderText="Untitled network")
        self.network_description = QLineEdit(objectName="networkDescription", placeholderText="What it does")
        for edit in (self.network_name, self.network_description):
            edit.editingFinished.connect(self._commit_info)
        form.addRow("Name", self.network_name)
        form.addRow("Description", self.network_description)
        layout.addLayout(form)
        self._add_summary_and_problems(layout)
        hint = _label("Select a layer to edit it. Drag layers from the palette; drag from a layer's bottom port "
                      "to another's top port to connect them.", dim=True)
        layout.addWidget(hint)
        layout.addStretch(1)

    def _sync_network(self) -> None:
        graph = self.doc.graph
        for edit, value in ((self.network_name, graph.name), (self.network_description, graph.description)):
            if not edit.hasFocus():
                blocked = edit.blockSignals(True)
                edit.setText(value)
                edit.setCursorPosition(0)
                edit.blockSignals(blocked)
        if self.analysis is None:
            self.summary.setText("Computing shapes…")
            return
        a = self.analysis
        count = len(a.problems)
        self.summary.setText(f"{len(graph.nodes)} layers, {len(graph.edges)} wires\n{a.total_params:,} parameters\n"
                             + ("Valid network" if a.ok else f"{count} problem{'s' * (count != 1)}"))
        self.problems.setText("\n".join(f"⚠ {p}" for p in a.problems))

    def _commit_info(self) -> None:
        name, description = self.network_name.text().strip(), self.network_description.text().strip()
        if (name, description) != (self.doc.graph.name, self.doc.graph.description):
            self.doc.push(commands.set_info(self.doc, name, description))
