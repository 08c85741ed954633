"""The judge: a frozen digit classifier that says whether a GAN's samples look like the data.

After each epoch it classifies 1,000 samples from fixed noise:
- recognisable: the share it assigns to one class with probability ≥ 0.9;
- class coverage: how many classes at least 1% of the samples are recognisably of. A generator whose
  recognisable samples cover few classes has collapsed onto a few modes ("mode collapse").

The judge is the mnist-cnn preset trained by the ordinary Trainer on the same
dataset, once, and cached in the user's cache folder (retrained when missing or
unreadable). One change to its recipe: classifiers are confidently wrong on
things that are not digits at all (a softmax must pick a class: this one
called uniform noise an 8 with 99.9% certainty), and an untrained generator
makes exactly such noise. So each training batch also carries junk images
(noise, speckle, blobs, scrambled digits) whose target is "no
class", the uniform distribution (outlier exposure, Hendrycks et al. 2019): the
judge learns to be unsure of them, and only samples that look like a class
pass the 0.9 bar.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..data import Dataset, cache_root
from ..graph import load_graph
from ..train import CheckpointError, TrainConfig, Trainer, load_checkpoint
from ..train.inference import model_from_checkpoint

JUDGE_VERSION = 3  # part of the cache key: a change of recipe retrains
CONFIDENCE = 0.9  # a sample is recognisable when the judge gives one class at least this probability
COVERAGE_SHARE = 0.01  # a class is covered when at least this share of the samples is recognisably of it
COLLAPSE_COVERAGE = 0.7  # fewer classes than this share covered, with samples recognisable: mode collapse
COLLAPSE_MIN_RECOGNISABLE = 0.1
JUDGED_SAMPLES = 1000
JUNK_SHARE = 0.25  # junk images per training batch, as a share of the real ones
JUNK_WEIGHT = 0.3  # weight of their loss (cross-entropy against the uniform distribution)


@dataclass(frozen=True)
class JudgeRecipe:
    """How the judge is trained; every field is part of its cache key."""

    preset: str = "mnist-cnn"
    epochs: int = 4
    batch_size: int = 128
    seed: int = 0
    max_train_images: int = 0  # 0: all of them (tests use fewer)


@dataclass
class JudgeReport:
    """What the judge made of a batch of samples."""

    samples: int
    recognisable: float  # share of the samples with one class at probability ≥ CONFIDENCE
    classes_covered: int  # classes with at least COVERAGE_SHARE of the samples recognisably theirs
    num_classes: int
    class_counts: list[int] = field(default_factory=list)  # recognisable samples per class
    mode_collapse: bool = False
    verdict: str = ""  # one plain sentence: "mode collapse: …", or how it looks

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def verdict(recognisable: float, covered: int, num_classes: int) -> tuple[bool, str]:
    share = f"{recognisable:.0%} of the samples are recognisable"
    if recognisable >= COLLAPSE_MIN_RECOGNISABLE and covered < COLLAPSE_COVERAGE * num_classes:
        return True, (f"mode collapse: the recognisable samples cover only {covered} of {num_classes} classes "
                      f"({share})")
    return False, f"{share}, covering {covered} of {num_classes} classes"


# -- junk: what the judge must not call a digit ---------------------------------------------


def junk_images(real: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """As many junk images as `real` (0..255 float [N, 1, H, W], on its device): uniform noise, sparse speckle,
    smooth blobs, pixel-scrambled digits and patch-scrambled digits, in equal parts."""
    n, c, h, w = real.shape
    device = real.device

    def rand(*shape):
        return torch.rand(*shape, generator=generator, device="cpu").to(device)

    kinds = torch.arange(n) % 5
    out = torch.empty_like(real)
    noise = rand(n, c, h, w) * 255
    speckle = (rand(n, c, h, w) < rand(n, 1, 1, 1) * 0.3).float() * 255
    coarse = F.interpolate(rand(n, c, h // 4, w // 4), size=(h, w), mode="bilinear", align_corners=False)
    blobs = (coarse > 0.5 + 0.3 * rand(n, 1, 1, 1)).float() * 255
    scrambled = real.flatten(1)[:, torch.randperm(c * h * w, generator=generator).to(device)].view_as(real)
    patches = real.unfold(2, 7, 7).unfold(3, 7, 7) if h % 7 == 0 and w % 7 == 0 else None
    if patches is not None:  # [N, C, h/7, w/7, 7, 7]: shuffle the tiles
        ph, pw = patches.shape[2], patches.shape[3]
        order = torch.randperm(ph * pw, generator=generator).to(device)
        tiles = patches.reshape(n, c, ph * pw, 7, 7)[:, :, order].reshape(n, c, ph, pw, 7, 7)
        tiled = tiles.permute(0, 1, 2, 4, 3, 5).reshape(n, c, h, w)
    else:
        tiled = scrambled
    for k, images in enumerate((noise, speckle, blobs, scrambled, tiled)):
        chosen = kinds == k
        out[chosen.to(device)] = images[chosen.to(device)]
    return out


class _JudgeTrainer(Trainer):
    """The Trainer, with junk images mixed into every batch and trained towards "no class"."""

    def _train_step(self, x, y):
        pixels = self.normalization.invert(x.detach())
        junk = self.normalization.unit(junk_images(pixels[: max(1, int(len(x) * JUNK_SHARE))]) / 255.0)
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp):
            logits = self.model(torch.cat([x, junk.contiguous(memory_format=self.memory_format)]))
        logits = logits.float()
        real, fake = logits[: len(x)], logits[len(x):]
        loss = F.cross_entropy(real, y) - JUNK_WEIGHT * F.log_softmax(fake, dim=1).mean()
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        nn.utils.clip_grad_norm_(self._clip_params, self.config.grad_clip, foreach=True)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return real.detach(), loss.detach()


# -- the judge --------------------------------------------------------------------------------


def judge_cache_dir() -> Path:
    return cache_root() / "gan-judges"


def _fingerprint(dataset: Dataset, recipe: JudgeRecipe) -> str:
    h = hashlib.blake2b(digest_size=8)
    h.update(repr((JUDGE_VERSION, dataset.name, tuple(dataset.train_images.shape), recipe)).encode())
    h.update(dataset.train_labels.numpy().tobytes())
    h.update(dataset.train_images.numpy().tobytes())
    return h.hexdigest()


def judge_path(dataset: Dataset, recipe: JudgeRecipe = JudgeRecipe()) -> Path:
    return judge_cache_dir() / f"{dataset.name}-{recipe.preset}-{_fingerprint(dataset, recipe)}.ckpt"


class Judge:
    """A frozen classifier that judges raw-pixel samples (0..255)."""

    def __init__(self, model: nn.Module, dataset: Dataset, source: str):
        self.model = model.eval().requires_grad_(False)
        self.normalization = dataset.normalization
        self.classes = tuple(dataset.classes)
        self.source = source  # where it came from, in words
        self.device = next(model.parameters()).device

    @classmethod
    def load_or_train(cls, dataset: Dataset, device: str | torch.device = "cpu", recipe: JudgeRecipe = JudgeRecipe(),
                      say: Callable[[str], None] | None = None) -> Judge:
        """The cached judge of `dataset`, or a new one trained now (tens of seconds on a CPU) and cached."""
        path = judge_path(dataset, recipe)
        if path.is_file():
            try:
                model = model_from_checkpoint(load_checkpoint(path), device, source=str(path))
                return cls(model, dataset, f"judge from cache {path}")
            except CheckpointError as exc:
                if say:
                    say(f"the cached judge is unreadable ({exc}); training a new one")
        if say:
            say(f"training the judge (a {recipe.preset} classifier of {dataset.name}, {recipe.epochs} epochs); "
                f"it is cached in {path.parent}")
        model = train_judge(dataset, device, recipe, path)
        return cls(model, dataset, f"judge trained now, cached in {path}")

    def probabilities(self, pixels: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
        """Class probabilities [N, classes] (on the judge's device) of 0..255 float images [N, C, H, W]."""
        out = []
        with torch.no_grad():
            for chunk in pixels.split(batch_size):
                out.append(self.model(self.normalization(chunk.to(self.device))).float().softmax(dim=1))
        return torch.cat(out)

    def judge(self, pixels: torch.Tensor) -> JudgeReport:
        """Judge 0..255 images [N, C, H, W] (any device)."""
        probs = self.probabilities(pixels)
        confidence, predicted = probs.max(dim=1)
        ok = confidence >= CONFIDENCE
        counts = torch.bincount(predicted[ok], minlength=len(self.classes)).cpu()
        n = len(pixels)
        recognisable = float(ok.float().mean()) if n else 0.0
        covered = int((counts >= max(1, round(COVERAGE_SHARE * n))).sum())
        collapse, words = verdict(recognisable, covered, len(self.classes))
        return JudgeReport(samples=n, recognisable=recognisable, classes_covered=covered,
                           num_classes=len(self.classes), class_counts=counts.tolist(), mode_collapse=collapse,
                           verdict=words)


def train_judge(dataset: Dataset, device: str | torch.device, recipe: JudgeRecipe, path: Path | None) -> nn.Module:
    """Train the judge with the Trainer (plus junk) and, when `path` is given, cache it there atomically."""
    if recipe.max_train_images and len(dataset.train_labels) > recipe.max_train_images:
        m = recipe.max_train_images
        dataset = dataclasses.replace(dataset, train_images=dataset.train_images[:m],
                                      train_labels=dataset.train_labels[:m])
    graph = load_graph(f"preset:{recipe.preset}")
    (input_node,) = graph.nodes_of_kind("input")
    input_node.params["dataset"] = dataset.name
    config = TrainConfig(epochs=recipe.epochs, batch_size=recipe.batch_size, seed=recipe.seed, device=str(device),
                         dataset=dataset.name)
    with torch.random.fork_rng(devices=[]):  # the GAN's own random numbers stay as they were
        trainer = _JudgeTrainer(graph, config, dataset=dataset)
        result = trainer.fit()
    if path is not None and result.status == "completed":  # only a whole judge is cached (atomically)
        path.parent.mkdir(parents=True, exist_ok=True)
        trainer.save_checkpoint(path, status="completed")
    return trainer.model.eval()
