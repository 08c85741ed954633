"""The Training dock's settings panel: data source and download, optimizer, schedule, device, and the run status.

A GAN document (`set_task("generation")`) shows the adversarial settings (loss, discriminator steps per generator
step, each network's rate, Adam's β1, label smoothing, the judge) in place of the optimizer, rate, weight decay,
schedule and augmentation, which a GAN run does not use; problems in fields that are hidden do not hold Start.

Widgets → `TrainConfig` through one reader (`config()`), `TrainConfig` → widgets
through one setter (`set_config()`), with the widgets' own signals ignored
while it sets them. Every edit is checked in place (a red border and a line
under the field) and, when the whole form is valid, kept in the settings.

The parts live next door: the run's status (status_box.py), the Data group and
its download (data_box.py), the other groups (settings_boxes.py), and the
editors and form they are made of (fields.py).
"""

from __future__ import annotations

import json
import os

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ...core.data import DATASET_NAMES
from ...core.gan.structure import CLASSIFICATION, GENERATION
from ...core.run.messages import Progress, RunFinished, RunStarted
from ...core.train.config import ConfigError, TrainConfig
from ..settings import AppSettings
from .data_box import DataBox
from .datasets import DatasetLocation
from .fields import Field, format_number, parse_number, select_data
from .settings_boxes import DeviceBox, GanBox, OptimizerBox, ScheduleBox
from .status_box import StatusBox

SETTINGS_KEY = "training/config"
# When several fields have a problem, config() names (and Start shows) the first of them in this order.
FIELD_ORDER = ("dataset", "optimizer", "lr", "weight_decay", "batch_size", "epochs", "gan_loss", "gan_d_steps",
               "gan_lr_g", "gan_lr_d", "gan_beta1", "gan_label_smoothing", "gan_ema", "gan_judge", "schedule",
               "warmup_epochs", "grad_clip", "augment", "seed", "device")
# The settings each task does not use (TrainConfig: a GAN run trains each network with its own constant-rate Adam,
# on the data as it is): hidden for that task, and their problems do not hold Start.
CLASSIFIER_ONLY = frozenset({"optimizer", "lr", "weight_decay", "schedule", "warmup_epochs", "grad_clip", "augment"})
GAN_ONLY = frozenset({"gan_loss", "gan_d_steps", "gan_lr_g", "gan_lr_d", "gan_beta1", "gan_label_smoothing",
                      "gan_ema", "gan_judge"})


