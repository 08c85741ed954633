"""The Training dock's settings panel: data source and download, optimizer, schedule, device, and the run status.

Widgets → `TrainConfig` through one reader (`config()`), `TrainConfig` → widgets
through one setter (`set_config()`), with the widgets' own signals ignored
while it sets them. Every edit is checked in place (a red border and a line
under the field) and, when the whole form is valid, kept in the settings.

Nothing here blocks the GUI thread: where the dataset would come from is
looked up on a short-lived thread, and the download (only ever started by the
Download button) runs on another.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import torch
from PySide6.QtCore import QCoreApplication, QSize, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...core.data import DATASET_NAMES, DEFAULT_AUGMENTATION, get_spec
from ...core.train.config import DEFAULT_LR, ConfigError, TrainConfig
from ..editor.theme import blend, theme
from ..icons import icon
from ..settings import AppSettings
from .datasets import DatasetDownload, DatasetLocation, DatasetProbe
from .messages import Progress, RunFinished, RunStarted

SETTINGS_KEY = "training/config"

DATASET_CHOICES = ("graph", "mnist", "fashion-mnist", "mnist-sample")
DATASET_TITLES = {
    "mnist": "MNIST",
    "fashion-mnist": "Fashion-MNIST",
    "mnist-sample": "MNIST sample (offline, 5,000 digits)",
}
OPTIMIZER_TITLES = {
    "sgd": "SGD",
    "momentum": "SGD + momentum",
    "nesterov": "Nesterov",
    "adam": "Adam",
    "adamw": "AdamW",
    "rmsprop": "RMSprop",
}
OPTIMIZER_TIPS = {
    "sgd": "Plain stochastic gradient descent: each step moves the weights against the gradient.",
    "momentum": "SGD with momentum 0.9: steps keep some of their previous direction, which smooths and speeds them.",
    "nesterov": "SGD with Nesterov momentum 0.9: momentum that looks one step ahead; often a little steadier.",
    "adam": "Adam: a step size per weight, from running averages of the gradient and its square.",
    "adamw": "AdamW: Adam with weight decay applied directly to the weights. A strong default.",
    "rmsprop": "RMSprop: scales each weight's step by a running average of its squared gradient.",
}
SCHEDULE_TITLES = {"constant": "Constant", "step": "Step", "cosine": "Cosine", "onecycle": "One-cycle"}
SCHEDULE_TIPS = {
    "constant": "The learning rate stays the same for the whole run.",
    "step": "The learning rate drops ×0.1 at half the run and again at three quarters.",
    "cosine": "The learning rate falls smoothly from its value to 0 along a cosine.",
    "onecycle": "The learning rate rises from 1/25 of its value to the full value, then falls along a cosine "
                "to almost 0 (Smith's one-cycle policy). Fast and robust.",
}
STATE_TITLES = {"idle": "Idle", "starting": "Starting…", "running": "Training", "paused": "Paused",
                "stopping": "Stopping…"}
FIELD_ORDER = ("dataset", "optimizer", "lr", "weight_decay", "batch_size", "epochs", "schedule", "warmup_epochs",
               "grad_clip", "augment", "seed", "device")
NO_CUDA_TIP = ("This PyTorch sees no CUDA GPU (no NVIDIA GPU, no driver, or a CPU-only build of PyTorch), "
               "so training runs on the CPU.")


# -- formatting -----------------------------------------------------------------------------------------------------
def format_duration(seconds: float | None) -> str:
    """41 -> "0:41", 83 -> "1:23", 3725 -> "1:02:05"."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_megabytes(done: int, total: int) -> str:
    """(3_200_000, 11_594_722) -> "3.2 of 11.6 MB"."""
    if total <= 0:
        return f"{done / 1e6:.1f} MB"
    return f"{done / 1e6:.1f} of {total / 1e6:.1f} MB"


def format_number(value: float) -> str:
    """The shortest text that reads back as `value`: 0.002, 0.0001, 1e-5 (not 1e-05)."""
    text = repr(float(value))
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa.removesuffix('.0')}e{int(exponent)}"
    return text.removesuffix(".0") if text.endswith(".0") else text


