"""Fine-tuning on a person's own digits: transfer learning from a trained checkpoint, without forgetting MNIST.

    result = finetune(load_checkpoint("model.ckpt"), images, labels)     # uint8 [N, 28, 28], int64 [N]
    result.summary()   # before/after accuracy on the held-out own digits and on the replay test split
    save_checkpoint("tuned.ckpt", result.checkpoint)

How (each choice keeps a few dozen digits from undoing what 60,000 taught):
- Frozen layers: by default every node up to the one before the last Dense, so only the last Dense trains;
  `freeze_until=NODE` freezes NODE and every node before it in execution order. Frozen nodes are
  `trainable: False`, which the Trainer already honours (no gradients, eval mode, bit-identical after).
- The own digits are split per class into a held-out part (`held_out_share`, at least one a class) that is
  never trained on and measures the gain, and a training part, oversampled and mixed with a replayed sample of
  the replay dataset's training images (MNIST when found, else the offline sample) so the network keeps
  seeing the digits it knew.
- One short run of the ordinary Trainer on that mix: Adam at a constant small rate, the default augmentation
  (small shifts and rotations: a handful of drawings becomes many), a few hundred samples a class.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..data import Dataset
from .callbacks import Callback
from .checkpoint import Checkpoint
from .config import TrainConfig
from .inference import predict_probabilities
from .trainer import Trainer, evaluate

# The run's shape (docs/performance.md has the measurements behind it): for mnist-cnn trained on 20,000 MNIST digits,
# 50 own digits (5 a class) take about 5 s on 2 CPU cores. The replay share decides what fine-tuning costs MNIST
# when the own digits contradict it (mirror-written ones: a mirrored 2 is a 5): 0.95 cost 0.2-0.4 points for the
# same gain on the held-out own digits as 0.9, which cost 0.5-0.7.
OVERSAMPLE_TO = 640  # own training digits are repeated up to about this many samples
REPLAY_SHARE = 0.95  # replayed images make up this share of the mix
BATCH_SIZE = 64
EPOCHS = 2  # passes over the mix: 2 × (640 own + 12,160 replayed) / 64 = 400 steps
LR = 1e-3
OPTIMIZER = "adam"
MIN_PER_CLASS = 2  # a class used needs one digit to learn from and one to test on


class FinetuneError(Exception):
    """Fine-tuning cannot start (too few digits, an unknown node, nothing left to train); the message says why."""


@dataclass
class FinetuneResult:
    checkpoint: Checkpoint  # the tuned network (the original graph, its trainable flags as they were)
    own_before: float
    own_after: float
    replay_before: float
    replay_after: float
    replay_dataset: str  # e.g. "mnist" or "mnist-sample"
    seconds: float  # the whole call: evaluations before and after included
    train_seconds: float
    steps: int
    frozen: list[str]
    trained: list[str]  # nodes whose weights changed
    own_train: dict[str, int] = field(default_factory=dict)  # per class: digits trained on
    own_held_out: dict[str, int] = field(default_factory=dict)  # per class: digits held out
    status: str = "completed"  # the run's: "stopped" when it was stopped early (the weights are where it stopped)
    # Per own digit, in the order given: held out (never trained on), the class predicted before and after
    held_out: np.ndarray = field(default_factory=lambda: np.zeros(0, bool), repr=False)
    predicted_before: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    predicted_after: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)

    def summary(self) -> dict[str, Any]:
        """The flat JSON `playground finetune` prints last."""
        return {"own_accuracy_before": round(self.own_before, 4), "own_accuracy_after": round(self.own_after, 4),
                "replay_accuracy_before": round(self.replay_before, 4),
                "replay_accuracy_after": round(self.replay_after, 4), "replay_dataset": self.replay_dataset,
                "seconds": round(self.seconds, 3), "train_seconds": round(self.train_seconds, 3),
                "steps": self.steps, "frozen": self.frozen, "trained": self.trained,
                "own_train": sum(self.own_train.values()), "own_held_out": sum(self.own_held_out.values()),
                "counts": {c: self.own_train.get(c, 0) + self.own_held_out.get(c, 0) for c in self.own_train}}


def _predicted(trainer: Trainer, images: torch.Tensor) -> np.ndarray:
    """The class the trainer's network gives each image now (int64 [N])."""
    probabilities = predict_probabilities(trainer.model, images, trainer.normalization, trainer.loss_kind)
    return probabilities.argmax(dim=1).numpy().astype(np.int64)


