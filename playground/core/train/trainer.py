"""The Trainer: one readable loop that the CLI, the GUI worker and the tests share.

    trainer = Trainer(graph, TrainConfig(epochs=3), dataset=load_dataset("mnist"))
    result = trainer.fit(callbacks=[...])          # blocks; run it in a worker thread
    trainer.pause(); trainer.resume(); trainer.stop()   # from any thread

What it never does per step: `.item()`, `.cpu()` or anything else that makes
the host wait for a GPU. Losses and accuracy counts accumulate on the device
and come back once per epoch; a callback that wants the current loss calls
`latest_loss()` when it publishes, which syncs only then.

How a run ends:
- finished or stopped -> `fit` returns a TrainResult (status "completed" or
  "stopped"), after `on_fit_end`;
- diverged (NaN/Inf loss) or out of memory -> `on_exception`, then `fit`
  raises TrainingError (kind "diverged" / "out_of_memory") with a message for
  a person and the partial result in `.result`. The model is left as it was
  after the last step, never mid-step; nothing is saved (the weights hold NaN);
- anything else is a bug: `on_exception`, then the exception propagates.

Frozen nodes (`trainable: false`) get no gradients, never reach the
optimizer, and are kept in eval mode while training, so that a frozen
BatchNorm's running statistics stay frozen too and the layer is unchanged bit
for bit. (Dropout has no state to freeze and keeps dropping.)

Reproducibility: the global torch RNG (dropout) and the data order and
augmentation are reseeded at every epoch from (seed, epoch). The same seed,
data and device give the same numbers on the CPU, and a run resumed from an
end-of-epoch checkpoint continues exactly as the uninterrupted run would have.
On CUDA cuDNN autotuning is on, so GPU runs are close but not bit-identical.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import hashlib
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..build import build_module
from ..data import DEFAULT_AUGMENTATION, Dataset, folder_options, load_dataset
from ..data.class_folders import FOLDER
from ..data.points import is_points_dataset
from ..data.points_dataset import load_points_dataset, points_of
from ..graph import Graph
from ..task import CLASSIFICATION, POINTS
from .callbacks import Callback
from .checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from .config import DEFAULT_LR, ConfigError, TrainConfig, resolve_device
from .controls import Controls, StopRequested
from .inference import output_probabilities
from .metrics import EpochMetrics, EvalMetrics, History, StepInfo, confusion_to_metrics
from .optim import lr_at, make_optimizer, set_lr
from .probes import eval_mode, state_dict_copy
from .transfer import TransferReport, load_matching_weights

# Evaluation batches: big on a GPU; on the CPU, batches of 256 keep the layers' outputs in cache and need a quarter
# of the memory of 1,000 (docs/performance.md).
EVAL_BATCH_SIZE = {"cuda": 1000, "cpu": 256}


class TrainingError(Exception):
    """A run that cannot go on; the message is for a person and says what to try.

    kind: "diverged" | "out_of_memory" | "failed". `result` holds what was
    measured up to then (a TrainResult with status "diverged"/"failed").
    """

    def __init__(self, message: str, kind: str = "failed", result: TrainResult | None = None):
        super().__init__(message)
        self.kind = kind
        self.result = result


@dataclass
class TrainResult:
    status: str  # "completed" | "stopped" | "diverged" | "failed"
    epochs_completed: int
    global_step: int
    history: History
    test: EvalMetrics | None  # the latest evaluation on the test split (None if no epoch finished)
    seconds: float  # wall time of fit()
    train_seconds: float  # training steps only: no evaluation, no pauses
    samples_per_second: float  # training samples / train_seconds
    device: str
    dataset: str
    checkpoint_path: str | None = None
    message: str = ""

    def summary(self) -> dict[str, Any]:
        """The flat JSON the CLI prints last."""
        return {"status": self.status, "test_accuracy": self.test.accuracy if self.test else None,
                "test_loss": self.test.loss if self.test else None, "epochs": self.epochs_completed,
                "steps": self.global_step, "seconds": round(self.seconds, 3),
                "train_seconds": round(self.train_seconds, 3),
                "samples_per_second": round(self.samples_per_second, 1), "device": self.device,
                "dataset": self.dataset, "checkpoint": self.checkpoint_path}


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of one epoch: data order, augmentation and dropout depend on (seed, epoch) only."""
    return int.from_bytes(hashlib.blake2b(f"{seed}:{epoch}".encode(), digest_size=8).digest(), "little") >> 1


