"""What a training run is asked to do: one plain, JSON-serialisable dataclass.

The defaults are a strong recipe for the digit presets (AdamW, one-cycle
schedule, batch 128, light augmentation): mnist-cnn reaches about 99% on the
MNIST test set in a few epochs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch

from ..data.class_folders import CHANNELS

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop")
SCHEDULES = ("constant", "step", "cosine", "onecycle")
AUGMENTS = ("none", "default")
GAN_LOSSES = ("non_saturating", "least_squares")
FOLDER_CHANNELS = CHANNELS

# A learning rate that works for each optimizer on the shipped presets; used when `lr` is None.
DEFAULT_LR = {"sgd": 0.05, "momentum": 0.05, "nesterov": 0.05, "adam": 2e-3, "adamw": 2e-3, "rmsprop": 1e-3}


class ConfigError(ValueError):
    """A training setting that cannot work; the message names the setting."""


@dataclass
class TrainConfig:
    optimizer: str = "adamw"
    lr: float | None = None  # None: DEFAULT_LR of the optimizer (the peak rate for onecycle)
    weight_decay: float = 1e-4  # applied to weight matrices and kernels only, never to biases or norms
    batch_size: int = 128
    epochs: int = 4
    schedule: str = "onecycle"
    warmup_epochs: float = 0.0  # linear warm-up, per step; for onecycle 0 means "30% of the run"
    augment: bool | str = "default"  # True/"default": small random shifts, rotations and scaling; False/"none"
    grad_clip: float = 1.0  # largest gradient norm per step (0: no clipping)
    seed: int = 0
    device: str = "auto"  # "auto" (CUDA when there is one), "cpu", "cuda", "cuda:N"
    # Mixed precision. True: where it pays, which is CUDA (bf16 where the GPU has it, else fp16 with loss scaling).
    # "bf16": bf16 autocast wherever the hardware computes in bf16 (such a GPU, or a CPU with AMX-BF16 or
    # AVX512-BF16), fp32 elsewhere. False: fp32. (A CPU with bf16 gets it only when asked: it is not yet shown to
    # pay there; see docs/performance.md.)
    amp: bool | str = True
    dataset: str | None = None  # None: the graph's Input node says

    # -- GANs (graphs with a Noise node, trained by core/gan/trainer.py) ---------------------
    # A GAN run uses batch_size, epochs, seed, device, amp and dataset above, and these instead of optimizer, lr,
    # weight_decay, schedule, warmup_epochs, augment and grad_clip: each network has its own Adam, at a constant
    # rate, on the data as it is.
    gan_loss: str = "non_saturating"  # or "least_squares" (LSGAN)
    gan_d_steps: int = 1  # discriminator steps per generator step (each on a batch of its own)
    gan_lr_g: float = 2e-3  # the generator's learning rate (Adam): high, for small networks and small batches
    gan_lr_d: float = 2e-3  # the discriminator's (docs/performance.md, issue 20)
    gan_beta1: float = 0.5  # Adam's β1 for both (0.5, as DCGAN: less momentum steadies the game)
    gan_label_smoothing: float = 0.0  # one-sided: the discriminator's target for real images is 1 - this
    gan_ema: float = 0.999  # samples come from a moving average of the generator's weights with this decay (0: off)
    gan_judge: bool = True  # judge 1,000 samples after each epoch (recognisable share, class coverage)

    # -- 2-D points (graphs whose Input's dataset is one of core/data/points.py's) -------------
    points: int = 500  # how many points a generated dataset has (your own points: as many as there are)
    points_noise: float = 0.0  # 0..0.5, as TensorFlow Playground's noise slider (0-50 %)
    points_test_share: float = 0.5  # the share held out for testing
    points_seed: int = 0  # the generator's seed (Regenerate draws the next one)
    # Regularisation of the loss, on weight matrices and kernels only (never biases or norms): rate × Σ|w| (L1)
    # and rate × Σw² (L2), for every task that uses the optimizer above (not a GAN's).
    l1: float = 0.0
    l2: float = 0.0

    # -- image folders (dataset "folder": one sub-folder per class; core/data/folders.py) --------
    folder: str | None = None  # the folder's path (a checkpoint knows where its data came from)
    folder_size: int | None = None  # the side of the square images; None: automatic (the Trainer records it)
    folder_channels: str = "auto"  # "auto" (RGB when any image has colour), "gray" or "rgb"
    folder_test_share: float = 0.2  # the share of each class held out, when the folder has no train/ and test/

    # -- derived values -------------------------------------------------------------------
    @property
    def effective_lr(self) -> float:
        return float(self.lr) if self.lr is not None else DEFAULT_LR[self.optimizer]

    @property
    def augment_name(self) -> str:
        if isinstance(self.augment, bool):
            return "default" if self.augment else "none"
        return self.augment

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Tolerant of keys it does not know (a checkpoint from a newer version); validated."""
        known = {f.name for f in fields(cls)}
        config = cls(**{k: v for k, v in dict(data).items() if k in known})
        config.validate()
        return config

    def validate(self) -> TrainConfig:
        def bad(name, why):
            raise ConfigError(f"{name}: {why} (got {getattr(self, name)!r})")

        if self.optimizer not in OPTIMIZERS:
            bad("optimizer", f"choose one of {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            bad("schedule", f"choose one of {', '.join(SCHEDULES)}")
        if self.augment_name not in AUGMENTS:
            bad("augment", "choose none or default")
        if self.lr is not None and not (isinstance(self.lr, int | float) and math.isfinite(self.lr) and self.lr > 0):
            bad("lr", "the learning rate must be a positive number")
        if not (isinstance(self.weight_decay, int | float) and 0 <= self.weight_decay < 1):
            bad("weight_decay", "must be at least 0 and below 1")
        if not (isinstance(self.batch_size, int) and 1 <= self.batch_size <= 65536):
            bad("batch_size", "must be a whole number from 1 to 65536")
        if not (isinstance(self.epochs, int) and 1 <= self.epochs <= 10_000):
            bad("epochs", "must be a whole number from 1 to 10000")
        if not (isinstance(self.warmup_epochs, int | float) and 0 <= self.warmup_epochs <= self.epochs):
            bad("warmup_epochs", "must be between 0 and the number of epochs")
        if not (isinstance(self.grad_clip, int | float) and 0 <= self.grad_clip < math.inf):
            bad("grad_clip", "must be a number, 0 (off) or more")
        if not (isinstance(self.amp, bool) or self.amp == "bf16"):
            bad("amp", "choose true, false or bf16")
        if not isinstance(self.seed, int) or self.seed < 0:
            bad("seed", "must be a whole number, 0 or more")
        if self.gan_loss not in GAN_LOSSES:
            bad("gan_loss", f"choose one of {', '.join(GAN_LOSSES)}")
        if not (isinstance(self.gan_d_steps, int) and not isinstance(self.gan_d_steps, bool)
                and 1 <= self.gan_d_steps <= 10):
            bad("gan_d_steps", "must be a whole number from 1 to 10")
        for name in ("gan_lr_g", "gan_lr_d"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and 0 < value < 1):
                bad(name, "the learning rate must be a positive number below 1")
        if not (isinstance(self.gan_beta1, int | float) and 0 <= self.gan_beta1 < 1):
            bad("gan_beta1", "must be at least 0 and below 1")
        if not (isinstance(self.gan_label_smoothing, int | float) and 0 <= self.gan_label_smoothing <= 0.5):
            bad("gan_label_smoothing", "must be between 0 (off) and 0.5")
        if not (isinstance(self.gan_ema, int | float) and 0 <= self.gan_ema < 1):
            bad("gan_ema", "must be at least 0 (off) and below 1")
        if not isinstance(self.gan_judge, bool):
            bad("gan_judge", "must be true or false")
        if not (isinstance(self.points, int) and not isinstance(self.points, bool) and 2 <= self.points <= 10_000):
            bad("points", "must be a whole number from 2 to 10000")
        if not (isinstance(self.points_noise, int | float) and 0 <= self.points_noise <= 0.5):
            bad("points_noise", "must be between 0 and 0.5 (50 %)")
        if not (isinstance(self.points_test_share, int | float) and 0 <= self.points_test_share <= 0.9):
            bad("points_test_share", "must be between 0 and 0.9")
        if not isinstance(self.points_seed, int) or isinstance(self.points_seed, bool) or self.points_seed < 0:
            bad("points_seed", "must be a whole number, 0 or more")
        for name in ("l1", "l2"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
                    and 0 <= value <= 1):
                bad(name, "the regularisation rate must be between 0 (off) and 1")
        if self.folder is not None and not (isinstance(self.folder, str) and self.folder):
            bad("folder", "must be the path of a folder")
        if self.folder_size is not None and not (isinstance(self.folder_size, int)
                                                 and not isinstance(self.folder_size, bool)
                                                 and 4 <= self.folder_size <= 256):
            bad("folder_size", "must be a whole number from 4 to 256, or null (automatic)")
        if self.folder_channels not in FOLDER_CHANNELS:
            bad("folder_channels", f"choose one of {', '.join(FOLDER_CHANNELS)}")
        if not (isinstance(self.folder_test_share, int | float) and not isinstance(self.folder_test_share, bool)
                and 0 < self.folder_test_share <= 0.9):
            bad("folder_test_share", "must be above 0 and at most 0.9")
        resolve_device(self.device)  # raises ConfigError
        return self


# A GAN's recipe differs from a classifier's in the shared fields too: small batches (more, cheaper steps: per step
# the generator learns about as much from 16 images as from 64, in a quarter of the time) and more epochs of them.
GAN_DEFAULTS = {"batch_size": 16, "epochs": 10}
# 2-D points, as TensorFlow Playground: batches of 10, no augmentation (it is for images), a constant rate; an
# epoch is one pass over the 250 training points, so many of them.
POINTS_DEFAULTS = {"batch_size": 10, "epochs": 200, "optimizer": "adam", "lr": 0.01, "schedule": "constant",
                   "augment": "none", "weight_decay": 0.0, "grad_clip": 0.0}
TASK_DEFAULTS = {"generation": GAN_DEFAULTS, "points": POINTS_DEFAULTS}


def default_config(task: str = "classification", **overrides) -> TrainConfig:
    """The default settings of a task ("classification", "points", or "generation": a GAN), with `overrides`."""
    return TrainConfig(**{**TASK_DEFAULTS.get(task, {}), **overrides})


def resolve_device(name: str) -> torch.device:
    """"auto" -> cuda when available, else cpu. A CUDA device that is not there is a ConfigError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device: {name!r} is not a device; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cpu":
        return torch.device("cpu")
    if device.type != "cuda":
        raise ConfigError(f"device: {name!r} is not supported; use auto, cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise ConfigError("device: CUDA was asked for, but this PyTorch sees no CUDA GPU "
                          "(use --device cpu or auto)")
    index = device.index if device.index is not None else torch.cuda.current_device()
    if index >= torch.cuda.device_count():
        raise ConfigError(f"device: there is no {name} (this machine has {torch.cuda.device_count()} CUDA GPU(s))")
    return torch.device("cuda", index)
