"""The layer palette: every kind in the catalog, grouped, searchable, draggable into the editor."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from ...core.layers import by_group
from ..icons import icon
from .theme import accent

MIME_KIND = "application/x-playground-layer-kind"
KIND_ROLE = Qt.ItemDataRole.UserRole
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 1


def group_icon_name(group: str) -> str:
    return "group-" + group.lower().replace("/", "-")


class PaletteTree(QTreeWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setRootIsDecorated(True)
        self.setUniformRowHeights(True)
        self.setAnimated(False)

    def mimeTypes(self) -> list[str]:
        return [MIME_KIND]

    def mimeData(self, items: list[QTreeWidgetItem]) -> QMimeData:
        kinds = [item.data(0, KIND_ROLE) for item in items if item.data(0, KIND_ROLE)]
        data = QMimeData()
        if kinds:
            data.setData(MIME_KIND, kinds[0].encode("utf-8"))
            data.setText(kinds[0])
        return data


class PaletteWidget(QWidget):
    add_requested = Signal(str)  # a kind was double-clicked or chosen with Enter

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("palette")
        self.search = QLineEdit(placeholderText="Search layers…", clearButtonEnabled=True)
        self.search.setObjectName("paletteSearch")
        self.search.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.search.setToolTip("Filter by name, kind or description. Enter adds the first match.")
        self.tree = PaletteTree()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self.items: dict[str, QTreeWidgetItem] = {}
        for group, specs in by_group().items():
            if not specs:
                continue
            top = QTreeWidgetItem(self.tree, [group])
            top.setIcon(0, icon(group_icon_name(group), accent(group)))
            top.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            for spec in specs:
                item = QTreeWidgetItem(top, [spec.title])
                item.setData(0, KIND_ROLE, spec.kind)
                item.setData(0, SEARCH_ROLE, " ".join((spec.title, spec.kind, spec.help, group)).lower())
                item.setToolTip(0, f"<b>{spec.title}</b> ({spec.kind})<br>{spec.help}<br><i>Drag into the editor, "
                                   "or double-click to add it below the selected layer.</i>")
                item.setStatusTip(0, spec.help)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
                self.items[spec.kind] = item
        self.tree.expandAll()
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self._add_first_match)
        self.tree.itemActivated.connect(self._activated)

    def filter(self, text: str) -> None:
        words = text.lower().split()
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            shown = 0
            for j in range(group.childCount()):
                child = group.child(j)
                match = all(w in child.data(0, SEARCH_ROLE) for w in words)
                child.setHidden(not match)
                shown += match
            group.setHidden(shown == 0)
            group.setExpanded(True)

    def visible_kinds(self) -> list[str]:
        return [kind for kind, item in self.items.items() if not item.isHidden() and not item.parent().isHidden()]

    def _add_first_match(self) -> None:
        kinds = self.visible_kinds()
        if self.search.text().strip() and kinds:
            self.add_requested.emit(kinds[0])

    def _activated(self, item: QTreeWidgetItem, column: int) -> None:
        kind = item.data(0, KIND_ROLE)
        if kind:
            self.add_requested.emit(kind)

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()
