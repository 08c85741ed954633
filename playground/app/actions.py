"""The window's actions: text, shortcuts, icons and tips. What they do is wired in main_window.py."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence

from .icons import icon

Key = QKeySequence.StandardKey


def tooltip(action: QAction, text: str, tip: str) -> str:
    """"Pause Training (F6) — tip": the action's `text` without its mnemonic, its first shortcut, and `tip`."""
    label = text.replace("&", "").rstrip("…")
    if action.shortcuts():
        label += f" ({action.shortcuts()[0].toString(QKeySequence.SequenceFormat.NativeText)})"
    return f"{label} — {tip}"


class Actions(QObject):
    def __init__(self, parent: QObject):
        super().__init__(parent)
        self.core: list[QAction] = []  # actions that need the editor (enabled once it is loaded)

        def make(name: str, text: str, shortcut=None, icon_name: str | None = None, tip: str = "",
                 core: bool = True) -> QAction:
            action = QAction(text, parent)
            action.setObjectName(name)
            if shortcut is not None:
                shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
                action.setShortcuts([s if isinstance(s, QKeySequence) else QKeySequence(s) for s in shortcuts])
            if icon_name:
                action.setIcon(icon(icon_name))
            if tip:
                action.setStatusTip(tip)
                action.setToolTip(tooltip(action, text, tip))
            if core:
                action.setEnabled(False)
                self.core.append(action)
            return action

        # File
        self.new = make("actionNew", "&New", Key.New, "document-new", "Start an empty network")
        self.open = make("actionOpen", "&Open…", Key.Open, "document-open", "Open a network file")
        self.save = make("actionSave", "&Save", Key.Save, "document-save", "Save the network")
        self.save_as = make("actionSaveAs", "Save &As…", Key.SaveAs, "document-save-as",
                            "Save the network under a new name")
        self.clear_recent = make("actionClearRecent", "&Clear Recent Files")
        self.export_train_script = make("actionExportTrainScript", "&Training Script…", tip=(
            "Write the run as a standalone train.py (PyTorch only) that trains on one GPU or, under torchrun, on many: "
            "the selected finished run of the history, or the network with the Training panel's settings"))
        self.export_python = make("actionExportPython", "PyTorch &Source…", tip=(
            "Write the network as readable PyTorch source (an nn.Module), with the weights in use beside it (.pth)"))
        self.export_onnx = make("actionExportOnnx", "&ONNX Model…", tip=(
            "Write the network with the weights in use as an ONNX model, for ONNX Runtime and other tools"))
        self.export_pt2 = make("actionExportPt2", "torch.&export Program…", tip=(
            "Write the network with the weights in use as a torch.export program (.pt2), loadable without its code"))
        self.quit = make("actionQuit", "&Quit", Key.Quit, "application-exit", "Close Playground", core=False)
        # Edit
        self.undo = make("actionUndo", "&Undo", Key.Undo, "edit-undo", "Undo the last change")
        self.redo = make("actionRedo", "&Redo", [QKeySequence(Key.Redo), QKeySequence("Ctrl+Y")], "edit-redo",
                         "Redo the change you undid")
        self.cut = make("actionCut", "Cu&t", Key.Cut, "edit-cut", "Cut the selected layers")
        self.copy = make("actionCopy", "&Copy", Key.Copy, "edit-copy", "Copy the selected layers and their wires")
        self.paste = make("actionPaste", "&Paste", Key.Paste, "edit-paste", "Paste layers")
        self.duplicate = make("actionDuplicate", "&Duplicate", "Ctrl+D", "edit-duplicate",
                              "Duplicate the selected layers and the wires between them")
        self.delete = make("actionDelete", "&Delete", [QKeySequence(Key.Delete), QKeySequence("Backspace")],
                           "edit-delete", "Delete the selected layers and wires")
        self.select_all = make("actionSelectAll", "Select &All", Key.SelectAll, "select-all",
                               "Select every layer and wire")
        # View
        self.zoom_in = make("actionZoomIn", "Zoom &In", [QKeySequence(Key.ZoomIn), QKeySequence("Ctrl+=")],
                            "zoom-in", "Magnify the network")
        self.zoom_out = make("actionZoomOut", "Zoom &Out", Key.ZoomOut, "zoom-out", "Shrink the network")
        self.zoom_reset = make("actionZoomReset", "&Actual Size", "Ctrl+0", "zoom-original", "Zoom to 100%")
        self.fit = make("actionFit", "&Fit to Window", "Ctrl+Shift+F", "zoom-fit", "Show the whole network")
        self.reset_layout = make("actionResetLayout", "&Reset Window Layout", tip="Put the panels back where "
                                 "they started", core=False)
        # Network
        self.add_layer = make("actionAddLayer", "&Add Layer…", "Ctrl+K", "layer-add",
                              "Search the layer palette; Enter adds the first match below the selection")
        self.tidy = make("actionTidy", "&Tidy Layout", "Ctrl+L", "layout-tidy",
                         "Arrange the layers top to bottom in the order data flows")
        self.next_problem = make("actionNextProblem", "&Next Problem", "F8", "warning",
                                 "Select the next layer that has a problem")
        # Training (Network menu and tool bar); enabled by the training controller as the run's state allows
        self.start_training = make("actionStartTraining", "&Start Training", "F5", "train-start",
                                   "Train the network with the settings in the Training panel")
        self.pause_training = make("actionPauseTraining", "&Pause Training", "F6", "train-pause",
                                   "Pause the run between two steps, or resume it")
        self.stop_training = make("actionStopTraining", "S&top Training", "Shift+F5", "train-stop",
                                  "End the run after the current step; the weights so far are kept")
        self.save_weights = make("actionSaveWeights", "Save &Weights…", "Ctrl+Alt+S", "weights-save",
                                 "Save the trained weights (with the network and its training history) to a file")
        self.load_weights = make("actionLoadWeights", "&Load Weights…", "Ctrl+Alt+O", "weights-load",
                                 "Load weights from a checkpoint into the layers of this network that match")
        # Help
        self.about = make("actionAbout", "&About Playground", icon_name="help-about", core=False)
        self.about_qt = make("actionAboutQt", "About &Qt", core=False)

    def set_core_enabled(self, on: bool) -> None:
        for action in self.core:
            action.setEnabled(on)
