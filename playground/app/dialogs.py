"""Every question the app asks and every error it reports, in one place (tests patch QMessageBox and the two file
pickers here, get_open_file_name and get_save_file_name, and the folder picker get_existing_directory).

Every file dialog of the app is made by `file_dialog`: Qt's own (non-native) dialog asks its icon provider for
each file's icon and type, and the default provider reads a file's first bytes to guess its type. In /proc that
read can block for ever (`/proc/kmsg`), and the window with it; `PlainFileIcons` tells the type by the name alone.
"""

from __future__ import annotations

from PySide6.QtCore import QEventLoop, QFileInfo, Qt
from PySide6.QtGui import QAbstractFileIconProvider
from PySide6.QtWidgets import QApplication, QFileDialog, QFileIconProvider, QMessageBox, QProgressDialog, QWidget

FILE_FILTER = "Playground networks (*.json);;All files (*)"


def ask_save_changes(parent: QWidget, name: str, doing: str) -> str:
    """'save', 'discard' or 'cancel'."""
    buttons = QMessageBox.StandardButton
    answer = QMessageBox.warning(
        parent, "Unsaved changes",
        f"Save the changes to {name} before {doing}?\n\nIf you don't save, your changes will be lost.",
        buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save)
    return {buttons.Save: "save", buttons.Discard: "discard"}.get(answer, "cancel")


def ask_restore(parent: QWidget, name: str, when: str) -> bool:
    buttons = QMessageBox.StandardButton
    answer = QMessageBox.question(
        parent, "Restore unsaved work?",
        f"Playground did not close properly last time. Unsaved changes to {name} were autosaved at {when}.\n\n"
        "Restore them? (No discards the autosaved copy.)",
        buttons.Yes | buttons.No, buttons.Yes)
    return answer == buttons.Yes


PROGRESS_AFTER_MS = 500  # a job shorter than this shows no progress bar


class Progress:
    """A long job run in slices on the GUI thread: a progress bar with Cancel, shown only once the job has taken
    PROGRESS_AFTER_MS. Window-modal, so nothing else can change the document meanwhile; until it shows, the
    window repaints and its timers run but user input waits (so no second command starts half-way)."""

    def __init__(self, parent: QWidget, label: str):
        self.dialog = QProgressDialog(label, "Cancel", 0, 0, parent)
        self.dialog.setWindowTitle("Playground")
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.setAutoReset(False)
        self.dialog.setAutoClose(False)
        self.dialog.setMinimumDuration(PROGRESS_AFTER_MS)
        self.dialog.setValue(0)  # starts its clock: it shows itself after the minimum duration

    def step(self, done: int = 0, total: int = 0) -> bool:
        """Report progress (none known: total 0) and let the window breathe; False once Cancel was pressed."""
        if total and done > 0:
            if self.dialog.maximum() != total:
                self.dialog.setMaximum(total)
            self.dialog.setValue(min(done, total))
        flags = QEventLoop.ProcessEventsFlag
        QApplication.processEvents(flags.AllEvents if self.dialog.isVisible() else flags.ExcludeUserInputEvents)
        return not self.dialog.wasCanceled()

    def close(self) -> None:
        self.dialog.reset()  # stops the timer that would show it
        self.dialog.hide()
        self.dialog.deleteLater()


def error(parent: QWidget, title: str, text: str) -> None:
    QMessageBox.critical(parent, title, text)


def info(parent: QWidget, title: str, text: str) -> None:
    QMessageBox.information(parent, title, text)


class PlainFileIcons(QFileIconProvider):
    """A file's icon and type from its name and kind (folder or file) alone: never opens a file to sniff it.
    (Called from the file system model's gatherer thread as well as the GUI thread: it keeps no state.)"""

    def icon(self, what):
        if isinstance(what, QFileInfo):
            kind = QAbstractFileIconProvider.IconType
            return super().icon(kind.Folder if what.isDir() else kind.File)
        return super().icon(what)

    def type(self, info: QFileInfo) -> str:
        if info.isDir():
            return "Folder"
        suffix = info.suffix()
        return f"{suffix.upper()} file" if suffix and info.isFile() else "File"


def file_dialog(parent: QWidget | None, caption: str, folder: str, filters: str, save: bool) -> QFileDialog:
    """The app's file dialog: the platform's own where there is one, else Qt's, which reads no file to list it."""
    dialog = QFileDialog(parent, caption, folder, filters)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave if save else QFileDialog.AcceptMode.AcceptOpen)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile if save else QFileDialog.FileMode.ExistingFile)
    dialog.setOption(QFileDialog.Option.DontUseCustomDirectoryIcons)  # (a folder's .directory file is not read)
    dialog.setIconProvider(PlainFileIcons(dialog))
    return dialog


def _ask_file(parent: QWidget | None, caption: str, folder: str, filters: str, save: bool) -> tuple[str, str]:
    dialog = file_dialog(parent, caption, folder, filters, save)
    try:
        if dialog.exec() != QFileDialog.DialogCode.Accepted or not dialog.selectedFiles():
            return "", ""
        return dialog.selectedFiles()[0], dialog.selectedNameFilter()
    finally:
        dialog.deleteLater()


def get_open_file_name(parent: QWidget | None, caption: str, folder: str, filters: str) -> tuple[str, str]:
    """(path, the filter chosen), or ("", "") when cancelled: as QFileDialog.getOpenFileName."""
    return _ask_file(parent, caption, folder, filters, save=False)


def get_save_file_name(parent: QWidget | None, caption: str, suggested: str, filters: str) -> tuple[str, str]:
    """(path, the filter chosen), or ("", "") when cancelled: as QFileDialog.getSaveFileName."""
    return _ask_file(parent, caption, suggested, filters, save=True)


def get_existing_directory(parent: QWidget | None, caption: str, folder: str) -> str:
    """A folder's path, or "" when cancelled: as QFileDialog.getExistingDirectory (tests patch it here)."""
    dialog = file_dialog(parent, caption, folder, "", save=False)
    dialog.setFileMode(QFileDialog.FileMode.Directory)
    dialog.setOption(QFileDialog.Option.ShowDirsOnly)
    try:
        if dialog.exec() != QFileDialog.DialogCode.Accepted or not dialog.selectedFiles():
            return ""
        return dialog.selectedFiles()[0]
    finally:
        dialog.deleteLater()


def open_file_name(parent: QWidget, folder: str) -> str:
    path, _ = get_open_file_name(parent, "Open network", folder, FILE_FILTER)
    return path


def save_file_name(parent: QWidget, suggested: str) -> str:
    path, _ = get_save_file_name(parent, "Save network as", suggested, FILE_FILTER)
    if path and "." not in path.rsplit("/", 1)[-1]:
        path += ".json"
    return path
