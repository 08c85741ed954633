"""The Draw dock's "Add to my digits": keep the drawing with a label, count each class, review, delete, and
fine-tune the network on them.

One click on "Keep as 3" (under the canvas; 3 is the predicted class) stores the drawing as it is now: the 28×28
digit the network sees and the raw stroke image, in a `HandwritingStore` (the user data folder, in the image-folder
layout `playground finetune --images` reads). The button's menu keeps it as any class 0–9 (each with its count)
and opens the My digits window, which lists the digits, each deletable. The counter under the canvas says how many
each class has. A blank drawing is refused with a message.

The My digits window also fine-tunes: the person picks how far the network stays frozen and presses "Fine-tune on
my digits"; the run itself is the training process's (app/training/finetune.py starts it). When it has run, the
window shows its before/after accuracy side by side, and each digit what the network said of it before and says
after (green: right now, red: still wrong; "test": held out, never trained on).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont, QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core.data.handwriting import HandwritingStore
from ...core.data.preprocess import is_blank, preprocess_digit

BLANK = "Nothing to add: draw a digit first."
THUMB = 56  # the gallery's thumbnails: 28×28 at twice the size
RIGHT, WRONG = QColor(30, 130, 60), QColor(190, 40, 40)  # a digit the network gets right now, and one it gets wrong


@dataclass
class FinetuneState:
    """What the My digits window shows of fine-tuning (kept by MyDigitsRow while the window is closed)."""

    choices: list[tuple[str, str]] = field(default_factory=list)  # (node id, its line in the Frozen list)
    chosen: str | None = None  # the node the network stays frozen up to
    ready: bool = False
    why: str = "Train the network (or load weights) first: fine-tuning starts from trained weights."
    report: object | None = None  # the last FinetuneReport
    report_classes: tuple[str, ...] = ()
    replay_title: str = "MNIST"  # the replayed dataset, for a person


def _pixmap(image28: np.ndarray, side: int = THUMB) -> QPixmap:
    a = np.ascontiguousarray(image28, dtype=np.uint8)
    image = QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QImage.Format.Format_Grayscale8).copy()
    return QPixmap.fromImage(image.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.FastTransformation))


class MyDigitsGallery(QDialog):
    """The stored digits with their labels, newest first; Delete removes the selected ones from the disk."""

    changed = Signal()

    def __init__(self, store: HandwritingStore, parent: QWidget | None = None):
        super().__init__(parent)
        self.store = store
        self.setWindowTitle("My digits")
        self.list = QListWidget(self)
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setMovement(QListWidget.Movement.Static)
        self.list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.list.itemSelectionChanged.connect(self._sync_buttons)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.folder_label = QLabel(f"Kept in {store.folder}", self)
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder_label.setWordWrap(True)
        self.delete_button = QPushButton("Delete", self)
        self.delete_button.setToolTip("Delete the selected digits (Del)")
        self.delete_button.clicked.connect(self.delete_selected)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.list, self.delete_selected)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.addButton(self.delete_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)
        self.finetune = FinetuneBox(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.finetune)
        layout.addWidget(self.folder_label)
        layout.addWidget(buttons)
        self.resize(560, 520)
        self._state = FinetuneState()
        self._shown_report = None  # the FinetuneReport the list's "before → after" lines come from
        self.refresh()

    def show_state(self, state: FinetuneState) -> None:
        """What the fine-tuning box shows; the list is read again from the disk only for a new report (this is
        called on every change of the weights in use: several times a second while a run trains)."""
        new_report = state.report is not self._shown_report
        self._state = state
        self.finetune.show_state(state)
        if new_report:
            self._shown_report = state.report
            self.refresh()

    def refresh(self) -> None:
        self.list.clear()
        said = _what_the_network_said(self._state)
        # Room under each digit for its label, and after a fine-tuning a second line: "before → after"
        lines = 2 if said else 1
        self.list.setGridSize(QSize(THUMB + (44 if said else 16), THUMB + 8 + lines * self.fontMetrics().lineSpacing()))
        for entry in reversed(self.store.entries()):
            try:
                icon = _pixmap(self.store.image(entry.id))
            except Exception:  # a file damaged or removed behind our back: still listed, to delete
                icon = QPixmap(THUMB, THUMB)
                icon.fill(Qt.GlobalColor.darkRed)
            item = QListWidgetItem(icon, entry.label)
            item.setData(Qt.ItemDataRole.UserRole, entry.id)
            tip = f"{entry.label} — {entry.file}"
            if entry.id in said:
                before, after, held, right = said[entry.id]
                item.setText(f"{entry.label}{' · test' if held else ''}\n{before} → {after}")
                item.setForeground(RIGHT if right else WRONG)
                tip += (f"\nThe network said {before} before fine-tuning and says {after} after"
                        + (" (held out: never trained on)" if held else " (trained on)"))
            item.setToolTip(tip)
            self.list.addItem(item)
        n = len(self.store)
        self.summary.setText(f"{n} digit{'s' if n != 1 else ''}: {counts_text(self.store.counts())}" if n
                             else "No digits yet: draw one, then Keep it (under the canvas).")
        self._sync_buttons()

    def ids(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def select(self, digit_id: str) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setSelected(item.data(Qt.ItemDataRole.UserRole) == digit_id)

    def delete_selected(self) -> None:
        chosen = [item.data(Qt.ItemDataRole.UserRole) for item in self.list.selectedItems()]
        for digit_id in chosen:
            with contextlib.suppress(KeyError):  # gone already
                self.store.delete(digit_id)
        if chosen:
            self.refresh()
            self.changed.emit()

    def _sync_buttons(self) -> None:
        self.delete_button.setEnabled(bool(self.list.selectedItems()))


def _what_the_network_said(state: FinetuneState) -> dict[str, tuple[str, str, bool, bool]]:
    """Per digit id of the last fine-tuning: (said before, says after, held out, right after)."""
    report, classes = state.report, state.report_classes
    if report is None:
        return {}

    def name(k: int) -> str:
        return classes[k] if 0 <= k < len(classes) else str(k)

    return {digit_id: (name(int(b)), name(int(a)), bool(h), int(a) == int(y))
            for digit_id, b, a, h, y in zip(report.ids, report.predicted_before, report.predicted_after,
                                            report.held_out, report.labels, strict=True)}


def _percent(value: float) -> str:
    return f"{value:.1%}"


class FinetuneBox(QGroupBox):
    """Fine-tune on my digits: how far the network stays frozen, the button, and the last result side by side."""

    requested = Signal()
    freeze_chosen = Signal(str)  # a node id: the network stays frozen up to it

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Teach the network my handwriting", parent)
        self.freeze = QComboBox(self)
        self.freeze.setObjectName("finetune_freeze")
        self.freeze.setToolTip("The layers up to this one keep their weights (the editor's Trainable boxes show it); "
                               "the layers after it learn your digits. The default trains only the last Dense layer.")
        self.freeze.activated.connect(lambda _=0: self.freeze_chosen.emit(self.freeze.currentData() or ""))
        self.button = QPushButton("Fine-tune on my digits", self)
        self.button.setObjectName("finetune_start")
        self.button.clicked.connect(self.requested)
        self.state = QLabel(self)
        self.state.setWordWrap(True)
        self.results = QLabel(self)
        self.results.setObjectName("finetune_results")
        self.results.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(QLabel("Frozen up to", self))
        row.addWidget(self.freeze, 1)
        row.addWidget(self.button)
        grid = QGridLayout(self)
        grid.addLayout(row, 0, 0)
        grid.addWidget(self.state, 1, 0)
        grid.addWidget(self.results, 2, 0)

    def show_state(self, state: FinetuneState) -> None:
        self.freeze.blockSignals(True)
        self.freeze.clear()
        for node_id, text in state.choices:
            self.freeze.addItem(text, node_id)
        index = self.freeze.findData(state.chosen)
        self.freeze.setCurrentIndex(max(index, 0))
        self.freeze.blockSignals(False)
        self.freeze.setEnabled(state.ready and bool(state.choices))
        self.button.setEnabled(state.ready)
        self.state.setText(state.why)
        self.state.setVisible(bool(state.why))
        self.results.setText(results_table(state.report, state.replay_title) if state.report is not None else "")
        self.results.setVisible(state.report is not None)


def results_table(report, replay_title: str) -> str:
    """The last fine-tuning's accuracies before and after, side by side (rich text)."""
    held = int(report.held_out.sum())
    rows = [(f"My digits (held out: {held})", report.own_before, report.own_after),
            (f"{replay_title} test ({report.replay_test_size:,})", report.replay_before, report.replay_after)]
    cells = "".join(f"<tr><td>{what}</td><td align='right'>{_percent(b)}</td><td align='right'>{_percent(a)}</td>"
                    f"<td align='right'>{(a - b) * 100:+.1f} pts</td></tr>" for what, b, a in rows)
    stopped = " (stopped early)" if report.status == "stopped" else ""
    return (f"<table cellspacing='6'><tr><th align='left'>Accuracy</th><th>before</th><th>after</th><th></th></tr>"
            f"{cells}</table>{report.steps:,} steps in {report.seconds:.1f} s{stopped}; trained "
            f"{', '.join(report.trained) or 'nothing'}.")