class TrainingPanel(QWidget):
    """Training settings, dataset source and download, and the run's status, for a dock about 300 px wide."""

    start_requested = Signal()

    def __init__(self, settings: AppSettings | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("training_panel")
        self.settings = settings
        self._syncing = False
        self.task = CLASSIFICATION

        self.status_box = StatusBox()
        self.data_group = DataBox()
        self.optimizer_group = OptimizerBox()
        self.gan_group = GanBox()
        self.schedule_group = ScheduleBox()
        self.device_group = DeviceBox()
        # The groups fixed for the whole of a run (the Data group's download may go on while it trains).
        self._run_settings = (self.optimizer_group, self.gan_group, self.schedule_group, self.device_group)
        groups = (self.data_group, *self._run_settings)
        self.fields: dict[str, Field] = {name: f for group in groups for name, f in group.fields.items()}
        self._forms = [group.form for group in groups]
        self._wrapped = False
        self._alias_widgets()

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self.status_box)
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
        for group in groups:
            column.addWidget(group)
        # One label column for all the groups, so that their fields line up.
        labels = [label for group in groups for label in group.labels]
        width = max(label.sizeHint().width() for label in labels)
        for label in labels:
            label.setMinimumWidth(width)
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
        self._show_task_fields()
        self.set_running("idle")
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    def _alias_widgets(self) -> None:
        """The panel's widgets under the names the controller, the tests and the benchmarks have always used."""
        status, data = self.status_box, self.data_group
        optimizer, schedule, device = self.optimizer_group, self.schedule_group, self.device_group
        self.state_label, self.start_button, self.continue_check = (
            status.state_label, status.start_button, status.continue_check)
        self.run_info_label, self.epoch_label, self.speed_label, self.run_bar, self.result_label = (
            status.run_info_label, status.epoch_label, status.speed_label, status.run_bar, status.result_label)
        self.dataset_combo, self.augment_check = data.dataset_combo, data.augment_check
        self.source_icon, self.source_label, self.download_button = (
            data.source_icon, data.source_label, data.download_button)
        self.download_row, self.download_bar, self.cancel_button, self.download_label = (
            data.download_row, data.download_bar, data.cancel_button, data.download_label)
        self.optimizer_combo, self.lr_edit, self.wd_edit, self.batch_spin, self.epochs_spin = (
            optimizer.optimizer_combo, optimizer.lr_edit, optimizer.wd_edit, optimizer.batch_spin,
            optimizer.epochs_spin)
        self.schedule_combo, self.warmup_spin, self.clip_spin = (
            schedule.schedule_combo, schedule.warmup_spin, schedule.clip_spin)
        self.device_combo, self.amp_check, self.seed_spin, self.cuda_names = (
            device.device_combo, device.amp_check, device.seed_spin, device.cuda_names)
        gan = self.gan_group
        self.gan_loss_combo, self.gan_d_steps_spin, self.gan_lr_g_edit, self.gan_lr_d_edit = (
            gan.loss_combo, gan.d_steps_spin, gan.lr_g_edit, gan.lr_d_edit)
        self.gan_beta1_spin, self.gan_smoothing_spin, self.gan_ema_spin, self.gan_judge_check = (
            gan.beta1_spin, gan.smoothing_spin, gan.ema_spin, gan.judge_check)

    # -- wiring -----------------------------------------------------------------------------------------------------
    def _connect_edits(self) -> None:
        self.status_box.start_button.clicked.connect(self._on_start_clicked)
        self.dataset_combo.currentIndexChanged.connect(self._on_dataset_changed)
        self.optimizer_combo.currentIndexChanged.connect(self._on_edited)
        self.schedule_combo.currentIndexChanged.connect(self._on_edited)
        self.device_combo.currentIndexChanged.connect(self._on_edited)
        self.gan_loss_combo.currentIndexChanged.connect(self._on_edited)
        for edit in (self.lr_edit, self.wd_edit, self.gan_lr_g_edit, self.gan_lr_d_edit):
            edit.textChanged.connect(self._on_edited)
        for spin in (self.batch_spin, self.epochs_spin, self.warmup_spin, self.clip_spin, self.seed_spin,
                     self.gan_d_steps_spin, self.gan_beta1_spin, self.gan_smoothing_spin, self.gan_ema_spin):
            spin.valueChanged.connect(self._on_edited)
        for check in (self.augment_check, self.amp_check, self.gan_judge_check):
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
        self.data_group.refresh_source()

    def _update_dependents(self) -> None:
        """What one setting says about another: the auto rate, the warm-up's 0, mixed precision's device."""
        for group in self._run_settings:
            group.update_dependents()

    # -- reading and writing the form -------------------------------------------------------------------------------
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
            optimizer=self.optimizer_group.optimizer(),
            lr=number(self.lr_edit, "lr", True, None),
            weight_decay=number(self.wd_edit, "weight_decay", False, defaults.weight_decay),
            batch_size=self.batch_spin.value(),
            epochs=self.epochs_spin.value(),
            schedule=self.schedule_group.schedule(),
            warmup_epochs=self.warmup_spin.value(),
            augment="default" if self.augment_check.isChecked() else "none",
            grad_clip=self.clip_spin.value(),
            seed=self.seed_spin.value(),
            device=self.device_combo.currentData() or "auto",
            amp=self.amp_check.isChecked(),
            dataset=None if choice == "graph" else choice,
            gan_loss=self.gan_group.loss(),
            gan_d_steps=self.gan_d_steps_spin.value(),
            gan_lr_g=number(self.gan_lr_g_edit, "gan_lr_g", False, defaults.gan_lr_g),
            gan_lr_d=number(self.gan_lr_d_edit, "gan_lr_d", False, defaults.gan_lr_d),
            gan_beta1=self.gan_beta1_spin.value(),
            gan_label_smoothing=self.gan_smoothing_spin.value(),
            gan_ema=self.gan_ema_spin.value(),
            gan_judge=self.gan_judge_check.isChecked(),
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
        unused = CLASSIFIER_ONLY if self.task == GENERATION else GAN_ONLY
        return config, {name: why for name, why in errors.items() if name not in unused}

    def _check(self, store: bool = False) -> tuple[TrainConfig, dict[str, str]]:
        config, errors = self._read()
        for name, field in self.fields.items():
            why = errors.get(name)
            field.set_error(why[0].upper() + why[1:] if why else None)
        if store and not errors:
            self._store(config)
        return config, errors

    @staticmethod
    def _first_problem(errors: dict[str, str]) -> str:
        """The field with a problem that comes first in the form."""
        return next(n for n in (*FIELD_ORDER, *errors) if n in errors)

    def config(self) -> TrainConfig:
        """The settings in the form, validated; a problem raises ConfigError whose message starts with the field."""
        config, errors = self._check()
        if errors:
            name = self._first_problem(errors)
            raise ConfigError(f"{name}: {errors[name]}")
        return config

    def config_dict(self) -> dict:
        """The settings in the form as a dict, valid or not (fields with problems at their defaults)."""
        return self._read()[0].to_dict()

    def set_config(self, config: TrainConfig) -> None:
        """Show `config` in the form. Values the form cannot show (a GPU this machine lacks) become the default."""
        defaults = TrainConfig()
        self._syncing = True
        try:
            dataset = config.dataset if config.dataset in DATASET_NAMES else "graph"
            select_data(self.dataset_combo, dataset, "graph")
            select_data(self.optimizer_combo, config.optimizer, defaults.optimizer)
            self.lr_edit.setText("" if config.lr is None else format_number(config.lr))
            self.wd_edit.setText(format_number(config.weight_decay))
            self.batch_spin.setValue(int(config.batch_size))
            self.epochs_spin.setValue(int(config.epochs))
            select_data(self.schedule_combo, config.schedule, defaults.schedule)
            self.warmup_spin.setValue(float(config.warmup_epochs))
            self.augment_check.setChecked(config.augment_name != "none")
            self.clip_spin.setValue(float(config.grad_clip))
            self.seed_spin.setValue(int(config.seed))
            select_data(self.device_combo, self.device_group.device_item(config.device), "auto")
            self.amp_check.setChecked(bool(config.amp))
            select_data(self.gan_loss_combo, config.gan_loss, defaults.gan_loss)
            self.gan_d_steps_spin.setValue(int(config.gan_d_steps))
            self.gan_lr_g_edit.setText(format_number(config.gan_lr_g))
            self.gan_lr_d_edit.setText(format_number(config.gan_lr_d))
            self.gan_beta1_spin.setValue(float(config.gan_beta1))
            self.gan_smoothing_spin.setValue(float(config.gan_label_smoothing))
            self.gan_ema_spin.setValue(float(config.gan_ema))
            self.gan_judge_check.setChecked(bool(config.gan_judge))
        finally:
            self._syncing = False
        self._update_dependents()
        self._check(store=True)
        self.data_group.refresh_source()

    def restore_defaults(self) -> None:
        self.set_config(TrainConfig())

    # -- the task (app/task.py) --------------------------------------------------------------------------------------
    def set_task(self, task: str) -> None:
        """"classification" or "generation" (a GAN): show the settings that task trains with."""
        if task == self.task:
            return
        self.task = task
        self._show_task_fields()
        self._check()

    def _show_task_fields(self) -> None:
        gan = self.task == GENERATION
        for name, field in self.fields.items():
            hidden = name in (CLASSIFIER_ONLY if gan else GAN_ONLY)
            form = next(group.form for group in (self.data_group, *self._run_settings) if name in group.fields)
            form.setRowVisible(field.container, not hidden)
        self.gan_group.setVisible(gan)
        self.schedule_group.setVisible(not gan)
        self.optimizer_group.setTitle("Batches" if gan else "Optimizer")

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

    # -- the dataset (see DataBox) ----------------------------------------------------------------------------------
    def dataset_choice(self) -> str:
        return self.data_group.dataset_choice()

    def select_dataset(self, choice: str) -> None:
        self.data_group.select_dataset(choice)

    def effective_dataset(self) -> str:
        return self.data_group.effective_dataset()

    def set_graph_dataset(self, name: str) -> None:
        self.data_group.set_graph_dataset(name)

    def set_data_dir(self, folder: str | os.PathLike | None) -> None:
        self.data_group.set_data_dir(folder)

    def refresh_source(self) -> None:
        self.data_group.refresh_source()

    def source_location(self) -> DatasetLocation | None:
        return self.data_group.source_location()

    @property
    def source_text(self) -> str:
        return self.data_group.source_text

    def download_running(self) -> bool:
        return self.data_group.download_running()

    def start_download(self) -> None:
        self.data_group.start_download()

    def cancel_download(self) -> None:
        self.data_group.cancel_download()

    @property
    def download_text(self) -> str:
        return self.data_group.download_text

    # -- the run (see StatusBox) ------------------------------------------------------------------------------------
    def _on_start_clicked(self) -> None:
        """Start with a bad field shows that field instead of starting."""
        _, errors = self._check()
        if errors:
            field = self.fields.get(self._first_problem(errors))
            if field is not None:
                self.scroll.ensureWidgetVisible(field.container)
                field.editor.setFocus()
            return
        self.start_requested.emit()

    def set_running(self, state: str) -> None:
        """"idle" | "starting" | "running" | "paused" | "stopping": the settings can be changed only when idle."""
        self.status_box.set_state(state)
        idle = state == "idle"
        for group in self._run_settings:
            group.setEnabled(idle)
        # The dataset is fixed for the run, but a download may go on (or start) while it trains.
        self.fields["dataset"].set_enabled(idle)
        self.fields["augment"].set_enabled(idle)
        self.defaults_button.setEnabled(idle)

    def state(self) -> str:
        return self.status_box.state()

    def show_run_started(self, started: RunStarted) -> None:
        self.status_box.show_run_started(started)

    def show_progress(self, progress: Progress) -> None:
        self.status_box.show_progress(progress)

    def show_finished(self, finished: RunFinished) -> None:
        self.status_box.show_finished(finished)

    def result_text(self) -> str:
        return self.status_box.result_text()

    def continue_from_last(self) -> bool:
        return self.status_box.continue_from_last()

    def set_can_continue(self, on: bool, why: str = "") -> None:
        self.status_box.set_can_continue(on, why)

    # -- lifetime and layout ----------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Cancel a download and wait for the background threads (call before the window closes)."""
        self.data_group.shutdown()

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
        if not self.download_running() and self.state() == "idle":
            self.data_group.refresh_source()  # files may have been copied in while the panel was hidden
