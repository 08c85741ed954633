"""Every question the app asks and every error it reports, in one place (tests patch QMessageBox/QFileDialog)."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

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


def error(parent: QWidget, title: str, text: str) -> None:
    QMessageBox.critical(parent, title, text)


def info(parent: QWidget, title: str, text: str) -> None:
    QMessageBox.information(parent, title, text)


def open_file_name(parent: QWidget, folder: str) -> str:
    path, _ = QFileDialog.getOpenFileName(parent, "Open network", folder, FILE_FILTER)
    return path


def save_file_name(parent: QWidget, suggested: str) -> str:
    path, _ = QFileDialog.getSaveFileName(parent, "Save network as", suggested, FILE_FILTER)
    if path and "." not in path.rsplit("/", 1)[-1]:
        path += ".json"
    return path