def counts_text(counts: dict[str, int]) -> str:
    return " ".join(f"{label}:{n}" for label, n in counts.items())


def counter_text(counts: dict[str, int], classes: tuple[str, ...]) -> str:
    """The counter line under the canvas, short enough for two lines with a message in front (the per-class
    counts are in its tooltip and the Keep menu)."""
    total = sum(counts.values())
    if not total:
        return "my digits: none yet"
    none = [c for c in classes if not counts.get(c)]
    if none:
        return f"my digits: {total}, none yet of {' '.join(none) if len(none) <= 4 else f'{len(none)} classes'}"
    low, high = min(counts[c] for c in classes), max(counts[c] for c in classes)
    return f"my digits: {total}, {low if low == high else f'{low}–{high}'} a class"


class MyDigitsRow(QObject):
    """"Add to my digits" for a `DigitPanel`: a Keep button (one click: the drawing under the predicted class; its
    menu: any class, with its count, and the gallery) and the counter label, for the panel to place. They ask no
    height of their own: the button sits in the tools row under the canvas, the counter under it (issue 18's
    budget of height at 1024×720)."""

    added = Signal(str, str)  # id, label
    digits_changed = Signal()  # a digit was kept or deleted
    finetune_requested = Signal(str)  # the node the network stays frozen up to (the My digits window's button)
    freeze_chosen = Signal(str)  # the person picked another node in the window's Frozen list

    def __init__(self, drawing: Callable[[], np.ndarray | None], store: HandwritingStore | None = None,
                 parent: QWidget | None = None):
        """`drawing()`: the canvas's raw image now (uint8 2-D), or None when it is empty."""
        super().__init__(parent)
        self._parent = parent
        self._drawing = drawing
        self._store = store
        self._classes: tuple[str, ...] = tuple("0123456789")
        self._predicted: int | None = None
        self.gallery: MyDigitsGallery | None = None
        self.button = QToolButton(parent)
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.button.setAutoRaise(True)
        self.button.clicked.connect(self._on_click)
        self.menu = QMenu(parent)
        self.button.setMenu(self.menu)
        self.label_actions: list[QAction] = []
        self.gallery_action = QAction("Review my digits…", self)
        self.gallery_action.triggered.connect(self.show_gallery)
        self.finetune_action = QAction("Fine-tune on my digits…", self)
        self.finetune_action.setToolTip("Teach the network your handwriting: the My digits window")
        self.finetune_action.triggered.connect(self.show_gallery)
        self.finetune = FinetuneState()
        self.counter = QLabel(parent)
        self.counter.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.counter.setWordWrap(True)
        font = self.counter.font()
        font.setPointSizeF(font.pointSizeF() * 0.9)
        self.counter.setFont(font)
        # Two lines, always: a line more or less as the text changes would move the canvas under the pen
        self.counter.setFixedHeight(2 * self.counter.fontMetrics().lineSpacing() + 2)
        self._message = ""
        self._wanted = self._fits = True
        self._build_menu()

    @property
    def classes(self) -> tuple[str, ...]:
        """The labels a digit can be kept as: the network's classes (ten at most), "0".."9" by default."""
        return self._classes

    @property
    def store(self) -> HandwritingStore:
        if self._store is None:  # opened when first needed
            self._store = HandwritingStore()
        return self._store

    def _build_menu(self) -> None:
        self.menu.clear()
        self.label_actions = []
        for i, label in enumerate(self._classes):
            action = QAction(label, self)
            action.triggered.connect(lambda _=False, i=i: self.add(i))
            self.menu.addAction(action)
            self.label_actions.append(action)
        self.menu.addSeparator()
        self.menu.addAction(self.gallery_action)
        self.menu.addAction(self.finetune_action)
        self.set_predicted(self._predicted)

    def set_classes(self, classes: tuple[str, ...]) -> None:
        classes = tuple(str(c) for c in classes)
        if classes != self._classes and 0 < len(classes) <= 10:
            self._classes = classes
            self._predicted = None
            self._build_menu()
        self._fits = 0 < len(classes) <= 10
        self.show_row(self._wanted)

    def show_row(self, on: bool) -> None:
        """Shown when wanted and the classes are ten at most (hidden for a GAN and for 2-D points)."""
        self._wanted = bool(on)
        self.button.setVisible(self._wanted and self._fits)
        self.counter.setVisible(self._wanted and self._fits)

    def isVisible(self) -> bool:
        return self.button.isVisible()

    def set_predicted(self, index: int | None) -> None:
        """The class the network predicts (None: nothing drawn): what one click keeps the drawing as."""
        self._predicted = index if index is not None and 0 <= index < len(self._classes) else None
        for i, action in enumerate(self.label_actions):
            font = QFont(self.menu.font())
            font.setBold(i == self._predicted)
            action.setFont(font)
        if self._predicted is None:
            self.button.setText("Keep…")
            self.button.setToolTip("Add the drawing to my digits: choose its label")
        else:
            label = self._classes[self._predicted]
            self.button.setText(f"Keep as {label}")
            self.button.setToolTip(f"Add the drawing to my digits as {label} (the arrow: another label, or review "
                                   "them)")
        self.refresh()

    def _on_click(self) -> None:
        if self._predicted is None:
            self.button.showMenu()
        else:
            self.add(self._predicted)

    def add(self, index: int) -> str | None:
        """Store the drawing as class `index`; its id, or None (a blank drawing, refused with a message)."""
        raw = self._drawing()
        digit = preprocess_digit(np.asarray(raw)) if raw is not None else None
        if digit is None or is_blank(digit):
            self._message = BLANK
            self.refresh()
            return None
        label = self._classes[index]
        try:
            digit_id = self.store.add(digit, np.array(raw, dtype=np.uint8), label)
        except (OSError, ValueError) as exc:
            self._message = f"Could not keep it: {exc}"
            self.refresh()
            return None
        self._message = f"Kept as {label}."
        self.refresh()
        if self.gallery is not None:
            self.gallery.refresh()
        self.added.emit(digit_id, label)
        self.changed_digits()
        return digit_id

    def refresh(self) -> None:
        counts = self.store.counts(self._classes)
        for action, label in zip(self.label_actions, self._classes, strict=True):
            n = counts.get(label, 0)
            action.setText(f"{label}\t{n} kept" if n else label)
        text = counter_text(counts, self._classes)
        self.counter.setText(f"{self._message} {text}" if self._message else text)
        kept = {c: n for c, n in counts.items() if n}
        self.counter.setToolTip((f"Per class: {counts_text(kept)}\n" if kept else "") + f"Kept in {self.store.folder}")

    def show_gallery(self) -> MyDigitsGallery:
        if self.gallery is None:
            self.gallery = MyDigitsGallery(self.store, self._parent.window() if self._parent else None)
            self.gallery.changed.connect(self._on_gallery_changed)
            self.gallery.finetune.requested.connect(self._on_finetune_requested)
            self.gallery.finetune.freeze_chosen.connect(self._on_freeze_chosen)
        self.gallery.show_state(self.finetune)
        self.gallery.refresh()  # digits kept or deleted on the disk since it was last shown
        self.gallery.show()
        self.gallery.raise_()
        return self.gallery

    def _on_gallery_changed(self) -> None:
        self._message = ""
        self.refresh()
        self.changed_digits()

    def changed_digits(self) -> None:
        """The set of digits changed (kept, deleted): whoever decides whether fine-tuning can start hears it."""
        self.digits_changed.emit()

    # -- fine-tuning (the decisions are app/training/finetune.py's; this shows them) ---------------------
    def set_finetune(self, **changes) -> None:
        """Change what the My digits window shows of fine-tuning (FinetuneState's fields)."""
        for name, value in changes.items():
            setattr(self.finetune, name, value)
        if self.gallery is not None:
            self.gallery.show_state(self.finetune)

    def show_report(self, report, classes: tuple[str, ...], replay_title: str) -> None:
        """A fine-tuning run ended: its before/after, in the window and on the counter line."""
        self._message = (f"Fine-tuned: my digits {report.own_before:.0%} → {report.own_after:.0%}, "
                         f"{replay_title} {report.replay_before:.1%} → {report.replay_after:.1%}.")
        self.set_finetune(report=report, report_classes=tuple(classes), replay_title=replay_title)
        self.refresh()

    def _on_finetune_requested(self) -> None:
        self.finetune_requested.emit(self.gallery.finetune.freeze.currentData() or "")

    def _on_freeze_chosen(self, node_id: str) -> None:
        self.finetune.chosen = node_id or None
        self.freeze_chosen.emit(node_id)
