"""What a run measures: per-step and per-epoch records, the history, evaluation results.

Everything here is plain Python (floats, ints, lists): safe to hand to another
thread, to JSON, or to a checkpoint read with `weights_only=True`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch


@dataclass
class StepInfo:
    """Passed to `on_step_end`. `loss` is the device tensor: reading it (`float(...)`) syncs a GPU,
    so callbacks should do that only when they publish (or call `trainer.latest_loss()`)."""

    epoch: int  # 0-based
    step: int  # 0-based within the epoch
    global_step: int  # steps done in the whole run, this one included
    steps_per_epoch: int
    batch_size: int
    lr: float
    loss: torch.Tensor


@dataclass
class EvalMetrics:
    loss: float
    accuracy: float | None  # None for a regression (points with values)
    confusion: list[list[int]]  # confusion[true][predicted]
    per_class_accuracy: list[float]  # NaN-free: a class with no samples gets 0.0
    samples: int
    seconds: float = 0.0
    # Per example, in the split's order (only when asked for): the predicted class (int64 [N]) and its
    # probability (float32 [N]). Not part of to_dict(): checkpoints and histories stay small.
    predicted: np.ndarray | None = field(default=None, repr=False, compare=False)
    confidence: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("predicted")
        data.pop("confidence")
        return data


@dataclass
class EpochMetrics:
    epoch: int  # 0-based
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    lr: float  # at the end of the epoch
    seconds: float  # training steps only (no evaluation, no pauses)
    samples_per_second: float  # training steps only
    steps: int
    step_losses: list[float] = field(default_factory=list, repr=False)

    def to_dict(self, with_steps: bool = False) -> dict[str, Any]:
        data = asdict(self)
        if not with_steps:
            data.pop("step_losses")
        return data


@dataclass
class History:
    """The metric history of a run (and of the runs it resumed)."""

    step_loss: list[float] = field(default_factory=list)  # one per training step
    epochs: list[dict[str, Any]] = field(default_factory=list)  # EpochMetrics.to_dict() per epoch
    last_eval: dict[str, Any] | None = None  # EvalMetrics.to_dict() of the latest validation

    def add_epoch(self, metrics: EpochMetrics) -> None:
        self.epochs.append(metrics.to_dict())

    def series(self, key: str) -> list:
        """One per-epoch value as a list, e.g. series("val_accuracy")."""
        return [e.get(key) for e in self.epochs]

    def to_dict(self) -> dict[str, Any]:
        return {"step_loss": list(self.step_loss), "epochs": [dict(e) for e in self.epochs],
                "last_eval": dict(self.last_eval) if self.last_eval else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> History:
        data = data or {}
        return cls(step_loss=[float(x) for x in data.get("step_loss", [])],
                   epochs=[dict(e) for e in data.get("epochs", [])],
                   last_eval=dict(data["last_eval"]) if data.get("last_eval") else None)


def confusion_to_metrics(confusion: torch.Tensor, loss_sum: float, seconds: float = 0.0) -> EvalMetrics:
    """From a [C, C] (true × predicted) count matrix on the CPU and the summed loss."""
    confusion = confusion.to(torch.int64)
    total = int(confusion.sum())
    correct = int(confusion.diagonal().sum())
    per_class_total = confusion.sum(dim=1)
    per_class = (confusion.diagonal().double() / per_class_total.clamp(min=1).double()).tolist()
    return EvalMetrics(loss=loss_sum / max(1, total), accuracy=correct / max(1, total),
                       confusion=confusion.tolist(), per_class_accuracy=per_class, samples=total, seconds=seconds)
