"""The Training panel's Data group: which dataset, where its files would come from, and their download.

The datasets listed follow the task (`set_points`, `set_folders`): the image datasets for an image network, the
2-D points sets for a points network (which have no files, so no source line, no download and no augmentation),
and for a GAN the image datasets without "Image folder…" (a GAN trains on MNIST-like digits).

Nothing here blocks the GUI thread: where the dataset would come from is looked
up on a short-lived thread (`DatasetProbe`), and the download, only ever started
by the Download button, runs on another (`DatasetDownload`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from ...core.data import DEFAULT_AUGMENTATION, get_spec
from ...core.data.class_folders import FOLDER, LARGEST_SIZE, MIN_SIZE
from ...core.data.points import POINT_SETS, is_points_dataset
from ..icons import icon
from .datasets import DatasetDownload, DatasetLocation, DatasetProbe, FolderLoad, FolderSummary
from .fields import (
    WARNING_COLOUR,
    Field,
    FormGroup,
    PercentBox,
    SpinBox,
    breakable,
    choice_combo,
    colours,
    error_style,
    format_megabytes,
    select_data,
    text_label,
)

DATASET_CHOICES = ("graph", "mnist", "fashion-mnist", "mnist-sample", FOLDER)
DATASET_TITLES = {
    "mnist": "MNIST",
    "fashion-mnist": "Fashion-MNIST",
    "mnist-sample": "MNIST sample (offline, 5,000 digits)",
    FOLDER: "Image folder…",
}
FOLDER_FIELDS = ("folder", "folder_size", "folder_channels", "folder_test_share")
AUTO_SIZE = MIN_SIZE - 1  # the size box's "Auto"
CHANNEL_TITLES = {"auto": "Auto", "gray": "Gray", "rgb": "Colour"}


POINTS_CHOICES = ("graph", *POINT_SETS)
DATASET_TIP = ("What to train on. MNIST: 70,000 handwritten digits. Fashion-MNIST: 70,000 small photos of clothes "
               "in 10 kinds. The sample: 5,000 MNIST digits that ship with the app, so training works offline. "
               "Image folder: your own pictures, one sub-folder per class (the sub-folder's name is the class's).")
POINTS_TIP = ("Which points to train on: one of TensorFlow Playground's shapes (classes: circle, XOR, two "
              "Gaussians, spiral, moons; values: plane, Gaussian), or your own points, drawn on the Decision view "
              "or loaded from a CSV file.")


def dataset_title(name: str) -> str:
    """A dataset's name for a person, short enough for a status line: "MNIST", "Fashion-MNIST", "MNIST sample"."""
    if name == "mnist-sample":
        return "MNIST sample"
    if name == FOLDER:
        return "Image folder"
    return DATASET_TITLES.get(name) or POINT_SETS.get(name, name)


INDENT = 22  # the download controls line up with the source line's text, right of its 16 px icon


def download_failure(title: str, message: str) -> str:
    """The core's long failure message in one line: "Could not download MNIST: cannot connect (...)".

    The core lists every mirror's failure ("  - URL: why") and where it looked; the
    reasons, without their URLs, are what a person needs (the rest goes in a tooltip).
    """
    reasons = []
    for line in message.split("\nLooked in:")[0].splitlines():
        match = re.match(r"\s+- \S+: (.+)$", line)
        if match and match.group(1) not in reasons:
            reasons.append(match.group(1))
    if reasons:
        return f"Could not download {title}: {'; '.join(reasons)}."
    return message.split("\nLooked in:")[0].strip()


def _home(text: str) -> str:
    """The home folder written as ~, which leaves more of a long path in a narrow dock."""
    home = str(Path.home())
    return text.replace(home, "~", 1) if home not in ("/", "") else text


