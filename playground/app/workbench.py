"""Everything that needs the core (and so torch), built once the core has been imported.

The document, the editor (scene and view), the palette, the inspector, shape inference,
autosave and the file commands, connected to each other. The main window
places these widgets and wires its actions to them.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from .autosave import Autosaver
from .document import Document
from .editor.controller import EditorController
from .editor.inspector import Inspector
from .editor.palette import PaletteWidget
from .editor.scene import GraphScene
from .editor.shapes import ShapeInference
from .editor.view import GraphView
from .file_controller import FileController
from .settings import AppSettings
from .task import TaskWatch


class Workbench(QObject):
    def __init__(self, window: QWidget, settings: AppSettings):
        super().__init__(window)
        self.document = doc = Document(self)
        self.scene = GraphScene(doc, self)
        self.view = GraphView(self.scene)
        self.palette = PaletteWidget()
        self.inspector = Inspector(doc, self.scene)
        self.shapes = ShapeInference(doc, self)
        self.task = TaskWatch(doc, self)  # classification or generation (a GAN): the parts that differ follow it
        self.editor = EditorController(doc, self.scene, self.view, self)
        self.autosaver = Autosaver(doc, settings.autosave_dir, parent=self)
        self.files = FileController(window, doc, settings, self.autosaver, prepare_view=self.scene.prepare)

        self.shapes.updated.connect(self.scene.apply_analysis)
        self.shapes.updated.connect(self.inspector.set_analysis)
        self.palette.add_requested.connect(self.editor.add_kind)
        self.view.kind_dropped.connect(self.editor.add_kind)
        self.scene.node_activated.connect(self._focus_inspector)
        doc.reset.connect(self.fit_new_document)

    def fit_new_document(self) -> None:
        """Show the whole network (at most 100 %) once the view has its size: a newcomer's first look."""
        self.view.fit_new_document()

    def _focus_inspector(self, node_id: str) -> None:
        self.scene.select_nodes([node_id])
        self.inspector.setFocus()
        if self.inspector.id_edit is not None:
            self.inspector.id_edit.setFocus()

    def next_problem(self) -> str | None:
        return self.editor.next_problem(self.shapes.analysis)

    def shutdown(self) -> None:
        """A clean exit: drop the autosave, it is not needed."""
        self.autosaver.close()
