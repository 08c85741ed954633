"""One small editor widget per parameter type, all with the same interface.

`committed(value)` is emitted when the user changes the value (never when the
inspector sets it), `finished()` when an edit is complete (Enter, focus lost),
which closes the undo step that spin box clicks merge into. `show_invalid(value)`
shows a value the file holds that the parameter does not allow (out of range,
of the wrong type) as it is written, rather than the default, until it is edited.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QAbstractSpinBox, QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox, QWidget

from ...core.layers import Param

INT_LIMIT = 2**31 - 1


def _blocked(widget: QWidget, setter, value) -> None:
    old = widget.blockSignals(True)
    try:
        setter(value)
    finally:
        widget.blockSignals(old)


def written(value: Any) -> str:
    """A value from a file as a person would write it there."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:.6g}"
    return format_shape(value) if isinstance(value, (list, tuple)) else str(value)


def _show_text(spin: QAbstractSpinBox, text: str) -> None:
    """Show `text` in a spin box whatever its range: as the text of its minimum (a spin box sets its text again
    from its value whenever it is restyled), until the person edits it; no value is committed meanwhile."""
    spin.setSpecialValueText(text)
    _blocked(spin, spin.setValue, spin.minimum())


def _mark(widget: QWidget, error: str | None, help_text: str) -> None:
    widget.setProperty("invalid", bool(error))
    widget.setStyleSheet("border: 1.5px solid #d32f2f; border-radius: 3px;" if error else "")
    widget.setToolTip(f"{help_text}\n⚠ {error}" if error else help_text)


class IntEditor(QSpinBox):
    committed = Signal(object)
    finished = Signal()

    def __init__(self, param: Param):
        super().__init__()
        self.param = param
        self.setRange(int(param.min) if param.min is not None else -INT_LIMIT,
                      int(param.max) if param.max is not None else INT_LIMIT)
        self.setKeyboardTracking(False)
        self.setAccelerated(True)
        self.valueChanged.connect(self.committed.emit)
        self.editingFinished.connect(self.finished.emit)

    def set_value(self, value: Any) -> None:
        self.setSpecialValueText("")
        _blocked(self, self.setValue, int(value))

    def show_invalid(self, value: Any) -> None:
        _show_text(self, written(value))

    def set_error(self, error: str | None) -> None:
        _mark(self, error, self.param.help)


class FloatEditor(QDoubleSpinBox):
    """Shows values the way people write them (1e-05, 0.5), not with a fixed number of decimals."""

    committed = Signal(object)
    finished = Signal()

    def __init__(self, param: Param):
        super().__init__()
        self.param = param
        self.setDecimals(12)
        self.setRange(param.min if param.min is not None else -1e12, param.max if param.max is not None else 1e12)
        self.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self.setKeyboardTracking(False)
        self.valueChanged.connect(lambda v: self.committed.emit(float(f"{v:.10g}")))
        self.editingFinished.connect(self.finished.emit)

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        try:
            value = float(text)
        except ValueError:
            return QValidator.State.Intermediate if re.fullmatch(r"[-+]?[\d.]*(e[-+]?\d*)?", text.strip(), re.I) \
                else QValidator.State.Invalid
        return QValidator.State.Acceptable if self.minimum() <= value <= self.maximum() else \
            QValidator.State.Intermediate

    def set_value(self, value: Any) -> None:
        self.setSpecialValueText("")
        _blocked(self, self.setValue, float(value))

    def show_invalid(self, value: Any) -> None:
        _show_text(self, written(value))

    def set_error(self, error: str | None) -> None:
        _mark(self, error, self.param.help)


class BoolEditor(QCheckBox):
    committed = Signal(object)
    finished = Signal()

    def __init__(self, param: Param):
        super().__init__()
        self.param = param
        self.toggled.connect(self._toggled)

    def _toggled(self, on: bool) -> None:
        self.committed.emit(bool(on))
        self.finished.emit()

    def set_value(self, value: Any) -> None:
        _blocked(self, self.setChecked, bool(value))
        self.setText("")

    def show_invalid(self, value: Any) -> None:
        _blocked(self, self.setChecked, False)
        self.setText(written(value))  # beside the box: what the file says instead of true or false

    def set_error(self, error: str | None) -> None:
        _mark(self, error, self.param.help)


class ChoiceEditor(QComboBox):
    committed = Signal(object)
    finished = Signal()

    def __init__(self, param: Param):
        super().__init__()
        self.param = param
        self.addItems(list(param.choices))
        self.activated.connect(self._activated)

    def _activated(self, index: int) -> None:
        self.committed.emit(self.param.choices[index])
        self.finished.emit()

    def set_value(self, value: Any) -> None:
        index = self.param.choices.index(value) if value in self.param.choices else -1
        _blocked(self, self.setCurrentIndex, index)

    def show_invalid(self, value: Any) -> None:
        self.setPlaceholderText(written(value))  # shown while no choice is chosen
        _blocked(self, self.setCurrentIndex, -1)

    def set_error(self, error: str | None) -> None:
        _mark(self, error, self.param.help)


def parse_shape(text: str) -> list[int] | None:
    """'1, 28, 28', '1×28×28', '1 x 28 x 28' or '[1, 28, 28]' -> [1, 28, 28]; None if it is not a list of ints."""
    parts = [p for p in re.split(r"[\s,×xX*\[\]()]+", text.strip()) if p]
    try:
        return [int(p) for p in parts] if parts else None
    except ValueError:
        return None


def format_shape(value: Any) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)


class ShapeEditor(QLineEdit):
    """A shape as a comma-separated list; committed on Enter or when focus leaves, if valid."""

    committed = Signal(object)
    finished = Signal()

    def __init__(self, param: Param):
        super().__init__()
        self.param = param
        self.setPlaceholderText("e.g. 1, 28, 28")
        self._value: list[int] | None = None
        self.editingFinished.connect(self._finish)
        self.textEdited.connect(self._check)

    def _problem(self) -> tuple[list[int] | None, str | None]:
        value = parse_shape(self.text())
        if value is None:
            return None, "write whole numbers separated by commas, e.g. 1, 28, 28"
        return value, self.param.error(value)

    def _check(self, text: str) -> None:
        self.set_error(self._problem()[1])

    def _finish(self) -> None:
        value, problem = self._problem()
        if problem is None and value != self._value:
            self._value = value
            self.committed.emit(value)
        self.finished.emit()

    def set_value(self, value: Any) -> None:
        self._value = list(value) if isinstance(value, (list, tuple)) else None
        _blocked(self, self.setText, format_shape(value))
        self.set_error(None)

    def show_invalid(self, value: Any) -> None:
        self._value = None
        _blocked(self, self.setText, written(value))

    def set_error(self, error: str | None) -> None:
        _mark(self, error, self.param.help + "\nWrite the sizes separated by commas; -1 means 'work it out'."
              if self.param.allow_infer else self.param.help)


EDITORS = {"int": IntEditor, "float": FloatEditor, "bool": BoolEditor, "choice": ChoiceEditor, "shape": ShapeEditor}


def make_editor(param: Param):
    return EDITORS[param.type](param)
