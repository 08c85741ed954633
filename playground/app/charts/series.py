"""What the charts remember about each run: growable numpy buffers, no Qt.

`add_steps` is called about ten times a second with a batch of steps; appending
must stay cheap however long the run gets, so each column is a preallocated
array whose capacity doubles when full (amortised O(1) per step), and the plots
are handed views of the filled part. A view taken before a reallocation keeps the
old array alive and unchanged, so a plot never sees a buffer change under it.

A run keeps at most MAX_POINTS points per column, however long it trains: when it
has more, older points are thinned to half, keeping from each four the lowest and
the highest loss (`envelope_keep`), until a quarter of the cap is free. Each point
knows how often it was thinned (its level); the points thinned are those of the
lowest levels, newest first but never the last MAX_POINTS // 8 steps, so the
history ends up at an even resolution (every part of the run keeps its share of
points) rather than the oldest steps fading away. The steps kept are real steps,
with their own loss, learning rate and smoothed value; the curve's envelope (its
minimum and maximum) is kept exactly, and recent steps keep full resolution.
Memory: 25 bytes a point (int64 step, float32 loss and lr, float64 smoothed, uint8
level), at most 131,072 allocated: about 3.3 MB a run (docs/performance.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .smoothing import EmaState, debiased_ema

LIVE = "running"
MAX_POINTS = 100_000  # points a run keeps per column; beyond it the oldest half is thinned (see above)


def envelope_keep(values: np.ndarray) -> np.ndarray:
    """Indices (increasing) that keep, of each group of four consecutive values, the lowest and the highest
    (non-finite values count as neither unless the whole group is); len(values) must be a multiple of 4."""
    groups = values.reshape(-1, 4)
    finite = np.isfinite(groups)
    low = np.argmin(np.where(finite, groups, np.inf), axis=1)
    high = np.argmax(np.where(finite, groups, -np.inf), axis=1)
    same = low == high  # a flat group, or one with a single finite value: keep it and the group's last
    high = np.where(same, np.where(low == 3, 0, 3), high)
    first, second = np.minimum(low, high), np.maximum(low, high)
    base = np.arange(len(groups)) * 4
    return np.column_stack([base + first, base + second]).reshape(-1)


class GrowableArray:
    """A 1-D numpy array that can be appended to; `view` is the filled part."""

    def __init__(self, dtype, capacity: int = 1024):
        self._data = np.empty(max(1, capacity), dtype=dtype)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def capacity(self) -> int:
        return len(self._data)

    @property
    def view(self) -> np.ndarray:
        return self._data[: self._size]

    def extend(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=self._data.dtype).reshape(-1)
        end = self._size + len(values)
        if end > len(self._data):
            capacity = len(self._data)
            while capacity < end:
                capacity *= 2
            grown = np.empty(capacity, dtype=self._data.dtype)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size : end] = values
        self._size = end

    def replace(self, values: np.ndarray) -> None:
        """Hold `values` instead, in a new buffer of the same capacity (views taken before keep the old one)."""
        data = np.empty(max(len(self._data), len(values)), dtype=self._data.dtype)
        data[: len(values)] = values
        self._data, self._size = data, len(values)

    def write(self, start: int, values: np.ndarray) -> None:
        """Overwrite from `start` (used to recompute the smoothing in place)."""
        self._data[start : start + len(values)] = values


@dataclass(frozen=True)
class EpochRecord:
    epoch: int  # 1-based: epochs done
    step: int  # global step at the end of the epoch
    train_loss: float
    train_accuracy: float  # 0..1
    val_loss: float | None
    val_accuracy: float | None  # 0..1
    lr: float


@dataclass(eq=False)
class RunSeries:
    """One training run as the charts hold it. `steps`, `losses`, `lrs`, `smoothed` are read-only views."""

    id: int
    name: str
    steps_per_epoch: int
    colour_index: int
    visible: bool = True
    status: str = LIVE
    paused: bool = False  # a live run that the person paused
    epochs: list[EpochRecord] = field(default_factory=list)
    _steps: GrowableArray = field(default_factory=lambda: GrowableArray(np.int64), repr=False)
    _losses: GrowableArray = field(default_factory=lambda: GrowableArray(np.float32), repr=False)
    _lrs: GrowableArray = field(default_factory=lambda: GrowableArray(np.float32), repr=False)
    _smoothed: GrowableArray = field(default_factory=lambda: GrowableArray(np.float64), repr=False)
    _ema: EmaState = field(default_factory=EmaState, repr=False)
    _levels: GrowableArray = field(default_factory=lambda: GrowableArray(np.uint8), repr=False)  # thinned how often
    max_points: int = MAX_POINTS
    compactions: int = 0  # how many times the oldest steps were thinned (the plots then redraw in full)

    @property
    def live(self) -> bool:
        return self.status == LIVE

    @property
    def steps(self) -> np.ndarray:
        return _readonly(self._steps.view)

    @property
    def losses(self) -> np.ndarray:
        return _readonly(self._losses.view)

    @property
    def lrs(self) -> np.ndarray:
        return _readonly(self._lrs.view)

    @property
    def smoothed(self) -> np.ndarray:
        """The debiased EMA of `losses` (NaN where the loss was not finite), for the current smoothing weight."""
        return _readonly(self._smoothed.view)

    @property
    def last_step(self) -> int:
        return int(self._steps.view[-1]) if len(self._steps) else 0

    def append_steps(self, steps: np.ndarray, losses: np.ndarray, lrs: np.ndarray, weight: float) -> None:
        """Append a batch (steps increasing); only the new points are smoothed, continuing from the EMA state."""
        steps, losses, lrs = (np.asarray(a).reshape(-1) for a in (steps, losses, lrs))
        if not len(steps) == len(losses) == len(lrs):
            raise ValueError(f"steps, losses and lrs differ in length: {len(steps)}, {len(losses)}, {len(lrs)}")
        if len(steps) and len(self._steps) and steps[0] <= self._steps.view[-1]:
            # Steps must increase (clip-to-view and the readout search them): drop repeats of steps we have.
            keep = steps > self._steps.view[-1]
            steps, losses, lrs = steps[keep], losses[keep], lrs[keep]
        if len(steps) == 0:
            return
        self._steps.extend(steps)
        self._losses.extend(losses)
        self._lrs.extend(lrs)
        smoothed, self._ema = debiased_ema(losses, weight, self._ema)
        self._smoothed.extend(smoothed)
        self._levels.extend(np.zeros(len(steps), np.uint8))
        if len(self._steps) > self.max_points:
            self._compact()

    def _compact(self) -> None:
        """Thin the points of the lowest levels (levels never increase along the run) to half, keeping each four's
        lowest and highest loss, until a quarter of the cap is free; the newest MAX_POINTS // 8 are left alone."""
        n = len(self._steps)
        tail = n - self.max_points // 8
        to_free = n - self.max_points * 3 // 4
        levels = self._levels.view[:tail]
        for level in range(int(levels.max()) + 1):
            start = int(np.argmax(levels <= level))  # the first point at this level or below
            if (tail - start) // 2 >= to_free:
                break
        else:
            start = 0
        end = start + (tail - start) // 4 * 4
        thinned = start + envelope_keep(self._losses.view[start:end])
        keep = np.concatenate([np.arange(start), thinned, np.arange(end, n)])
        levels = self._levels.view.copy()
        levels[thinned] += 1
        self._levels.replace(levels[keep])
        for column in (self._steps, self._losses, self._lrs, self._smoothed):
            column.replace(column.view[keep])
        self.compactions += 1

    def resmooth(self, weight: float) -> None:
        """Recompute the whole smoothed line (the slider moved). Where steps were thinned, the weight applies per
        point kept, not per step."""
        smoothed, self._ema = debiased_ema(self._losses.view, weight)
        self._smoothed.write(0, smoothed)

    def epoch_arrays(self) -> dict[str, np.ndarray]:
        """Per-epoch columns (a handful of points: rebuilt on demand). Missing validation values are NaN."""
        records = self.epochs

        def column(get) -> np.ndarray:
            return np.array([np.nan if get(r) is None else get(r) for r in records], dtype=np.float64)

        return {
            "step": np.array([r.step for r in records], dtype=np.float64),
            "epoch": np.array([r.epoch for r in records], dtype=np.float64),
            "train_loss": column(lambda r: r.train_loss),
            "train_accuracy": column(lambda r: r.train_accuracy),
            "val_loss": column(lambda r: r.val_loss),
            "val_accuracy": column(lambda r: r.val_accuracy),
            "lr": column(lambda r: r.lr),
        }

    def index_at(self, step: float) -> int | None:
        """The index of the recorded step nearest to `step` (for the hover readout), None if there is none."""
        steps = self._steps.view
        if not len(steps):
            return None
        i = int(np.searchsorted(steps, step))
        if i == len(steps) or (i > 0 and step - steps[i - 1] <= steps[i] - step):
            i -= 1
        return i

    def epoch_at(self, step: float) -> EpochRecord | None:
        """The last epoch that had ended by `step`."""
        done = [r for r in self.epochs if r.step <= step]
        return done[-1] if done else None


def _readonly(a: np.ndarray) -> np.ndarray:
    v = a.view()
    v.flags.writeable = False
    return v
