"""TensorBoard's loss smoothing: a debiased exponential moving average, computed incrementally.

TensorBoard starts the average at 0 and divides by ``1 - w**n`` (n = points seen so
far), so the first smoothed values are not dragged towards zero; non-finite values
are skipped (they neither update the average nor count). We do the same, but return
NaN at non-finite points so the plot shows a gap there.

The recurrence ``x[i] = w*x[i-1] + (1-w)*y[i]`` is sequential; a Python loop over
50,000 points takes tens of milliseconds, too long for the GUI thread when the
smoothing slider moves. :func:`linear_ema` evaluates it with numpy in blocks:
inside a block the recurrence is a scaled cumulative sum, and only one carry per
block is propagated in Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Inside a block the terms are scaled by w**-k; keep that below 1e100 so float64 never overflows
# (float32 losses are < 3.4e38) and the carry loop stays short.
_MAX_SCALE_DECADES = 100.0
_MAX_BLOCK = 4096


@dataclass
class EmaState:
    """Where the running average stands: carried from one batch of steps to the next."""

    last: float = 0.0  # the biased average (TensorBoard's `last`)
    count: int = 0  # finite points averaged so far


def _block_size(weight: float) -> int:
    return max(1, min(_MAX_BLOCK, int(_MAX_SCALE_DECADES / -math.log10(weight))))


def linear_ema(y: np.ndarray, weight: float, start: float = 0.0) -> np.ndarray:
    """``x[i] = weight*x[i-1] + (1-weight)*y[i]`` with ``x[-1] = start``, vectorised (float64)."""
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    if n == 0:
        return y.copy()
    if weight <= 0.0:
        return y.copy()
    c = min(_block_size(weight), n)
    m = -(-n // c)  # blocks
    padded = np.zeros(m * c)
    padded[:n] = y
    blocks = padded.reshape(m, c)
    k = np.arange(c)
    up = weight ** -k.astype(np.float64)  # w**-k, at most 1e100
    down = weight ** (k + 1.0)  # w**(k+1): how much of the block's incoming carry survives at k
    # Each block as if it started from zero: x[k] = (1-w) * w**k * sum_{i<=k} w**-i * y[i].
    local = np.cumsum(blocks * ((1.0 - weight) * up), axis=1) * (down / weight)
    # Carry the state across blocks (one Python step per block: a few hundred at most).
    carries = np.empty(m)
    carry, decay = float(start), weight**c
    ends = local[:, -1]
    for j in range(m):
        carries[j] = carry
        carry = decay * carry + ends[j]
    out = local + carries[:, None] * down
    return out.reshape(-1)[:n]


def debiased_ema(values: np.ndarray, weight: float, state: EmaState | None = None) -> tuple[np.ndarray, EmaState]:
    """Smooth `values` continuing from `state`; returns (smoothed float64 with NaN at non-finite inputs, new state)."""
    state = state or EmaState()
    values = np.asarray(values)
    finite = np.isfinite(values)
    all_finite = bool(finite.all())  # the usual case: skip the masking
    y = values.astype(np.float64) if all_finite else values[finite].astype(np.float64)
    if len(y) == 0:
        return np.full(len(values), np.nan), EmaState(state.last, state.count)
    raw = linear_ema(y, weight, state.last)
    smoothed = raw.copy()
    if weight > 0.0:
        # 1 - w**n is 1.0 in float64 once w**n < 1e-17: only the first few points need debiasing (pow is slow).
        settled = math.ceil(-17.0 / math.log10(weight))
        todo = max(0, min(len(y), settled - state.count))
        if todo:
            counts = state.count + np.arange(1, todo + 1, dtype=np.float64)
            smoothed[:todo] /= 1.0 - weight**counts
    if all_finite:
        return smoothed, EmaState(float(raw[-1]), state.count + len(y))
    out = np.full(len(values), np.nan)
    out[finite] = smoothed
    return out, EmaState(float(raw[-1]), state.count + len(y))


def reference_debiased_ema(values, weight: float) -> list[float]:
    """TensorBoard's loop, written plainly (slow): the tests compare against it."""
    last, count, out = 0.0, 0, []
    for v in values:
        v = float(v)
        if not math.isfinite(v):
            out.append(math.nan)
            continue
        last = last * weight + (1.0 - weight) * v
        count += 1
        out.append(last / (1.0 - weight**count) if weight > 0.0 else last)
    return out
