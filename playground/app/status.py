"""The status bar's permanent part: training state, validity (with the problem count), parameter count, zoom."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QLabel, QStatusBar, QToolButton

from .icons import icon


class StatusPanel(QObject):
    problems_clicked = Signal()

    def __init__(self, bar: QStatusBar):
        super().__init__(bar)
        self.bar = bar
        self.validity = QToolButton()
        self.validity.setObjectName("statusValidity")
        self.validity.setAutoRaise(True)
        self.validity.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.validity.clicked.connect(self.problems_clicked.emit)
        self.params = QLabel(objectName="statusParams")
        self.zoom = QLabel(objectName="statusZoom")
        self.zoom.setMinimumWidth(48)
        self.zoom.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.training = QLabel(objectName="statusTraining")
        self.training.hide()
        bar.addPermanentWidget(self.training)
        bar.addPermanentWidget(self.validity)
        bar.addPermanentWidget(self.params)
        bar.addPermanentWidget(self.zoom)
        self.set_computing()

    def set_computing(self) -> None:
        self.validity.setIcon(icon("valid"))
        self.validity.setText("Computing shapes…")
        self.validity.setToolTip("Shapes are computed once the layer library has loaded")
        self.params.setText("")

    def show_analysis(self, analysis) -> None:
        count = len(analysis.problems)
        if analysis.ok:
            self.validity.setIcon(icon("valid"))
            self.validity.setText("Valid network")
            self.validity.setToolTip("The network can be built and trained")
        else:
            self.validity.setIcon(icon("warning"))
            general = [p for p in analysis.problems if p.node is None]
            text = f"{count} problem{'s' * (count != 1)}"
            if general:  # problems with the graph as a whole have no node to show them on
                text += f": {general[0].message}"
            self.validity.setText(text if len(text) <= 90 else text[:89] + "…")
            self.validity.setToolTip("Click (or press F8) to go to the next layer with a problem\n\n"
                                     + "\n".join(f"• {p}" for p in analysis.problems[:30]))
        self.params.setText(f"{analysis.total_params:,} parameters")

    def show_training_state(self, state: str) -> None:
        words = {"starting": "Starting training…", "running": "Training", "paused": "Paused",
                 "stopping": "Stopping…"}.get(state)
        self.training.setVisible(words is not None)
        if words:
            self.training.setText(f"<b>● {words}</b>" if state == "running" else words)

    def show_zoom(self, factor: float) -> None:
        self.zoom.setText(f"{factor * 100:.0f}%")
