"""The Training panel's building blocks: number formatting and parsing, its editors, and the form around them.

Every settings group of the panel is a `FormGroup` of `Field`s: an editor with the
help text its tooltip shows, and an error line that opens under it when the value
is wrong.
"""

from __future__ import annotations

import math
import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..editor.theme import blend, theme

WARNING_COLOUR = "#e0a030"  # amber: a paused run, a dataset that is not on this computer


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


def breakable(text: str) -> str:
    """Let a long path wrap after its separators (a zero-width space after each / and \\)."""
    return re.sub(r"([/\\])", "\\1\u200b", text)


# -- colours --------------------------------------------------------------------------------------------------------
def colours():
    """The editor theme for the palette in use now: it follows the system's light or dark mode."""
    return theme(QGuiApplication.palette())


def error_style(error: bool = True) -> str:
    """A label's style sheet: the theme's error red, or (not an error) the label's own colour."""
    return f"color: {colours().error.name()};" if error else ""


# -- editors --------------------------------------------------------------------------------------------------------
class WheelWhenFocused:
    """In a scrolling form the wheel scrolls the panel; it changes a spin box or a combo only once focused."""

    def _init_focus(self) -> None:
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def wheelEvent(self, event):
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()  # goes on to the scroll area


class ComboBox(WheelWhenFocused, QComboBox):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._init_focus()
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(8)


class SpinBox(WheelWhenFocused, QSpinBox):
    def __init__(self, low: int, high: int, parent=None):
        super().__init__(parent)
        self._init_focus()
        self.setRange(low, high)


class PercentBox(SpinBox):
    """A share shown in whole per cent ("20 %"), held as a fraction (0.2) where the config keeps it: the points'
    noise and test share, an image folder's test share."""

    def __init__(self, low: int, high: int, step: int, parent=None):
        super().__init__(low, high, parent)
        self.setSingleStep(step)
        self.setSuffix(" %")

    def fraction(self) -> float:
        return self.value() / 100

    def set_fraction(self, share: float) -> None:
        self.setValue(round(float(share) * 100))


class DoubleSpinBox(WheelWhenFocused, QDoubleSpinBox):
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


class PowerOfTwoSpinBox(SpinBox):
    """A batch size: typing takes any whole number; the arrows, wheel and keys go through powers of two."""

    def stepBy(self, steps: int) -> None:
        value = self.value()
        for _ in range(abs(steps)):
            if steps > 0:
                value = 1 << value.bit_length()  # the next power of two above
            else:
                value = max(1, value >> 1) if value & (value - 1) == 0 else 1 << (value.bit_length() - 1)
        self.setValue(max(self.minimum(), min(self.maximum(), value)))


class RateEdit(QLineEdit):
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


def text_label(text: str = "", *, dim: bool = False, bold: bool = False, wrap: bool = True) -> QLabel:
    """A plain-text label; `wrap`ped labels take the width they are given instead of asking for their own."""
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


def choice_combo(items: dict[str, str], tips: dict[str, str] | None = None) -> ComboBox:
    """A combo box of `items` (key -> title); each key is its item's data, each tip its tooltip."""
    combo = ComboBox()
    for key, title in items.items():
        combo.addItem(title, key)
        if tips and key in tips:
            combo.setItemData(combo.count() - 1, tips[key], Qt.ItemDataRole.ToolTipRole)
    return combo


def select_data(combo: QComboBox, key: str, fallback: str) -> None:
    """Select the item whose data is `key`, or the `fallback` item when there is none."""
    index = combo.findData(key)
    combo.setCurrentIndex(index if index >= 0 else combo.findData(fallback))


# -- fields and forms -----------------------------------------------------------------------------------------------
class Field:
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
        red = colours().error.name()
        self.marker.setStyleSheet(self.MARK.format(red if error else "transparent"))
        if error:
            self.error_label.setStyleSheet(error_style())
            self.error_label.setText(error)
            self.editor.setToolTip(f"{self.help}\n\n⚠ {error}")
        else:
            self.editor.setToolTip(self.help)
        self.error_label.setVisible(bool(error))

    def set_enabled(self, on: bool) -> None:
        self.container.setEnabled(on)
        if self.label is not None:
            self.label.setEnabled(on)


class FormGroup(QGroupBox):
    """A titled group of fields, labels on the left: the panel lines up the label columns of all its groups."""

    def __init__(self, title: str, object_name: str, parent=None):
        super().__init__(title, parent)
        self.setObjectName(object_name)
        self.fields: dict[str, Field] = {}
        self.labels: list[QLabel] = []
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)  # see TrainingPanel._fit_width
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.form.setHorizontalSpacing(8)
        self.form.setVerticalSpacing(6)
        self.setLayout(self.form)

    def add(self, label: str | None, field: Field) -> Field:
        """A row for `field`, with `label` on its left; without a label the field takes the whole row."""
        self.fields[field.name] = field
        if label is None:
            self.form.addRow(field.container)
            return field
        text = QLabel(label)
        text.setToolTip(field.help)
        text.setBuddy(field.editor)
        field.label = text
        self.labels.append(text)
        self.form.addRow(text, field.container)
        return field