def loss_function(graph: Graph) -> str:
    (output,) = graph.nodes_of_kind("output")
    return output.params.get("loss", "cross_entropy")


def compute_loss(kind: str, logits: torch.Tensor, labels: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    if labels.is_floating_point():  # regression (2-D points): one value per sample, squared error
        return F.mse_loss(logits[:, 0], labels, reduction=reduction)
    if kind == "mse":  # regression onto one-hot targets; still scored by argmax
        target = F.one_hot(labels, logits.shape[-1]).to(logits.dtype)
        per_sample = F.mse_loss(logits, target, reduction="none").mean(dim=-1)
        return per_sample.sum() if reduction == "sum" else per_sample.mean()
    return F.cross_entropy(logits, labels, reduction=reduction)


CPUINFO = Path("/proc/cpuinfo")  # where Linux lists the CPU's flags (the fallback when torch cannot say)


@functools.cache
def cpu_has_bf16() -> bool:
    """Whether this CPU computes in bf16 (AMX-BF16 or AVX512-BF16). Elsewhere oneDNN emulates bf16 through fp32,
    and a bf16 autocast step is slower than an fp32 one."""
    capabilities = getattr(torch.cpu, "get_capabilities", None)  # recent torch; before it, Linux's list
    if capabilities is not None:
        flags = {name for name, value in capabilities().items() if value is True}
    else:
        try:
            flags = set(CPUINFO.read_text().split())
        except OSError:
            return False
    return bool(flags & {"amx_bf16", "avx512_bf16"})


def amp_settings(device: torch.device, amp: bool | str) -> tuple[bool, torch.dtype]:
    """(use autocast, dtype) for `TrainConfig.amp` on `device`.

    True: on a CUDA GPU, bf16 where it has it (no loss scaling needed), else fp16; fp32 on a CPU. "bf16": bf16
    where the GPU or the CPU computes in it, else fp32. False: fp32."""
    if not amp:
        return False, torch.float32
    if device.type == "cuda":
        with torch.cuda.device(device):
            bf16 = torch.cuda.is_bf16_supported()
        if amp == "bf16":
            return (True, torch.bfloat16) if bf16 else (False, torch.float32)
        return True, torch.bfloat16 if bf16 else torch.float16
    if amp == "bf16" and device.type == "cpu" and cpu_has_bf16():
        return True, torch.bfloat16
    return False, torch.float32


def evaluate(model: nn.Module, data, *, loss: str = "cross_entropy", num_classes: int = 10,
             batch_size: int | None = None, amp: bool = False, amp_dtype: torch.dtype = torch.float32,
             memory_format: torch.memory_format = torch.contiguous_format,
             keep_predictions: bool = False) -> EvalMetrics:
    """Loss, accuracy and confusion matrix over a whole split, accumulated on the device, copied once.
    `keep_predictions`: also each example's predicted class and its probability (for the app's gallery).
    `batch_size` None: EVAL_BATCH_SIZE for the data's device."""
    start = time.perf_counter()
    device = data.device
    batch_size = batch_size or EVAL_BATCH_SIZE.get(device.type, EVAL_BATCH_SIZE["cpu"])
    confusion = torch.zeros(num_classes * num_classes, dtype=torch.int64, device=device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    predicted, confidence = [], []
    with torch.no_grad(), eval_mode(model):
        for x, y in data.batches(batch_size, shuffle=False):
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp):
                logits = model(x.contiguous(memory_format=memory_format))
            logits = logits.float()
            loss_sum += compute_loss(loss, logits, y, reduction="sum")
            classes = logits.argmax(dim=1)
            confusion += torch.bincount(y * num_classes + classes, minlength=num_classes ** 2)
            if keep_predictions:
                predicted.append(classes)
                confidence.append(output_probabilities(logits, loss).gather(1, classes[:, None])[:, 0])
    # The one copy to the host: counts, loss and (when kept) each example's class and confidence, as float64
    # (exact for counts and class numbers).
    parts = [confusion.double(), loss_sum.reshape(1)]
    if keep_predictions and predicted:
        parts += [torch.cat(predicted).double(), torch.cat(confidence).double()]
    host = torch.cat(parts).cpu().numpy()
    k2 = num_classes * num_classes
    confusion_cpu = torch.from_numpy(host[:k2].astype(np.int64)).view(num_classes, num_classes)
    metrics = confusion_to_metrics(confusion_cpu, float(host[k2]), time.perf_counter() - start)
    if len(host) > k2 + 1:
        n = (len(host) - k2 - 1) // 2
        metrics.predicted = host[k2 + 1:k2 + 1 + n].astype(np.int64)
        metrics.confidence = host[k2 + 1 + n:].astype(np.float32)
    return metrics



def evaluate_regression(model: nn.Module, data) -> EvalMetrics:
    """The mean squared error over a whole split of points with values (no classes: accuracy is None)."""
    start = time.perf_counter()
    loss_sum = torch.zeros((), dtype=torch.float64, device=data.device)
    with torch.no_grad(), eval_mode(model):
        for x, y in data.batches(EVAL_BATCH_SIZE["cuda"], shuffle=False):
            loss_sum += compute_loss("mse", model(x).float(), y, reduction="sum")
    n = len(data)
    return EvalMetrics(loss=float(loss_sum) / max(1, n), accuracy=None, confusion=[], per_class_accuracy=[],
                       samples=n, seconds=time.perf_counter() - start)


class _LossWatch:
    """Reads every step's loss on the host without stalling the GPU, to catch NaN/Inf.

    On the CPU reading a scalar costs nothing (there is no queue to drain), so
    each step is checked as it ends. On CUDA each loss is copied without
    blocking into a ring of pinned host memory and checked when its CUDA event
    has completed: no sync per step, the divergence is still pinned to its exact
    step, and it is caught at most `depth` steps later (the host never runs
    more than `depth` steps ahead of the GPU, which costs nothing: a few queued
    steps are all a GPU needs to stay busy).
    """

    def __init__(self, device: torch.device, depth: int = 8):
        self.cuda = device.type == "cuda"
        self.depth = depth
        self.pending: collections.deque[tuple[int, int, int, int]] = collections.deque()
        if self.cuda:
            self.host = torch.empty(depth, dtype=torch.float32, pin_memory=True)
            self.events = [torch.cuda.Event() for _ in range(depth)]

    def push(self, loss: torch.Tensor, epoch: int, step: int, global_step: int) -> tuple[int, int, int, float] | None:
        """Returns (epoch, step, global_step, value) of the first non-finite loss known so far, or None."""
        if not self.cuda:
            value = float(loss)
            return None if math.isfinite(value) else (epoch, step, global_step, value)
        slot = global_step % self.depth
        if len(self.pending) == self.depth and (bad := self._check_oldest(wait=True)):
            return bad
        self.host[slot].copy_(loss.detach().float(), non_blocking=True)
        self.events[slot].record()
        self.pending.append((slot, epoch, step, global_step))
        while self.pending:
            if (bad := self._check_oldest(wait=False)) is not None:
                return bad
            if self.pending and not self.events[self.pending[0][0]].query():
                break
        return None

    def _check_oldest(self, wait: bool) -> tuple[int, int, int, float] | None:
        slot, epoch, step, global_step = self.pending[0]
        if wait:
            self.events[slot].synchronize()
        elif not self.events[slot].query():
            return None
        self.pending.popleft()
        value = float(self.host[slot])
        return None if math.isfinite(value) else (epoch, step, global_step, value)

    def flush(self) -> tuple[int, int, int, float] | None:
        while self.pending:
            if (bad := self._check_oldest(wait=True)) is not None:
                return bad
        return None


def _is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("DefaultCPUAllocator: can't allocate memory" in text
                                              or "not enough memory" in text)


class Trainer(Controls):
    """Trains one graph on one dataset. Build it in any thread; call `fit` in the thread that trains."""

    def __init__(self, graph: Graph, config: TrainConfig | None = None, *, dataset: Dataset | None = None,
                 data_dir: str | os.PathLike | None = None, callbacks: Sequence[Callback] = (),
                 checkpoint_path: str | os.PathLike | None = None):
        """Builds the model (raises build.GraphError for an invalid graph) and puts the data on the device.

        `dataset` defaults to `load_dataset(config.dataset or the Input node's dataset, data_dir)`
        (no download: raises DatasetError when it is missing). Raises ConfigError for a bad config.
        """
        self.config = (config or TrainConfig()).validate()
        self.graph = graph.copy()  # an immutable snapshot: the editor may change its graph meanwhile
        self.device = resolve_device(self.config.device)
        self.model = build_module(self.graph, self.device, seed=self.config.seed)
        self.dataset_name = self.config.dataset or self.graph.input_dataset()
        if dataset is None:
            dataset = (load_points_dataset(self.dataset_name, self.config, own=self.graph.points)
                       if is_points_dataset(self.dataset_name)
                       else load_dataset(self.dataset_name, data_dir or self.config.folder,
                                         **folder_options(self.config)))
        self.dataset = dataset
        self.dataset_name = dataset.name
        self.classes = tuple(dataset.classes)
        self.num_classes = len(self.classes)
        self.task = POINTS if points_of(dataset) is not None else CLASSIFICATION
        self.regression = bool(getattr(dataset, "regression", False))  # 2-D points with a value each
        self.loss_kind = loss_function(self.graph)
        self._check_fit(dataset)
        if dataset.name == FOLDER:  # what was loaded, so that the checkpoint reloads the same images
            self.config.folder = dataset.folder
            self.config.folder_size = int(dataset.sample_shape[-1])
            self.config.folder_channels = "rgb" if dataset.sample_shape[0] == 3 else "gray"
        self.train_data = dataset.on_device("train", self.device)
        self.test_data = dataset.on_device("test", self.device)
        self.normalization = dataset.normalization
        self.callbacks: list[Callback] = list(callbacks)
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None

        # Frozen nodes that hold state (weights or buffers) stay in eval mode while training.
        self.frozen_nodes = [n.id for n in self.graph.nodes.values()
                             if not n.trainable and isinstance(getattr(self.model, n.id, None), nn.Module)
                             and any(True for _ in getattr(self.model, n.id).state_dict())]
        self.optimizer = make_optimizer(self.model, self.config)
        self._clip_params = [p for p in self.model.parameters() if p.requires_grad]
        # L1/L2 regularisation: weight matrices and kernels (2 or more dimensions), never biases or norms.
        self._penalised = [p for p in self._clip_params if p.dim() > 1] if self.config.l1 or self.config.l2 else []
        self.amp, self.amp_dtype = amp_settings(self.device, self.config.amp)
        # fp16 needs loss scaling so that small gradients do not flush to zero; bf16 and fp32 do not.
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp and self.amp_dtype == torch.float16)
        # channels_last lets oneDNN (CPU) and cuDNN (tensor cores) run convolutions without layout changes.
        has_conv = any(isinstance(m, nn.Conv2d) for m in self.model.modules())
        self.memory_format = torch.channels_last if has_conv else torch.contiguous_format
        if has_conv:
            self.model.to(memory_format=torch.channels_last)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed batch shapes: autotune once, then the fastest kernels

        self.drop_last = len(self.train_data) >= self.config.batch_size
        self.steps_per_epoch = self.train_data.num_batches(self.config.batch_size, self.drop_last)
        self.total_steps = self.steps_per_epoch * self.config.epochs
        self.history = History()
        self.epochs_completed = 0
        self.global_step = 0
        self.last_eval: EvalMetrics | None = None

        self._init_controls()  # stop, pause, resume: from any thread
        self._last_loss: torch.Tensor | None = None
        self._step_losses: torch.Tensor | None = None
        self._epoch_step = 0
        self._epoch = 0

    def _check_fit(self, dataset) -> None:
        """Points datasets carry their own class count (a CSV file, drawn points), an image folder its own shape
        and classes: the network must fit them."""
        if dataset.name == FOLDER:
            self._check_fits_images(dataset)
            return
        if points_of(dataset) is None:
            return
        (input_node,) = self.graph.nodes_of_kind("input")
        takes = tuple(input_node.params.get("shape", ()))
        if takes != (2,):
            raise ConfigError(f"{dataset.name} holds 2-D points (x, y), but the network's Input takes "
                              f"{'×'.join(map(str, takes))}: give the Input the shape [2]")
        with torch.no_grad():
            width = self.model(torch.zeros(1, 2, device=self.device)).shape[-1]
        if self.regression and width != 1:
            raise ConfigError(f"{dataset.name} is a regression (one value per point); the network ends in {width} "
                              "values — end it with Dense(1) and the MSE loss")
        if not self.regression and width != self.num_classes:
            raise ConfigError(f"{dataset.name} has {self.num_classes} classes "
                              f"({', '.join(self.classes)}); the network ends in {width} scores — "
                              f"end it with Dense({self.num_classes})")

    def _check_fits_images(self, dataset) -> None:
        (input_node,) = self.graph.nodes_of_kind("input")
        takes = tuple(input_node.params.get("shape", ()))
        shape = tuple(dataset.sample_shape)
        what = f"{'RGB' if shape[0] == 3 else 'grayscale'} images of {'×'.join(map(str, shape))}"
        if takes != shape:
            raise ConfigError(f"the image folder holds {what} in {self.num_classes} classes, but the network's "
                              f"Input takes {'×'.join(map(str, takes))}: give the Input the shape "
                              f"[{', '.join(map(str, shape))}]")
        with torch.no_grad(), eval_mode(self.model):
            width = self.model(torch.zeros(1, *shape, device=self.device)).shape[-1]
        if width != self.num_classes:
            raise ConfigError(f"the image folder has {self.num_classes} classes ({', '.join(self.classes[:10])}"
                              f"{', …' if self.num_classes > 10 else ''}); the network ends in {width} scores — "
                              f"end it with Dense({self.num_classes})")

    # -- what callbacks read (training thread, between steps: e.g. inside a hook) ---------------
    def latest_loss(self) -> float:
        """The loss of the last step as a float (syncs a GPU: call it when you publish, not every step)."""
        return float(self._last_loss) if self._last_loss is not None else math.nan

    def step_losses(self) -> list[float]:
        """Every step loss of the current epoch so far (one copy from the device)."""
        if self._step_losses is None:
            return []
        return self._step_losses[: self._epoch_step].cpu().tolist()

    def state_dict_copy(self) -> dict[str, torch.Tensor]:
        """The weights as CPU copies (what the Publisher sends for live prediction; safe to hand to another thread)."""
        return state_dict_copy(self.model)

    def load_weights(self, source: Checkpoint | dict[str, torch.Tensor] | str | os.PathLike) -> TransferReport:
        """Transfer learning: copy the tensors of a checkpoint (or state_dict) whose node name and
        shape match, before `fit`. Raises CheckpointError for an unreadable checkpoint."""
        if isinstance(source, str | os.PathLike):
            source = load_checkpoint(source)
        state_dict = source.state_dict if isinstance(source, Checkpoint) else source
        report = load_matching_weights(self.model, state_dict)
        self.model.to(memory_format=self.memory_format)
        return report

    def evaluate(self, split: str = "test", keep_predictions: bool = False) -> EvalMetrics:
        data = self.test_data if split == "test" else self.train_data
        if self.regression:
            return evaluate_regression(self.model, data)
        return evaluate(self.model, data, loss=self.loss_kind, num_classes=self.num_classes, amp=self.amp,
                        amp_dtype=self.amp_dtype, memory_format=self.memory_format,
                        keep_predictions=keep_predictions)

    # -- checkpoints -----------------------------------------------------------------------
    def checkpoint(self, status: str = "running") -> Checkpoint:
        return Checkpoint(
            graph=self.graph,
            state_dict=state_dict_copy(self.model),
            optimizer_state=self.optimizer.state_dict(),
            config=self.config.to_dict(),
            history=self.history.to_dict(),
            extra={"epochs_completed": self.epochs_completed, "global_step": self.global_step, "status": status,
                   "dataset": self.dataset.name, "classes": list(self.classes),
                   **({"normalization": {"mean": self.normalization.mean, "std": self.normalization.std}}
                      if self.dataset.name == FOLDER else {}),
                   "test": self.last_eval.to_dict() if self.last_eval else None,
                   "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
                   "torch_version": str(torch.__version__)},
        )

    def save_checkpoint(self, path: str | os.PathLike | None = None, status: str = "running") -> Path:
        path = Path(path or self.checkpoint_path)
        save_checkpoint(path, self.checkpoint(status))
        return path

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, *, dataset: Dataset | None = None,
                        data_dir: str | os.PathLike | None = None, callbacks: Sequence[Callback] = (),
                        checkpoint_path: str | os.PathLike | None = None, **overrides) -> Trainer:
        """Resume a run: weights, optimizer state, epoch counter and history from `path`.

        `overrides` change config fields (e.g. epochs=10 to train further, device="cpu").
        A run stopped mid-epoch resumes at the start of that epoch, with the weights it had.
        """
        ckpt = load_checkpoint(path)
        try:
            config = TrainConfig.from_dict({**ckpt.config, **overrides})
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"{path}: the training settings in the checkpoint are not usable: {exc}") from None
        trainer = cls(ckpt.graph, config, dataset=dataset, data_dir=data_dir, callbacks=callbacks,
                      checkpoint_path=checkpoint_path)
        try:
            trainer.model.load_state_dict(ckpt.state_dict)
            trainer.model.to(memory_format=trainer.memory_format)
            if ckpt.optimizer_state is not None:
                # Implementation switches (fused, foreach) are this device's choice, not the saved run's.
                impl = [{k: g[k] for k in ("fused", "foreach", "capturable", "differentiable") if k in g}
                        for g in trainer.optimizer.param_groups]
                trainer.optimizer.load_state_dict(ckpt.optimizer_state)
                for group, kept in zip(trainer.optimizer.param_groups, impl, strict=True):
                    group.update(kept)
                for param, state in trainer.optimizer.state.items():  # torch checks only the groups' sizes
                    for name, value in state.items():
                        if isinstance(value, torch.Tensor) and value.dim() and value.shape != param.shape:
                            raise ValueError(f"the optimizer's {name} is {list(value.shape)} for a parameter of "
                                             f"{list(param.shape)}")
            scaler_state = ckpt.extra.get("scaler")
            if scaler_state and trainer.scaler.is_enabled():
                trainer.scaler.load_state_dict(scaler_state)
        except (RuntimeError, ValueError, KeyError, TypeError) as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CheckpointError(f"{path}: the optimizer state does not fit the network stored with it ({detail})") \
                from None
        trainer.history = History.from_dict(ckpt.history)
        trainer.epochs_completed = int(ckpt.extra.get("epochs_completed", 0))
        # The history keeps only finished epochs: drop the steps of a partial one.
        trainer.history.step_loss = trainer.history.step_loss[: trainer.epochs_completed * trainer.steps_per_epoch]
        trainer.global_step = trainer.epochs_completed * trainer.steps_per_epoch
        if ckpt.extra.get("test"):
            trainer.last_eval = EvalMetrics(**ckpt.extra["test"])
        return trainer

    # -- the loop --------------------------------------------------------------------------
    def _train_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp):
            logits = self.model(x)
            loss = compute_loss(self.loss_kind, logits.float(), y)
        objective = loss
        if self._penalised:  # the step's loss is reported without the penalty, as TensorFlow Playground does
            if self.config.l1:
                objective = objective + self.config.l1 * sum(p.abs().sum() for p in self._penalised)
            if self.config.l2:
                objective = objective + self.config.l2 * sum(p.square().sum() for p in self._penalised)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(objective).backward()
        if self.config.grad_clip:
            # Keeps recurrent nets from blowing up on a steep step; no host sync (the norm stays on the device).
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self._clip_params, self.config.grad_clip, foreach=True)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return logits.detach(), loss.detach()

    def fit(self, callbacks: Sequence[Callback] = ()) -> TrainResult:
        """Train up to `config.epochs` (counting epochs of a resumed run). See the module doc for how it ends."""
        self._active_callbacks = [*self.callbacks, *callbacks]
        fit_start = time.perf_counter()
        self._train_seconds = 0.0
        self._train_samples = 0
        status = "completed"
        try:
            self._call("on_fit_start")
            # Events, streams and the loss ring belong to the training device, not to whichever GPU is current.
            on_device = torch.cuda.device(self.device) if self.device.type == "cuda" else contextlib.nullcontext()
            try:
                with on_device:
                    self._run_epochs()
            except StopRequested:
                status = "stopped"
            result = self._result(status, fit_start)
            if self.checkpoint_path is not None:
                self.save_checkpoint(status=status)
                result.checkpoint_path = str(self.checkpoint_path)
            self._call("on_fit_end", result)
            return result
        except TrainingError as exc:
            exc.result = self._result(exc.kind if exc.kind == "diverged" else "failed", fit_start, str(exc))
            self._call("on_exception", exc)
            raise
        except BaseException as exc:
            if _is_out_of_memory(exc):
                error = self._oom_error(exc, fit_start)
                del exc  # its traceback holds the step's tensors
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                self._call("on_exception", error)
                raise error from None
            self._call("on_exception", exc)
            raise
        finally:
            self._last_loss = None
            self._stop.clear()  # a stop asked before fit began still counts; after it ends, it is spent

    def _oom_error(self, exc: BaseException, fit_start: float) -> TrainingError:
        where = "GPU memory" if self.device.type == "cuda" else "memory"
        message = (f"ran out of {where} at step {self._epoch_step + 1} of epoch {self._epoch + 1} with batch "
                   f"size {self.config.batch_size}; try a smaller batch size (or a smaller network)")
        error = TrainingError(message, "out_of_memory")
        error.result = self._result("failed", fit_start, message)
        return error

    def _result(self, status: str, fit_start: float, message: str = "") -> TrainResult:
        return TrainResult(
            status=status, epochs_completed=self.epochs_completed, global_step=self.global_step,
            history=self.history, test=self.last_eval, seconds=time.perf_counter() - fit_start,
            train_seconds=self._train_seconds,
            samples_per_second=self._train_samples / self._train_seconds if self._train_seconds > 0 else 0.0,
            device=str(self.device), dataset=self.dataset.name, message=message)

    def _run_epochs(self) -> None:
        config = self.config
        steps = self.steps_per_epoch
        watch = _LossWatch(self.device)
        # Preallocated: one slot per step, copied to the host once per epoch.
        self._step_losses = torch.zeros(steps, dtype=torch.float32, device=self.device)
        correct = torch.zeros((), dtype=torch.int64, device=self.device)
        for epoch in range(self.epochs_completed, config.epochs):
            self._epoch, self._epoch_step = epoch, 0
            seed = epoch_seed(config.seed, epoch)
            torch.manual_seed(seed)  # dropout and other in-model randomness
            augment = DEFAULT_AUGMENTATION if config.augment_name == "default" else None
            batches = self.train_data.batches(config.batch_size, shuffle=True, generator=seed,
                                              drop_last=self.drop_last, augment=augment)
            self._set_train_mode()
            correct.zero_()
            samples = 0
            sizes = []  # per step: the epoch's mean loss weights each step's loss by its batch size
            paused = 0.0
            lr = lr_at(self.global_step, self.total_steps, config, steps)
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)  # time the epoch's steps, not the previous evaluation
            start = time.perf_counter()
            try:
                for i, (x, y) in enumerate(batches):
                    paused += self._between_steps()
                    lr = lr_at(self.global_step, self.total_steps, config, steps)
                    set_lr(self.optimizer, lr)
                    x = x.contiguous(memory_format=self.memory_format)
                    logits, loss = self._train_step(x, y)
                    n = y.shape[0]
                    samples += n
                    sizes.append(n)
                    if not self.regression:
                        correct += (logits.argmax(dim=1) == y).sum()
                    self._step_losses[i] = loss
                    self._last_loss = loss
                    self.global_step += 1
                    self._epoch_step = i + 1
                    if (bad := watch.push(loss, epoch, i, self.global_step)) is not None:
                        raise self._diverged(*bad, lr)
                    self._call("on_step_end", StepInfo(epoch, i, self.global_step, steps, n, lr, loss))
                if (bad := watch.flush()) is not None:
                    raise self._diverged(*bad, lr)
            except StopRequested:
                # Keep what the partial epoch measured; the epoch itself is not counted.
                self.history.step_loss += self.step_losses()
                self._train_seconds += time.perf_counter() - start - paused
                self._train_samples += samples
                raise
            # The one copy per epoch (it also waits for the GPU, so the time below is honest).
            host = torch.cat([self._step_losses[:steps], correct.to(torch.float32).reshape(1)]).cpu().tolist()
            step_losses, correct_count = host[:-1], round(host[-1])  # a count below 2**24 is exact in float32
            loss_sum = math.fsum(loss * n for loss, n in zip(step_losses, sizes, strict=True))
            seconds = time.perf_counter() - start - paused
            self._train_seconds += seconds
            self._train_samples += samples
            self.history.step_loss += step_losses
            self.epochs_completed = epoch + 1

            val = self.evaluate("test", keep_predictions=True)  # per-example results: cheap, one copy
            self.last_eval = val
            self.history.last_eval = val.to_dict()
            self._call("on_validation_end", val)
            metrics = EpochMetrics(epoch=epoch, train_loss=loss_sum / max(1, samples),
                                   train_accuracy=math.nan if self.regression else correct_count / max(1, samples),
                                   val_loss=val.loss,
                                   val_accuracy=val.accuracy, lr=lr, seconds=seconds,
                                   samples_per_second=samples / seconds if seconds > 0 else 0.0, steps=steps,
                                   step_losses=step_losses)
            self.history.add_epoch(metrics)
            if self.checkpoint_path is not None and epoch + 1 < config.epochs:
                self.save_checkpoint(status="running")
            self._call("on_epoch_end", metrics)
        self._epoch_step = 0

    def _diverged(self, epoch: int, step: int, global_step: int, value: float, lr: float) -> TrainingError:
        what = "NaN (not a number)" if math.isnan(value) else "infinite"
        base = self.config.effective_lr
        default = DEFAULT_LR[self.config.optimizer]
        hint = (f"{default:g} (the default for {self.config.optimizer})" if base > default
                else f"{base / 10:.3g}")
        return TrainingError(
            f"training diverged: the loss became {what} at step {step + 1} of epoch {epoch + 1} "
            f"(step {global_step} overall). The learning rate ({lr:.3g} at that step) is probably too high for "
            f"this network: try a lower one, such as {hint}.", "diverged")
