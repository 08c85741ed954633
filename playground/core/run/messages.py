"""The run protocol's messages: plain, immutable data (NumPy arrays and CPU tensors), both ways.

From the training process to the app: RunStarted, then Progress, EpochEnded,
WeightsPublished, ParamHistograms, Paused and RunNote in any order (a network
on 2-D points: DecisionFrame too; a GAN run: GanProgress, GanSamples and
GanEpochEnded instead of EpochEnded; a GAN on 2-D points: GanPointsFrame
instead of GanSamples; a fine-tuning run: FinetuneReport just before the
end), and RunFinished always last. Each is built in the
training process from *copies*, crosses the pipe through the one codec
(wire.py) and reaches the GUI thread in one queued signal. Nothing here
refers to the Trainer or to a device tensor, so the app can keep a message as
long as it likes.

From the app to the training process: StartRun once, then RunControls (the
whole wish: paused, stop, histograms) whenever one of them changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class RunStarted:
    """The worker has built the model and put the data on the device; the first step comes next."""

    run_id: int
    name: str  # "Run 3 — mnist-cnn", shown in the run history
    dataset: str  # "mnist" | "fashion-mnist" | "mnist-sample"
    dataset_source: str  # where the data came from, in words
    classes: tuple[str, ...]
    device: str  # "cpu", "cuda:0"
    device_name: str  # "CPU" or the GPU's name
    epochs: int
    first_epoch: int  # 0-based; > 0 when a run continues from a checkpoint
    steps_per_epoch: int
    total_steps: int
    batch_size: int
    # uint8 [N, H, W] for gray images (the canvas's "random test digit"), [N, H, W, 3] for colour ones (an image
    # folder in colour: the Predictions and Confusion views show them in colour); see `arrays_of_test_split`
    test_images: np.ndarray = field(repr=False)
    test_labels: np.ndarray = field(repr=False)  # int64 [N]
    transfer_note: str = ""  # what did not load when the run starts from earlier weights
    task: str = "classification"  # or "generation" (a GAN: GanProgress, GanSamples and GanEpochEnded follow)


@dataclass(frozen=True)
class Progress:
    """Published at most `METRICS_HZ` times a second: every step since the previous one, and where the run is."""

    run_id: int
    epoch: int  # 0-based epoch being trained
    epochs: int
    epoch_step: int  # steps done in this epoch
    steps_per_epoch: int
    global_step: int  # steps done in the whole run
    total_steps: int
    steps: np.ndarray  # int64 [k]: the global step numbers (1-based) of the losses below
    losses: np.ndarray  # float32 [k]: the training loss of each of those steps
    lrs: np.ndarray  # float32 [k]: the learning rate used at each of those steps
    samples_per_second: float  # over the last few seconds of training
    seconds_left: float | None  # None until it can be estimated
    elapsed: float  # seconds of training so far (pauses excluded)
    # The training thread's own clocks, for `playground bench --gui`, which compares the steps timed inside the
    # window's turns with those inside the headless ones (no other process can read a thread's CPU time):
    published_at: float = 0.0  # time.perf_counter() as it published this (a clock the processes share)
    cpu_seconds: float = 0.0  # the training thread's CPU time since the run began (what it did not spend waiting)


@dataclass(frozen=True)
class EpochEnded:
    run_id: int
    epoch: int  # 1-based: the number of epochs done
    global_step: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    lr: float
    samples_per_second: float
    confusion: list[list[int]] | None  # [true][predicted] on the validation split
    # Per example of the validation (= test) split, in the order of RunStarted.test_images:
    predictions: np.ndarray | None = field(default=None, repr=False)  # int64 [N]: the predicted class
    confidences: np.ndarray | None = field(default=None, repr=False)  # float32 [N]: its probability


@dataclass(frozen=True)
class WeightsPublished:
    """A CPU copy of the weights, a few times a second and at the end: for live prediction and for Save Weights."""

    run_id: int
    global_step: int
    graph: Any  # core.graph.Graph: the snapshot the run trains (not the editor's live graph)
    state_dict: dict[str, Any] = field(repr=False)  # name -> CPU torch.Tensor, owned by this message
    dataset: str
    classes: tuple[str, ...]
    config: dict[str, Any] = field(default_factory=dict)
    # History.to_dict(), for checkpoints: only in a run's last weights (it grows with the run); {} before them
    history: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParamHistograms:
    """Per layer with parameters, how its weights and their gradients are spread, at one step of a run.

    Bins are of log10 |value| (fixed `edges`, the same in every message of every run), so a row per
    message stacks into an image over time: gradients drifting left are vanishing, right exploding.
    Exact zeros count in the first bin. Rows are fractions of the layer's values (each sums to 1).
    """

    run_id: int
    global_step: int
    layers: tuple[str, ...]  # node ids, in graph order
    edges: np.ndarray = field(repr=False)  # float32 [B+1]
    weights: np.ndarray = field(repr=False)  # float32 [L, B]
    grads: np.ndarray = field(repr=False)  # float32 [L, B]; NaN rows where a layer has no gradient (frozen)
    weight_rms: np.ndarray = field(repr=False)  # float32 [L]: root mean square of each layer's weights
    grad_rms: np.ndarray = field(repr=False)  # float32 [L]: the same of its gradients (NaN when none)


@dataclass(frozen=True)
class Paused:
    """The run has really paused (True) or gone on (False), between two steps."""

    run_id: int
    paused: bool


@dataclass(frozen=True)
class RunFinished:
    run_id: int
    status: str  # "completed" | "stopped" | "diverged" | "out_of_memory" | "failed"
    message: str  # for a person: empty when it completed, the plain error otherwise
    epochs_completed: int
    global_step: int
    test_accuracy: float | None
    samples_per_second: float
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status in ("completed", "stopped")


@dataclass(frozen=True)
class RunNote:
    """Something a person should know while the run prepares or trains ("training the judge…"), in words."""

    run_id: int
    text: str


# -- 2-D points (task "points"): Progress and EpochEnded as for images, and this many times a second. --------


@dataclass(frozen=True)
class DecisionFrame:
    """What the network computes over the input plane now: the Decision view's surface and every neuron's.

    Grids cover [-extent, extent]² row by row from the top (y = +extent), as core/data/points.py's `grid`.
    """

    run_id: int
    global_step: int
    epoch: int  # 0-based epoch being trained
    extent: float
    output: np.ndarray = field(repr=False)  # float32 [K, R, R]: class probabilities (K classes), or [1, R, R] values
    # node id -> float16 [u, r, r]: the first u (at most MAX_UNIT_MAPS) units of that node's output over the plane,
    # for the Features node, each Dense and each activation after one; with `units_total` their full count.
    units: dict[str, np.ndarray] = field(repr=False)
    units_total: dict[str, int]
    train_loss: float  # over every training point, now
    test_loss: float | None  # over every test point (None when none is held out)


# -- GAN runs (task "generation"). Progress still comes, for the run's position and speed (its `losses` are the
# generator's); EpochEnded does not: GanEpochEnded takes its place. --------------------------------------------


@dataclass(frozen=True)
class GanProgress:
    """Every GAN step since the previous one, sent with each Progress (about ten times a second)."""

    run_id: int
    steps: np.ndarray  # int64 [k]: the global step numbers (1-based; a step = k D-steps + one G-step)
    loss_d: np.ndarray  # float32 [k]: the discriminator's loss
    loss_g: np.ndarray  # float32 [k]: the generator's loss
    d_real: np.ndarray  # float32 [k]: mean D output on real images (P(real); the raw score for least squares)
    d_fake: np.ndarray  # float32 [k]: the same on generated images


@dataclass(frozen=True)
class GanSamples:
    """The generator's images of the run's fixed noise (the same noise all run long), every few seconds and at
    each epoch's end: cells that turn from static into digits. Keep them for a history slider."""

    run_id: int
    global_step: int
    epoch: int  # 0-based epoch being trained
    elapsed: float  # seconds of training so far
    images: np.ndarray = field(repr=False)  # uint8 [64, H, W] ([64, H, W, C] for colour), 0..255


