"""What the editor looks like while training locks the model: a banner above the editor's view, and the
widgets that would change the model (palette, inspector, file and edit actions) greyed out.

The banner sits in a strip the view gives up for it (viewport margins), so it
hides no layer: a banner laid over the viewport covered the top of the network.

The lock itself lives in the Document (it refuses model-changing commands);
this only makes it visible, so a person sees why a drag or a key did nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractScrollArea, QHBoxLayout, QLabel, QWidget

from ..icons import icon

MARGIN = 10


class LockBanner(QWidget):
    """A rounded strip above the scene with a lock icon and the reason. `view` is a QAbstractScrollArea whose
    Python class exposes `setViewportMargins` (protected in C++): the editor's GraphView."""

    def __init__(self, view: QAbstractScrollArea):
        super().__init__(view)
        self.view = view
        self.setObjectName("lockBanner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        # Clicks and drags go through to the scene beneath: moving layers stays allowed while locked.
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.setStyleSheet("#lockBanner { background: rgba(224, 160, 48, 0.92); border-radius: 6px; }"
                           "#lockBanner QLabel { color: #1d1d1d; }")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 12, 6)
        self.icon = QLabel()
        self.icon.setPixmap(icon("lock").pixmap(18, 18))
        self.text = QLabel()
        self.text.setWordWrap(True)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.text, 1)
        view.installEventFilter(self)
        self.hide()

    def show_reason(self, reason: str) -> None:
        self.text.setText(reason)
        self.show()
        self._place()
        self.raise_()

    def showEvent(self, event) -> None:  # also when the window is shown again: hiding it hid the banner too
        super().showEvent(event)
        self._place()

    def hideEvent(self, event) -> None:
        self.view.setViewportMargins(0, 0, 0, 0)  # the scene takes the strip back
        super().hideEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and self.isVisible():
            self._place()
        return False

    def _place(self) -> None:
        view = self.view
        frame = view.frameWidth()
        inner = view.width() - 2 * frame
        width = max(200, min(inner - 2 * MARGIN, 720))
        self.setFixedWidth(width)
        self.setFixedHeight(self.layout().heightForWidth(width) if self.layout().hasHeightForWidth()
                            else self.sizeHint().height())
        view.setViewportMargins(0, self.height() + 2 * MARGIN, 0, 0)
        self.move(frame + (inner - width) // 2, frame + MARGIN)


class ModelLockView(QObject):
    """Follows `document.lock_changed`: shows the banner and disables what would change the model."""

    def __init__(self, document, view: QAbstractScrollArea, widgets: Iterable[QWidget], actions: Iterable[QAction],
                 parent: QObject | None = None):
        super().__init__(parent)
        self.document = document
        self.banner = LockBanner(view)
        self.widgets = list(widgets)
        self.actions = list(actions)
        self._was_enabled: dict[QAction, bool] = {}
        document.lock_changed.connect(self.apply)

    def apply(self, locked: bool) -> None:
        for widget in self.widgets:
            widget.setEnabled(not locked)
        if locked:
            self._was_enabled = {a: a.isEnabled() for a in self.actions}
            for action in self.actions:
                action.setEnabled(False)
            self.banner.show_reason(self.document.lock_reason or "The network is locked.")
        else:
            for action, enabled in self._was_enabled.items():
                action.setEnabled(enabled)
            self._was_enabled = {}
            self.banner.hide()