def execution_order(graph) -> list[str]:
    order, _ = graph.topological_order()
    return order


def frozen_nodes(graph, freeze_until: str | None = None) -> list[str]:
    """The nodes that stay frozen: `freeze_until` and everything before it in execution order, or (None) every
    node before the last Dense. FinetuneError for an unknown node or a choice that leaves nothing to train."""
    order = execution_order(graph)
    if freeze_until is None:
        dense = [nid for nid in order if graph.nodes[nid].kind == "dense"]
        if not dense:
            raise FinetuneError("the network has no Dense layer; say which layers stay frozen (--freeze-until NODE)")
        cut = order.index(dense[-1]) - 1
    else:
        if freeze_until not in graph.nodes:
            raise FinetuneError(f"no node {freeze_until!r} in the network; its nodes in order: {', '.join(order)}")
        cut = order.index(freeze_until)
    return order[:cut + 1]


def _split(labels: np.ndarray, classes: tuple[str, ...], share: float, seed: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, held out), stratified: per class round(n × share) held out, at least 1, at most n - 1."""
    rng = np.random.default_rng(seed)
    train, held = [], []
    for k in range(len(classes)):
        idx = np.flatnonzero(labels == k)
        if len(idx) == 0:
            continue
        if len(idx) < MIN_PER_CLASS:
            raise FinetuneError(f"the class {classes[k]} has only {len(idx)} digit; each class used needs at least "
                                f"{MIN_PER_CLASS} (one to learn from, one to test on)")
        idx = rng.permutation(idx)
        n_held = min(len(idx) - 1, max(1, round(len(idx) * share)))
        held.extend(idx[:n_held])
        train.extend(idx[n_held:])
    return np.sort(np.asarray(train, dtype=np.int64)), np.sort(np.asarray(held, dtype=np.int64))


def default_replay(checkpoint: Checkpoint, data_dir=None) -> Dataset:
    """The dataset the checkpoint was trained on (MNIST when found through `data_dir`, $PLAYGROUND_DATA_DIR or the
    cache; else the offline sample standing in for it)."""
    from ..data import load_dataset

    name = str(checkpoint.extra.get("dataset") or checkpoint.graph.input_dataset() or "mnist")
    if name == "mnist-sample":
        name = "mnist"
    try:
        return load_dataset(name, data_dir, fallback_to_sample=True)
    except ValueError:  # not an image dataset (2-D points): finetune takes digits only
        raise FinetuneError(f"the checkpoint was trained on {name}; fine-tuning takes image classifiers") from None


def finetune(checkpoint: Checkpoint, own_images: np.ndarray, own_labels: np.ndarray, *,
             freeze_until: str | None = None, replay: Dataset | None = None, data_dir=None,
             held_out_share: float = 0.2, seed: int = 0, device: str = "cpu", epochs: int = EPOCHS,
             oversample_to: int = OVERSAMPLE_TO, replay_share: float = REPLAY_SHARE, lr: float = LR,
             batch_size: int = BATCH_SIZE, optimizer: str = OPTIMIZER, callbacks: Sequence[Callback] = (),
             on_start: Callable[[Trainer, Dataset], None] | None = None) -> FinetuneResult:
    """Fine-tune `checkpoint` on own digits (uint8 [N, 28, 28] or [N, 1, 28, 28], class numbers int64 [N]).

    `callbacks` go to the Trainer's fit; `on_start(trainer, mixed dataset)` is called once the weights are loaded
    and measured, before the first step (the window's run: RunStarted, the stop button).
    Raises FinetuneError when it cannot start (see the module doc), CheckpointError-free: the checkpoint is
    already loaded."""
    start = time.perf_counter()
    images = torch.as_tensor(np.asarray(own_images, dtype=np.uint8))
    if images.dim() == 3:
        images = images.unsqueeze(1)
    labels = torch.as_tensor(np.asarray(own_labels, dtype=np.int64))
    if images.dim() != 4 or images.shape[0] != labels.shape[0]:
        raise FinetuneError("the own digits must be N images of 28×28 with N labels")
    if replay is None:
        replay = default_replay(checkpoint, data_dir)
    if tuple(images.shape[1:]) != tuple(replay.sample_shape):
        raise FinetuneError(f"the own digits are {'×'.join(map(str, images.shape[1:]))}, the network takes "
                            f"{'×'.join(map(str, replay.sample_shape))}")
    classes = tuple(checkpoint.extra.get("classes") or replay.classes)
    if len(images) == 0:
        raise FinetuneError("no digits to learn from")
    if labels.min() < 0 or labels.max() >= len(classes):
        raise FinetuneError(f"labels must be class numbers 0..{len(classes) - 1}")
    if not 0 < held_out_share < 1:
        raise FinetuneError("held_out_share must be between 0 and 1")
    train_idx, held_idx = _split(labels.numpy(), classes, held_out_share, seed)
    if len(held_idx) == 0:
        raise FinetuneError("no digits held out to measure on: each class used needs at least "
                            f"{MIN_PER_CLASS} digits")

    graph = checkpoint.graph.copy()
    frozen = frozen_nodes(graph, freeze_until)
    for nid in frozen:
        graph.nodes[nid].trainable = False

    # The mix: own training digits repeated up to about `oversample_to`, plus a replayed sample.
    g = torch.Generator().manual_seed(seed)
    repeats = max(1, round(oversample_to / max(1, len(train_idx))))
    own_x = images[train_idx].repeat(repeats, 1, 1, 1)
    own_y = labels[train_idx].repeat(repeats)
    n_replay = min(len(replay.train_images), round(len(own_x) * replay_share / (1 - replay_share)))
    pick = torch.randperm(len(replay.train_images), generator=g)[:n_replay]
    mix_x = torch.cat([own_x, replay.train_images[pick]])
    mix_y = torch.cat([own_y, replay.train_labels[pick]])
    mixed = Dataset(replay.name, f"own digits mixed with {replay.name}", mix_x, mix_y,
                    images[held_idx], labels[held_idx], classes=tuple(replay.classes))
    config = TrainConfig(optimizer=optimizer, lr=lr, weight_decay=0.0, batch_size=batch_size, epochs=epochs,
                         schedule="constant", augment="default", seed=seed, device=device, amp=False)
    try:
        trainer = Trainer(graph, config, dataset=mixed)
    except ValueError as exc:
        if "frozen" not in str(exc):
            raise
        raise FinetuneError(f"everything up to {frozen[-1]} stays frozen: nothing is left to train") from None
    trainer.load_weights(checkpoint.state_dict)
    before_weights = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    replay_test = replay.on_device("test", trainer.device)
    eval_kwargs = dict(loss=trainer.loss_kind, num_classes=trainer.num_classes, memory_format=trainer.memory_format)
    own_before = trainer.evaluate("test").accuracy
    replay_before = evaluate(trainer.model, replay_test, **eval_kwargs).accuracy
    predicted_before = _predicted(trainer, images)

    if on_start is not None:
        on_start(trainer, mixed)
    fit = trainer.fit(callbacks=callbacks)
    own_after = trainer.evaluate("test").accuracy
    replay_metrics = evaluate(trainer.model, replay_test, **eval_kwargs)

    after = trainer.state_dict_copy()
    trained = sorted({k.split(".", 1)[0] for k, v in after.items() if not torch.equal(v, before_weights[k].cpu())})
    per_class = {c: 0 for c in classes}
    own_train = dict(per_class)
    own_held = dict(per_class)
    for k in labels[train_idx].tolist():
        own_train[classes[k]] += 1
    for k in labels[held_idx].tolist():
        own_held[classes[k]] += 1
    seconds = time.perf_counter() - start
    result = FinetuneResult(
        checkpoint=Checkpoint(graph=checkpoint.graph.copy(), state_dict=after, optimizer_state=None,
                              config=dict(checkpoint.config), history=dict(checkpoint.history), extra={}),
        own_before=own_before, own_after=own_after, replay_before=replay_before,
        replay_after=replay_metrics.accuracy, replay_dataset=replay.name, seconds=seconds,
        train_seconds=fit.train_seconds, steps=fit.global_step, frozen=frozen, trained=trained,
        own_train=own_train, own_held_out=own_held, status=fit.status,
        held_out=np.isin(np.arange(len(labels)), held_idx), predicted_before=predicted_before,
        predicted_after=_predicted(trainer, images))
    result.checkpoint.extra = {**checkpoint.extra, "test": replay_metrics.to_dict(), "status": result.status,
                               "finetune": result.summary()}
    return result
