"""The GAN trainer: a generator and a discriminator trained against each other, in one readable loop.

    trainer = GanTrainer(graph, TrainConfig(epochs=10), dataset=load_dataset("mnist"))
    result = trainer.fit(callbacks=[...])             # blocks; pause()/resume()/stop() from any thread
    GanTrainer.from_checkpoint("gan.ckpt", epochs=20).fit()   # continue

One step (a generator step; `gan_d_steps` = k discriminator steps come first):

    for each of k discriminator steps:     a batch of real images x, a batch of noise z
        fake = G(z)                         (with gradients on the last one: the generator step reuses it)
        loss_D = loss(D(x), real) + loss(D(fake, detached), fake)      -> the discriminator's Adam
    loss_G = loss(D(fake), real)           the generator is rewarded for fooling the updated D -> its Adam

Losses: "non_saturating" (the discriminator's binary cross-entropy; the generator
maximises log D(G(z)), which keeps its gradients alive when D wins easily) or
"least_squares" (LSGAN: squared distance of D's score to 1 for real and 0 for
fake). One-sided label smoothing lowers the real target to 1 - s.

What it shares with the classifier Trainer: device choice, AMP, the
device-resident data, pause/stop between steps, the callback hooks, checkpoints
(one graph, one state_dict keyed by node id for both networks, both optimizer
states) and the NaN/Inf watch. What differs: the step, and what an epoch ends
with: no test accuracy, but the judge's verdict on 1,000 samples (judge.py).
A step's four numbers (loss_D, loss_G, mean D(real), mean D(fake)) stay on the
device and are copied once per epoch, or when a callback asks.

An epoch is one pass of the real images through the discriminator:
batches // k generator steps.

2-D points (GAN Lab's lesson: a graph whose Input's dataset is a points set,
`structure.is_points_gan`): the generator makes points (x, y, range "none"),
the real data is every point of the set (`make_points(gan=True)`: a GAN is
not tested, and labels mean nothing to it), nothing is judged (the judge
knows digits), and an epoch is as many passes over those few hundred points
as show the discriminator POINTS_EPOCH_SAMPLES of them, so that the default
10 epochs are a run long enough to watch (about 10,000 steps of 16). Each
epoch ends with `points_report`: how near the generated points lie to the
real ones, and the real ones to the generated (core/gan/plane.py, which also
makes the pictures of the plane the app shows).

Samples (the app's grid, the judge, `playground sample`) come from a moving
average of the generator's weights (`gan_ema`, 0.999 with a warm-up: decay
min(0.999, (1+t)/(10+t)) at step t), as in ProGAN/StyleGAN: the averaged
generator makes steadier, cleaner images than the one the last step left,
which a high learning rate keeps moving. It is a copy of the generator's
layers (`generator_ema`), saved in checkpoints as `extra["generator_ema"]`,
keyed by node id; training itself never reads it.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..analysis import analyze
from ..data import Dataset, DeviceData, Normalization, load_dataset
from ..data.device import make_generator
from ..data.points import is_points_dataset
from ..data.points_dataset import load_points_dataset, points_of
from ..graph import Graph
from ..layers.base import describe
from ..layers.generative import NO_RANGE, PIXEL_RANGES, POINT_SHAPE
from ..train.callbacks import Callback
from ..train.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from ..train.config import ConfigError, TrainConfig, resolve_device
from ..train.controls import Controls, StopRequested
from ..train.metrics import StepInfo
from ..train.probes import state_dict_copy
from ..train.trainer import TrainingError, _is_out_of_memory, _LossWatch, amp_settings, epoch_seed
from ..train.transfer import TransferReport, load_matching_weights
from .judge import JUDGED_SAMPLES, Judge, JudgeRecipe, JudgeReport
from .model import GanModule, build_gan, ema_weights, noise_params, pixel_range
from .samples import GRID_SAMPLES, as_uint8, draw_noise, fixed_noise, generate
from .structure import GENERATION, gan_parts, is_gan_graph

METRICS = ("loss_d", "loss_g", "d_real", "d_fake")  # one row per step, in this order
# A points GAN's epoch: passes over its real points until the discriminator has seen at least this many (a pass
# over 500 points is 31 steps of 16; the default 10 epochs would be over in a second).
POINTS_EPOCH_SAMPLES = 16_000


@dataclass
class GanEpochMetrics:
    epoch: int  # 0-based
    loss_d: float  # means over the epoch's steps
    loss_g: float
    d_real: float  # mean D output on real images: P(real) for non_saturating, the raw score for least_squares
    d_fake: float  # the same on generated ones (before the discriminator's step)
    seconds: float  # training steps only (no judging, no pauses)
    steps: int
    steps_per_second: float
    samples_per_second: float  # real images through the discriminator per second
    judge: dict | None = None  # JudgeReport.to_dict() of this epoch's samples
    points: dict | None = None  # a points GAN: plane.PointsReport.to_dict() of this epoch's generator

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class GanHistory:
    """Every step's four numbers and every epoch's record (of this run and the runs it continues)."""

    steps: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in METRICS})
    epochs: list[dict[str, Any]] = field(default_factory=list)

    def add_steps(self, rows: np.ndarray) -> None:
        for i, key in enumerate(METRICS):
            self.steps[key] += rows[:, i].tolist()

    def truncate(self, n: int) -> None:
        for key in METRICS:
            del self.steps[key][n:]

    def series(self, key: str) -> list:
        return [e.get(key) for e in self.epochs]

    def to_dict(self) -> dict[str, Any]:
        return {"task": GENERATION, "steps": {k: list(v) for k, v in self.steps.items()},
                "epochs": [dict(e) for e in self.epochs]}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> GanHistory:
        data = data or {}
        steps = data.get("steps") or {}
        return cls(steps={k: [float(x) for x in steps.get(k, [])] for k in METRICS},
                   epochs=[dict(e) for e in data.get("epochs", [])])


@dataclass
class GanResult:
    status: str  # "completed" | "stopped" | "diverged" | "failed"
    epochs_completed: int
    global_step: int  # generator steps
    history: GanHistory
    judge: JudgeReport | None  # the verdict on the final generator (None: judging is off, or points)
    seconds: float  # wall time of fit()
    train_seconds: float  # training steps only
    steps_per_second: float
    samples_per_second: float
    device: str
    dataset: str
    checkpoint_path: str | None = None
    message: str = ""
    points: Any = None  # a points GAN: the plane.PointsReport of the final generator (None for images)

    def summary(self) -> dict[str, Any]:
        """The flat JSON `playground train` prints last (a points GAN's adds its PointsReport)."""
        judge = self.judge
        last = {k: (self.history.steps[k][-1] if self.history.steps[k] else None) for k in METRICS}
        points = ({"fake_to_real": round(self.points.fake_to_real, 4),
                   "real_to_fake": round(self.points.real_to_fake, 4), "real_spacing": round(self.points.spacing, 4)}
                  if self.points is not None else {})
        return {"status": self.status, "task": GENERATION, **points,
                "recognisable": round(judge.recognisable, 4) if judge else None,
                "classes_covered": judge.classes_covered if judge else None,
                "mode_collapse": judge.mode_collapse if judge else None, "verdict": judge.verdict if judge else None,
                "epochs": self.epochs_completed, "steps": self.global_step, "seconds": round(self.seconds, 3),
                "train_seconds": round(self.train_seconds, 3), "steps_per_second": round(self.steps_per_second, 3),
                "samples_per_second": round(self.samples_per_second, 1), **last, "device": self.device,
                "dataset": self.dataset, "checkpoint": self.checkpoint_path}


def discriminator_loss(kind: str, real: torch.Tensor, fake: torch.Tensor, real_target: float) -> torch.Tensor:
    if kind == "least_squares":
        return 0.5 * ((real - real_target).square().mean() + fake.square().mean())
    # Binary cross-entropy on logits: -t·log σ(r) - (1-t)·log(1-σ(r)) = softplus(r) - t·r; on fakes (t = 0): softplus.
    return (F.softplus(real) - real_target * real).mean() + F.softplus(fake).mean()


def generator_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    if kind == "least_squares":
        return 0.5 * (fake - 1).square().mean()
    return F.softplus(-fake).mean()  # non-saturating: -log σ(D(G(z)))


def _adam(params: list[nn.Parameter], lr: float, beta1: float, device: torch.device) -> torch.optim.Optimizer:
    # Fused: one call per step for every parameter (see core/train/optim.py for why that matters on a CPU too).
    return torch.optim.Adam(params, lr=lr, betas=(beta1, 0.999), fused=device.type in ("cpu", "cuda"))


class GanTrainer(Controls):
    """Trains the two networks of one GAN graph. Build it in any thread; call `fit` in the thread that trains."""

    task = GENERATION

    def __init__(self, graph: Graph, config: TrainConfig | None = None, *, dataset: Dataset | None = None,
                 data_dir: str | os.PathLike | None = None, callbacks: Sequence[Callback] = (),
                 checkpoint_path: str | os.PathLike | None = None, judge: Judge | None = None,
                 judge_recipe: JudgeRecipe | None = None):
        """Builds both networks (raises build.GraphError for an invalid graph) and puts the data on the device.

        `judge`: the judge to use; None: the cached one of the dataset, trained at the start of `fit` when missing
        (config.gan_judge False: none)."""
        self.config = (config or TrainConfig()).validate()
        if not is_gan_graph(graph):
            raise ValueError("not a GAN graph: it has no Noise → … → Generated generator")
        self.graph = graph.copy()
        self.device = resolve_device(self.config.device)
        self.model: GanModule = build_gan(self.graph, self.device, seed=self.config.seed)
        self.generator, self.discriminator = self.model.generator, self.model.discriminator
        self.dataset_name = self.config.dataset or self.graph.input_dataset()
        if dataset is None:
            dataset = (load_points_dataset(self.dataset_name, self.config, own=self.graph.points, gan=True)
                       if is_points_dataset(self.dataset_name) else load_dataset(self.dataset_name, data_dir))
        self.dataset = dataset
        self.dataset_name = dataset.name
        self.points = points_of(dataset)  # the real points of a GAN on 2-D points (None: images)
        self.classes = tuple(dataset.classes)
        self.num_classes = len(self.classes)
        noise = noise_params(self.graph)
        self.noise_dim, self.noise_distribution = noise["dim"], noise["distribution"]
        self.pixel_range = pixel_range(self.graph)
        self._check_fit(dataset)
        if self.points is not None:  # coordinates go in as they are, real and generated alike
            self.normalization = None
            self.train_data = dataset.on_device("train", self.device)
        else:
            # Real images are scaled to the generator's pixel range (-1..1 after a tanh), not the classifiers'
            # mean/std.
            self.normalization = Normalization(*PIXEL_RANGES[self.pixel_range])
            images, labels = dataset.split("train")
            self.train_data = DeviceData(images, labels, self.device, self.normalization)
        self.callbacks: list[Callback] = list(callbacks)
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None

        self.frozen_nodes = [n.id for n in self.graph.nodes.values()
                             if not n.trainable and any(True for _ in getattr(self.model, n.id, nn.Identity())
                                                        .state_dict())]
        params_g = [p for p in self.generator.parameters() if p.requires_grad]
        self._params_d = [p for p in self.discriminator.parameters() if p.requires_grad]
        if not params_g or not self._params_d:
            which = "generator" if not params_g else "discriminator"
            raise ValueError(f"every layer of the {which} is frozen (trainable off), so it cannot learn")
        config = self.config
        self.optimizer_g = _adam(params_g, config.gan_lr_g, config.gan_beta1, self.device)
        self.optimizer_d = _adam(self._params_d, config.gan_lr_d, config.gan_beta1, self.device)
        self.amp, self.amp_dtype = amp_settings(self.device, config.amp)
        fp16 = self.amp and self.amp_dtype == torch.float16
        self.scaler_g = torch.amp.GradScaler("cuda", enabled=fp16)
        self.scaler_d = torch.amp.GradScaler("cuda", enabled=fp16)
        self.memory_format = torch.contiguous_format
        if self.device.type == "cuda":
            # channels_last lets cuDNN use tensor cores without layout changes (on the CPU oneDNN's transposed
            # convolutions were slower in it: docs/performance.md).
            if any(isinstance(m, nn.Conv2d | nn.ConvTranspose2d) for m in self.model.modules()):
                self.memory_format = torch.channels_last
                self.model.to(memory_format=torch.channels_last)
            torch.backends.cudnn.benchmark = True

        self.d_steps = config.gan_d_steps
        self.real_target = 1.0 - config.gan_label_smoothing
        self.drop_last = len(self.train_data) >= config.batch_size
        batches = self.train_data.num_batches(config.batch_size, self.drop_last)
        self.passes = 1 if self.points is None else max(1, math.ceil(POINTS_EPOCH_SAMPLES / (batches
                                                                                            * config.batch_size)))
        self.steps_per_epoch = max(1, self.passes * batches // self.d_steps)
        self.total_steps = self.steps_per_epoch * config.epochs
        self.history = GanHistory()
        self.epochs_completed = 0
        self.global_step = 0
        self.last_eval = None  # what the run protocol reads of a classifier; a GAN has no test accuracy
        self.last_judge: JudgeReport | None = None
        self._judged_at = -1  # global step of last_judge
        self.last_points = None  # a points GAN: the last plane.PointsReport
        self._plane = None  # its plane.Plane, made when first asked
        self.judge = judge
        self.judge_recipe = judge_recipe or JudgeRecipe()
        # The moving average of the generator that samples come from (None: samples come from the generator).
        self.generator_ema = None
        if config.gan_ema > 0:
            self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False).eval()
        # The grid the app shows and `playground sample` draws: the same noise all run long, so the same cells
        # turn from static into digits.
        self.grid_noise = fixed_noise(GRID_SAMPLES, self.noise_dim, self.noise_distribution, config.seed, "grid",
                                      self.device)

        self._judge_trainer = None  # the Trainer of the judge while it trains (stop() reaches it)
        self._init_controls()  # stop, pause, resume: from any thread
        self._step_metrics: torch.Tensor | None = None
        self._last: torch.Tensor | None = None  # the last step's row of METRICS, on the device
        self._epoch_step = 0
        self._epoch = 0
        self._train_seconds = 0.0  # finished epochs (and a stopped one)
        self._train_samples = 0
        self._epoch_start: float | None = None
        self._epoch_paused = 0.0

    def _check_fit(self, dataset) -> None:
        """The generator must make what the dataset holds (the analysis checks the graph's own dataset; a run may
        be given another): 2-D points left as they are, or images of its shape with a pixel range."""
        parts = gan_parts(self.graph)
        made = analyze(self.graph).shapes[parts.generated]
        if self.points is not None:
            if made != POINT_SHAPE:
                raise ConfigError(f"{dataset.name} holds 2-D points (x, y), but the generator makes {describe(made)}: "
                                 "end it with Dense(2) → Generated (range none)")
            if self.pixel_range != NO_RANGE:
                raise ConfigError(f"{dataset.name} holds 2-D points on the plane, but the Generated node's range "
                                 f"{self.pixel_range} would squash them: choose range none")
            (input_node,) = self.graph.nodes_of_kind("input")
            if tuple(input_node.params.get("shape", ())) != POINT_SHAPE:
                raise ConfigError(f"{dataset.name} holds 2-D points (x, y), but the discriminator's Input takes "
                                 f"{'×'.join(map(str, input_node.params.get('shape', ())))}: give it the shape [2]")
        elif made == POINT_SHAPE or self.pixel_range == NO_RANGE:
            raise ConfigError(f"{dataset.name} holds images, but this GAN's generator makes 2-D points: train it on a "
                             "points set (moons, gaussians, …), or give it an image generator")

    # -- controls (any thread) ---------------------------------------------------------------
    def stop(self) -> None:
        """Finish the current step, then end the run (judging and saving a checkpoint if one is configured).
        While the judge is being trained, that stops too (the run then ends unjudged)."""
        super().stop()
        if (judge_trainer := self._judge_trainer) is not None:
            judge_trainer.stop()

    # -- what callbacks read (training thread, between steps) ----------------------------------
    def latest_loss(self) -> float:
        """The generator's loss at the last step (syncs a GPU)."""
        return float(self._last[1]) if self._last is not None else math.nan

    def latest_metrics(self) -> dict[str, float]:
        """The last step's loss_d, loss_g, d_real, d_fake (one copy from the device)."""
        if self._last is None:
            return {k: math.nan for k in METRICS}
        return dict(zip(METRICS, self._last.cpu().tolist(), strict=True))

    def step_metrics(self) -> np.ndarray:
        """float32 [steps of this epoch so far, 4]: each step's METRICS (one copy from the device)."""
        if self._step_metrics is None:
            return np.zeros((0, len(METRICS)), dtype=np.float32)
        return self._step_metrics[: self._epoch_step].cpu().numpy()

    def step_losses(self) -> list[float]:
        """The generator's loss at each step of this epoch so far (what a classifier's Progress carries)."""
        return self.step_metrics()[:, 1].tolist()

    def train_seconds(self) -> float:
        """Seconds of training steps so far in this fit (no pauses, judging or checkpoints)."""
        running = 0.0
        if self._epoch_start is not None:
            running = time.perf_counter() - self._epoch_start - self._epoch_paused
        return self._train_seconds + running

    def state_dict_copy(self) -> dict[str, torch.Tensor]:
        """Both networks' weights as CPU copies, keyed by node id."""
        return state_dict_copy(self.model)

    @property
    def sampler(self) -> nn.Module:
        """The generator samples come from: the moving average when there is one."""
        return self.generator_ema if self.generator_ema is not None else self.generator

    def grid_samples(self) -> np.ndarray:
        """uint8 [64, H, W]: the images of the fixed grid noise, now."""
        return as_uint8(generate(self.sampler, self.grid_noise, self.pixel_range))

    def _ema_pairs(self):
        return zip(self.generator_ema.state_dict().values(), self.generator.state_dict().values(), strict=True)

    def _update_ema(self) -> None:
        decay = min(self.config.gan_ema, (1 + self.global_step) / (10 + self.global_step))
        with torch.no_grad():
            for average, current in self._ema_pairs():
                if average.dtype.is_floating_point:
                    average.lerp_(current, 1 - decay)
                else:  # BatchNorm's batch counter
                    average.copy_(current)

    def _reset_ema(self) -> None:
        if self.generator_ema is not None:
            with torch.no_grad():
                for average, current in self._ema_pairs():
                    average.copy_(current)

    def load_weights(self, source: Checkpoint | dict[str, torch.Tensor] | str | os.PathLike) -> TransferReport:
        """Copy the tensors of a checkpoint (or state_dict) whose node id and shape match, into either network."""
        if isinstance(source, str | os.PathLike):
            source = load_checkpoint(source)
        state_dict = source.state_dict if isinstance(source, Checkpoint) else source
        report = load_matching_weights(self.model, state_dict)
        self.model.to(memory_format=self.memory_format)
        self._reset_ema()
        return report

    # -- the judge -------------------------------------------------------------------------------
    def _note(self, text: str) -> None:
        for cb in self._active_callbacks:
            if (hook := getattr(cb, "on_note", None)) is not None:
                hook(self, text)

    def prepare_judge(self) -> Judge | None:
        """The judge (loaded from the cache, or trained now and cached); None when judging is off (always for
        points: the judge is a digit classifier)."""
        if self.points is None and self.judge is None and self.config.gan_judge and not self._stop.is_set():
            def started(trainer):
                self._judge_trainer = trainer
                if self._stop.is_set():  # a stop that came before the judge's trainer did
                    trainer.stop()

            try:
                self.judge = Judge.load_or_train(self.dataset, self.device, self.judge_recipe, say=self._note,
                                                 started=started)
            finally:
                self._judge_trainer = None
        return self.judge

    def judge_now(self, samples: int = JUDGED_SAMPLES) -> JudgeReport | None:
        """The judge's verdict on `samples` images of fixed noise (the same noise every time)."""
        if self.prepare_judge() is None:
            return None
        start = time.perf_counter()
        noise = fixed_noise(samples, self.noise_dim, self.noise_distribution, self.config.seed, "judge", self.device)
        report = self.judge.judge(generate(self.sampler, noise, self.pixel_range))
        self.last_judge, self._judged_at = report, self.global_step
        if self._epoch_start is not None:  # judged mid-epoch (a callback asked): not training time
            self._epoch_paused += time.perf_counter() - start
        return report

    # -- 2-D points ------------------------------------------------------------------------------
    @property
    def plane(self):
        """A points GAN's plane.Plane: its pictures of the plane and its report (None for images)."""
        if self._plane is None and self.points is not None:
            from .plane import Plane

            self._plane = Plane(self)
        return self._plane

    def points_report_now(self):
        """How near the generated points lie to the real ones now (plane.PointsReport); None for images."""
        if self.points is None:
            return None
        start = time.perf_counter()
        self.last_points = self.plane.report()
        if self._epoch_start is not None:  # measured mid-epoch (a callback asked): not training time
            self._epoch_paused += time.perf_counter() - start
        return self.last_points

    # -- checkpoints -----------------------------------------------------------------------
    def checkpoint(self, status: str = "running") -> Checkpoint:
        return Checkpoint(
            graph=self.graph,
            state_dict=state_dict_copy(self.model),
            optimizer_state={"generator": self.optimizer_g.state_dict(),
                             "discriminator": self.optimizer_d.state_dict()},
            config=self.config.to_dict(),
            history=self.history.to_dict(),
            extra={"task": GENERATION, "epochs_completed": self.epochs_completed, "global_step": self.global_step,
                   "status": status, "dataset": self.dataset.name, "classes": list(self.classes),
                   "judge": self.last_judge.to_dict() if self.last_judge else None,
                   "points": self.last_points.to_dict() if self.last_points else None,
                   "generator_ema": state_dict_copy(self.generator_ema) if self.generator_ema is not None else None,
                   "scalers": {"generator": self.scaler_g.state_dict(), "discriminator": self.scaler_d.state_dict()}
                   if self.scaler_g.is_enabled() else None,
                   "torch_version": str(torch.__version__)},
        )

    def save_checkpoint(self, path: str | os.PathLike | None = None, status: str = "running") -> Path:
        path = Path(path or self.checkpoint_path)
        save_checkpoint(path, self.checkpoint(status))
        return path

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, *, dataset: Dataset | None = None,
                        data_dir: str | os.PathLike | None = None, callbacks: Sequence[Callback] = (),
                        checkpoint_path: str | os.PathLike | None = None, judge: Judge | None = None,
                        **overrides) -> GanTrainer:
        """Continue a GAN run: both networks, both optimizers, the epoch counter and the history from `path`.
        `overrides` change config fields (epochs=20 to train further). A run stopped mid-epoch continues from the
        start of that epoch, with the weights it had."""
        ckpt = load_checkpoint(path)
        if not is_gan_graph(ckpt.graph):
            raise CheckpointError(f"{path}: holds a classifier, not a GAN (train it with the classifier Trainer)")
        try:
            config = TrainConfig.from_dict({**ckpt.config, **overrides})
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"{path}: the training settings in the checkpoint are not usable: {exc}") from None
        trainer = cls(ckpt.graph, config, dataset=dataset, data_dir=data_dir, callbacks=callbacks,
                      checkpoint_path=checkpoint_path, judge=judge)
        try:
            trainer.model.load_state_dict(ckpt.state_dict)
            trainer.model.to(memory_format=trainer.memory_format)
            states = ckpt.optimizer_state or {}
            for name, optimizer in (("generator", trainer.optimizer_g), ("discriminator", trainer.optimizer_d)):
                if states.get(name) is not None:
                    impl = [{k: g[k] for k in ("fused", "foreach", "capturable", "differentiable") if k in g}
                            for g in optimizer.param_groups]
                    optimizer.load_state_dict(states[name])
                    for group, kept in zip(optimizer.param_groups, impl, strict=True):
                        group.update(kept)
            ema = ema_weights(ckpt, str(path))
            if trainer.generator_ema is not None:
                if ema is not None:
                    trainer.generator_ema.load_state_dict(ema)
                    trainer.generator_ema.to(memory_format=trainer.memory_format)
                else:  # a checkpoint of a run without the average: start it from the generator
                    trainer._reset_ema()
            scalers = ckpt.extra.get("scalers")
            if scalers and trainer.scaler_g.is_enabled():
                trainer.scaler_g.load_state_dict(scalers["generator"])
                trainer.scaler_d.load_state_dict(scalers["discriminator"])
        except (RuntimeError, ValueError, KeyError, TypeError, AttributeError) as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CheckpointError(f"{path}: the weights do not fit the graph stored with them ({detail})") from None
        trainer.history = GanHistory.from_dict(ckpt.history)
        trainer.epochs_completed = int(ckpt.extra.get("epochs_completed", 0))
        trainer.history.truncate(trainer.epochs_completed * trainer.steps_per_epoch)  # drop a partial epoch
        trainer.history.epochs = trainer.history.epochs[: trainer.epochs_completed]
        trainer.global_step = trainer.epochs_completed * trainer.steps_per_epoch
        if isinstance(ckpt.extra.get("judge"), dict):
            with contextlib.suppress(TypeError):
                trainer.last_judge = JudgeReport(**ckpt.extra["judge"])
        return trainer

    # -- the loop --------------------------------------------------------------------------
    def _noise(self, n: int) -> torch.Tensor:
        return draw_noise(n, self.noise_dim, self.noise_distribution, device=self.device)

    def _train_step(self, batches: Iterator[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """k discriminator steps, then one generator step; returns the step's METRICS row (on the device)."""
        G, D, kind = self.generator, self.discriminator, self.config.gan_loss
        autocast = torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp)
        for j in range(self.d_steps):
            x, _ = next(batches)
            x = x.contiguous(memory_format=self.memory_format)
            last = j == self.d_steps - 1
            with autocast:
                with torch.set_grad_enabled(last):  # the last fakes are kept, with their graph, for G's step
                    fake = G(self._noise(x.shape[0]))
                real_out, fake_out = D(x).float(), D(fake.detach()).float()
                loss_d = discriminator_loss(kind, real_out, fake_out, self.real_target)
            self.optimizer_d.zero_grad(set_to_none=True)
            self.scaler_d.scale(loss_d).backward()
            self.scaler_d.step(self.optimizer_d)
            self.scaler_d.update()
        # The generator's step, through the updated discriminator. D's own weights need no gradients here.
        for p in self._params_d:
            p.requires_grad_(False)
        try:
            with autocast:
                loss_g = generator_loss(kind, D(fake).float())
            self.optimizer_g.zero_grad(set_to_none=True)
            self.scaler_g.scale(loss_g).backward()
        finally:
            for p in self._params_d:
                p.requires_grad_(True)
        self.scaler_g.step(self.optimizer_g)
        self.scaler_g.update()
        with torch.no_grad():
            if kind == "least_squares":
                d_real, d_fake = real_out.mean(), fake_out.mean()
            else:
                d_real, d_fake = real_out.sigmoid().mean(), fake_out.sigmoid().mean()
            return torch.stack([loss_d.detach(), loss_g.detach(), d_real, d_fake])

    def fit(self, callbacks: Sequence[Callback] = ()) -> GanResult:
        """Train up to `config.epochs` (counting the epochs of a continued run). Ends as Trainer.fit does: a
        GanResult when finished or stopped, TrainingError on divergence or out of memory."""
        self._active_callbacks = [*self.callbacks, *callbacks]
        fit_start = time.perf_counter()
        self._train_seconds = 0.0
        self._train_samples = 0
        status = "completed"
        try:
            self.prepare_judge()  # before the clock starts: training a judge takes a while, once per dataset
            self._call("on_fit_start")
            on_device = torch.cuda.device(self.device) if self.device.type == "cuda" else contextlib.nullcontext()
            try:
                with on_device:
                    self._run_epochs()
            except StopRequested:
                status = "stopped"
            if self.judge is not None and self._judged_at != self.global_step:
                self.judge_now()  # the verdict on the generator as it ends
            if self.points is not None and (self.last_points is None
                                            or self.last_points.global_step != self.global_step):
                self.points_report_now()
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
                where = "GPU memory" if self.device.type == "cuda" else "memory"
                message = (f"ran out of {where} at step {self._epoch_step + 1} of epoch {self._epoch + 1} with "
                           f"batch size {self.config.batch_size}; try a smaller batch size (or smaller networks)")
                del exc
                error = TrainingError(message, "out_of_memory", self._result("failed", fit_start, message))
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                self._call("on_exception", error)
                raise error from None
            self._call("on_exception", exc)
            raise
        finally:
            self._epoch_start = None
            self._stop.clear()

    def _result(self, status: str, fit_start: float, message: str = "") -> GanResult:
        seconds = self._train_seconds
        steps = self._train_samples / max(1, self.config.batch_size * self.d_steps)
        return GanResult(
            status=status, epochs_completed=self.epochs_completed, global_step=self.global_step,
            history=self.history, judge=self.last_judge, seconds=time.perf_counter() - fit_start,
            train_seconds=seconds, steps_per_second=steps / seconds if seconds > 0 else 0.0,
            samples_per_second=self._train_samples / seconds if seconds > 0 else 0.0, device=str(self.device),
            dataset=self.dataset.name, message=message, points=self.last_points)

    def _run_epochs(self) -> None:
        config = self.config
        steps = self.steps_per_epoch
        watch = _LossWatch(self.device)
        self._step_metrics = torch.zeros(steps, len(METRICS), dtype=torch.float32, device=self.device)
        for epoch in range(self.epochs_completed, config.epochs):
            self._epoch, self._epoch_step = epoch, 0
            seed = epoch_seed(config.seed, epoch)
            torch.manual_seed(seed)  # the noise, and dropout
            batches = self._epoch_batches(seed)
            self._set_train_mode()
            samples = 0
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self._epoch_start, self._epoch_paused = time.perf_counter(), 0.0
            try:
                for i in range(steps):
                    self._epoch_paused += self._between_steps()
                    row = self._train_step(batches)
                    if self.generator_ema is not None:
                        self._update_ema()
                    samples += config.batch_size * self.d_steps
                    self._step_metrics[i] = row
                    self._last = row
                    self.global_step += 1
                    self._epoch_step = i + 1
                    if (bad := watch.push(row[0] + row[1], epoch, i, self.global_step)) is not None:
                        raise self._diverged(*bad)
                    self._call("on_step_end", StepInfo(epoch, i, self.global_step, steps, config.batch_size,
                                                       config.gan_lr_g, row[1]))
                if (bad := watch.flush()) is not None:
                    raise self._diverged(*bad)
            except StopRequested:
                self.history.add_steps(self.step_metrics())
                self._train_seconds += time.perf_counter() - self._epoch_start - self._epoch_paused
                self._train_samples += samples
                self._epoch_start = None
                raise
            rows = self.step_metrics()  # the one copy per epoch (it also waits for the GPU)
            seconds = time.perf_counter() - self._epoch_start - self._epoch_paused
            self._epoch_start = None
            self._train_seconds += seconds
            self._train_samples += samples
            self.history.add_steps(rows)
            self.epochs_completed = epoch + 1
            report = self.judge_now() if self.judge is not None else None
            points = self.points_report_now()
            self._call("on_validation_end", report)
            means = rows.mean(axis=0).tolist() if len(rows) else [math.nan] * len(METRICS)
            metrics = GanEpochMetrics(epoch, *means, seconds=seconds, steps=steps,
                                      steps_per_second=steps / seconds if seconds > 0 else 0.0,
                                      samples_per_second=samples / seconds if seconds > 0 else 0.0,
                                      judge=report.to_dict() if report else None,
                                      points=points.to_dict() if points else None)
            self.history.epochs.append(metrics.to_dict())
            if self.checkpoint_path is not None and epoch + 1 < config.epochs:
                self.save_checkpoint(status="running")
            self._call("on_epoch_end", metrics)
        self._epoch_step = 0

    def _epoch_batches(self, seed: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch's real batches: one shuffled pass (images), or `passes` of them (points), each shuffled anew."""
        size = self.config.batch_size
        if self.passes == 1:
            return self.train_data.batches(size, shuffle=True, generator=seed, drop_last=self.drop_last)
        order = make_generator(seed)  # one generator for every pass: each draws the next shuffle
        return itertools.chain.from_iterable(
            self.train_data.batches(size, shuffle=True, generator=order, drop_last=self.drop_last)
            for _ in range(self.passes))

    def _diverged(self, epoch: int, step: int, global_step: int, value: float) -> TrainingError:
        what = "NaN (not a number)" if math.isnan(value) else "infinite"
        return TrainingError(
            f"training diverged: the GAN's losses became {what} at step {step + 1} of epoch {epoch + 1} (step "
            f"{global_step} overall). Try lower learning rates (generator {self.config.gan_lr_g:g}, discriminator "
            f"{self.config.gan_lr_d:g}), for example half of them.", "diverged")


class TimeLimit(Callback):
    """Stops a run after `seconds` of training steps (pauses, judging and checkpoints not counted)."""

    def __init__(self, seconds: float, on_stop: Callable[[], None] | None = None):
        self.seconds = seconds
        self.on_stop = on_stop

    def on_step_end(self, trainer, step):
        if trainer.train_seconds() >= self.seconds and not trainer.stopping:
            trainer.stop()
            if self.on_stop:
                self.on_stop()


class JudgeEvery(Callback):
    """Asks for the judge's verdict every `seconds` of training (the judging itself is not counted as training);
    `verdicts` holds (training seconds, global step, JudgeReport) of each, and `say` hears of each."""

    def __init__(self, seconds: float, say: Callable[[str], None] | None = None):
        self.seconds = seconds
        self.next = seconds
        self.say = say
        self.verdicts: list[tuple[float, int, JudgeReport]] = []

    def on_step_end(self, trainer, step):
        elapsed = trainer.train_seconds()
        if elapsed < self.next:
            return
        self.next += self.seconds * (1 + int((elapsed - self.next) // self.seconds))
        report = trainer.judge_now()
        if report is not None:
            self.verdicts.append((elapsed, trainer.global_step, report))
            if self.say:
                self.say(f"after {elapsed:.0f} s of training ({trainer.global_step} steps): {report.verdict}")
