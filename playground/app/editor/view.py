"""The editor's view of the scene: zoom under the mouse, pan with the middle button or space-drag, drop layers from
the palette.

A new document (the app opening, a file opened, a preset chosen, New) is shown whole: `fit_new_document` fits
the nodes in the viewport once it has its size, at no more than 100 % and no less than MIN_ZOOM (a network too
tall even then shows its top). While the view stays as that fit left it, a resize fits again: the window's first
layout settles in several steps (the docks filled, a window manager's maximise), and a first look should not be
cut off by them. Once the view is zoomed, scrolled or panned (by the person, or by the editor bringing a layer
into sight), it is left as it is; an edit alone fits nothing.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPalette,
    QWheelEvent,
)
from PySide6.QtWidgets import QFrame, QGraphicsView

from .palette import MIME_KIND
from .scene import GraphScene

MIN_ZOOM, MAX_ZOOM = 0.15, 3.0
ZOOM_STEP = 1.2
SCENE_MARGIN = 600.0
FIT_MARGIN = 40.0  # scene units around the nodes when fitting them


class GraphView(QGraphicsView):
    zoom_changed = Signal(float)
    kind_dropped = Signal(str, QPointF)  # a layer kind dropped at a scene position

    def __init__(self, scene: GraphScene, parent=None):
        super().__init__(scene, parent)
        self.setObjectName("graphView")
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)  # set_zoom anchors itself
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setFrameShape(QFrame.Shape.NoFrame)
        # Scroll bars that come and go resize the viewport, which shifts the drawing under the mouse.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pan_from: QPointF | None = None
        self._space = False
        self.placeholder = "Drag layers here from the palette — start with Input"
        scene.changed.connect(self._grow_scene_rect)
        self._fit_owed = False  # a new document waits for the viewport's size to be fitted
        self._fitted: tuple[float, QPointF] | None = None  # (zoom, centre) as the last automatic fit left them

    # -- zoom ---------------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom to `factor`, keeping the scene point under the viewport position `anchor` (default: the centre)."""
        factor = min(MAX_ZOOM, max(MIN_ZOOM, factor))
        anchor = QPointF(self.viewport().rect().center()) if anchor is None else QPointF(anchor)
        fixed = self.mapToScene(anchor.toPoint())
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.scale(factor / self.zoom(), factor / self.zoom())
        self._grow_scene_rect()
        moved = self.mapFromScene(fixed) - anchor.toPoint()
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + moved.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + moved.y())
        self.zoom_changed.emit(self.zoom())

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom() * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom() / ZOOM_STEP)

    def reset_zoom(self) -> None:
        self.set_zoom(1.0)

    def fit_to_window(self) -> None:
        self.fit_all()

    def fit_all(self, min_zoom: float = MIN_ZOOM, max_zoom: float = 1.0) -> None:
        """Show every node; never magnify beyond `max_zoom`. With a `min_zoom`, show the top if it doesn't fit."""
        rect = self.scene().nodes_rect()
        if rect.isEmpty():
            self.set_zoom(1.0)
            self.centerOn(0, 0)
            return
        rect = rect.adjusted(-FIT_MARGIN, -FIT_MARGIN, FIT_MARGIN, FIT_MARGIN)
        self.reset_scene_rect()
        viewport = self.viewport().rect()
        factor = min(viewport.width() / rect.width(), viewport.height() / rect.height())
        factor = min(max_zoom, max(min_zoom, factor))
        self.set_zoom(factor)
        visible_height = viewport.height() / factor
        if rect.height() <= visible_height:
            self.centerOn(rect.center())
        else:  # too tall to fit legibly: start at the top, where the data enters
            self.centerOn(QPointF(rect.center().x(), rect.top() + visible_height / 2))

    # -- a new document is shown whole (the module docstring) -----------------------------------------
    def fit_new_document(self) -> None:
        """Fit the nodes now if the viewport has its size, else as soon as it has."""
        self._fit_owed = True
        self._fitted = None
        QTimer.singleShot(0, self._pay_fit)  # after the scene's rebuild and the layout that follows it

    def _pay_fit(self) -> None:
        if not self._fit_owed or not self.isVisible() or self.viewport().rect().isEmpty():
            return  # not laid out yet: showEvent or resizeEvent comes back here
        self._fit_owed = False
        self._fit_automatically()

    def _fit_automatically(self) -> None:
        self.fit_all()
        self._fitted = (self.zoom(), self._centre())

    def _centre(self) -> QPointF:
        return self.mapToScene(self.viewport().rect().center())

    def _as_fitted(self) -> bool:
        """The view is as the last automatic fit left it: no zoom, scroll or pan since (a resize keeps the centre)."""
        if self._fitted is None:
            return False
        zoom, centre = self._fitted
        moved = self.mapFromScene(centre) - self.viewport().rect().center()
        return self.zoom() == zoom and moved.manhattanLength() <= 2

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._fit_owed:
            QTimer.singleShot(0, self._pay_fit)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)  # keeps the scene point at the centre (the resize anchor)
        if self._fit_owed:
            self._pay_fit()
        elif self._as_fitted():
            self._fit_automatically()

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if not delta:
            event.ignore()
            return
        self.set_zoom(self.zoom() * ZOOM_STEP ** (delta / 120), anchor=event.position())
        event.accept()

    # -- scene extent -------------------------------------------------------------------------
    def _grow_scene_rect(self, regions=None) -> None:
        """Room to scroll around the nodes. It only grows while editing (shrinking would make the view jump).

        After a change, only the scene's changed regions can have grown it: measuring every item
        instead cost a quarter of a second per edit at 10,000 layers. Otherwise the nodes' extent
        stands for the scene's (wires stay within the margin of it), again far cheaper than every item.
        """
        if regions:
            rect = QRectF()
            for region in regions:
                rect = rect.united(region)
        else:
            rect = self.scene().nodes_rect()
        rect = rect.adjusted(-SCENE_MARGIN, -SCENE_MARGIN, SCENE_MARGIN, SCENE_MARGIN)
        if not self.sceneRect().contains(rect):
            self.setSceneRect(self.sceneRect().united(rect))

    def reset_scene_rect(self) -> None:
        rect = self.scene().nodes_rect().adjusted(-SCENE_MARGIN, -SCENE_MARGIN, SCENE_MARGIN, SCENE_MARGIN)
        self.setSceneRect(rect)

    # -- panning ------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        pan = event.button() == Qt.MouseButton.MiddleButton or (
            self._space and event.button() == Qt.MouseButton.LeftButton)
        if pan:
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self._grow_scene_rect()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - round(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - round(delta.y()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_from = None
            self._update_cursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self._update_cursor()
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self._update_cursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:
        self._space = False
        self._update_cursor()
        super().focusOutEvent(event)

    def _update_cursor(self) -> None:
        if self._space:
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            self.viewport().unsetCursor()

    # -- dropping layers from the palette --------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(MIME_KIND):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasFormat(MIME_KIND):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        if not event.mimeData().hasFormat(MIME_KIND):
            super().dropEvent(event)
            return
        kind = bytes(event.mimeData().data(MIME_KIND)).decode("utf-8")
        event.acceptProposedAction()
        self.kind_dropped.emit(kind, self.mapToScene(event.position().toPoint()))

    # -- appearance -----------------------------------------------------------------------------
    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.scene().refresh_theme()
        super().changeEvent(event)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        if self.scene().nodes or not self.placeholder:
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))
        painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
        painter.restore()
