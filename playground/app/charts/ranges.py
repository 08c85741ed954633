"""The plots' view ranges, chosen here rather than by pyqtgraph's auto-range, so that they stay still during a run.

pyqtgraph's auto-range refits every view to its data after each update. While a
run trains the x range then grows at every repaint, and every axis regenerates
its ticks and labels each time: the largest Python cost of a live repaint, paid
on the GUI thread, on the core the window keeps while a run trains. So:

* x: while a run trains and its length is known, the view is [0, total steps]
  from the start and does not move; when the length is unknown it grows in
  steps with headroom; once no run trains it fits the data.
* y: hysteresis. The view expands at once (with headroom) when data leaves it,
  and shrinks only when the data's span has become much smaller than the view's
  (`SHRINK_BELOW`); bounds snap to round values, and a quantity that cannot be
  negative is shown from zero once it comes near it.

All in view coordinates (log10 of the data on a log axis). No Qt here.
"""

from __future__ import annotations

import math

import numpy as np

Range = tuple[float, float]

Y_PADDING = 0.03  # of the data's span, each side, before snapping
X_PADDING = (0.02, 0.04)  # of the x span, left and right: room for the label of a tick at the last step
HEADROOM = 0.4  # extra room, as a fraction of the data's fitted span, on the side where the data left the view
ANCHOR = 0.5  # data closer to its floor (zero) or ceiling (100%) than this fraction of its span is shown up to it
X_HEADROOM = 0.25  # a live run of unknown length: room for this fraction more steps
SHRINK_BELOW = 0.6  # shrink once the data spans less than this fraction of the view
DIVISIONS = 12  # bounds snap to multiples of a round step of about span / DIVISIONS


def nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k that is at least `raw` (> 0)."""
    exponent = math.floor(math.log10(raw))
    scale = 10.0**exponent
    for mantissa in (1.0, 2.0, 2.5, 5.0):
        if raw <= mantissa * scale * (1 + 1e-9):
            return mantissa * scale
    return 10.0 * scale


def _widen(lo: float, hi: float) -> Range:
    """A range around a single value (a constant learning rate, one point) so that it can be shown at all."""
    if hi - lo > 1e-12 * max(1.0, abs(lo), abs(hi)):
        return lo, hi
    half = 0.1 * abs(lo) if lo != 0 else 0.5
    return lo - half, hi + half


def fit(lo: float, hi: float, floor: float | None = None, ceiling: float | None = None,
        anchor: float = ANCHOR) -> tuple[Range, float]:
    """The tight view of data in [lo, hi]: padded and snapped outwards to multiples of a round step.

    `floor`/`ceiling`: values the quantity cannot pass (0 for a loss or a learning rate, 100 for an accuracy in
    percent); the view stops just beyond them, and data that comes within `anchor` of its span of one is shown
    up to it (a loss falling towards 0 or an accuracy rising towards 100% then no longer moves the view at every
    repaint; `anchor=1` always shows the floor). Returns the range and the step it snapped to.
    """
    if floor is not None and lo - floor <= anchor * (hi - floor):
        lo = floor
    if ceiling is not None and ceiling - hi <= anchor * (ceiling - lo):
        hi = ceiling
    lo, hi = _widen(lo, hi)
    span = hi - lo
    pad = Y_PADDING * span
    step = nice_step((span + 2 * pad) / DIVISIONS)
    start = math.floor((lo - pad) / step) * step
    end = math.ceil((hi + pad) / step) * step
    start, end = _limit(start, end, pad, floor, ceiling)
    return (_tidy(start, step), _tidy(end, step)), step


def _limit(start: float, end: float, pad: float, floor: float | None, ceiling: float | None) -> Range:
    if floor is not None:
        start = max(start, floor - pad)
    if ceiling is not None:
        end = min(end, ceiling + pad)
    return start, end


def _tidy(value: float, step: float) -> float:
    """1.2000000000000002 -> 1.2: the bounds are compared for equality."""
    places = max(0, -math.floor(math.log10(step)) + 2)
    return round(value, places)


def y_range(current: Range | None, lo: float, hi: float,
            floor: float | None = None, ceiling: float | None = None, anchor: float = ANCHOR) -> Range:
    """The y view for data spanning [lo, hi], given the view now (None: fit afresh). Returns `current` if it stays.

    Data leaving the view expands it at once, with `HEADROOM` more room on the side(s) it left through; the view
    shrinks back to the tight fit only when that is less than `SHRINK_BELOW` of the view. (Expanded on one side,
    a view is at most ~1.57 times the tight fit, so an expansion does not turn into a shrink at the next repaint.)
    """
    (t0, t1), step = fit(lo, hi, floor, ceiling, anchor)
    if current is None:
        return t0, t1
    v0, v1 = current
    if lo < v0 or hi > v1:
        extra = math.ceil(HEADROOM * (t1 - t0) / step) * step  # on the same grid: the bounds stay round
        start, end = _limit(t0 - extra if lo < v0 else t0, t1 + extra if hi > v1 else t1,
                            Y_PADDING * (t1 - t0), floor, ceiling)
        return _tidy(min(start, t0), step), _tidy(max(end, t1), step)
    if t1 - t0 < SHRINK_BELOW * (v1 - v0):
        return t0, t1
    return current


def x_padded(lo: float, hi: float) -> Range:
    lo, hi = _widen(lo, hi)
    return lo - X_PADDING[0] * (hi - lo), hi + X_PADDING[1] * (hi - lo)


def x_live_end(last_step: float) -> float:
    """Where the x view ends while a run of unknown length trains and has reached `last_step`."""
    if last_step <= 0:
        return 1.0
    wanted = last_step * (1 + X_HEADROOM)
    step = nice_step(wanted / DIVISIONS)
    return math.ceil(wanted / step) * step


class RunningBounds:
    """Min and max of the finite values of a growing column, and its smallest positive value (for a log axis).

    `update` looks only at the values appended since the last call; `reset` after the column is rewritten.
    """

    __slots__ = ("hi", "lo", "lo_pos", "n")

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.n = 0
        self.lo = math.inf
        self.hi = -math.inf
        self.lo_pos = math.inf

    def update(self, values: np.ndarray) -> bool:
        """Take in the values appended since the last call. Returns True if the bounds changed."""
        if len(values) < self.n:
            self.reset()
        tail = values[self.n :]
        self.n = len(values)
        if not len(tail):
            return False
        finite = tail[np.isfinite(tail)]
        if not len(finite):
            return False
        before = (self.lo, self.hi, self.lo_pos)
        self.lo = min(self.lo, float(finite.min()))
        self.hi = max(self.hi, float(finite.max()))
        if self.lo > 0:
            self.lo_pos = min(self.lo_pos, self.lo)
        else:
            positive = finite[finite > 0]
            if len(positive):
                self.lo_pos = min(self.lo_pos, float(positive.min()))
        return (self.lo, self.hi, self.lo_pos) != before

    def get(self, log: bool = False) -> Range | None:
        """(min, max) in view coordinates, None when there is no value to show."""
        if log:
            if not math.isfinite(self.lo_pos):
                return None
            return math.log10(self.lo_pos), math.log10(self.hi)
        if not math.isfinite(self.lo):
            return None
        return self.lo, self.hi


def bounds_of(values: np.ndarray, log: bool = False) -> Range | None:
    """Bounds of a handful of values (the per-epoch points) in one go."""
    bounds = RunningBounds()
    bounds.update(np.asarray(values, dtype=np.float64))
    return bounds.get(log)


def union(ranges) -> Range | None:
    ranges = [r for r in ranges if r is not None]
    if not ranges:
        return None
    return min(r[0] for r in ranges), max(r[1] for r in ranges)