@dataclass(frozen=True)
class GanEpochEnded:
    """A GAN epoch's means, and the judge's verdict on 1,000 samples of fixed noise."""

    run_id: int
    epoch: int  # 1-based: the number of epochs done
    global_step: int
    loss_d: float
    loss_g: float
    d_real: float
    d_fake: float
    steps_per_second: float
    samples_per_second: float  # real images through the discriminator per second
    recognisable: float | None  # share of samples the judge gives one class with probability >= 0.9 (None: no judge)
    classes_covered: int | None  # classes with at least 1% of the samples recognisably theirs
    num_classes: int
    class_counts: tuple[int, ...] = ()  # recognisable samples per class
    mode_collapse: bool = False
    verdict: str = ""  # a plain sentence, "mode collapse: the recognisable samples cover only 3 of 10 classes …"


@dataclass(frozen=True)
class GanPointsFrame:
    """A GAN on 2-D points over the plane now (GAN Lab's picture; core/gan/plane.py), many times a second in place
    of GanSamples. Grids cover [-extent, extent]² row by row from the top (y = +extent), as DecisionFrame's."""

    run_id: int
    global_step: int
    epoch: int  # 0-based epoch being trained
    extent: float
    gan_loss: str  # "non_saturating": `surface` is P(real); "least_squares": D's raw score (1 = real, 0 = fake)
    real: np.ndarray = field(repr=False)  # float32 [n, 2]: the real points (at most plane.REAL_SHOWN of them)
    fake: np.ndarray = field(repr=False)  # float32 [m, 2]: the generator's points of the run's fixed noise
    gradient: np.ndarray = field(repr=False)  # float32 [m, 2]: -∂loss_G/∂fake, where the generator pushes each
    surface: np.ndarray = field(repr=False)  # float32 [R, R]: the discriminator's verdict over the plane
    loss_d: float  # the last step's
    loss_g: float


