"""The Training dock's settings panel: data source and download, optimizer, schedule, device, and the run status.

The fields follow the task (`set_task`, from app/task.py). A GAN document ("generation") shows the adversarial
settings (loss, discriminator steps per generator step, each network's rate, Adam's β1, label smoothing, the
judge) in place of the optimizer, rate, weight decay, regularization, schedule and augmentation, which a GAN run
does not use. A points document ("points") lists the 2-D datasets instead of the image ones and shows the Points
group (count, noise, test share, their seed) instead of the images' source line, download and augmentation. A GAN
on 2-D points (a GAN whose Input names a points set) shows both: the adversarial settings and the points' (but
no test share, and no judge: a GAN on points is neither tested nor judged). Problems in fields that are hidden do
not hold Start.

Each task has its own recipe (`core.train.config.default_config(task)`: a GAN's small batches, the points'
batches of 10 at a constant rate, ...). The fields a recipe sets are kept per task: switching to a task shows
the values the person last had for it, or its recipe's where they had none (`_task_values`).

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

from ...core.data.points import OWN_POINTS, is_points_dataset
from ...core.run.messages import Progress, RunFinished, RunStarted
from ...core.task import CLASSIFICATION, GENERATION, POINTS
from ...core.train.config import TASK_DEFAULTS, ConfigError, TrainConfig, default_config
from ..settings import AppSettings
from .data_box import FOLDER_FIELDS, DataBox
from .datasets import DatasetLocation
from .fields import Field, format_number, parse_number, select_data
from .points_box import PointsBox
from .settings_boxes import DeviceBox, GanBox, OptimizerBox, ScheduleBox
from .status_box import StatusBox

SETTINGS_KEY = "training/config"  # the form as last valid, whatever its task
TASKS_KEY = "training/task_settings"  # per task, the person's values of the fields a task's recipe sets
# When several fields have a problem, config() names (and Start shows) the first of them in this order.
FIELD_ORDER = ("dataset", "folder", "folder_size", "folder_channels", "folder_test_share",
               "points", "points_noise", "points_test_share", "points_seed", "optimizer", "lr",
               "weight_decay", "l1", "l2", "batch_size", "epochs", "gan_loss", "gan_d_steps", "gan_lr_g", "gan_lr_d",
               "gan_beta1", "gan_label_smoothing", "gan_ema", "gan_judge", "schedule", "warmup_epochs", "grad_clip",
               "augment", "seed", "device")
# The settings each task does not use: hidden for that task, and their problems do not hold Start. (TrainConfig: a
# GAN run trains each network with its own constant-rate Adam, on the data as it is; augmentation is for images.)
OPTIMIZER_ONLY = frozenset({"optimizer", "lr", "weight_decay", "l1", "l2", "schedule", "warmup_epochs", "grad_clip",
                            "augment"})
GAN_ONLY = frozenset({"gan_loss", "gan_d_steps", "gan_lr_g", "gan_lr_d", "gan_beta1", "gan_label_smoothing",
                      "gan_ema", "gan_judge"})
POINTS_ONLY = frozenset({"points", "points_noise", "points_test_share", "points_seed"})
# (An image GAN trains on MNIST-like digits: no image folder.)
UNUSED = {CLASSIFICATION: GAN_ONLY | POINTS_ONLY, GENERATION: OPTIMIZER_ONLY | POINTS_ONLY | {*FOLDER_FIELDS},
          POINTS: GAN_ONLY | {"augment", *FOLDER_FIELDS}}
# A GAN on 2-D points: its real points are all of the set (none held out) and nothing judges them (the judge knows
# digits).
POINTS_GAN_UNUSED = OPTIMIZER_ONLY | {"points_test_share", "gan_judge", *FOLDER_FIELDS}
# The fields some task's recipe sets its own way (core/train/config.py TASK_DEFAULTS), and the dataset, whose
# choices differ between points and images: the panel keeps the person's values of these per task.
TASK_FIELDS = frozenset({"dataset", *(name for recipe in TASK_DEFAULTS.values() for name in recipe)})


def switched_fields(old: str, new: str) -> frozenset[str]:
    """The fields that take the new task's values when the task changes: those either task's recipe sets (a GAN's
    and a classifier's differ in batch size and epochs only), and the dataset between points and images."""
    names = set(TASK_DEFAULTS.get(old, {})) | set(TASK_DEFAULTS.get(new, {}))
    if (old == POINTS) != (new == POINTS):
        names.add("dataset")
    return frozenset(names)


class TrainingPanel(QWidget):
    """Training settings, dataset source and download, and the run's status, for a dock about 300 px wide."""

    start_requested = Signal()
    # The points a run would use may have changed: the dataset choice, count, noise, test share or seed (see
    # points_settings); the Decision view draws a preview of them.
    points_changed = Signal()

    def __init__(self, settings: AppSettings | None = None, parent=None):
        super().__init__(parent)
        self._kept: dict = {}  # settings the form shows no field for, as the last config given had them
        self.setObjectName("training_panel")
        self.settings = settings
        self._syncing = False
        self.task = CLASSIFICATION
        self._task_records = self._stored_task_records()
        self._points_shown: tuple | None = None  # points_settings() as last announced by points_changed

        self.status_box = StatusBox()
        self.data_group = DataBox()
        self.points_group = PointsBox()
        self.optimizer_group = OptimizerBox()
        self.gan_group = GanBox()
        self.schedule_group = ScheduleBox()
        self.device_group = DeviceBox()
        # The groups fixed for the whole of a run (the Data group's download may go on while it trains).
        self._run_settings = (self.points_group, self.optimizer_group, self.gan_group, self.schedule_group,
                              self.device_group)
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
        self.defaults_button.setToolTip("Put every training setting back to its default for this kind of network "
                                        "(the dataset choice too).")
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
        self.l1_edit, self.l2_edit = optimizer.l1_edit, optimizer.l2_edit
        points = self.points_group
        self.points_spin, self.noise_spin, self.test_share_spin, self.points_seed_spin, self.regenerate_button = (
            points.count_spin, points.noise_spin, points.test_spin, points.seed_spin, points.regenerate_button)
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
        self.data_group.folder_edited.connect(self._on_folder_edited)
        self.optimizer_combo.currentIndexChanged.connect(self._on_edited)
        self.schedule_combo.currentIndexChanged.connect(self._on_edited)
        self.device_combo.currentIndexChanged.connect(self._on_edited)
        self.gan_loss_combo.currentIndexChanged.connect(self._on_edited)
        for edit in (self.lr_edit, self.wd_edit, self.l1_edit, self.l2_edit, self.gan_lr_g_edit, self.gan_lr_d_edit):
            edit.textChanged.connect(self._on_edited)
        for spin in (self.batch_spin, self.epochs_spin, self.warmup_spin, self.clip_spin, self.seed_spin,
                     self.gan_d_steps_spin, self.gan_beta1_spin, self.gan_smoothing_spin, self.gan_ema_spin,
                     self.points_spin, self.noise_spin, self.test_share_spin, self.points_seed_spin):
            spin.valueChanged.connect(self._on_edited)
        for check in (self.augment_check, self.amp_check, self.gan_judge_check):
            check.toggled.connect(self._on_edited)

    def _on_edited(self, *_args) -> None:
        if self._syncing:
            return
        self._update_dependents()
        self._check(store=True)
        self._announce_points()

    def _on_dataset_changed(self, *_args) -> None:
        if self._syncing:
            return
        self._update_dependents()
        self._check(store=True)
        self.data_group.refresh_source()
        self._announce_points()

    def _on_folder_edited(self) -> None:
        """A folder chosen, its size, channels or test share changed, or its load ended: check, keep, load."""
        if self._syncing:
            return
        self._check(store=True)
        self.data_group.refresh_source()  # loads the folder when its settings are new

    def _update_dependents(self) -> None:
        """What one setting says about another: the auto rate, the warm-up's 0, mixed precision's device, the
        count of your own points."""
        for group in self._run_settings:
            group.update_dependents()
        self.points_group.set_own_points(self.effective_dataset() == OWN_POINTS)

    def _announce_points(self) -> None:
        """points_changed, when the points a run would use are not those last announced."""
        settings = self.points_settings()
        if settings != self._points_shown:
            self._points_shown = settings
            self.points_changed.emit()

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
            **self._kept,
            optimizer=self.optimizer_group.optimizer(),
            lr=number(self.lr_edit, "lr", True, None),
            weight_decay=number(self.wd_edit, "weight_decay", False, defaults.weight_decay),
            l1=number(self.l1_edit, "l1", False, defaults.l1),
            l2=number(self.l2_edit, "l2", False, defaults.l2),
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
            points=self.points_spin.value(),
            points_noise=self.points_group.noise(),
            points_test_share=self.points_group.test_share(),
            points_seed=self.points_seed_spin.value(),
            folder=self.data_group.folder_path(),
            folder_size=self.data_group.folder_size(),
            folder_channels=self.data_group.folder_channels(),
            folder_test_share=self.data_group.folder_test_share(),
        )
        if (problem := self.data_group.folder_problem()) is not None:
            errors["folder"] = problem
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
        unused = self._unused()
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
        """Show `config` in the form. Values the form cannot show (a GPU this machine lacks, a dataset the task does
        not list) become the default."""
        self._write(config.to_dict())

    def _write(self, values: dict) -> None:
        """Show `values` (TrainConfig's field -> value; all of them or some) with the widgets' own signals
        ignored, then check (and keep) the form and say what follows from it."""
        defaults = TrainConfig()
        points = self.points_group
        setters = {
            "dataset": lambda v: select_data(self.dataset_combo, v if v in self.data_group.choices() else "graph",
                                             "graph"),
            "optimizer": lambda v: select_data(self.optimizer_combo, v, defaults.optimizer),
            "lr": lambda v: self.lr_edit.setText("" if v is None else format_number(v)),
            "weight_decay": lambda v: self.wd_edit.setText(format_number(v)),
            "l1": lambda v: self.l1_edit.setText(format_number(v)),
            "l2": lambda v: self.l2_edit.setText(format_number(v)),
            "batch_size": lambda v: self.batch_spin.setValue(int(v)),
            "epochs": lambda v: self.epochs_spin.setValue(int(v)),
            "schedule": lambda v: select_data(self.schedule_combo, v, defaults.schedule),
            "warmup_epochs": lambda v: self.warmup_spin.setValue(float(v)),
            "augment": lambda v: self.augment_check.setChecked(v not in (False, "none")),
            "grad_clip": lambda v: self.clip_spin.setValue(float(v)),
            "seed": lambda v: self.seed_spin.setValue(int(v)),
            "device": lambda v: select_data(self.device_combo, self.device_group.device_item(v), "auto"),
            "amp": lambda v: self.amp_check.setChecked(bool(v)),
            "gan_loss": lambda v: select_data(self.gan_loss_combo, v, defaults.gan_loss),
            "gan_d_steps": lambda v: self.gan_d_steps_spin.setValue(int(v)),
            "gan_lr_g": lambda v: self.gan_lr_g_edit.setText(format_number(v)),
            "gan_lr_d": lambda v: self.gan_lr_d_edit.setText(format_number(v)),
            "gan_beta1": lambda v: self.gan_beta1_spin.setValue(float(v)),
            "gan_label_smoothing": lambda v: self.gan_smoothing_spin.setValue(float(v)),
            "gan_ema": lambda v: self.gan_ema_spin.setValue(float(v)),
            "gan_judge": lambda v: self.gan_judge_check.setChecked(bool(v)),
            "points": lambda v: self.points_spin.setValue(int(v)),
            "points_noise": points.set_noise,
            "points_test_share": points.set_test_share,
            "points_seed": lambda v: self.points_seed_spin.setValue(int(v)),
            "folder": self.data_group.set_folder_path,
            "folder_size": self.data_group.set_folder_size,
            "folder_channels": self.data_group.set_folder_channels,
            "folder_test_share": self.data_group.set_folder_test_share,
        }
        self._syncing = True
        try:
            for name, value in values.items():
                if name in setters:
                    setters[name](value)
                else:  # a setting the form has no field for (an image folder's, say): kept as it came
                    self._kept[name] = value
        finally:
            self._syncing = False
        self._update_dependents()
        self._check(store=True)
        self.data_group.refresh_source()
        self._announce_points()

    def restore_defaults(self) -> None:
        """The task's recipe (`default_config(task)`), the dataset choice "graph"."""
        self.set_config(default_config(self.task))

    # -- the task (app/task.py) --------------------------------------------------------------------------------------
    def set_task(self, task: str) -> None:
        """"classification", "generation" (a GAN) or "points": show the settings that task trains with, the fields
        its recipe sets at the person's values for it (or the recipe's)."""
        if task == self.task:
            return
        old, self.task = self.task, task
        self._syncing = True
        try:
            self.data_group.set_points(self._lists_points())  # the datasets it lists (the choice is written below)
            self.data_group.set_folders(task != GENERATION)
        finally:
            self._syncing = False
        self._show_task_fields()
        values = self._task_values(task)
        self._write({name: values[name] for name in switched_fields(old, task)})

    def _points_gan(self) -> bool:
        """A GAN on 2-D points: the graph's Input names a points set (core.task.is_points_gan, from the panel's
        view of the graph)."""
        return self.task == GENERATION and is_points_dataset(self.data_group.graph_dataset)

    def _lists_points(self) -> bool:
        return self.task == POINTS or self._points_gan()

    def _unused(self) -> frozenset[str]:
        """The fields the task does not use: hidden, and their problems do not hold Start."""
        return POINTS_GAN_UNUSED if self._points_gan() else UNUSED.get(self.task, UNUSED[CLASSIFICATION])

    def _follow_graph_dataset(self) -> None:
        """A GAN's Input now names points, or images again: list those datasets and show their settings."""
        lists = self._lists_points()
        if lists == self.data_group.points:
            return
        self._syncing = True
        try:
            self.data_group.set_points(lists)
        finally:
            self._syncing = False
        self._show_task_fields()
        self._check(store=True)
        self._announce_points()

    def _show_task_fields(self) -> None:
        hidden = self._unused()
        groups = (self.data_group, *self._run_settings)
        for name, field in self.fields.items():
            form = next(group.form for group in groups if name in group.fields)
            form.setRowVisible(field.container, name not in hidden
                               and (name not in FOLDER_FIELDS or self.data_group.folder_shown()))
        gan = self.task == GENERATION
        self.gan_group.setVisible(gan)
        self.schedule_group.setVisible(not gan)
        self.points_group.setVisible(self._lists_points())
        self.optimizer_group.setTitle("Batches" if gan else "Optimizer")

    def _task_values(self, task: str) -> dict:
        """TASK_FIELDS for `task`: the person's last values for it, or its recipe's where it has none."""
        recipe = default_config(task).to_dict()
        return {name: self._task_records.get(task, {}).get(name, recipe[name]) for name in TASK_FIELDS}

    # -- persistence ------------------------------------------------------------------------------------------------
    def _qsettings(self):
        return getattr(self.settings, "qsettings", None) if self.settings is not None else None

    def _stored_config(self) -> TrainConfig:
        """The form as last kept, with the panel's task's own fields (a run of another task may have kept it)."""
        qs = self._qsettings()
        raw = qs.value(SETTINGS_KEY, "") if qs is not None else ""
        config = TrainConfig()
        if raw and isinstance(raw, str):
            try:
                data = json.loads(raw)
                try:
                    config = TrainConfig.from_dict(data)
                except ConfigError:  # most likely a GPU that this machine lacks: keep the rest
                    config = TrainConfig.from_dict({**data, "device": "auto"})
            except (ValueError, TypeError, AttributeError):
                return TrainConfig()
        if qs is not None and not qs.contains(TASKS_KEY):
            return config  # settings from before tasks were kept apart: the form as it was, a classifier's
        values = self._task_values(self.task)
        # The warm-up is not kept per task: it may be longer than this task's epochs, and then it goes.
        for also in ({}, {"warmup_epochs": 0.0}):
            try:
                return TrainConfig.from_dict({**config.to_dict(), **values, **also})
            except ConfigError:
                pass
        return config

    def _stored_task_records(self) -> dict[str, dict]:
        """TASKS_KEY's records, each checked against its task's recipe: one that does not fit is dropped whole."""
        qs = self._qsettings()
        raw = qs.value(TASKS_KEY, "") if qs is not None else ""
        try:
            data = json.loads(raw) if raw and isinstance(raw, str) else {}
        except ValueError:
            return {}
        records = {}
        for task, record in (data.items() if isinstance(data, dict) else ()):
            if not isinstance(record, dict):
                continue
            record = {name: value for name, value in record.items() if name in TASK_FIELDS}
            try:
                TrainConfig.from_dict({**default_config(task).to_dict(), **record})
            except (ConfigError, TypeError):
                continue
            records[task] = record
        return records

    def _store(self, config: TrainConfig) -> None:
        # The task's own fields where they differ from its recipe: what the person set for it.
        values, recipe = config.to_dict(), default_config(self.task).to_dict()
        self._task_records[self.task] = {name: values[name] for name in sorted(TASK_FIELDS)
                                         if values[name] != recipe[name]}
        qs = self._qsettings()
        if qs is None:
            return
        changed = False
        for key, data in ((SETTINGS_KEY, values), (TASKS_KEY, self._task_records)):
            text = json.dumps(data, sort_keys=True)
            if qs.value(key, "") != text:
                qs.setValue(key, text)
                changed = True
        if changed:
            qs.sync()

    # -- the dataset (see DataBox) ----------------------------------------------------------------------------------
    def dataset_choice(self) -> str:
        return self.data_group.dataset_choice()

    def select_dataset(self, choice: str) -> None:
        """"graph" or a dataset the task lists (an image one, or a points set such as "own-points" for a points
        network), as a person would choose it; ValueError for one it does not list."""
        self.data_group.select_dataset(choice)

    def effective_dataset(self) -> str:
        return self.data_group.effective_dataset()

    def set_graph_dataset(self, name: str) -> None:
        self.data_group.set_graph_dataset(name)
        self._follow_graph_dataset()
        self._update_dependents()  # "From the network" may now mean your own points, or no longer

    def points_settings(self) -> tuple[str | None, int, float, float, int]:
        """The points a run would use: (the dataset chosen, None for the graph's; count, noise 0..0.5, test share
        0..0.9, seed), as the form shows them (points_changed says when they change)."""
        choice = self.dataset_choice()
        group = self.points_group
        return (choice if is_points_dataset(choice) else None, self.points_spin.value(), group.noise(),
                group.test_share(), self.points_seed_spin.value())

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
        for name in FOLDER_FIELDS:
            self.fields[name].set_enabled(idle)
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
