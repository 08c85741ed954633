"""The Training panel's Points group (a network on 2-D points): how many points, their noise, the share held out
for testing, and the seed that draws them, with Regenerate for the next seed.

As TensorFlow Playground, noise and the test share are shown in per cent; the
`TrainConfig` holds them as fractions (points_noise 0..0.5, points_test_share
0..0.9). Reading and writing a `TrainConfig` is the panel's job.
"""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QPushButton

from ...core.data.points import MAX_POINTS
from .fields import Field, FormGroup, PercentBox, SpinBox

OWN_POINTS_TIP = ("Off for your own points: a run uses every point drawn on the Decision view or loaded from a "
                  "CSV file, as they are and however many there are.")


class PointsBox(FormGroup):
    def __init__(self, parent=None):
        super().__init__("Points", "training_points", parent)
        self.count_spin = SpinBox(2, MAX_POINTS)
        self.count_spin.setSingleStep(50)
        self.add("Count", Field(
            "points", self.count_spin,
            f"How many points the dataset has, training and test together (2 to {MAX_POINTS:,})."))
        self.noise_spin = PercentBox(0, 50, 5)  # TensorFlow Playground's noise slider: 0 to 50 %
        self.add("Noise", Field(
            "points_noise", self.noise_spin,
            "How far the points stray from their dataset's shape (0 to 50 %): noisier points blur the border "
            "between the classes, and the network must not learn every stray point."))
        self.test_spin = PercentBox(0, 90, 10)
        self.add("Test share", Field(
            "points_test_share", self.test_spin,
            "The share of the points held out for testing (0 to 90 %): the network never trains on them, so "
            "the test loss shows how well it generalizes."))
        self.seed_spin = SpinBox(0, 2_147_483_647)
        self.regenerate_button = QPushButton("Regenerate")
        self.regenerate_button.setObjectName("training_points_regenerate")
        self.regenerate_button.setToolTip("Draw new points of the same kind: the next seed.")
        self.regenerate_button.clicked.connect(self.regenerate)
        self.add("Points seed", Field(
            "points_seed", self.seed_spin,
            "Draws the points and splits them into training and test: the same seed and settings give the same "
            "points. (The Seed below starts the weights and the order of the batches.)"))
        # Under the seed, not beside it: a row of both would not fit beside the labels in a 320 px dock.
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addStretch(1)
        row.addWidget(self.regenerate_button)
        self.form.addRow(row)
        self._own = False

    # -- values: the config's fractions <-> the boxes' per cent -----------------------------------------------------
    def noise(self) -> float:
        return self.noise_spin.fraction()

    def set_noise(self, noise: float) -> None:
        self.noise_spin.set_fraction(noise)

    def test_share(self) -> float:
        return self.test_spin.fraction()

    def set_test_share(self, share: float) -> None:
        self.test_spin.set_fraction(share)

    def regenerate(self) -> None:
        """The next seed (back to 0 after the largest): new points of the same kind."""
        seed = self.seed_spin.value()
        self.seed_spin.setValue(0 if seed >= self.seed_spin.maximum() else seed + 1)

    def set_own_points(self, own: bool) -> None:
        """Your own points are as many as there are, where they are: the count and the noise are off, and their
        tooltips say why. (The test share and the seed, which splits them, still apply.)"""
        if own == self._own:
            return
        self._own = own
        for name in ("points", "points_noise"):
            field = self.fields[name]
            tip = f"{field.help}\n\n{OWN_POINTS_TIP}" if own else field.help
            field.editor.setEnabled(not own)
            field.editor.setToolTip(tip)
            if field.label is not None:  # greyed with its box; its tooltip says why too
                field.label.setEnabled(not own)
                field.label.setToolTip(tip)

    def update_dependents(self) -> None:
        """What depends on the dataset (the count, for your own points) is set by the panel: set_own_points."""
