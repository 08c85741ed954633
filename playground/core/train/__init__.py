"""Training: the Trainer, callbacks, metrics, checkpoints and transfer learning (Qt-free).

    from playground.core.data import load_dataset
    from playground.core.train import Callback, TrainConfig, Trainer, TrainingError

    trainer = Trainer(graph, TrainConfig(epochs=4), dataset=load_dataset("mnist", fallback_to_sample=True),
                      checkpoint_path="run.pt")
    trainer.load_weights("pretrained.pt")        # optional: transfer learning, by node name and shape
    result = trainer.fit(callbacks=[...])        # in the worker thread; pause()/resume()/stop() from any thread
    Trainer.from_checkpoint("run.pt", epochs=8).fit()   # resume (optimizer state, epoch counter, history)

See trainer.py for how a run ends (TrainResult, or TrainingError for divergence and out-of-memory) and
callbacks.py for what a callback may do from its hooks.
"""

from .callbacks import Callback, JsonlLogger
from .checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from .config import DEFAULT_LR, OPTIMIZERS, SCHEDULES, ConfigError, TrainConfig, default_config, resolve_device
from .metrics import EpochMetrics, EvalMetrics, History, StepInfo
from .trainer import Trainer, TrainingError, TrainResult, evaluate
from .transfer import TransferReport, load_matching_weights

__all__ = [
    "DEFAULT_LR", "OPTIMIZERS", "SCHEDULES", "Callback", "Checkpoint", "CheckpointError", "ConfigError",
    "EpochMetrics", "EvalMetrics", "History", "JsonlLogger", "StepInfo",
    "TrainConfig", "TrainResult", "Trainer", "TrainingError", "TransferReport", "default_config", "evaluate",
    "load_checkpoint",
    "load_matching_weights", "resolve_device", "save_checkpoint",
]
