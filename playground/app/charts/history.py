"""The run list beside the plots: one row per run, newest first.

Each row shows the run's colour swatch, a checkbox (show/hide its curves), its
name (double-click or F2 to rename) and its status. The row's tooltip is written
when it is asked for: it counts steps, and setting it on every repaint of a live
run would repaint the list each time. The list only *asks*
(signals); `TrainingCharts` decides, so a run that is still training cannot be
removed however the request is made.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QMenu,
    QPushButton,
    QStyledItemDelegate,
    QToolTip,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .axis import format_step
from .series import RunSeries
from .style import chart_theme

ID_ROLE = Qt.ItemDataRole.UserRole
NAME_COL, ACC_COL, STATUS_COL = 0, 1, 2
SWATCH = 12
PROBLEM_STATUSES = ("diverged", "failed", "out_of_memory")


def swatch_icon(colour: QColor, size: int = SWATCH) -> QIcon:
    pixmap = QPixmap(size * 2, size * 2)  # drawn at 2x: crisp on high-DPI screens
    pixmap.setDevicePixelRatio(2.0)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(colour.darker(130))
    painter.setBrush(colour)
    painter.drawRoundedRect(QRectF(1, 1, size - 2, size - 2), 3, 3)
    painter.end()
    return QIcon(pixmap)


def status_text(run: RunSeries) -> str:
    """The status column: one short word, so that the run names keep the room."""
    if run.live:
        return "paused" if run.paused else "running" if run.last_step else "starting…"
    return run.status.replace("_", " ")


def last_val_accuracy(run: RunSeries) -> float | None:
    values = [r.val_accuracy for r in run.epochs if r.val_accuracy is not None]
    return values[-1] if values else None


def run_tooltip(run: RunSeries) -> str:
    """The details that do not fit in the row."""
    epochs = len(run.epochs)
    lines = [run.name, f"{status_text(run).capitalize()} at step {format_step(run.last_step)}"
             f" · {epochs} epoch{'s' if epochs != 1 else ''} of {run.steps_per_epoch:,} steps"]
    val = [r.val_accuracy for r in run.epochs if r.val_accuracy is not None]
    if val:
        lines.append(f"Validation accuracy: {100 * val[-1]:.2f}% last, {100 * max(val):.2f}% best")
    lines.append("Double-click or F2 to rename; untick to hide")
    return "\n".join(lines)


def _set(item: QTreeWidgetItem, column: int, role: Qt.ItemDataRole, value) -> None:
    if item.data(column, role) != value:
        item.setData(column, role, value)


class _ReadOnlyDelegate(QStyledItemDelegate):
    """For the accuracy and status columns: item flags are per row, so without this they would be editable too."""

    def createEditor(self, parent, option, index):
        return None


class RunTree(QTreeWidget):
    """The list itself; Delete asks to remove the selected run."""

    delete_pressed = Signal()

    def keyPressEvent(self, event):
        deleting = event.matches(QKeySequence.StandardKey.Delete) or event.key() == Qt.Key.Key_Backspace
        if deleting and self.state() != QAbstractItemView.State.EditingState:
            self.delete_pressed.emit()
            event.accept()
            return
        super().keyPressEvent(event)


class RunHistory(QWidget):
    renamed = Signal(int, str)
    visibility_changed = Signal(int, bool)
    remove_requested = Signal(int)
    remove_finished_requested = Signal()
    export_requested = Signal(int)
    selected = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.tree = RunTree(self)
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Run", "Val acc", "Status"])
        self.tree.headerItem().setToolTip(ACC_COL, "Validation accuracy after the last epoch")
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setIconSize(QSize(SWATCH, SWATCH))
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self._read_only = _ReadOnlyDelegate(self.tree)
        for column in (ACC_COL, STATUS_COL):
            self.tree.setItemDelegateForColumn(column, self._read_only)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(NAME_COL, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(ACC_COL, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(STATUS_COL, QHeaderView.ResizeMode.ResizeToContents)

        self.remove_button = QPushButton("Remove", self)
        self.remove_button.setToolTip("Remove the selected run from the charts (Delete)")
        self.remove_button.setEnabled(False)

        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addStretch(1)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)

        self._items: dict[int, QTreeWidgetItem] = {}
        self._runs: dict[int, RunSeries] = {}  # for the tooltips
        self._known: dict[int, tuple[str, bool]] = {}  # what the list last showed: tells edits from our own syncs
        self._live: int | None = None
        self.tree.itemChanged.connect(self._on_item_changed)
        self.tree.itemSelectionChanged.connect(self._on_selection_changed)
        # A double-click on the accuracy or status renames too: the row is the run.
        self.tree.itemDoubleClicked.connect(
            lambda item, column: column != NAME_COL and self.rename(item.data(NAME_COL, ID_ROLE)))
        self.tree.customContextMenuRequested.connect(self._show_menu)
        self.tree.delete_pressed.connect(self._remove_selected)
        self.remove_button.clicked.connect(self._remove_selected)
        self.tree.viewport().installEventFilter(self)

    # --- model -> list ----------------------------------------------------------------------------------------

    def add_run(self, run: RunSeries, colour: QColor) -> None:
        item = QTreeWidgetItem()
        item.setData(NAME_COL, ID_ROLE, run.id)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsUserCheckable)
        item.setTextAlignment(ACC_COL, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._items[run.id] = item
        self._runs[run.id] = run
        self.tree.blockSignals(True)
        try:
            self.tree.insertTopLevelItem(0, item)  # newest first
        finally:
            self.tree.blockSignals(False)
        self.update_run(run, colour)

    def update_run(self, run: RunSeries, colour: QColor | None = None) -> None:
        item = self._items.get(run.id)
        if item is None:
            return
        self.tree.blockSignals(True)  # our own changes are not edits
        try:
            if colour is not None:
                item.setIcon(NAME_COL, swatch_icon(colour))
            _set(item, NAME_COL, Qt.ItemDataRole.DisplayRole, run.name)
            check = Qt.CheckState.Checked if run.visible else Qt.CheckState.Unchecked
            if item.checkState(NAME_COL) != check:
                item.setCheckState(NAME_COL, check)
            self._set_columns(item, run)
            problem = run.status in PROBLEM_STATUSES
            palette = self.tree.palette()
            status_colour = chart_theme(palette).error if problem else palette.color(palette.ColorRole.Text)
            item.setForeground(STATUS_COL, status_colour)
        finally:
            self.tree.blockSignals(False)
        self._known[run.id] = (run.name, run.visible)
        if run.live:
            self._live = run.id
        elif self._live == run.id:
            self._live = None
        self._update_buttons()

    def set_status(self, run: RunSeries) -> None:
        """Only the status and accuracy (cheap: called from the repaint timer while a run trains)."""
        item = self._items.get(run.id)
        if item is not None:
            self.tree.blockSignals(True)
            try:
                self._set_columns(item, run)
            finally:
                self.tree.blockSignals(False)

    @staticmethod
    def _set_columns(item: QTreeWidgetItem, run: RunSeries) -> None:
        # Only what changed: any change to the name cell resets a rename being typed there.
        acc = last_val_accuracy(run)
        _set(item, ACC_COL, Qt.ItemDataRole.DisplayRole, f"{100 * acc:.1f}%" if acc is not None else "")
        _set(item, STATUS_COL, Qt.ItemDataRole.DisplayRole, status_text(run))

    def tooltip(self, run_id: int) -> str:
        run = self._runs.get(run_id)
        return run_tooltip(run) if run is not None else ""

    def eventFilter(self, watched, event):
        if watched is self.tree.viewport() and event.type() == QEvent.Type.ToolTip:
            item = self.tree.itemAt(event.pos())
            if item is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), self.tooltip(item.data(NAME_COL, ID_ROLE)),
                                  self.tree.viewport(), self.tree.visualItemRect(item))
            return True
        return super().eventFilter(watched, event)

    def remove_run(self, run_id: int) -> None:
        item = self._items.pop(run_id, None)
        self._known.pop(run_id, None)
        self._runs.pop(run_id, None)
        if item is not None:
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(item))
        self._update_buttons()

    def item(self, run_id: int) -> QTreeWidgetItem:
        return self._items[run_id]

    def selected_run(self) -> int | None:
        items = self.tree.selectedItems()
        return items[0].data(NAME_COL, ID_ROLE) if items else None

    def select(self, run_id: int) -> None:
        self.tree.setCurrentItem(self._items[run_id])

    def can_remove(self, run_id: int | None) -> bool:
        return run_id is not None and run_id in self._items and run_id != self._live

    # --- list -> requests -------------------------------------------------------------------------------------

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        run_id = item.data(NAME_COL, ID_ROLE)
        if column != NAME_COL or run_id not in self._known:
            return
        name, visible = self._known[run_id]
        new_name = item.text(NAME_COL).strip()
        new_visible = item.checkState(NAME_COL) == Qt.CheckState.Checked
        if new_visible != visible:
            self._known[run_id] = (name, new_visible)
            self.visibility_changed.emit(run_id, new_visible)
        if new_name != name:
            if new_name:
                self._known[run_id] = (new_name, new_visible)
                self.renamed.emit(run_id, new_name)
            else:  # an empty name is no name: put the old one back
                self.tree.blockSignals(True)
                item.setText(NAME_COL, name)
                self.tree.blockSignals(False)

    def _on_selection_changed(self) -> None:
        self._update_buttons()
        run_id = self.selected_run()
        if run_id is not None:
            self.selected.emit(run_id)

    def _update_buttons(self) -> None:
        run_id = self.selected_run()
        self.remove_button.setEnabled(self.can_remove(run_id))
        self.remove_button.setToolTip(
            "A run cannot be removed while it is training" if run_id is not None and run_id == self._live
            else "Remove the selected run from the charts (Delete)")

    def _remove_selected(self) -> None:
        run_id = self.selected_run()
        if self.can_remove(run_id):
            self.remove_requested.emit(run_id)

    def rename(self, run_id: int) -> None:
        """Start editing the run's name in place (F2 does the same)."""
        item = self._items[run_id]
        self.tree.setCurrentItem(item)
        self.tree.editItem(item, NAME_COL)

    def context_menu(self, run_id: int | None) -> QMenu:
        """The menu for a run (None: clicked below the rows); built fresh so it reflects the run's state."""
        menu = QMenu(self)
        if run_id is not None:
            item = self._items[run_id]
            rename = QAction("Rename", menu)
            rename.setShortcut(QKeySequence(Qt.Key.Key_F2))
            rename.triggered.connect(lambda: self.rename(run_id))
            visible = item.checkState(NAME_COL) == Qt.CheckState.Checked
            toggle = QAction("Hide" if visible else "Show", menu)
            toggle.triggered.connect(lambda: item.setCheckState(
                NAME_COL, Qt.CheckState.Unchecked if visible else Qt.CheckState.Checked))
            export = QAction("Export CSV…", menu)
            export.triggered.connect(lambda: self.export_requested.emit(run_id))
            remove = QAction("Remove", menu)
            remove.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
            remove.setEnabled(self.can_remove(run_id))
            remove.triggered.connect(lambda: self.remove_requested.emit(run_id))
            menu.addActions([rename, toggle, export])
            menu.addSeparator()
            menu.addAction(remove)
        finished = QAction("Remove All Finished Runs", menu)
        finished.setEnabled(any(self.can_remove(r) for r in self._items))
        finished.triggered.connect(self.remove_finished_requested.emit)
        menu.addAction(finished)
        return menu

    def _show_menu(self, pos: QPoint) -> None:
        item = self.tree.itemAt(pos)
        run_id = item.data(NAME_COL, ID_ROLE) if item is not None else None
        if item is not None:
            self.tree.setCurrentItem(item)
        menu = self.context_menu(run_id)
        menu.exec(self.tree.viewport().mapToGlobal(pos))
        menu.deleteLater()
