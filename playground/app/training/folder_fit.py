"""Fitting the open network to an image folder: after a folder loads, when the Input's shape or the last Dense's
units do not fit it, the Data group offers "Fit the network to the folder" (a button, not done by itself: the
person's network is theirs). The fit is ONE undoable edit: the Input's dataset ("folder") and shape (C×H×W), and
the units of the Dense that feeds the Output (core/data/folders.py `folder_fit_changes`, as `playground bench`)."""

from __future__ import annotations

from PySide6.QtCore import QObject

from ..editor.commands import Edit

FIT_TEXT = "Fit the network to the image folder"


def _changes(graph, summary) -> list[tuple[str, str, object]]:
    from ...core.data.folders import folder_fit_changes  # (imports torch: only once a folder has loaded)

    return folder_fit_changes(graph, summary.sample_shape, summary.num_classes)


class FolderFit(QObject):
    """Keeps the panel's offer to fit the network up to date, and makes the fit when asked."""

    def __init__(self, document, panel, say=None, parent=None):
        super().__init__(parent)
        self.document, self.panel, self.say = document, panel, say
        data = panel.data_group
        data.folder_loaded.connect(self.check)
        data.folder_edited.connect(self.check)
        data.fit_requested.connect(self.fit)
        panel.dataset_combo.currentIndexChanged.connect(self.check)
        document.changed.connect(self.check)
        document.reset.connect(self.check)
        document.lock_changed.connect(self.check)

    def pending(self) -> list[tuple[str, str, object]]:
        """The edits a fit would make now ([]: nothing to offer)."""
        data = self.panel.data_group
        summary = data.folder_summary()
        if summary is None or not data.folder_shown() or self.document.locked:
            return []
        return _changes(self.document.graph, summary)

    def check(self, *_args) -> None:
        changes = self.pending()
        text = ""
        if changes:
            summary = self.panel.data_group.folder_summary()
            c, h, w = summary.sample_shape
            text = (f"The network does not fit this folder: its images are {c}×{h}×{w} in "
                    f"{summary.num_classes} classes.")
        self.panel.data_group.set_fit_offer(text)

    def fit(self) -> bool:
        """The fit, as one undoable step; False when there is nothing to fit (or the document is locked)."""
        changes = self.pending()
        if not changes:
            return False

        def work(recorder):
            for node_id, name, value in changes:
                recorder.set_param(node_id, name, value)

        done = self.document.push(Edit(self.document, FIT_TEXT, work))
        if done and self.say is not None:
            summary = self.panel.data_group.folder_summary()
            self.say(f"Fitted the network to the image folder ({', '.join(summary.classes)}); Undo takes it back.")
        self.check()
        return done
