"""What the window does for a network on 2-D points (task "points", or a GAN on points): the Decision dock and the
neuron thumbnails.

- The points: whenever the dataset, its settings (the Training panel) or the
  document's own points change, the Decision view shows the points a run would
  train and test on, made by the core's own `make_points` (so they are exactly
  the run's: same settings, same seed).
- A run's `DecisionFrame`s (through the dispatcher) go to the Decision view (the
  output's surface) and to the editor's scene (a thumbnail per unit); both keep
  only the latest and repaint from their own timers.
- Hovering a thumbnail shows that unit in the Decision view.
- Points drawn or loaded in the Decision view become one undoable edit of the
  document (the view pushes it); loading a CSV file picks "Your own points" as
  the dataset.
- A GAN on points (GAN Lab's lesson): the view shows the set's points as the
  real ones (all of them, whatever their class: `make_points(gan=True)`, as the
  run takes them), and a run's `GanPointsFrame`s (the discriminator's verdict,
  the generated points, the generator's gradients) in place of DecisionFrames.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from ..core.data.errors import DatasetError
from ..core.data.points import OWN_POINTS, is_points_dataset, make_points
from ..core.run.messages import DecisionFrame, GanPointsFrame
from ..core.task import POINTS


class PointsController(QObject):
    def __init__(self, workbench, panel, view, parent: QObject | None = None):
        super().__init__(parent)
        self.document, self.scene, self.task = workbench.document, workbench.scene, workbench.task
        self.panel, self.view = panel, view
        self.run_id: int | None = None  # the run whose frames are shown
        self.frames = 0  # frames received (a benchmark reads it)

        self.view.attach(self.document)  # drawing, Clear and Load CSV: one undoable edit of the document each
        self.view.own_points_wanted.connect(self._choose_own_points)
        self.scene.unit_hovered.connect(self._on_hovered)
        self.panel.points_changed.connect(self.refresh_points)
        self.task.changed.connect(self._on_task)
        self.task.plane_changed.connect(self._on_task)
        doc = self.document
        doc.points_changed.connect(self.refresh_points)
        doc.reset.connect(self._network_replaced)
        for signal in (doc.node_added, doc.node_removed, doc.node_changed):
            signal.connect(self._network_edited)
        self._on_task()

    # -- the points ----------------------------------------------------------------------------
    def dataset_name(self) -> str | None:
        """The points dataset a run would use now (the panel's choice, else the Input node's), or None."""
        choice, *_ = self.panel.points_settings()
        name = choice or self.document.graph.input_dataset()
        return name if is_points_dataset(name) else None

    def refresh_points(self, *_args) -> None:
        if not self.task.plane:
            return
        name = self.dataset_name()
        own = self.document.graph.points
        gan = self.task.points_gan
        self.view.set_gan(gan)
        self.view.set_editable(name == OWN_POINTS)
        self.view.set_own_points(own)
        if name is None:
            self.view.set_points(None)
            return
        _, count, noise, test_share, seed = self.panel.points_settings()
        try:
            split = make_points(name, count, noise, test_share, seed, own=own, gan=gan)
        except DatasetError:  # too few own points yet, or settings being typed: show what there is
            split = None
        self.view.set_points(split)

    def _choose_own_points(self) -> None:
        """A CSV file was loaded into the document's own points: train on them."""
        if self.task.plane:  # (a GAN on points lists them too)
            self.panel.select_dataset(OWN_POINTS)

    # -- the run's pictures ----------------------------------------------------------------------
    def run_started(self, run_id: int) -> None:
        self.run_id = run_id

    def frame(self, frame: DecisionFrame) -> None:
        if frame.run_id != self.run_id or self.task.task != POINTS:
            return
        self.frames += 1
        self.view.set_frame(frame)
        self.scene.set_unit_maps(frame.units, frame.units_total)

    def gan_frame(self, frame: GanPointsFrame) -> None:
        """A GAN on points: the discriminator over the plane, the real and generated points, the gradients."""
        if frame.run_id != self.run_id or not self.task.points_gan:
            return
        self.frames += 1
        self.view.set_gan_frame(frame)

    def _on_hovered(self, node_id: str, index: int) -> None:
        self.view.show_unit(node_id or None, index)

    # -- when the network changes ------------------------------------------------------------------
    def _clear_pictures(self) -> None:
        self.scene.clear_unit_maps()
        self.view.set_frame(None)

    def _network_edited(self, *_args) -> None:
        """The pictures showed the network as it was: gone with an edit (a run locks the model meanwhile)."""
        if not self.document.locked:
            self._clear_pictures()

    def _network_replaced(self) -> None:
        self.run_id = None
        self._clear_pictures()
        self.refresh_points()

    def _on_task(self, *_args) -> None:
        if not self.task.plane:
            self._clear_pictures()
            self.view.set_gan(False)
            self.view.set_points(None)
            return
        if self.task.points_gan:
            self.scene.clear_unit_maps()  # a classifier's thumbnails, if one was open: a GAN has none
        self.refresh_points()
