"""The main window: composition and wiring only.

It is built in two steps so that it can appear before torch has loaded:
`MainWindow()` makes the frame (menus, tool bar, docks, status bar) from
Qt-only modules; `start()` builds the editor (`Workbench`) once the core is
importable and wires the actions to it.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMenu, QMessageBox, QStackedWidget, QTabBar, QWidget

from .actions import Actions
from .icons import icon
from .presets import preset_infos
from .settings import AppSettings
from .status import StatusPanel
from .titles import APP_NAME, DEFAULT_PRESET, display_name, window_title

# The views' docks: (key, title, object name). Saved window layouts find a dock by its object name: the Weights and
# Predictions docks keep the ones they had under earlier names, so that a layout saved then still applies.
VIEW_DOCKS = (("activations", "Activations", "activationsDock"), ("saliency", "Saliency", "saliencyDock"),
              ("weights", "Weights", "filtersDock"), ("histograms", "Histograms", "histogramsDock"),
              ("confusion", "Confusion", "confusionDock"), ("predictions", "Predictions", "galleryDock"),
              ("samples", "Samples", "samplesDock"), ("decision", "Decision", "decisionDock"))
# The docks that share the Draw dock's place (pictures beside pictures): a GAN's samples, 2-D points' decision surface.
BESIDE_DRAW = ("samples", "decision")


DEFAULT_SIZE = QSize(1280, 800)
SCREEN_SHARE = 0.85  # of a screen larger than that: the default window's share of it


def default_window_size(available: QSize) -> QSize:
    """The window's size before one is saved: 1280×800, or 85 % of the screen's available area where that is more.

    A screen smaller than 1280×800 gets 1280×800 still (the window manager fits it; the window's minimum size is
    about 1000×680)."""
    share = QSize(int(available.width() * SCREEN_SHARE), int(available.height() * SCREEN_SHARE))
    return DEFAULT_SIZE.expandedTo(share)


def _placeholder(text: str) -> QLabel:
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setEnabled(False)
    label.setWordWrap(True)
    return label


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings | None = None, path: str | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings or AppSettings()
        self.workbench = None
        self.training = None  # the TrainingController, once the core has loaded
        self.insight = None  # the InsightController of the views, likewise
        self.points = None  # the PointsController (the Decision dock, the neuron thumbnails), likewise
        self.setObjectName("mainWindow")
        self.setWindowIcon(icon("app"))
        self.setWindowTitle(window_title(display_name(path, None if path else DEFAULT_PRESET)))
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks
                            | QMainWindow.DockOption.AllowNestedDocks)
        self.acts = a = Actions(self)

        self.center = QStackedWidget()
        self.center.addWidget(_placeholder("Loading the layer library…"))
        self.setCentralWidget(self.center)
        # The default layout (issue 18): nothing under the editor. Networks flow downwards, so the editor gets the
        # window's whole height: the default mnist-cnn, fourteen layers in a column, then fits at about 50 % at
        # 1280×800, its layers' names readable (under the Charts and the Draw dock it fitted at 20 %). Left, the
        # Layers palette; right of the editor, the Inspector (the Training panel a tab behind it) beside the Draw
        # dock, and the Charts under both, the views that look inside the network tabs beside them.
        self.palette_dock = self._dock("Layers", "paletteDock", Qt.DockWidgetArea.LeftDockWidgetArea)
        self.palette_dock.setMinimumWidth(150)  # room for the editor in a window narrower than the default
        self.inspector_dock = self._dock("Inspector", "inspectorDock", Qt.DockWidgetArea.RightDockWidgetArea)
        self.training_dock = self._dock("Training", "trainingDock")
        self.charts_dock = self._dock("Charts", "chartsDock")
        self.draw_dock = self._dock("Draw", "drawDock")
        self.splitDockWidget(self.inspector_dock, self.charts_dock, Qt.Orientation.Vertical)
        self.splitDockWidget(self.inspector_dock, self.draw_dock, Qt.Orientation.Horizontal)
        self._tabify(self.inspector_dock, self.training_dock)
        self.inspector_dock.raise_()
        # Each view is fed only while it shows. (Tabbed in straight away: added to the area first, side by side,
        # they would widen the window.)
        self.view_docks = {name: self._dock(title, object_name) for name, title, object_name in VIEW_DOCKS}
        for name, dock in self.view_docks.items():
            # A GAN's samples and the points' Decision view go with the Draw dock, in front of it for their task.
            self._tabify(self.draw_dock if name in BESIDE_DRAW else self.charts_dock, dock)
        self.charts_dock.raise_()
        self.draw_dock.raise_()
        self.resizeDocks([self.palette_dock, self.inspector_dock, self.draw_dock], [200, 225, 540],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.draw_dock, self.charts_dock], [300, 400], Qt.Orientation.Vertical)
        self.docks = [self.palette_dock, self.inspector_dock, self.training_dock, self.charts_dock, self.draw_dock,
                      *self.view_docks.values()]

        self.toolbar = self.addToolBar("Main tool bar")
        self.toolbar.setObjectName("mainToolBar")
        self.toolbar.setMovable(True)
        for item in (a.new, a.open, a.save, None, a.undo, a.redo, None, a.delete, a.duplicate, None,
                     a.zoom_in, a.zoom_out, a.fit, a.tidy, None, a.start_training, a.pause_training,
                     a.stop_training):
            self.toolbar.addSeparator() if item is None else self.toolbar.addAction(item)

        self.recent_menu = QMenu("Open &Recent", self)
        self.recent_menu.setObjectName("recentMenu")
        self.preset_menu = QMenu("New from &Preset", self)
        self.preset_menu.setObjectName("presetMenu")
        self.preset_menu.setToolTipsVisible(True)
        for info in preset_infos():
            action = self.preset_menu.addAction(f"{info.title}  ({info.stem})")
            action.setObjectName(f"preset_{info.stem}")
            action.setToolTip(info.description)
            action.setStatusTip(info.description)
            action.setData(info.stem)
        self.export_menu = QMenu("&Export", self)
        self.export_menu.setObjectName("exportMenu")
        self.export_menu.addAction(a.export_train_script)
        self.export_menu.addSeparator()
        self.export_menu.addActions([a.export_python, a.export_onnx, a.export_pt2])
        self.recent_menu.setEnabled(False)
        self.preset_menu.setEnabled(False)

        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([a.new])
        file_menu.addMenu(self.preset_menu)
        file_menu.addAction(a.open)
        file_menu.addMenu(self.recent_menu)
        file_menu.addSeparator()
        file_menu.addActions([a.save, a.save_as])
        file_menu.addMenu(self.export_menu)
        file_menu.addSeparator()
        file_menu.addAction(a.quit)
        edit_menu = bar.addMenu("&Edit")
        edit_menu.addActions([a.undo, a.redo])
        edit_menu.addSeparator()
        edit_menu.addActions([a.cut, a.copy, a.paste, a.duplicate, a.delete])
        edit_menu.addSeparator()
        edit_menu.addAction(a.select_all)
        view_menu = bar.addMenu("&View")
        for dock_or_bar in (*self.docks, self.toolbar):
            view_menu.addAction(dock_or_bar.toggleViewAction())
        view_menu.addAction(a.reset_layout)
        view_menu.addSeparator()
        view_menu.addActions([a.zoom_in, a.zoom_out, a.zoom_reset, a.fit])
        network_menu = bar.addMenu("&Network")
        network_menu.addActions([a.add_layer, a.tidy, a.next_problem])
        network_menu.addSeparator()
        network_menu.addActions([a.start_training, a.pause_training, a.stop_training])
        network_menu.addSeparator()
        network_menu.addActions([a.save_weights, a.load_weights])
        help_menu = bar.addMenu("&Help")
        help_menu.addActions([a.about, a.about_qt])
        self.menus = {"file": file_menu, "edit": edit_menu, "view": view_menu, "network": network_menu,
                      "help": help_menu}

        self.status = StatusPanel(self.statusBar())
        a.quit.triggered.connect(self.close)
        a.about.triggered.connect(self._about)
        a.about_qt.triggered.connect(lambda: QMessageBox.aboutQt(self))
        a.reset_layout.triggered.connect(self.reset_layout)

        self.resize(default_window_size(self.screen().availableGeometry().size()))
        self._default_state = self.saveState()
        geometry, state = self.settings.window_geometry(), self.settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self._restore_layout(state)

    def childEvent(self, event) -> None:
        # Tabbed docks share a tab bar that Qt makes on demand (also when a person re-arranges them). Without
        # scroll buttons its minimum width is every tab side by side, and seven tabs would widen the window.
        if event.added() and isinstance(event.child(), QTabBar):
            event.child().setUsesScrollButtons(True)
            event.child().setElideMode(Qt.TextElideMode.ElideRight)
        super().childEvent(event)

    # Qt 6 leaves tab bars behind that its dock layout no longer uses: visible, where they were last put, they
    # show through the gaps between docks (the layout itself shows the tab bars it uses).
    def _tabify(self, first: QDockWidget, second: QDockWidget) -> None:
        """Tab `second` behind `first`. The layout is brought up to date first: Qt does that itself when a second
        group of tabs starts while the window is hidden, midway through, and a spare tab bar is left over. (Before
        resizeDocks: an up-to-date layout of the window not sized yet would squeeze the docks' sizes.)"""
        self.layout().activate()
        self.tabifyDockWidget(first, second)

    def _restore_layout(self, state: QByteArray) -> bool:
        """restoreState, hiding the tab bars the layout had: the restored one makes its own."""
        before = self.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly)
        if not self.restoreState(state):
            return False
        for bar in before:
            bar.hide()
        return True

    def _dock(self, title: str, name: str, area: Qt.DockWidgetArea | None = None) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(_placeholder("Loading…"))
        dock.setMinimumWidth(200)
        if area is not None:
            self.addDockWidget(area, dock)
        return dock

    # -- the editor arrives --------------------------------------------------------------------
    def start(self, path: str | None = None) -> None:
        """Build the editor (the core must be importable now) and open `path`, the default preset, or a restore."""
        from .workbench import Workbench

        self.workbench = wb = Workbench(self, self.settings)
        self.center.addWidget(wb.view)
        self.center.setCurrentWidget(wb.view)
        self.palette_dock.setWidget(wb.palette)
        self.inspector_dock.setWidget(wb.inspector)
        self._wire(wb)
        self.acts.set_core_enabled(True)
        self._start_training(wb)
        self.recent_menu.setEnabled(True)
        self.preset_menu.setEnabled(True)
        wb.files.start(path)
        wb.shapes.run_now()
        self._update_edit_actions()  # after set_core_enabled: nothing to undo, nothing selected yet
        self._update_title()
        wb.view.setFocus()

    def _wire(self, wb) -> None:
        a, doc, editor, files, view = self.acts, wb.document, wb.editor, wb.files, wb.view
        a.new.triggered.connect(files.new)
        a.open.triggered.connect(files.open)
        a.save.triggered.connect(files.save)
        a.save_as.triggered.connect(files.save_as)
        a.clear_recent.triggered.connect(files.clear_recent)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.preset_menu.triggered.connect(lambda action: files.new_from_preset(action.data()))

        stack = doc.undo_stack
        a.undo.triggered.connect(doc.undo)
        a.redo.triggered.connect(doc.redo)
        stack.indexChanged.connect(self._update_edit_actions)
        doc.lock_changed.connect(self._update_edit_actions)
        doc.edit_refused.connect(lambda why: self.statusBar().showMessage(why, 6000))
        stack.undoTextChanged.connect(self._undo_text)
        stack.redoTextChanged.connect(self._redo_text)
        a.cut.triggered.connect(editor.cut)
        a.copy.triggered.connect(editor.copy)
        a.paste.triggered.connect(editor.paste)
        a.duplicate.triggered.connect(editor.duplicate)
        a.delete.triggered.connect(editor.delete_selection)
        a.select_all.triggered.connect(editor.select_all)
        editor.selection_changed.connect(self._update_edit_actions)

        a.zoom_in.triggered.connect(view.zoom_in)
        a.zoom_out.triggered.connect(view.zoom_out)
        a.zoom_reset.triggered.connect(view.reset_zoom)
        a.fit.triggered.connect(view.fit_to_window)
        a.add_layer.triggered.connect(self._add_layer)
        a.tidy.triggered.connect(editor.tidy)
        a.next_problem.triggered.connect(wb.next_problem)

        doc.title_changed.connect(self._update_title)
        doc.modified_changed.connect(self.setWindowModified)
        wb.shapes.updated.connect(self.status.show_analysis)
        self.status.problems_clicked.connect(wb.next_problem)
        view.zoom_changed.connect(self.status.show_zoom)
        files.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.status.show_zoom(view.zoom())

    def _start_training(self, wb) -> None:
        """The Training panel, the charts and the Draw dock, and the controller that connects them."""
        from .charts import TrainingCharts
        from .charts.gan import GanCharts, TaskCharts
        from .draw import DigitPanel
        from .editor.lock_banner import ModelLockView
        from .predictor import Predictor
        from .training.controller import TrainingController
        from .training.panel import TrainingPanel

        a = self.acts
        panel, charts, gan_charts = TrainingPanel(self.settings), TrainingCharts(), GanCharts()
        predictor = Predictor(self)
        digits = DigitPanel(predictor)
        self.training_dock.setWidget(panel)
        self.task_charts = TaskCharts(charts, gan_charts)  # the classifier's charts, or a GAN's
        self.charts_dock.setWidget(self.task_charts)
        self.draw_dock.setWidget(digits)
        self.training = t = TrainingController(self, wb, a, panel, charts, digits, predictor, gan_charts=gan_charts)
        for follow in (panel.set_task, self.task_charts.show_task):
            follow(wb.task.task)
            wb.task.changed.connect(follow)
        wb.task.changed.connect(self._show_task_docks)
        wb.task.plane_changed.connect(self._show_task_docks)
        a.start_training.triggered.connect(lambda: t.start())
        a.pause_training.triggered.connect(t.toggle_pause)
        a.stop_training.triggered.connect(t.stop)
        a.save_weights.triggered.connect(t.save_weights)
        a.load_weights.triggered.connect(lambda: t.load_weights())
        a.export_train_script.triggered.connect(lambda: t.script_export.export())
        a.export_python.triggered.connect(lambda: t.model_export.export("python"))
        a.export_onnx.triggered.connect(lambda: t.model_export.export("onnx"))
        a.export_pt2.triggered.connect(lambda: t.model_export.export("pt2"))
        t.message.connect(lambda text: self.statusBar().showMessage(text, 10000))
        t.state_changed.connect(self.status.show_training_state)
        self._start_views(wb, t)
        self.lock_view = ModelLockView(wb.document, wb.view, [wb.palette, wb.inspector],
                                       [a.new, a.open, a.clear_recent, self.recent_menu.menuAction(),
                                        self.preset_menu.menuAction(), a.tidy, a.add_layer], self)

    def _start_views(self, wb, training) -> None:
        """Activations, saliency, weights, histograms, confusion matrix, predictions and (a GAN's) samples."""
        from .drawing_first import HeldRepaints
        from .points_controller import PointsController
        from .viz.activations import ActivationsView
        from .viz.confusion import ConfusionView
        from .viz.controller import InsightController
        from .viz.decision import DecisionView
        from .viz.histograms import HistogramsView
        from .viz.predictions import PredictionsView
        from .viz.saliency import SaliencyView
        from .viz.samples import SamplesView
        from .viz.weights import WeightsView

        views = {"activations": ActivationsView(), "saliency": SaliencyView(), "weights": WeightsView(),
                 "histograms": HistogramsView(), "confusion": ConfusionView(), "predictions": PredictionsView(),
                 "samples": SamplesView(), "decision": DecisionView()}
        for name, view in views.items():
            self.view_docks[name].setWidget(view)
            if isinstance(view, HeldRepaints):
                view.schedule_repaints_with(training.drawing_first.run)
        self.insight = InsightController(training, wb, views, self.view_docks, self)
        self.points = PointsController(wb, training.panel, views["decision"], self)
        training.dispatcher.points = self.points

    def _show_task_docks(self, *_args) -> None:
        """A network of another task was opened: bring its picture dock to the front (a GAN's samples; the Decision
        view for 2-D points, a GAN's on points included; or the Draw dock), where they share a place."""
        watch = self.workbench.task
        dock = (self.view_docks["decision"] if watch.plane else
                self.view_docks["samples"] if watch.task == "generation" else self.draw_dock)
        if dock is self.draw_dock or (self.tabifiedDockWidgets(dock) and dock.toggleViewAction().isChecked()):
            dock.raise_()

    def _undo_text(self, text: str) -> None:
        self.acts.undo.setText(f"&Undo {text}".rstrip())

    def _redo_text(self, text: str) -> None:
        self.acts.redo.setText(f"&Redo {text}".rstrip())

    def _update_title(self) -> None:
        doc = self.workbench.document
        self.setWindowTitle(window_title(doc.display_name))
        self.setWindowFilePath(doc.path or "")
        self.setWindowModified(doc.modified)

    def _update_edit_actions(self) -> None:
        a, editor = self.acts, self.workbench.editor
        doc = self.workbench.document
        a.undo.setEnabled(doc.can_undo())
        a.redo.setEnabled(doc.can_redo())
        a.copy.setEnabled(editor.has_selected_nodes())
        for action in (a.cut, a.duplicate):
            action.setEnabled(editor.has_selected_nodes() and not doc.locked)
        a.delete.setEnabled(editor.has_selection() and not doc.locked)
        a.paste.setEnabled(not doc.locked)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.workbench.files.recent_files()
        for path in recent:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(partial(self.workbench.files.open_recent, path))
        if not recent:
            self.recent_menu.addAction("No recent files").setEnabled(False)
        self.recent_menu.addSeparator()
        self.recent_menu.addAction(self.acts.clear_recent)
        self.acts.clear_recent.setEnabled(bool(recent))

    def _add_layer(self) -> None:
        self.palette_dock.show()
        self.palette_dock.raise_()
        self.workbench.palette.focus_search()

    def reset_layout(self) -> None:
        self._restore_layout(self._default_state)
        for dock in self.docks:
            dock.setFloating(False)
            dock.show()
        self.toolbar.show()

    def _about(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}",
                          f"<h3>{APP_NAME}</h3><p>Build neural networks by drag and drop, train them, and watch "
                          "them learn.</p><p>Drag layers from the palette, connect a layer's bottom port to "
                          "another's top port, and edit parameters in the inspector.</p>")

    # -- closing ---------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        # A running training is asked about first: if it must stop, the window closes once it has.
        if self.training is not None and not self.training.confirm_close():
            event.ignore()
            return
        if self.workbench is not None and not self.workbench.files.confirm_discard("closing"):
            event.ignore()
            return
        self.settings.save_window(self.saveGeometry(), self.saveState())
        if self.training is not None:
            self.training.shutdown()
        if self.insight is not None:
            self.insight.shutdown()
        if self.workbench is not None:
            self.workbench.shutdown()
        event.accept()
