"""The top of the Training panel: the run's state, the Start button, and how the run is going or how it ended."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from ...core.run.messages import Progress, RunFinished, RunStarted
from ..icons import icon
from .fields import WARNING_COLOUR, breakable, colours, error_style, format_duration, text_label

STATE_TITLES = {"idle": "Idle", "starting": "Starting…", "running": "Training", "paused": "Paused",
                "stopping": "Stopping…"}
PAUSED_LINE = "Paused: the run waits between two steps (F6 resumes)"
CONTINUE_TIP = "Start from the weights of the last run instead of fresh random ones."
SAMPLE_COLOUR = "#b7791f"  # a darker amber than WARNING_COLOUR: it is a whole line of text, not an icon


def _set_text(label: QLabel, text: str) -> None:
    """Set a label's text only when it changes: show_progress comes ~10 times a second."""
    if label.text() != text:
        label.setText(text)


class StatusBox(QWidget):
    """State and Start; once a run starts: its data and device, epoch and step, speed, time left, and the result.

    The Start button only asks: the panel checks the settings before it says to start.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("training_status")
        self._state = "idle"
        self._can_continue = False
        self._measured = 0.0  # the last speed a Progress said, for a run that ends without an average
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(4)

        top = QHBoxLayout()
        top.setSpacing(6)
        self.state_label = text_label("Idle", bold=True, wrap=False)
        self.state_label.setObjectName("training_state")
        self.state_label.setToolTip("What the training run is doing.")
        top.addWidget(self.state_label, 1)
        self.start_button = QPushButton(icon("train-start"), "Start")
        self.start_button.setObjectName("training_start")
        self.start_button.setToolTip("Train the network on the editor's graph with these settings.")
        top.addWidget(self.start_button)
        layout.addLayout(top)

        self.continue_check = QCheckBox("Continue from the last weights")
        self.continue_check.setObjectName("training_continue")
        self.continue_check.setEnabled(False)
        self.continue_check.setToolTip(CONTINUE_TIP)
        layout.addWidget(self.continue_check)

        self.run_info_label = self._hidden_label(layout, "training_run_info", dim=True)
        self.epoch_label = self._hidden_label(layout, "training_epoch")
        self.speed_label = self._hidden_label(layout, "training_speed", dim=True)
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
        self.result_label = self._hidden_label(layout, "training_result")
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    @staticmethod
    def _hidden_label(layout: QVBoxLayout, name: str, dim: bool = False) -> QLabel:
        label = text_label(dim=dim)
        label.setObjectName(name)
        label.hide()
        layout.addWidget(label)
        return label

    def _show_run_lines(self) -> None:
        for widget in (self.epoch_label, self.speed_label, self.run_bar):
            widget.show()

    # -- the state --------------------------------------------------------------------------------------------------
    def set_state(self, state: str) -> None:
        """"idle" | "starting" | "running" | "paused" | "stopping": Start and Continue work only when idle."""
        if state not in STATE_TITLES:
            raise ValueError(f"unknown training state {state!r}; one of {', '.join(STATE_TITLES)}")
        self._state = state
        idle = state == "idle"
        self.state_label.setText(STATE_TITLES[state])
        colour = {"running": colours().candidate.name(), "paused": WARNING_COLOUR}.get(state)
        self.state_label.setStyleSheet(f"color: {colour};" if colour else "")
        self.start_button.setEnabled(idle)
        self.continue_check.setEnabled(idle and self._can_continue)
        if state == "paused":  # no speed nor time left while nothing trains
            _set_text(self.speed_label, PAUSED_LINE)
        if not idle:
            self._show_run_lines()

    def state(self) -> str:
        return self._state

    # -- continuing -------------------------------------------------------------------------------------------------
    def continue_from_last(self) -> bool:
        return self._can_continue and self.continue_check.isChecked()

    def set_can_continue(self, on: bool, why: str = "") -> None:
        """Whether there are weights to continue from; `why` says why not (shown as the checkbox's tooltip)."""
        self._can_continue = bool(on)
        if not on:
            self.continue_check.setChecked(False)
        self.continue_check.setEnabled(self._can_continue and self._state == "idle")
        self.continue_check.setToolTip(CONTINUE_TIP if on or not why else f"{CONTINUE_TIP}\n\nNot now: {why}")

    # -- the run ----------------------------------------------------------------------------------------------------
    def show_run_started(self, started: RunStarted) -> None:
        device = "the CPU" if started.device == "cpu" else f"{started.device_name} ({started.device})"
        lines = [started.dataset_source, f"On {device}"]
        if started.transfer_note:
            lines.append(started.transfer_note)
        _set_text(self.run_info_label, breakable("\n".join(lines)))
        self.run_info_label.setToolTip("\n".join(lines))
        # The offline sample standing in for a dataset that was not found: say so in the warning colour.
        self.run_info_label.setStyleSheet(
            f"color: {SAMPLE_COLOUR};" if "standing in for" in started.dataset_source else "")
        self.run_info_label.show()
        _set_text(self.epoch_label, f"Epoch {started.first_epoch + 1} of {started.epochs} · "
                                    f"step 0 of {started.steps_per_epoch:,}")
        _set_text(self.speed_label, "Measuring speed…")
        self._measured = 0.0
        self.run_bar.setRange(0, max(1, started.total_steps))
        self.run_bar.setValue(0)
        _set_text(self.result_label, "")
        self.result_label.hide()
        self._show_run_lines()

    def show_progress(self, progress: Progress) -> None:
        """Epoch, step, speed, time left and the bar; cheap: only what changed is set."""
        epoch = min(progress.epoch + 1, progress.epochs)
        _set_text(self.epoch_label, f"Epoch {epoch} of {progress.epochs} · "
                                    f"step {progress.epoch_step:,} of {progress.steps_per_epoch:,}")
        left = ("estimating time left…" if progress.seconds_left is None
                else f"{format_duration(progress.seconds_left)} left")
        if progress.samples_per_second > 0:
            self._measured = progress.samples_per_second
        if self._state != "paused":  # (the last steps before a pause are reported after it)
            _set_text(self.speed_label, f"{progress.samples_per_second:,.0f} samples/s · {left}")
        total = max(1, progress.total_steps)
        if self.run_bar.maximum() != total:
            self.run_bar.setRange(0, total)
        value = min(progress.global_step, total)
        if self.run_bar.value() != value:
            self.run_bar.setValue(value)
        if self.epoch_label.isHidden():
            self._show_run_lines()

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
            if finished.message:  # why it stopped, when it was not the person's Stop alone
                text += f": {finished.message}"
        else:
            what = {"diverged": "Diverged", "out_of_memory": "Out of memory", "failed": "Failed"}.get(
                finished.status, finished.status.capitalize())
            text = f"{what}: {finished.message}" if finished.message else what
        _set_text(self.result_label, text)
        self.result_label.setToolTip(finished.message or text)
        self.result_label.setStyleSheet(error_style(not finished.ok))
        self.result_label.show()
        # A run that failed or was ended has no average of its own: the last speed measured, or nothing.
        if finished.samples_per_second > 0:
            speed = f"{finished.samples_per_second:,.0f} samples/s on average"
        elif self._measured > 0:
            speed = f"{self._measured:,.0f} samples/s when last measured"
        else:
            speed = ""
        _set_text(self.speed_label, speed)
        self.speed_label.setVisible(bool(speed))

    def result_text(self) -> str:
        return self.result_label.text()
