"""File ▸ Export ▸ Training script…: the run as a standalone train.py (core/export/train_script.py writes it).

What it exports: the run selected in the Charts' run history when that run has finished (its network and settings,
as they were when it started), else the open network with the Training panel's settings. The file is written whole
to a temporary file and renamed, so a failure never leaves half a script; whatever cannot be exported (a GAN, a
network on 2-D points, an invalid network, settings with a problem) is said in an error dialog.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QWidget

from ...core.analysis import GraphError
from ...core.export import ExportError, export_graph
from ...core.graph import Graph
from ...core.train import ConfigError, TrainConfig
from .. import dialogs
from .model_export import ask_destination, say_export_failed

SCRIPT_FILTER = "Python scripts (*.py);;All files (*)"
TITLE = "Cannot export the training script"


class TrainingScriptExport:
    def __init__(self, window: QWidget, document, panel, charts, runs, settings, say: Callable[[str], None]):
        self.window, self.document, self.panel, self.charts, self.runs = window, document, panel, charts, runs
        self.settings, self.say = settings, say

    def recipe(self) -> tuple[Graph, TrainConfig, str]:
        """(network, settings with the dataset filled in, what they are in words). Raises ConfigError for the
        panel's settings when they have a problem."""
        selected = self.charts.history.selected_run()
        job = self.runs.job_of_chart_run(selected) if selected is not None else None
        if job is not None and not self.charts.run(selected).live:
            config = TrainConfig.from_dict(job.config.to_dict())
            config.dataset = job.dataset or job.graph.input_dataset()
            return job.graph, config, self.charts.run(selected).name
        config = self.panel.config()
        config.dataset = self.panel.effective_dataset()
        return self.document.graph.copy(), config, "the network with the Training panel's settings"

    def export(self) -> bool:
        try:
            graph, config, what = self.recipe()
        except ConfigError as exc:
            dialogs.error(self.window, TITLE, f"Check the training settings: {exc}")
            return False
        path = ask_destination(self.window, self.document, self.settings, "Export Training Script", "train_", ".py",
                               SCRIPT_FILTER)
        if path is None:
            return False
        try:
            export_graph(graph, "train-script", path, config=config)
        except (ExportError, GraphError) as exc:
            say_export_failed(self.window, TITLE, exc)
            return False
        self.say(f"Exported the training script of {what} to {Path(path).name}: "
                 f"python {Path(path).name} --data-dir DIR, or torchrun --nproc_per_node=N {Path(path).name} …")
        return True
