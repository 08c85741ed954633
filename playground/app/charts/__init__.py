"""Live training charts: loss, accuracy and learning rate per run, with a run history.

pyqtgraph picks whichever Qt binding it finds first (PyQt6 before PySide6), so
the binding is named before pyqtgraph is imported anywhere in this package.
"""

from __future__ import annotations

import os

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import PySide6.QtCore  # noqa: F401  (imported before pyqtgraph on purpose)

from .series import EpochRecord, RunSeries
from .widget import TrainingCharts

__all__ = ["EpochRecord", "RunSeries", "TrainingCharts"]
