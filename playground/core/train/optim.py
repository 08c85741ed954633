"""Optimizers and learning-rate schedules.

The schedule is a pure function of the global step, set on the optimizer by
the trainer before every step: there is no scheduler state to save, and a run
resumed from a checkpoint continues exactly where the schedule was.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .config import TrainConfig


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Trainable parameters only (frozen nodes never reach the optimizer).

    Weight decay applies to weight matrices and kernels (2 or more dimensions),
    not to biases and normalization scales, as is usual.
    """
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    groups = []
    if decay:
        groups.append({"params": decay, "weight_decay": weight_decay})
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    groups = parameter_groups(model, config.weight_decay)
    if not groups:
        raise ValueError("every layer is frozen (trainable off), so there is nothing to train")
    lr = config.effective_lr
    name = config.optimizer
    # Fused kernels (CUDA and CPU) update every parameter in one call. On the CPU that matters beyond speed:
    # torch's default there is a Python loop of ~12 ops per parameter, and each op releases and retakes the
    # GIL, so a window's Python (drawing, charts) running meanwhile stalls training at every one of them.
    # RMSprop has no fused kernel; foreach is its one-call-per-op form. (The trainer's devices, cpu and cuda,
    # both have the fused kernels.)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, fused=True)
    if name in ("momentum", "nesterov"):
        return torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=name == "nesterov", fused=True)
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr, fused=True)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, fused=True)
    if name == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lr, alpha=0.99, eps=1e-8, foreach=True)
    raise ValueError(f"unknown optimizer {name!r}")


def lr_at(step: int, total_steps: int, config: TrainConfig, steps_per_epoch: int) -> float:
    """The learning rate for the (0-based) global `step` of a run of `total_steps`.

    - constant: the base rate.
    - step:     ×0.1 at half and again at three quarters of the run.
    - cosine:   cosine decay from the base rate to 0.
    - onecycle: up from base/25 to base (over warmup_epochs, or the first 30% of the run
      if 0), then cosine down to base/10⁴ — Smith's one-cycle policy, as torch's OneCycleLR.
    Any schedule but onecycle starts with a linear warm-up over `warmup_epochs` when it is above 0.
    """
    base = config.effective_lr
    total_steps = max(1, total_steps)
    warmup = min(total_steps, round(config.warmup_epochs * steps_per_epoch))
    if config.schedule == "onecycle":
        warmup = warmup or max(1, round(0.3 * total_steps))
        start, end = base / 25.0, base / 1e4
        if step < warmup:
            return start + (base - start) * step / warmup
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return end + (base - end) * 0.5 * (1.0 + math.cos(math.pi * progress))
    if step < warmup:
        return base * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
    if config.schedule == "constant":
        return base
    if config.schedule == "step":
        return base * (0.1 if progress >= 0.5 else 1.0) * (0.1 if progress >= 0.75 else 1.0)
    if config.schedule == "cosine":
        return base * 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"unknown schedule {config.schedule!r}")


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