def parse_number(text: str) -> float:
    """A number as a person types it: "0.002", "2e-3", "0,002" (a decimal comma). Raises ValueError."""
    text = text.strip().replace("_", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    return float(text)


def step_125(value: float, steps: int, smallest: float, zero: bool = True) -> float:
    """`value` moved `steps` places along 1, 2, 5, 10, 20, 50, ... (log-ish steps for rates).

    Below `smallest` it goes to 0 when `zero` (a weight decay may be off), else stays at `smallest`.
    """
    ladder = (1.0, 2.0, 5.0)
    if value <= 0:
        if steps <= 0:
            return 0.0
        value, steps = smallest, steps - 1
    exponent = math.floor(math.log10(value) + 1e-9)
    mantissa = value / 10 ** exponent
    # The ladder rung at or below the value (a value between rungs first goes to a rung).
    index = max(i for i, m in enumerate(ladder) if m <= mantissa * (1 + 1e-9))
    if steps < 0 and mantissa > ladder[index] * (1 + 1e-9):
        steps += 1
    position = exponent * 3 + index + steps
    exponent, index = divmod(position, 3)
    result = float(f"{ladder[index] * 10 ** exponent:.12g}")
    if result < smallest * (1 - 1e-9):
        return 0.0 if zero else smallest
    return result


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


def _breakable(text: str) -> str:
    """Let a long path wrap after its separators (a zero-width space after each / and \\)."""
    return re.sub(r"([/\\])", "\\1\u200b", text)


def _home(text: str) -> str:
    home = str(Path.home())
    return text.replace(home, "~", 1) if home not in ("/", "") else text


# -- small widgets --------------------------------------------------------------------------------------------------
class _WheelWhenFocused:
    """In a scrolling form the wheel scrolls the panel; it changes a spin box or a combo only once focused."""

    def _init_focus(self) -> None:
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def wheelEvent(self, event):
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()  # goes on to the scroll area


class _ComboBox(_WheelWhenFocused, QComboBox):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._init_focus()
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(8)


class _SpinBox(_WheelWhenFocused, QSpinBox):
    def __init__(self, low: int, high: int, parent=None):
        super().__init__(parent)
        self._init_focus()
        self.setRange(low, high)


class _DoubleSpinBox(_WheelWhenFocused, QDoubleSpinBox):
    def __init__(self, low: float, high: float, decimals: int, step: float, parent=None):
        super().__init__(parent)
        self._init_focus()
        self.setRange(low, high)
        self.setDecimals(decimals)
        self.setSingleStep(step)

    def textFromValue(self, value: float) -> str:
        """1.5 and 2, not 1.50 and 2.00."""
        text = self.locale().toString(value, "f", self.decimals())
        point = self.locale().decimalPoint()
        return text.rstrip("0").removesuffix(point) if point in text else text


class _PowerOfTwoSpinBox(_SpinBox):
    """A batch size: typing takes any whole number; the arrows, wheel and keys go through powers of two."""

    def stepBy(self, steps: int) -> None:
        value = self.value()
        for _ in range(abs(steps)):
            if steps > 0:
                value = 1 << value.bit_length()  # the next power of two above
            else:
                value = max(1, value >> 1) if value & (value - 1) == 0 else 1 << (value.bit_length() - 1)
        self.setValue(max(self.minimum(), min(self.maximum(), value)))


class _RateEdit(QLineEdit):
    """A rate typed as text ("0.002", "2e-3"); the Up and Down keys and the wheel step along 1-2-5."""

    def __init__(self, smallest: float, zero: bool, start=None, parent=None):
        super().__init__(parent)
        self._smallest, self._zero = smallest, zero
        self._start = start  # a callable giving the value to step from when the field is empty (auto)

    def _step(self, steps: int) -> None:
        if self.isReadOnly() or not self.isEnabled():
            return
        try:
            value = parse_number(self.text()) if self.text().strip() else (self._start() if self._start else 0.0)
        except ValueError:
            return
        if not math.isfinite(value):
            return
        self.setText(format_number(step_125(value, steps, self._smallest, self._zero)))
        self.textEdited.emit(self.text())

    def keyPressEvent(self, event):
        if event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self._step(1 if event.key() == Qt.Key.Key_Up else -1)
            return
        super().keyPressEvent(event)

    def wheelEvent(self, event):
        if self.hasFocus():
            delta = event.angleDelta().y()
            if delta:
                self._step(1 if delta > 0 else -1)
            event.accept()
        else:
            event.ignore()  # scrolling the panel past the field must not change it


class _Field:
    """An editor with its error line underneath, and the help text its tooltip says."""

    MARK = "QFrame#field_marker {{ border: 2px solid {}; border-radius: 4px; }}"

    def __init__(self, name: str, editor: QWidget, help_text: str):
        self.name, self.editor, self.help = name, editor, help_text
        self.label: QLabel | None = None  # the form's label, once the field is in a form
        self.container = QWidget()
        layout = QVBoxLayout(self.container)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        # The red border goes on a frame around the editor, not on the editor: a style sheet on a spin box or a
        # combo box replaces its native look (and loses its arrows). The frame's border is always there, clear
        # when the field is valid, so that nothing moves when it turns red.
        self.marker = QFrame()
        self.marker.setObjectName("field_marker")
        self.marker.setStyleSheet(self.MARK.format("transparent"))
        inner = QVBoxLayout(self.marker)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addWidget(editor)
        layout.addWidget(self.marker)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.error_label.setObjectName(f"error_{name}")
        self.error_label.setContentsMargins(2, 0, 2, 2)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        self.error: str | None = None
        editor.setToolTip(help_text)
        editor.setObjectName(f"field_{name}")

    def set_error(self, error: str | None) -> None:
        if error == self.error:
            return
        self.error = error
        self.editor.setProperty("invalid", bool(error))
        red = theme(QGuiApplication.palette()).error.name()
        self.marker.setStyleSheet(self.MARK.format(red if error else "transparent"))
        if error:
            self.error_label.setStyleSheet(f"color: {red};")
            self.error_label.setText(error)
            self.editor.setToolTip(f"{self.help}\n\n⚠ {error}")
        else:
            self.editor.setToolTip(self.help)
        self.error_label.setVisible(bool(error))

    def set_enabled(self, on: bool) -> None:
        self.container.setEnabled(on)
        if self.label is not None:
            self.label.setEnabled(on)


def _label(text: str = "", *, dim: bool = False, bold: bool = False, wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(wrap)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setSizePolicy(QSizePolicy.Policy.Ignored if wrap else QSizePolicy.Policy.Preferred,
                        QSizePolicy.Policy.Preferred)
    if dim:
        palette = label.palette()
        role = QPalette.ColorRole
        palette.setColor(role.WindowText, blend(palette.color(role.Window), palette.color(role.WindowText), 0.72))
        label.setPalette(palette)
    if bold:
        font = label.font()
        font.setBold(True)
        label.setFont(font)
    return label


def _combo(items: dict[str, str], tips: dict[str, str] | None = None) -> QComboBox:
    combo = _ComboBox()
    for key, title in items.items():
        combo.addItem(title, key)
        if tips and key in tips:
            combo.setItemData(combo.count() - 1, tips[key], Qt.ItemDataRole.ToolTipRole)
    return combo


def _form() -> QFormLayout:
    form = QFormLayout()
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)  # see TrainingPanel._fit_width
    form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    form.setHorizontalSpacing(8)
    form.setVerticalSpacing(6)
    return form


# -- the panel ------------------------------------------------------------------------------------------------------
class TrainingPanel(QWidget):
    """Training settings, dataset source and download, and the run's status, for a dock about 300 px wide."""

    start_requested = Signal()

    def __init__(self, settings: AppSettings | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("training_panel")
        self.settings = settings
        self._syncing = False
        self._state = "idle"
        self._graph_dataset = "mnist"
        self._data_dir: str | None = None
        self._can_continue = False
        self._continue_why = ""
        self._texts: dict[int, str] = {}  # label id -> its text: show_progress sets only what changed
        self._probe_token = 0
        self._location: DatasetLocation | None = None
        self._download: DatasetDownload | None = None
        self._probe = DatasetProbe(self)
        self._probe.located.connect(self._on_located)
        self.fields: dict[str, _Field] = {}
        self._form_labels: list[QLabel] = []

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self._build_status())
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        outer.addWidget(line)

        self.scroll = QScrollArea()
        self.scroll.setObjectName("training_settings_scroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        content = QWidget()
        content.setObjectName("training_settings")
        column = QVBoxLayout(content)
        column.setContentsMargins(8, 8, 8, 8)
        column.setSpacing(10)
        self.data_group = self._build_data()
        self.optimizer_group = self._build_optimizer()
        self.schedule_group = self._build_schedule()
        self.device_group = self._build_device()
        for group in (self.data_group, self.optimizer_group, self.schedule_group, self.device_group):
            column.addWidget(group)
        # One label column for all the groups, so that their fields line up.
        width = max(label.sizeHint().width() for label in self._form_labels)
        for label in self._form_labels:
            label.setMinimumWidth(width)
        self._forms = [group.layout() for group in
                       (self.data_group, self.optimizer_group, self.schedule_group, self.device_group)]
        self._wrapped = False
        self.defaults_button = QPushButton("Restore defaults")
        self.defaults_button.setToolTip("Put every training setting back to its default (the dataset choice too).")
        self.defaults_button.clicked.connect(self.restore_defaults)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.defaults_button)
        column.addLayout(row)
        column.addStretch(1)
        self.scroll.setWidget(content)
        outer.addWidget(self.scroll, 1)
        # Labels beside their fields need this much width; a narrower dock puts every label above its field.
        self._side_by_side_width = content.minimumSizeHint().width()

        self._connect_edits()
        self.set_config(self._stored_config())
        self.set_running("idle")
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # -- building ---------------------------------------------------------------------------------------------------
    def _build_status(self) -> QWidget:
        box = QWidget()
        box.setObjectName("training_status")
        layout = QVBoxLayout(box)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(4)

        top = QHBoxLayout()
        top.setSpacing(6)
        self.state_label = _label("Idle", bold=True, wrap=False)
        self.state_label.setObjectName("training_state")
        self.state_label.setToolTip("What the training run is doing.")
        top.addWidget(self.state_label, 1)
        self.start_button = QPushButton(icon("train-start"), "Start")
        self.start_button.setObjectName("training_start")
        self.start_button.setToolTip("Train the network on the editor's graph with these settings.")
        self.start_button.clicked.connect(self._on_start_clicked)
        top.addWidget(self.start_button)
        layout.addLayout(top)

        self.continue_check = QCheckBox("Continue from the last weights")
        self.continue_check.setObjectName("training_continue")
        self.continue_check.setEnabled(False)
        self.continue_check.setToolTip("Start from the weights of the last run instead of fresh random ones.")
        layout.addWidget(self.continue_check)

        self.run_info_label = _label(dim=True)
        self.run_info_label.setObjectName("training_run_info")
        self.run_info_label.hide()
        layout.addWidget(self.run_info_label)
        self.epoch_label = _label()
        self.epoch_label.setObjectName("training_epoch")
        self.epoch_label.hide()
        layout.addWidget(self.epoch_label)
        self.speed_label = _label(dim=True)
        self.speed_label.setObjectName("training_speed")
        self.speed_label.hide()
        layout.addWidget(self.speed_label)
        self.run_bar = QProgressBar()
        self.run_bar.setObjectName("training_progress")
        self.run_bar.setRange(0, 1)
        self.run_bar.setValue(0)
        self.run_bar.setTextVisible(True)
        self.run_bar.setFormat("%p%")
        self.run_bar.setMaximumHeight(16)
        self.run_bar.setToolTip("Steps done out of all the steps of the run.")
        self.run_bar.hide()
        layout.addWidget(self.run_bar)
        self.result_label = _label()
        self.result_label.setObjectName("training_result")
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_label.hide()
        layout.addWidget(self.result_label)
        return box

    def _add(self, form: QFormLayout, label: str | None, field: _Field) -> _Field:
        self.fields[field.name] = field
        if label is None:
            form.addRow(field.container)
            return field
        text = QLabel(label)
        text.setToolTip(field.help)
        text.setBuddy(field.editor)
        field.label = text
        self._form_labels.append(text)
        form.addRow(text, field.container)
        return field

    def _build_data(self) -> QGroupBox:
        group = QGroupBox("Data")
        group.setObjectName("training_data")
        form = _form()
        self.dataset_combo = _combo({"graph": "From the network (MNIST)", **DATASET_TITLES})
        self.dataset_combo.setItemData(0, "Train on the dataset the graph's Input node names.",
                                       Qt.ItemDataRole.ToolTipRole)
        self._add(form, None, _Field(  # the whole row: the group's title is its label
            "dataset", self.dataset_combo,
            "What to train on. MNIST: 70,000 handwritten digits. Fashion-MNIST: 70,000 small photos of clothes "
            "in 10 kinds. The sample: 5,000 MNIST digits that ship with the app, so training works offline."))

        # Where the data would come from: an icon and a line, then the download controls.
        source = QWidget()
        source_layout = QVBoxLayout(source)
        source_layout.setContentsMargins(0, 0, 0, 0)
        source_layout.setSpacing(4)
        line = QHBoxLayout()
        line.setSpacing(6)
        self.source_icon = QLabel()
        self.source_icon.setFixedSize(16, 16)
        self.source_icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        line.addWidget(self.source_icon, 0, Qt.AlignmentFlag.AlignTop)
        self.source_label = _label()
        self.source_label.setObjectName("training_source")
        line.addWidget(self.source_label, 1)
        source_layout.addLayout(line)

        self.download_button = QPushButton("Download")
        self.download_button.setObjectName("training_download")
        self.download_button.clicked.connect(self.start_download)
        self.download_button.hide()
        buttons = QHBoxLayout()
        buttons.setContentsMargins(22, 0, 0, 0)
        buttons.addWidget(self.download_button)
        buttons.addStretch(1)
        source_layout.addLayout(buttons)

        self.download_row = QWidget()
        row = QHBoxLayout(self.download_row)
        row.setContentsMargins(22, 0, 0, 0)
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
        source_layout.addWidget(self.download_row)

        self.download_label = _label(dim=True)
        self.download_label.setObjectName("training_download_message")
        self.download_label.setContentsMargins(22, 0, 0, 0)
        self.download_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.download_label.hide()
        source_layout.addWidget(self.download_label)
        form.addRow(source)

        aug = DEFAULT_AUGMENTATION
        self.augment_check = QCheckBox("Shift, turn, zoom")
        self._add(form, "Augment", _Field(
            "augment", self.augment_check,
            f"Each training image is changed a little every time it is used: rotated by up to ±{aug.degrees:g}°, "
            f"scaled by {aug.scale[0]:g}–{aug.scale[1]:g}× and shifted by up to ±{aug.shift:g} pixels. "
            f"The network sees more variety and generalizes better; test images are never changed."))
        group.setLayout(form)
        return group

    def _build_optimizer(self) -> QGroupBox:
        group = QGroupBox("Optimizer")
        group.setObjectName("training_optimizer")
        form = _form()
        self.optimizer_combo = _combo(OPTIMIZER_TITLES, OPTIMIZER_TIPS)
        self._add(form, "Optimizer", _Field(
            "optimizer", self.optimizer_combo, "How the weights are updated from their gradients at each step."))
        self.lr_edit = _RateEdit(1e-6, False, start=lambda: DEFAULT_LR[self._optimizer()])
        self.lr_edit.setClearButtonEnabled(True)
        self._add(form, "Learning rate", _Field(
            "lr", self.lr_edit,
            "How big each step is (the peak rate for one-cycle). Leave it empty for a rate that works well with "
            "this optimizer. Write 0.002 or 2e-3; the Up and Down keys step through 1, 2, 5, 10…"))
        self.wd_edit = _RateEdit(1e-6, True)
        self._add(form, "Weight decay", _Field(
            "weight_decay", self.wd_edit,
            "Pulls the weights towards 0 a little at each step, which fights overfitting (0: none). "
            "Applied to weight matrices and kernels, never to biases or normalization layers."))
        self.batch_spin = _PowerOfTwoSpinBox(1, 65536)
        self._add(form, "Batch size", _Field(
            "batch_size", self.batch_spin,
            "How many images each step learns from. Bigger batches run faster per image on a GPU but take more "
            "memory. The arrows go through powers of two; type any number from 1 to 65536."))
        self.epochs_spin = _SpinBox(1, 10_000)
        self._add(form, "Epochs", _Field(
            "epochs", self.epochs_spin, "How many times training goes through the whole training set."))
        group.setLayout(form)
        return group

    def _build_schedule(self) -> QGroupBox:
        group = QGroupBox("Schedule")
        group.setObjectName("training_schedule")
        form = _form()
        self.schedule_combo = _combo(SCHEDULE_TITLES, SCHEDULE_TIPS)
        self._add(form, "Schedule", _Field(
            "schedule", self.schedule_combo, "How the learning rate changes over the run.\n\n"
            + "\n".join(f"{SCHEDULE_TITLES[k]}: {v}" for k, v in SCHEDULE_TIPS.items())))
        self.warmup_spin = _DoubleSpinBox(0.0, 10_000.0, 2, 0.5)
        self.warmup_spin.setSuffix(" epochs")
        self._add(form, "Warm-up", _Field(
            "warmup_epochs", self.warmup_spin,
            "Epochs over which the learning rate rises from near 0 to its value, which steadies the first "
            "steps. One-cycle: 0 means the first 30% of the run."))
        self.clip_spin = _DoubleSpinBox(0.0, 1e6, 2, 0.5)
        self.clip_spin.setSpecialValueText("Off")
        self._add(form, "Clip gradients", _Field(
            "grad_clip", self.clip_spin,
            "The largest the gradient may be (its overall norm) at one step; bigger ones are scaled down to it. "
            "Protects a run from a sudden huge step. 0: off."))
        group.setLayout(form)
        return group

    def _build_device(self) -> QGroupBox:
        group = QGroupBox("Device and seed")
        group.setObjectName("training_device")
        form = _form()
        self.device_combo = _ComboBox()
        self._fill_devices()
        self._add(form, "Device", _Field(
            "device", self.device_combo,
            "Where training runs. Auto: the first CUDA GPU when there is one, else the CPU."))
        self.amp_check = QCheckBox("Mixed (16-bit)")
        self._add(form, "Precision", _Field(
            "amp", self.amp_check,
            "Compute in 16-bit floats where it is safe (bfloat16 where the GPU has it): faster and lighter on "
            "a GPU, with the same accuracy. CUDA only."))
        self.seed_spin = _SpinBox(0, 2_147_483_647)
        self._add(form, "Seed", _Field(
            "seed", self.seed_spin,
            "Starts the random numbers: the initial weights, the order of the images and the augmentation. "
            "The same seed and settings give the same run on the same device."))
        group.setLayout(form)
        return group

    def _fill_devices(self) -> None:
        combo = self.device_combo
        self.cuda_names: list[str] = []
        if torch.cuda.is_available():  # once, here, before any training: no torch calls during a run
            for i in range(torch.cuda.device_count()):
                try:
                    self.cuda_names.append(torch.cuda.get_device_name(i))
                except (RuntimeError, AssertionError):
                    self.cuda_names.append(f"CUDA device {i}")
        auto = f"Auto ({self.cuda_names[0]})" if self.cuda_names else "Auto (CPU)"
        combo.addItem(auto, "auto")
        combo.setItemData(0, "The first CUDA GPU when there is one, else the CPU.", Qt.ItemDataRole.ToolTipRole)
        combo.addItem("CPU", "cpu")
        for i, name in enumerate(self.cuda_names):
            combo.addItem(f"GPU {i}: {name}", f"cuda:{i}")
            combo.setItemData(combo.count() - 1, f"cuda:{i} — {name}", Qt.ItemDataRole.ToolTipRole)
        if not self.cuda_names:
            combo.addItem("CUDA (no GPU found)", "cuda")
            index = combo.count() - 1
            combo.setItemData(index, NO_CUDA_TIP, Qt.ItemDataRole.ToolTipRole)
            item = combo.model().item(index)
            item.setEnabled(False)

    # -- wiring -----------------------------------------------------------------------------------------------------
    def _connect_edits(self) -> None:
        self.dataset_combo.currentIndexChanged.connect(self._on_dataset_changed)
        self.optimizer_combo.currentIndexChanged.connect(self._on_edited)
        self.schedule_combo.currentIndexChanged.connect(self._on_edited)
        self.device_combo.currentIndexChanged.connect(self._on_edited)
        for edit in (self.lr_edit, self.wd_edit):
            edit.textChanged.connect(self._on_edited)
        for spin in (self.batch_spin, self.epochs_spin, self.warmup_spin, self.clip_spin, self.seed_spin):
            spin.valueChanged.connect(self._on_edited)
        for check in (self.augment_check, self.amp_check):
            check.toggled.connect(self._on_edited)

    def _on_edited(self, *_args) -> None:
        if self._syncing:
            return
        self._update_dependents()
        self._check(store=True)

    def _on_dataset_changed(self, *_args) -> None:
        if self._syncing:
            return
        self._check(store=True)
        self._refresh_source()

    def _update_dependents(self) -> None:
        """What one setting says about another: the auto rate, the warm-up's 0, mixed precision's device."""
        optimizer = self._optimizer()
        self.lr_edit.setPlaceholderText(f"auto ({format_number(DEFAULT_LR[optimizer])})")
        self.warmup_spin.setSpecialValueText("Auto (30%)" if self._schedule() == "onecycle" else "None")
        device = self.device_combo.currentData()
        cuda = str(device).startswith("cuda") or (device == "auto" and bool(self.cuda_names))
        self.amp_check.setEnabled(cuda)
        help_text = self.fields["amp"].help
        self.amp_check.setToolTip(help_text if cuda else help_text + "\n\nOff here: the chosen device is the CPU.")

    # -- reading and writing the form -------------------------------------------------------------------------------
    def _optimizer(self) -> str:
        return self.optimizer_combo.currentData() or "adamw"

    def _schedule(self) -> str:
        return self.schedule_combo.currentData() or "onecycle"

    def _read(self) -> tuple[TrainConfig, dict[str, str]]:
        """The form as a TrainConfig, and the problems by field (core names: lr, weight_decay, ...)."""
        errors: dict[str, str] = {}
        defaults = TrainConfig()

        def number(edit: QLineEdit, name: str, empty_ok: bool, fallback):
            text = edit.text().strip()
            if not text or (empty_ok and text.lower() == "auto"):
                if empty_ok:
                    return None
                errors[name] = "write a number (0 for none)"
                return fallback
            try:
                return parse_number(text)
            except ValueError:
                errors[name] = f"{text!r} is not a number; write it like 0.002 or 2e-3" + (
                    ", or leave it empty for auto" if empty_ok else "")
                return fallback

        choice = self.dataset_choice()
        config = TrainConfig(
            optimizer=self._optimizer(),
            lr=number(self.lr_edit, "lr", True, None),
            weight_decay=number(self.wd_edit, "weight_decay", False, defaults.weight_decay),
            batch_size=self.batch_spin.value(),
            epochs=self.epochs_spin.value(),
            schedule=self._schedule(),
            warmup_epochs=self.warmup_spin.value(),
            augment="default" if self.augment_check.isChecked() else "none",
            grad_clip=self.clip_spin.value(),
            seed=self.seed_spin.value(),
            device=self.device_combo.currentData() or "auto",
            amp=self.amp_check.isChecked(),
            dataset=None if choice == "graph" else choice,
        )
        # The core's own checks; a field it rejects gets a valid stand-in, so that the next problem shows too.
        for _ in range(len(FIELD_ORDER)):
            try:
                config.validate()
                break
            except ConfigError as exc:
                name, _, why = str(exc).partition(": ")
                if name not in self.fields or name in errors:
                    errors.setdefault(name if name in self.fields else "device", why or str(exc))
                    break
                errors[name] = why
                setattr(config, name, getattr(defaults, name))
        return config, errors

    def _check(self, store: bool = False) -> tuple[TrainConfig, dict[str, str]]:
        config, errors = self._read()
        for name, field in self.fields.items():
            why = errors.get(name)
            field.set_error(why[0].upper() + why[1:] if why else None)
        if store and not errors:
            self._store(config)
        return config, errors

    def config(self) -> TrainConfig:
        """The settings in the form, validated; a problem raises ConfigError whose message starts with the field."""
        config, errors = self._check()
        if errors:
            name = next(n for n in (*FIELD_ORDER, *errors) if n in errors)
            raise ConfigError(f"{name}: {errors[name]}")
        return config

    def set_config(self, config: TrainConfig) -> None:
        """Show `config` in the form. Values the form cannot show (a GPU this machine lacks) become the default."""
        defaults = TrainConfig()
        self._syncing = True
        try:
            dataset = config.dataset if config.dataset in DATASET_NAMES else "graph"
            self._select(self.dataset_combo, dataset, "graph")
            self._select(self.optimizer_combo, config.optimizer, defaults.optimizer)
            self.lr_edit.setText("" if config.lr is None else format_number(config.lr))
            self.wd_edit.setText(format_number(config.weight_decay))
            self.batch_spin.setValue(int(config.batch_size))
            self.epochs_spin.setValue(int(config.epochs))
            self._select(self.schedule_combo, config.schedule, defaults.schedule)
            self.warmup_spin.setValue(float(config.warmup_epochs))
            self.augment_check.setChecked(config.augment_name != "none")
            self.clip_spin.setValue(float(config.grad_clip))
            self.seed_spin.setValue(int(config.seed))
            self._select(self.device_combo, self._device_item(config.device), "auto")
            self.amp_check.setChecked(bool(config.amp))
        finally:
            self._syncing = False
        self._update_dependents()
        self._check(store=True)
        self._refresh_source()

    def _device_item(self, device: str) -> str:
        if device == "cuda" and self.cuda_names:
            return "cuda:0"
        index = self.device_combo.findData(device)
        item = self.device_combo.model().item(index) if index >= 0 else None
        return device if item is not None and item.isEnabled() else "auto"

    @staticmethod
    def _select(combo: QComboBox, key: str, fallback: str) -> None:
        index = combo.findData(key)
        combo.setCurrentIndex(index if index >= 0 else combo.findData(fallback))

    def restore_defaults(self) -> None:
        self.set_config(TrainConfig())

    # -- persistence ------------------------------------------------------------------------------------------------
    def _qsettings(self):
        return getattr(self.settings, "qsettings", None) if self.settings is not None else None

    def _stored_config(self) -> TrainConfig:
        qs = self._qsettings()
        raw = qs.value(SETTINGS_KEY, "") if qs is not None else ""
        if not raw or not isinstance(raw, str):
            return TrainConfig()
        try:
            data = json.loads(raw)
            try:
                return TrainConfig.from_dict(data)
            except ConfigError:  # most likely a GPU that this machine lacks: keep the rest
                return TrainConfig.from_dict({**data, "device": "auto"})
        except (ValueError, TypeError, AttributeError):
            return TrainConfig()

    def _store(self, config: TrainConfig) -> None:
        qs = self._qsettings()
        if qs is None:
            return
        text = json.dumps(config.to_dict(), sort_keys=True)
        if qs.value(SETTINGS_KEY, "") != text:
            qs.setValue(SETTINGS_KEY, text)
            qs.sync()

    # -- the dataset ------------------------------------------------------------------------------------------------
    def dataset_choice(self) -> str:
        """"graph" (what the graph's Input node says), "mnist", "fashion-mnist" or "mnist-sample"."""
        return self.dataset_combo.currentData() or "graph"

    def select_dataset(self, choice: str) -> None:
        """Choose "graph", "mnist", "fashion-mnist" or "mnist-sample" in the dataset box (as a person would)."""
        index = self.dataset_combo.findData(choice)
        if index < 0:
            raise ValueError(f"unknown dataset choice {choice!r}; one of {', '.join(DATASET_CHOICES)}")
        self.dataset_combo.setCurrentIndex(index)

    def effective_dataset(self) -> str:
        """The dataset a run would train on: the choice, or the graph's when the choice is "graph"."""
        choice = self.dataset_choice()
        return self._graph_dataset if choice == "graph" else choice

    def set_graph_dataset(self, name: str) -> None:
        """The current graph's Input dataset: named in the "From the network" item; the source is looked up again."""
        self._graph_dataset = name
        title = DATASET_TITLES.get(name, name)
        if name == "mnist-sample":
            title = "MNIST sample"
        self.dataset_combo.setItemText(0, f"From the network ({title})")
        self._refresh_source()

    def set_data_dir(self, folder: str | os.PathLike | None) -> None:
        """A data folder given on the command line (--data-dir); without one, $PLAYGROUND_DATA_DIR is used."""
        self._data_dir = str(folder) if folder else None
        self._refresh_source()

    def refresh_source(self) -> None:
        """Look again where the data would come from (after the person has copied files, say)."""
        self._refresh_source()

    def _refresh_source(self) -> None:
        name = self.effective_dataset()
        self._probe_token += 1
        try:
            title = get_spec(name).title
        except ValueError:
            self._on_located(self._probe_token, DatasetLocation(
                name, "error", f"The network's Input node names an unknown dataset, {name!r}"))
            return
        previous, self._location = self._location, None
        if previous is None or previous.name != name:  # looking again for the same dataset: no flicker
            self._set_source_text("", f"Looking for {title}…", dim=True)
            self.download_button.hide()
        self._probe.probe(self._probe_token, name, self._data_dir)

    def _on_located(self, token: int, location: DatasetLocation) -> None:
        if token != self._probe_token:
            return  # the answer to an older question
        self._location = location
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
        colours = theme(QGuiApplication.palette())
        if kind == "ok":
            self.source_icon.setPixmap(icon("valid", colours.candidate).pixmap(QSize(16, 16)))
        elif kind == "missing":
            self.source_icon.setPixmap(icon("warning", QColor("#e0a030")).pixmap(QSize(16, 16)))
        else:
            self.source_icon.setPixmap(icon("warning", colours.error).pixmap(QSize(16, 16)))
        self._set_source_text(kind, text, tip=tip, error=kind == "error")

    def _set_source_text(self, kind: str, text: str, tip: str = "", dim: bool = False, error: bool = False) -> None:
        if not kind:
            self.source_icon.clear()
        self.source_text = text
        self.source_label.setText(_breakable(text))
        self.source_label.setToolTip(tip or text)
        if error:
            self.source_label.setStyleSheet(f"color: {theme(QGuiApplication.palette()).error.name()};")
        elif dim:
            self.source_label.setStyleSheet("color: palette(mid);")
        else:
            self.source_label.setStyleSheet("")

    def source_location(self) -> DatasetLocation | None:
        """The last answer to "where would the data come from" (None while it is being looked up)."""
        return self._location

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
        self._refresh_source()

    def _set_download_message(self, text: str, tip: str = "", error: bool = False) -> None:
        self.download_text = text
        self.download_label.setText(_breakable(text))
        self.download_label.setToolTip(tip or text)
        self.download_label.setStyleSheet(
            f"color: {theme(QGuiApplication.palette()).error.name()};" if error else "")
        self.download_label.setVisible(bool(text))

    # -- the run ----------------------------------------------------------------------------------------------------
    def _on_start_clicked(self) -> None:
        _, errors = self._check()
        if errors:
            name = next(n for n in (*FIELD_ORDER, *errors) if n in errors)
            field = self.fields.get(name)
            if field is not None:
                self.scroll.ensureWidgetVisible(field.container)
                field.editor.setFocus()
            return
        self.start_requested.emit()

    def set_running(self, state: str) -> None:
        """"idle" | "starting" | "running" | "paused" | "stopping": the settings can be changed only when idle."""
        if state not in STATE_TITLES:
            raise ValueError(f"unknown training state {state!r}; one of {', '.join(STATE_TITLES)}")
        self._state = state
        idle = state == "idle"
        self.state_label.setText(STATE_TITLES[state])
        colour = {"running": theme(QGuiApplication.palette()).candidate.name(), "paused": "#e0a030"}.get(state)
        self.state_label.setStyleSheet(f"color: {colour};" if colour else "")
        for group in (self.optimizer_group, self.schedule_group, self.device_group):
            group.setEnabled(idle)
        # The dataset is fixed for the run, but a download may go on (or start) while it trains.
        self.fields["dataset"].set_enabled(idle)
        self.fields["augment"].set_enabled(idle)
        self.defaults_button.setEnabled(idle)
        self.start_button.setEnabled(idle)
        self.continue_check.setEnabled(idle and self._can_continue)
        if not idle:
            for label in (self.epoch_label, self.speed_label):
                label.show()
            self.run_bar.show()

    def state(self) -> str:
        return self._state

    def _set(self, label: QLabel, text: str) -> None:
        """Set a label's text only when it changes (show_progress comes ~10 times a second)."""
        key = id(label)
        if self._texts.get(key) != text:
            self._texts[key] = text
            label.setText(text)

    def show_run_started(self, started: RunStarted) -> None:
        device = "the CPU" if started.device == "cpu" else f"{started.device_name} ({started.device})"
        lines = [started.dataset_source, f"On {device}"]
        if started.transfer_note:
            lines.append(started.transfer_note)
        self._set(self.run_info_label, _breakable("\n".join(lines)))
        self.run_info_label.setToolTip("\n".join(lines))
        # The offline sample standing in for a dataset that was not found: say so in the warning colour.
        self.run_info_label.setStyleSheet("color: #b7791f;" if "standing in for" in started.dataset_source else "")
        self.run_info_label.show()
        self._set(self.epoch_label, f"Epoch {started.first_epoch + 1} of {started.epochs} · "
                                    f"step 0 of {started.steps_per_epoch:,}")
        self._set(self.speed_label, "Measuring speed…")
        self.run_bar.setRange(0, max(1, started.total_steps))
        self.run_bar.setValue(0)
        self._set(self.result_label, "")
        self.result_label.hide()
        for widget in (self.epoch_label, self.speed_label, self.run_bar):
            widget.show()

    def show_progress(self, progress: Progress) -> None:
        """Epoch, step, speed, time left and the bar; cheap: only what changed is set."""
        epoch = min(progress.epoch + 1, progress.epochs)
        self._set(self.epoch_label, f"Epoch {epoch} of {progress.epochs} · "
                                    f"step {progress.epoch_step:,} of {progress.steps_per_epoch:,}")
        left = ("estimating time left…" if progress.seconds_left is None
                else f"{format_duration(progress.seconds_left)} left")
        self._set(self.speed_label, f"{progress.samples_per_second:,.0f} samples/s · {left}")
        total = max(1, progress.total_steps)
        if self.run_bar.maximum() != total:
            self.run_bar.setRange(0, total)
        value = min(progress.global_step, total)
        if self.run_bar.value() != value:
            self.run_bar.setValue(value)
        if self.epoch_label.isHidden():
            for widget in (self.epoch_label, self.speed_label, self.run_bar):
                widget.show()

    def show_finished(self, finished: RunFinished) -> None:
        """The last result line: "Completed: 98.9% test accuracy in 1:23", "Stopped after …", or the error in red."""
        took = format_duration(finished.seconds)
        accuracy = (f"{finished.test_accuracy * 100:.1f}% test accuracy" if finished.test_accuracy is not None
                    else None)
        epochs = f"{finished.epochs_completed} epoch{'s' if finished.epochs_completed != 1 else ''}"
        if finished.status == "completed":
            text = f"Completed: {accuracy} in {took}" if accuracy else f"Completed {epochs} in {took}"
            self.run_bar.setValue(self.run_bar.maximum())
        elif finished.status == "stopped":
            text = f"Stopped after {epochs} ({finished.global_step:,} steps, {took})"
            if accuracy:
                text += f": {accuracy}"
        else:
            what = {"diverged": "Diverged", "out_of_memory": "Out of memory", "failed": "Failed"}.get(
                finished.status, finished.status.capitalize())
            text = f"{what}: {finished.message}" if finished.message else what
        self._set(self.result_label, text)
        self.result_label.setToolTip(finished.message or text)
        self.result_label.setStyleSheet(
            "" if finished.ok else f"color: {theme(QGuiApplication.palette()).error.name()};")
        self.result_label.show()
        self._set(self.speed_label, f"{finished.samples_per_second:,.0f} samples/s on average")

    def result_text(self) -> str:
        return self.result_label.text()

    # -- continuing -------------------------------------------------------------------------------------------------
    def continue_from_last(self) -> bool:
        return self._can_continue and self.continue_check.isChecked()

    def set_can_continue(self, on: bool, why: str = "") -> None:
        """Whether there are weights to continue from; `why` says why not (shown as the checkbox's tooltip)."""
        self._can_continue = bool(on)
        self._continue_why = why
        if not on:
            self.continue_check.setChecked(False)
        self.continue_check.setEnabled(self._can_continue and self._state == "idle")
        base = "Start from the weights of the last run instead of fresh random ones."
        self.continue_check.setToolTip(base if on or not why else f"{base}\n\nNot now: {why}")

    # -- lifetime ---------------------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Cancel a download and wait for the background threads (call before the window closes)."""
        download, self._download = self._download, None
        if download is not None:
            download.shutdown()
        self._probe.shutdown()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._fit_width()

    def _fit_width(self) -> None:
        """All labels beside their fields, or (in a dock too narrow for that) all above them: never a mix."""
        # From the panel's own width: in a resizeEvent, the scroll area inside has not been resized yet.
        # The scroll bar is counted as if shown, so that showing it never makes the fields too narrow.
        available = self.width() - self.scroll.verticalScrollBar().sizeHint().width()
        wrap = available < self._side_by_side_width
        if wrap != self._wrapped:
            self._wrapped = wrap
            policy = QFormLayout.RowWrapPolicy.WrapAllRows if wrap else QFormLayout.RowWrapPolicy.DontWrapRows
            for form in self._forms:
                form.setRowWrapPolicy(policy)

    def showEvent(self, event):
        super().showEvent(event)
        if self._download is None and self._state == "idle":
            self._refresh_source()  # files may have been copied in while the panel was hidden
