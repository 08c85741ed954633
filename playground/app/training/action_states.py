"""Which training actions can be used in each state of the session, and how Pause looks while paused."""

from __future__ import annotations

from ..actions import tooltip
from ..icons import icon
from .session import IDLE, PAUSED, RUNNING, STARTING, STOPPING


class TrainingActions:
    def __init__(self, actions, weights):
        self.acts, self.weights = actions, weights
        self._pause_tip = actions.pause_training.toolTip()  # while paused, the action says Resume instead

    def show(self, state: str) -> None:
        a, active = self.acts, state != IDLE
        a.start_training.setEnabled(not active or state == STOPPING)  # while stopping: starts once it has ended
        a.pause_training.setEnabled(state in (STARTING, RUNNING, PAUSED))
        paused = state == PAUSED  # the one action then resumes, and looks it
        a.pause_training.setText("&Resume Training" if paused else "&Pause Training")
        a.pause_training.setIcon(icon("train-start" if paused else "train-pause"))
        a.pause_training.setToolTip(tooltip(a.pause_training, "&Resume Training", "Go on with the paused run")
                                    if paused else self._pause_tip)
        a.stop_training.setEnabled(active and state != STOPPING)
        a.load_weights.setEnabled(not active)
        a.save_weights.setEnabled(self.weights.current is not None)