@dataclass(frozen=True)
class FinetuneReport:
    """A fine-tuning run's outcome (sent just before its RunFinished): what it bought on the person's own digits
    and what it cost on the replayed dataset, and what the network says of each own digit before and after."""

    run_id: int
    status: str  # "completed", or "stopped" (the weights are where it stopped)
    ids: tuple[str, ...]  # the own digits, in the order of the arrays below
    labels: np.ndarray = field(repr=False)  # int64 [N]: each digit's class number
    held_out: np.ndarray = field(repr=False)  # bool [N]: never trained on (the accuracies are measured on these)
    predicted_before: np.ndarray = field(repr=False)  # int64 [N]
    predicted_after: np.ndarray = field(repr=False)  # int64 [N]
    own_before: float  # accuracy on the held-out own digits
    own_after: float
    replay_before: float  # accuracy on the replayed dataset's test split
    replay_after: float
    replay_dataset: str  # the replayed dataset's name ("mnist", "mnist-sample", ...)
    replay_source: str  # where its images came from, in words
    replay_test_size: int  # images in its test split (what replay_before and replay_after count)
    frozen: tuple[str, ...]  # nodes that stayed frozen
    trained: tuple[str, ...]  # nodes whose weights changed
    steps: int
    seconds: float


@dataclass(frozen=True)
class Ready:
    """A training process has imported torch and waits for its run (it may wait as a spare)."""


@dataclass(frozen=True)
class RunControls:
    """What the app wants of the run now; sent whole whenever one part changes, applied between two steps."""

    paused: bool = False
    stop: bool = False
    histograms: bool = False  # ParamHistograms every few seconds (the Histograms view is open)


@dataclass(frozen=True)
class StartRun:
    """The app's one request to a training process."""

    job: Any  # core.run.job.TrainingJob
    controls: RunControls  # as they are when the job is handed over
    environment: dict[str, str]  # the app's PLAYGROUND_* variables now (a spare started before they changed)
    cores: frozenset[int] | None  # the cores the app could use when it started (a spare inherits another thread's)


def arrays_of_test_split(dataset) -> tuple[np.ndarray, np.ndarray]:
    """A dataset's test split as the canvas and the evaluations take it: images uint8 [N, H, W] (gray, one
    channel) or [N, H, W, 3] (colour, channels last: how pictures are drawn), labels int64 [N]. Gray images are
    NumPy views of the dataset's CPU tensors, which are never written to: a safe, free hand-over; colour ones a
    channels-last copy. Points have no images: none (their views draw the points themselves)."""
    if getattr(dataset, "points", None) is not None:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    images, labels = dataset.split("test")
    if images.dim() == 4 and images.shape[1] == 3:
        return np.ascontiguousarray(images.permute(0, 2, 3, 1).numpy()), labels.numpy()
    return images[:, 0].numpy(), labels.numpy()