class DataBox(FormGroup):
    """The dataset box, the line that says where its files would come from, Download and its progress, Augment.

    `source_text` and `download_text` are the two lines as written (their labels
    hold them with wrap points added).
    """

    source_located = Signal(object)  # DatasetLocation: where a run would now take its data from
    folder_edited = Signal()  # the person chose a folder or changed its size, channels or test share
    folder_loaded = Signal(object)  # FolderSummary: an image folder was loaded (the network may need fitting)
    fit_requested = Signal()  # "Fit the network to the folder"

    def __init__(self, parent=None):
        super().__init__("Data", "training_data", parent)
        self.source_text = ""
        self.download_text = ""
        self._graph_dataset = "mnist"
        self._data_dir: str | None = None
        self._probe_token = 0  # which look-up the source line waits for: older answers are dropped
        self._location: DatasetLocation | None = None
        self._download: DatasetDownload | None = None
        self._download_title = ""
        self._probe = DatasetProbe(self)
        self._probe.located.connect(self._on_located)
        self.points = False  # listing the 2-D points sets (a points network) instead of the image datasets
        self.folders = True  # ... with "Image folder…" among the image datasets (not for a GAN)

        self.dataset_combo = choice_combo({})
        self._fill_choices()
        self.add(None, Field("dataset", self.dataset_combo, DATASET_TIP))  # the whole row: the title is its label
        self.source = self._build_source()
        self.form.addRow(self.source)
        self._folder_summary: FolderSummary | None = None  # the folder as last loaded
        self._folder_error: tuple[tuple, str] | None = None  # (settings, why) of the last load that failed
        self._folder_loading: tuple | None = None  # the settings being loaded
        self._folder_token = 0
        self._folder_load = FolderLoad(self)
        self._folder_load.progress.connect(self._on_folder_progress)
        self._folder_load.loaded.connect(self._on_folder_loaded)
        self._folder_load.failed.connect(self._on_folder_failed)
        self._folder_load.cancelled.connect(self._on_folder_cancelled)
        self._build_folder()
        aug = DEFAULT_AUGMENTATION
        self.augment_check = QCheckBox("Shift, turn, zoom")
        self.add("Augment", Field(
            "augment", self.augment_check,
            f"Each training image is changed a little every time it is used: rotated by up to ±{aug.degrees:g}°, "
            f"scaled by {aug.scale[0]:g}–{aug.scale[1]:g}× and shifted by up to ±{aug.shift:g} pixels. "
            f"The network sees more variety and generalizes better; test images are never changed."))

    def _build_source(self) -> QWidget:
        """Where the data would come from: an icon and a line, then the download controls."""
        source = QWidget()
        layout = QVBoxLayout(source)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        line = QHBoxLayout()
        line.setSpacing(6)
        self.source_icon = QLabel()
        self.source_icon.setFixedSize(16, 16)
        self.source_icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        line.addWidget(self.source_icon, 0, Qt.AlignmentFlag.AlignTop)
        self.source_label = text_label()
        self.source_label.setObjectName("training_source")
        line.addWidget(self.source_label, 1)
        layout.addLayout(line)

        self.download_button = QPushButton("Download")
        self.download_button.setObjectName("training_download")
        self.download_button.clicked.connect(self.start_download)
        self.download_button.hide()
        buttons = QHBoxLayout()
        buttons.setContentsMargins(INDENT, 0, 0, 0)
        buttons.addWidget(self.download_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)

        self.download_row = QWidget()
        row = QHBoxLayout(self.download_row)
        row.setContentsMargins(INDENT, 0, 0, 0)
        row.setSpacing(6)
        self.download_bar = QProgressBar()
        self.download_bar.setObjectName("training_download_progress")
        self.download_bar.setTextVisible(True)
        self.download_bar.setMaximumHeight(18)
        row.addWidget(self.download_bar, 1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("training_download_cancel")
        self.cancel_button.setToolTip("Stop the download. What has arrived is kept, and the next download resumes it.")
        self.cancel_button.clicked.connect(self.cancel_download)
        row.addWidget(self.cancel_button)
        self.download_row.hide()
        layout.addWidget(self.download_row)

        self.download_label = text_label(dim=True)
        self.download_label.setObjectName("training_download_message")
        self.download_label.setContentsMargins(INDENT, 0, 0, 0)
        self.download_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.download_label.hide()
        layout.addWidget(self.download_label)
        return source

    def _build_folder(self) -> None:
        """The image folder's fields (shown when training on one), its loading progress, and the offer to fit."""
        self._folder_path: str | None = None
        chooser = QWidget()
        row = QHBoxLayout(chooser)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        self.folder_label = text_label()
        self.folder_label.setObjectName("training_folder_path")
        row.addWidget(self.folder_label, 1)
        self.folder_button = QPushButton("Choose…")
        self.folder_button.setObjectName("training_folder_choose")
        self.folder_button.setToolTip("Choose a folder of images with one sub-folder per class (cats/, dogs/, …), "
                                      "or with train/ and test/ each holding those.")
        self.folder_button.clicked.connect(self.choose_folder)
        row.addWidget(self.folder_button, 0, Qt.AlignmentFlag.AlignTop)
        self.add("Folder", Field("folder", chooser, "The image folder to train on: one sub-folder per class."))
        self.folder_size_spin = SpinBox(AUTO_SIZE, LARGEST_SIZE)
        self.folder_size_spin.setSpecialValueText("Auto")
        self.folder_size_spin.setSuffix(" px")
        self.add("Image size", Field(
            "folder_size", self.folder_size_spin,
            "The side of the square images the network sees: each image's centre square, resized. Auto: the "
            "smallest side among the images, at most 64."))
        self.folder_channels_combo = choice_combo(CHANNEL_TITLES)
        self.add("Channels", Field(
            "folder_channels", self.folder_channels_combo,
            "Auto: colour (3 channels) when any image has colour, else gray (1 channel). Gray or Colour forces it."))
        self.folder_share_spin = PercentBox(5, 90, 5)
        self.add("Test share", Field(
            "folder_test_share", self.folder_share_spin,
            "The share of each class held out for testing (5 to 90 %; seeded: the same every time). A folder with "
            "its own train/ and test/ keeps those instead."))
        self.folder_size_spin.valueChanged.connect(self._on_folder_field)
        self.folder_channels_combo.currentIndexChanged.connect(self._on_folder_field)
        self.folder_share_spin.valueChanged.connect(self._on_folder_field)

        self.folder_row = QWidget()
        row = QHBoxLayout(self.folder_row)
        row.setContentsMargins(INDENT, 0, 0, 0)
        row.setSpacing(6)
        self.folder_bar = QProgressBar()
        self.folder_bar.setObjectName("training_folder_progress")
        self.folder_bar.setMaximumHeight(18)
        row.addWidget(self.folder_bar, 1)
        self.folder_cancel_button = QPushButton("Cancel")
        self.folder_cancel_button.setObjectName("training_folder_cancel")
        self.folder_cancel_button.setToolTip("Stop reading the folder; the folder loaded before stays.")
        self.folder_cancel_button.clicked.connect(self.cancel_folder_load)
        row.addWidget(self.folder_cancel_button)
        self.form.addRow(self.folder_row)

        self.fit_row = QWidget()
        fit = QVBoxLayout(self.fit_row)
        fit.setContentsMargins(INDENT, 0, 0, 0)
        fit.setSpacing(4)
        self.fit_label = text_label(dim=True)
        self.fit_label.setObjectName("training_fit_message")
        fit.addWidget(self.fit_label)
        self.fit_button = QPushButton("Fit the network to the folder")
        self.fit_button.setObjectName("training_fit_folder")
        self.fit_button.setToolTip("Set the Input node's dataset to the folder and its shape to the folder's "
                                   "images, and the last Dense layer's units to its class count: one step, undoable.")
        self.fit_button.clicked.connect(self.fit_requested.emit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.fit_button)
        buttons.addStretch(1)
        fit.addLayout(buttons)
        self.form.addRow(self.fit_row)
        self._fit_text = ""
        self._show_folder_rows()

    # -- the image folder -------------------------------------------------------------------------------------------
    def folder_shown(self) -> bool:
        """Training on an image folder: its fields are shown."""
        return not self.points and self.folders and self.effective_dataset() == FOLDER

    def _show_folder_rows(self) -> None:
        shown = self.folder_shown()
        for name in FOLDER_FIELDS:
            self.form.setRowVisible(self.fields[name].container, shown)
        self.form.setRowVisible(self.folder_row, shown and self._folder_loading is not None)
        self.form.setRowVisible(self.fit_row, shown and bool(self._fit_text) and self._folder_loading is None)

    def folder_path(self) -> str | None:
        return self._folder_path

    def set_folder_path(self, path: str | None) -> None:
        """Show `path` as the folder (no load: refresh_source loads it)."""
        self._folder_path = str(path) if path else None
        text = _home(self._folder_path) if self._folder_path else "None chosen yet"
        self.folder_label.setText(breakable(text))
        self.folder_label.setToolTip(self._folder_path or "")
        self.folder_label.setStyleSheet("" if self._folder_path else "color: palette(mid);")

    def folder_size(self) -> int | None:
        value = self.folder_size_spin.value()
        return None if value == AUTO_SIZE else value

    def set_folder_size(self, size: int | None) -> None:
        self.folder_size_spin.setValue(AUTO_SIZE if size is None else int(size))

    def folder_channels(self) -> str:
        return self.folder_channels_combo.currentData() or "auto"

    def set_folder_channels(self, channels: str) -> None:
        select_data(self.folder_channels_combo, channels, "auto")

    def folder_test_share(self) -> float:
        return self.folder_share_spin.fraction()

    def set_folder_test_share(self, share: float) -> None:
        self.folder_share_spin.set_fraction(share)

    def folder_settings(self) -> tuple:
        """(folder, size, channels, test share): what a load of the folder asks for."""
        return (self._folder_path, self.folder_size(), self.folder_channels(), self.folder_test_share())

    def _set_folder_settings(self, settings: tuple) -> None:
        path, size, channels, share = settings
        for widget in (self.folder_size_spin, self.folder_channels_combo, self.folder_share_spin):
            widget.blockSignals(True)
        try:
            self.set_folder_path(path)
            self.set_folder_size(size)
            self.set_folder_channels(channels)
            self.set_folder_test_share(share)
        finally:
            for widget in (self.folder_size_spin, self.folder_channels_combo, self.folder_share_spin):
                widget.blockSignals(False)

    def folder_summary(self) -> FolderSummary | None:
        """The folder as last loaded, when its settings are those in the form (else None)."""
        summary = self._folder_summary
        return summary if summary is not None and summary.settings == self.folder_settings() else None

    def folder_problem(self) -> str | None:
        """Why Start cannot train on the folder as the form has it (None: it can, or it is still loading)."""
        if not self.folder_shown():
            return None
        if self._folder_path is None:
            return "choose a folder of images (one sub-folder per class)"
        if self._folder_error is not None and self._folder_error[0] == self.folder_settings():
            return "this folder cannot be used (see the line above)"
        return None

    def folder_loading(self) -> bool:
        return self._folder_loading is not None

    def choose_folder(self) -> None:
        """The Choose… button: a folder dialog; the folder chosen is loaded in the background."""
        from .. import dialogs

        start = self._folder_path or str(Path.home())
        path = dialogs.get_existing_directory(self, "Choose an image folder (one sub-folder per class)", start)
        if not path:
            return
        self.set_folder_path(path)
        self.folder_edited.emit()

    def _on_folder_field(self, *_args) -> None:
        if not self.signalsBlocked():
            self.folder_edited.emit()

    def set_fit_offer(self, text: str) -> None:
        """Offer "Fit the network to the folder", saying why (`text`); "" takes the offer away."""
        self._fit_text = text
        self.fit_label.setText(breakable(text))
        self.fit_label.setToolTip(text)
        self._show_folder_rows()

    @property
    def fit_text(self) -> str:
        return self._fit_text

    def _refresh_folder(self) -> None:
        """The source line for an image folder: what it holds, loading it first when the settings are new."""
        self._location = None
        self.download_button.hide()
        settings = self.folder_settings()
        if self._folder_path is None:
            self._show_source("missing", "No image folder chosen yet: Choose… a folder with one sub-folder of "
                                         "images per class.")
        elif self._folder_summary is not None and self._folder_summary.settings == settings:
            self._show_folder_summary(self._folder_summary)
        elif self._folder_error is not None and self._folder_error[0] == settings:
            self._show_source("error", self._folder_error[1])
        elif self._folder_loading != settings:
            self._start_folder_load(settings)
        self._show_folder_rows()

    def _start_folder_load(self, settings: tuple) -> None:
        self._folder_token += 1
        self._folder_loading = settings
        self.folder_bar.setRange(0, 0)
        self.folder_bar.setFormat("")
        self.folder_cancel_button.setEnabled(True)
        self._set_source_text(f"Reading the image folder {_home(settings[0])}…", dim=True)
        self._folder_load.load(self._folder_token, *settings)

    def cancel_folder_load(self) -> None:
        if self._folder_loading is not None:
            self._folder_load.cancel()
            self.folder_cancel_button.setEnabled(False)

    def _on_folder_progress(self, token: int, done: int, total: int, message: str) -> None:
        if token != self._folder_token or self._folder_loading is None:
            return
        if total > 0:
            self.folder_bar.setRange(0, total)
            self.folder_bar.setValue(min(done, total))
            self.folder_bar.setFormat(f"{done:,} of {total:,} images")
        if self.folder_cancel_button.isEnabled():
            self._set_source_text(f"{message}…" if not message.endswith("…") else message, dim=True)

    def _folder_done(self, token: int) -> bool:
        """The answer is to the load under way: it has ended (False: an older answer, dropped)."""
        if token != self._folder_token or self._folder_loading is None:
            return False
        self._folder_loading = None
        return True

    def _on_folder_loaded(self, token: int, summary: FolderSummary) -> None:
        if not self._folder_done(token):
            return
        self._folder_summary = summary
        self._folder_error = None
        self.folder_edited.emit()  # the panel checks again (the folder may hold Start no longer)
        self.folder_loaded.emit(summary)
        self.refresh_source()

    def _on_folder_failed(self, token: int, message: str) -> None:
        if not self._folder_done(token):
            return
        self._folder_error = (self.folder_settings(), _home(message))
        self.folder_edited.emit()
        self.refresh_source()

    def _on_folder_cancelled(self, token: int) -> None:
        """Cancel keeps the folder loaded before (with its settings), or none."""
        if not self._folder_done(token):
            return
        summary = self._folder_summary
        previous = summary.settings if summary is not None else (None, *self.folder_settings()[1:])
        self._set_folder_settings(previous)
        self.folder_edited.emit()
        self.refresh_source()

    def _show_folder_summary(self, summary: FolderSummary) -> None:
        names = ", ".join(summary.classes[:6]) + (", …" if summary.num_classes > 6 else "")
        c, h, w = summary.sample_shape
        total = summary.train + summary.test
        text = (f"Image folder {_home(summary.folder)}: {summary.num_classes} classes ({names}), {c}×{h}×{w}, "
                f"{total:,} images, {summary.test:,} held out for testing")
        if summary.skipped:
            text += f"; {summary.skipped}"
        self._show_source("missing" if summary.skipped else "ok", text, tip=summary.folder)

    # -- the choice -------------------------------------------------------------------------------------------------
    def _fill_choices(self) -> None:
        """The items for the task: "From the network (...)" and the image datasets, or the points sets."""
        combo = self.dataset_combo
        combo.blockSignals(True)  # the panel sets the choice for the new task itself (TrainingPanel.set_task)
        try:
            combo.clear()
            titles = (POINT_SETS if self.points else DATASET_TITLES if self.folders
                      else {key: title for key, title in DATASET_TITLES.items() if key != FOLDER})
            combo.addItem(f"From the network ({dataset_title(self._graph_dataset)})", "graph")
            combo.setItemData(0, "Train on the dataset the graph's Input node names.", Qt.ItemDataRole.ToolTipRole)
            for key, title in titles.items():
                combo.addItem(title, key)
        finally:
            combo.blockSignals(False)

    def set_points(self, points: bool) -> None:
        """List the 2-D points sets (a points network) or the image datasets; the choice goes back to "graph"."""
        if points == self.points:
            return
        self.points = points
        self._fill_choices()
        field = self.fields["dataset"]
        field.help = POINTS_TIP if points else DATASET_TIP
        self.dataset_combo.setToolTip(field.help)
        self.form.setRowVisible(self.source, not points)  # no files to find or download (augment: the panel)
        self.refresh_source()

    def set_folders(self, folders: bool) -> None:
        """Offer "Image folder…" among the image datasets (a classifier), or not (a GAN: digits only); the choice
        goes back to "graph"."""
        if folders == self.folders:
            return
        self.folders = folders
        self._fill_choices()
        self.refresh_source()

    def choices(self) -> tuple[str, ...]:
        if self.points:
            return POINTS_CHOICES
        return DATASET_CHOICES if self.folders else tuple(c for c in DATASET_CHOICES if c != FOLDER)

    def dataset_choice(self) -> str:
        """"graph" (what the graph's Input node says), or a dataset of the task's: "mnist", "spiral", ..."""
        return self.dataset_combo.currentData() or "graph"

    def select_dataset(self, choice: str) -> None:
        """Choose "graph" or a dataset in the box, as a person would: an image dataset for an image network,
        a points set ("spiral", "own-points", ...) for a points network."""
        index = self.dataset_combo.findData(choice)
        if index < 0:
            if choice in (*DATASET_CHOICES, *POINTS_CHOICES):
                kind = "2-D points" if is_points_dataset(choice) else "images"
                raise ValueError(f"dataset choice {choice!r} is for a network on {kind}, not this one; "
                                 f"one of {', '.join(self.choices())}")
            raise ValueError(f"unknown dataset choice {choice!r}; one of {', '.join(self.choices())}")
        self.dataset_combo.setCurrentIndex(index)

    def effective_dataset(self) -> str:
        """The dataset a run would train on: the choice, or the graph's when the choice is "graph"."""
        choice = self.dataset_choice()
        return self._graph_dataset if choice == "graph" else choice

    @property
    def graph_dataset(self) -> str:
        """The dataset the graph's Input node names (what "From the network" means)."""
        return self._graph_dataset

    def set_graph_dataset(self, name: str) -> None:
        """The current graph's Input dataset: named in the "From the network" item; the source is looked up again."""
        self._graph_dataset = name
        self.dataset_combo.setItemText(0, f"From the network ({dataset_title(name)})")
        self.refresh_source()

    def set_data_dir(self, folder: str | os.PathLike | None) -> None:
        """A data folder given on the command line (--data-dir); without one, $PLAYGROUND_DATA_DIR is used."""
        self._data_dir = str(folder) if folder else None
        self.refresh_source()

    # -- where the data would come from ----------------------------------------------------------------------------
    def refresh_source(self) -> None:
        """Look again where the data would come from (after the person has copied files, say)."""
        name = self.effective_dataset()
        self._probe_token += 1
        if not self.points and name == FOLDER:
            if self.folders:
                self._refresh_folder()
                return
            self._show_folder_rows()
            self._location = None
            self.download_button.hide()
            self._show_source("error", "The network's Input node names an image folder: a GAN trains on digits "
                                       "(MNIST, Fashion-MNIST or the sample), not on an image folder.")
            return
        self._show_folder_rows()
        if self.points or is_points_dataset(name):
            # Points have no files. (An image network's graph may still name points for a moment: the task
            # follows the Input's dataset before the panel hears of the new one; set_graph_dataset looks again.)
            self._location = None
            return
        try:
            title = get_spec(name).title
        except ValueError:
            self._on_located(self._probe_token, DatasetLocation(
                name, "error", f"The network's Input node names an unknown dataset, {name!r}"))
            return
        previous, self._location = self._location, None
        if previous is None or previous.name != name:  # looking again for the same dataset: no flicker
            self._set_source_text(f"Looking for {title}…", dim=True)
            self.download_button.hide()
        self._probe.probe(self._probe_token, name, self._data_dir)

    def source_location(self) -> DatasetLocation | None:
        """The last answer to "where would the data come from" (None while it is being looked up)."""
        return self._location

    def _on_located(self, token: int, location: DatasetLocation) -> None:
        if token != self._probe_token:
            return  # the answer to an older question
        self._location = location
        self.source_located.emit(location)
        if location.kind in ("folder", "cache"):
            self._show_source("ok", _home(location.message), tip=str(location.folder))
        elif location.kind == "sample":
            self._show_source("ok", location.message)
        elif location.kind == "missing":
            self._show_source("missing", f"{location.message}. Starting now would train on the offline sample "
                                         f"(5,000 digits) instead.", tip=location.detail)
        else:
            self._show_source("error", f"{location.message}. Training would stop with this error.")
        self._update_download_button()

    def _show_source(self, kind: str, text: str, tip: str = "") -> None:
        """The source line with its icon: "ok" (a tick), "missing" (an amber warning) or "error" (a red one)."""
        if kind == "ok":
            pixmap = icon("valid", colours().candidate)
        elif kind == "missing":
            pixmap = icon("warning", QColor(WARNING_COLOUR))
        else:
            pixmap = icon("warning", colours().error)
        self.source_icon.setPixmap(pixmap.pixmap(QSize(16, 16)))
        self._set_source_text(text, tip=tip, error=kind == "error")

    def _set_source_text(self, text: str, tip: str = "", dim: bool = False, error: bool = False) -> None:
        if dim:
            self.source_icon.clear()  # still looking: no icon yet
        self.source_text = text
        self.source_label.setText(breakable(text))
        self.source_label.setToolTip(tip or text)
        self.source_label.setStyleSheet("color: palette(mid);" if dim else error_style(error))

    # -- the download -----------------------------------------------------------------------------------------------
    def _update_download_button(self) -> None:
        location = self._location
        can = (location is not None and location.kind == "missing" and self._download is None
               and bool(get_spec(location.name).mirrors))
        if can:
            size = f" ({location.download_bytes / 1e6:.1f} MB)" if location.download_bytes else ""
            self.download_button.setText(f"Download{size}")
            self.download_button.setToolTip(
                f"Download {get_spec(location.name).title} from the internet into the app's cache, checked against "
                "its published checksums. Nothing is downloaded unless you click here.")
        self.download_button.setVisible(can)
        self.download_button.setEnabled(can)

    def download_running(self) -> bool:
        return self._download is not None

    def start_download(self) -> None:
        """Download the dataset the source line says is missing (the Download button)."""
        location = self._location
        if self._download is not None or location is None or location.kind != "missing":
            return
        download = DatasetDownload(location.name, self._data_dir, self)
        download.progress.connect(lambda d, t, m, dl=download: self._on_download_progress(dl, d, t, m))
        download.finished.connect(lambda source, dl=download: self._on_download_done(dl, "finished", source))
        download.failed.connect(lambda message, dl=download: self._on_download_done(dl, "failed", message))
        download.cancelled.connect(lambda dl=download: self._on_download_done(dl, "cancelled", ""))
        self._download = download
        self._download_title = get_spec(location.name).title
        self.download_bar.setRange(0, max(1, location.download_bytes))
        self.download_bar.setValue(0)
        self.download_bar.setFormat(format_megabytes(0, location.download_bytes))
        self.download_row.show()
        self.cancel_button.setEnabled(True)
        self._set_download_message(f"Connecting to download {self._download_title}…")
        self._update_download_button()
        download.start()

    def cancel_download(self) -> None:
        if self._download is not None:
            self._download.cancel()
            self.cancel_button.setEnabled(False)
            self._set_download_message("Cancelling…")

    def _on_download_progress(self, download: DatasetDownload, done: int, total: int, message: str) -> None:
        if download is not self._download:
            return
        if total > 0:
            if self.download_bar.maximum() != total:
                self.download_bar.setRange(0, total)
            self.download_bar.setValue(min(done, total))
            self.download_bar.setFormat(format_megabytes(done, total))
        elif message.startswith("Reading"):
            self.download_bar.setRange(0, 0)  # busy: checking and reading the files
            self.download_bar.setFormat("")
        if not self.cancel_button.isEnabled():
            return  # keep saying "Cancelling…"
        short = re.sub(r" from \S+", "", message)  # the mirror's URL is in the tooltip, not the line
        if message.startswith("Reading"):
            short = f"Checking {self._download_title}…"
        self._set_download_message(short, tip=message)

    def _on_download_done(self, download: DatasetDownload, how: str, text: str) -> None:
        if download is not self._download:
            return
        download.shutdown(timeout=5.0)  # the thread has emitted its last signal: this join is immediate
        self._download = None
        download.deleteLater()
        self.download_row.hide()
        if how == "finished":
            self._set_download_message(f"Downloaded. {text}", tip=text)
        elif how == "cancelled":
            self._set_download_message("Download cancelled. What arrived is kept; the next download resumes it.")
        else:
            self._set_download_message(download_failure(self._download_title, text), tip=text, error=True)
        self.refresh_source()

    def _set_download_message(self, text: str, tip: str = "", error: bool = False) -> None:
        self.download_text = text
        self.download_label.setText(breakable(text))
        self.download_label.setToolTip(tip or text)
        self.download_label.setStyleSheet(error_style(error))
        self.download_label.setVisible(bool(text))

    # -- lifetime ---------------------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Cancel a download and wait for the background threads (call before the window closes)."""
        download, self._download = self._download, None
        if download is not None:
            download.shutdown()
        self._probe.shutdown()
        self._folder_load.shutdown()
