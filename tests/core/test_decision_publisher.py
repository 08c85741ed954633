"""The DecisionPublisher's pace: a frame every `interval` from the start of the last one, and the frames' cost kept
within COST_SHARE of the run's time (a clock of its own: no real training, no waiting)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import playground.core.run.decision_publisher as dp


def frame_starts(monkeypatch, cost: float, interval: float, seconds: float, step: float = 0.002) -> list[float]:
    clock = [0.0]
    monkeypatch.setattr(dp.time, "perf_counter", lambda: clock[0])
    starts = []

    class Surface:
        def frame(self, train, test):
            starts.append(clock[0])
            clock[0] += cost
            return np.zeros((2, 4, 4), np.float32), {}, {}, 0.5, None

    sent = []
    publisher = dp.DecisionPublisher(sent.append, SimpleNamespace(run_id=1), interval=interval)
    publisher.surface = Surface()
    trainer = SimpleNamespace(train_data=None, test_data=None)
    while clock[0] < seconds:
        clock[0] += step  # a training step
        publisher.on_step_end(trainer, SimpleNamespace(global_step=1, epoch=0))
    assert len(sent) == len(starts) == publisher.frames
    return starts


def test_cheap_frames_come_every_interval_from_the_start_of_the_last(monkeypatch):
    starts = frame_starts(monkeypatch, cost=0.005, interval=1 / 30, seconds=2.0)  # under a fifth of the interval
    gaps = np.diff(starts)
    # Not 1 / (interval + cost): 30 frames a second, give or take a step.
    assert gaps.min() >= 1 / 30 and gaps.max() <= 1 / 30 + 0.002 + 1e-9
    assert len(starts) >= 58


def test_costly_frames_take_at_most_their_share_of_the_time(monkeypatch):
    starts = frame_starts(monkeypatch, cost=0.02, interval=1 / 30, seconds=2.0)
    gaps = np.diff(starts)
    # Every 0.1 s (give or take a step): a fifth of the time making frames, no more.
    assert gaps.min() >= 0.02 / dp.COST_SHARE - 1e-9 and gaps.max() <= 0.1 + 0.002 + 1e-9
    assert 0.02 * (len(starts) - 1) / (starts[-1] - starts[0]) == pytest.approx(dp.COST_SHARE, rel=0.02)
