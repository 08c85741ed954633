"""`playground bench --gui`: what the window costs while it trains, against the same run headless.

It opens the real main window offscreen on `mnist-cnn`, starts training from
the Training panel's Start path with a fixed budget of steps, and meanwhile:
- the charts and the panel follow the run (as they do for a person),
- every view that looks inside the network is open and streaming (each dock
  floated, so that all are in sight at once): activations, saliency, weights,
  histograms, confusion matrix and predictions,
- a synthetic stroke is drawn on the digit canvas (mouse events at 60 Hz), so
  live prediction runs all the time,
- a 1 ms precise QTimer probes the GUI thread: its lateness is how long the
  event loop was unable to react (p99 is the figure a person feels).
The same training (same graph, settings, data, torch threads, number of steps
and training cores) runs headless, with a bare Trainer on a thread of its own.

The two runs take turns, CHUNK_SECONDS at a time: the window's run trains with
everything live while the headless one is paused, then the window's run is
paused and the GUI thread blocked while the headless one trains. Each side's
samples/s counts only its own training time. On a shared machine the speed of a
core drifts by 10-20% over a minute, so runs one after the other (headless,
window, headless) measure the drift as much as the window's cost; runs in turns
see the same drift. A short warm-up run first keeps one-off costs (allocator,
oneDNN kernel choice) out of every figure.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
import time

import numpy as np

GUI_TARGET_RATIO = 0.95
EVENT_LOOP_TARGET_MS = 16.0
PREDICT_TARGET_MS = 16.0
STROKE_HZ = 60
CHUNK_SECONDS = 2.5  # each side's turn: long against a pause and resume (~ms), short against the machine's drift
SETTLE_SECONDS = 0.1  # after the window's run pauses, for the predictions and views in flight to finish


def _percentile(values, q: float) -> float | None:
    return round(float(np.percentile(np.asarray(values, dtype=np.float64), q)), 3) if len(values) else None


def _stroke_points(n: int = 48) -> list[tuple[float, float]]:
    """A '2'-like path in unit coordinates: an arc over the top, a diagonal, a base line."""
    points = []
    for t in np.linspace(0, 1, n):
        if t < 0.45:
            a = math.pi * (1.1 - 1.2 * t / 0.45)
            points.append((0.5 + 0.22 * math.cos(a), 0.33 - 0.18 * math.sin(a)))
        elif t < 0.8:
            u = (t - 0.45) / 0.35
            points.append((0.68 - 0.4 * u, 0.4 + 0.38 * u))
        else:
            u = (t - 0.8) / 0.2
            points.append((0.28 + 0.46 * u, 0.78))
    return points


class _StrokeDriver:
    """Draws the stroke over and over with real mouse events, clearing the canvas between strokes.

    The events are made once and sent again each time (the canvas does not move during the bench): a
    person's mouse costs the window no Python to make its events, so making them should not count either.
    """

    def __init__(self, canvas):
        from PySide6.QtCore import QTimer

        self.canvas = canvas
        self.points = _stroke_points()
        self.index = 0
        self.events = 0
        self._made: dict[tuple, object] = {}
        self.timer = QTimer(interval=round(1000 / STROKE_HZ))
        self.timer.timeout.connect(self._tick)

    def _event(self, kind, x: float, y: float):
        from PySide6.QtCore import QPointF, Qt
        from PySide6.QtGui import QMouseEvent

        square = self.canvas.square()  # the drawing area inside the widget
        key = (kind, x, y, square.x(), square.y(), square.width(), square.height())
        if (event := self._made.get(key)) is None:
            pos = QPointF(square.x() + x * square.width(), square.y() + y * square.height())
            left = Qt.MouseButton.LeftButton
            held = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseButtonRelease else left
            button = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseMove else left
            event = self._made[key] = QMouseEvent(kind, pos, self.canvas.mapToGlobal(pos), button, held,
                                                  Qt.KeyboardModifier.NoModifier)
        return event

    def _send(self, kind, x: float, y: float) -> None:
        from PySide6.QtWidgets import QApplication

        QApplication.sendEvent(self.canvas, self._event(kind, x, y))
        self.events += 1

    def _tick(self) -> None:
        from PySide6.QtGui import QMouseEvent

        types = QMouseEvent.Type
        x, y = self.points[self.index]
        if self.index == 0:
            self.canvas.clear()
            self._send(types.MouseButtonPress, x, y)
        else:
            self._send(types.MouseMove, x, y)
        self.index += 1
        if self.index == len(self.points):
            self._send(types.MouseButtonRelease, x, y)
            self.index = 0


class _EventLoopProbe:
    """A 1 ms precise timer; each timeout's lateness (beyond its 1 ms) is how long the loop was busy."""

    def __init__(self):
        from PySide6.QtCore import Qt, QTimer

        self.late_ms: list[float] = []
        self._last = None
        self.timer = QTimer(interval=1)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = None  # the time the probe was off is no lateness
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.late_ms.append(max(0.0, (now - self._last) * 1e3 - 1.0))
        self._last = now


def _count(counts: dict[str, int], *names: str) -> None:
    for name in names:
        counts[name] += 1


def _waiting(cpu_seconds: float, seconds: float) -> float:
    return round(max(0.0, 1.0 - cpu_seconds / seconds), 3) if seconds > 0 else 0.0


class _HeadlessRun:
    """The window's training without the window: a bare Trainer on a thread of its own, kept to the training
    cores like the window's worker, that trains `run_for(seconds)` at a time while the calling thread waits."""

    def __init__(self, graph, config, dataset, steps: int, threads: int, cores):
        self._setup = (graph, config, dataset, threads, cores)
        self._steps = steps
        self._trainer = None
        self._deadline = 0.0
        self._turn_over = threading.Event()  # the trainer has paused (or ended)
        self._paused_at: float | None = None
        self.paused_seconds = 0.0
        self.turns = 0
        self.result = None
        self.error: BaseException | None = None
        self.cpu_seconds = self.seconds = 0.0
        self._thread = threading.Thread(target=self._run, name="bench-headless", daemon=True)

    @property
    def done(self) -> bool:
        return self.result is not None or self.error is not None

    def run_for(self, seconds: float) -> None:
        """Train for `seconds` (to the end of the step then), or to the end of the run; blocks meanwhile."""
        if self.done:
            return
        self.turns += 1
        self._deadline = time.perf_counter() + seconds
        self._turn_over.clear()
        if self._trainer is None:
            self._thread.start()
        else:
            self._trainer.resume()
        self._turn_over.wait()

    def _run(self) -> None:
        import torch

        from ..core.train import Callback, Trainer
        from ..core.train.cores import pin

        run = self

        class Turns(Callback):
            def on_step_end(self, trainer, step):
                if step.global_step >= run._steps:
                    trainer.stop()
                elif time.perf_counter() >= run._deadline:
                    trainer.pause()

            def on_pause(self, trainer):
                run._paused_at = time.perf_counter()
                run._turn_over.set()

            def on_resume(self, trainer):
                run.paused_seconds += time.perf_counter() - run._paused_at

        graph, config, dataset, threads, cores = self._setup
        try:
            if cores:
                pin(cores)
            torch.set_num_threads(threads)
            self._trainer = Trainer(graph, config, dataset=dataset)
            wall, cpu = time.perf_counter(), time.thread_time()
            self.result = self._trainer.fit([Turns()])
            self.cpu_seconds, self.seconds = time.thread_time() - cpu, time.perf_counter() - wall
        except BaseException as exc:  # told by the caller, in the GUI thread
            self.error = exc
        finally:
            self._turn_over.set()

    def waiting_share(self) -> float:
        return _waiting(self.cpu_seconds, self.seconds - self.paused_seconds)

    def close(self) -> None:
        """End a run left paused (the window's run failed): no thread stays behind."""
        if self._trainer is not None and not self.done:
            self._trainer.stop()
            self._trainer.resume()
        if self._thread.is_alive():
            self._thread.join(60)


def _run_event_loop(app, seconds: float, until=lambda: False) -> None:
    """The real event loop for `seconds`, or until `until()` (checked every few ms)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    check = QTimer(interval=5)
    check.timeout.connect(lambda: until() and loop.quit())
    QTimer.singleShot(max(0, round(seconds * 1000)), loop.quit)
    if not until():
        check.start()
        loop.exec()
    check.stop()


def run_gui_bench(steps: int, dataset_name: str, data_dir: str | None, batch_size: int, seed: int,
                  show: bool = False) -> dict:
    if not show:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("PLAYGROUND_SETTINGS_DIR", tempfile.mkdtemp(prefix="playground-bench-"))
    if data_dir:
        os.environ["PLAYGROUND_DATA_DIR"] = data_dir
    from ..app.launch import application
    from ..app.main_window import MainWindow
    from ..app.settings import AppSettings
    from ..app.training.session import PAUSED, RUNNING
    from ..app.training.worker import training_threads
    from ..core.data import load_dataset
    from ..core.graph import load_graph
    from ..core.train import TrainConfig
    from ..core.train.cores import core_split

    started = time.perf_counter()
    app = application()
    threads = training_threads()
    dataset = load_dataset(dataset_name, fallback_to_sample=True)
    steps_per_epoch = len(dataset.train_labels) // batch_size
    epochs = max(1, math.ceil(steps / steps_per_epoch))
    config = TrainConfig(epochs=epochs, batch_size=batch_size, seed=seed, device="cpu", augment="default")

    # Warm-up, on the training cores like both measured runs: one-off costs stay out of them.
    graph = load_graph("preset:mnist-cnn")
    split = core_split()
    cores = split.training if split else None
    warm_up = _HeadlessRun(graph, config, dataset, min(30, steps), threads, cores)
    warm_up.run_for(math.inf)
    if warm_up.error is not None:
        raise RuntimeError(f"the warm-up run failed: {warm_up.error}") from warm_up.error

    window = MainWindow(AppSettings(), path=None)
    window.resize(1400, 900)
    window.show()
    window.start(None)
    t = window.training
    t.panel.set_config(config)
    for dock in (window.charts_dock, window.draw_dock, window.training_dock):
        dock.show()
    views = window.insight
    for i, dock in enumerate(window.view_docks.values()):  # all in sight at once, so all of them stream
        dock.setFloating(True)
        dock.resize(520, 420)
        dock.move(40 + 60 * i, 40 + 40 * i)
        dock.show()
    streamed = {name: 0 for name in window.view_docks}
    t.predictor.insight_ready.connect(lambda _: _count(streamed, "activations", "saliency"))
    t.session.histograms.connect(lambda _: _count(streamed, "histograms"))
    t.weights_in_use.connect(lambda *_: _count(streamed, "filters"))
    t.session.epoch_ended.connect(lambda _: _count(streamed, "confusion", "gallery"))
    turn = {"open": False, "since": math.inf}  # the window's turn: predictions asked and shown within it count
    latencies: list[float] = []

    def shown(prediction) -> None:
        if turn["open"] and prediction.submitted_at >= turn["since"]:
            latencies.append((time.perf_counter() - prediction.submitted_at) * 1e3)

    t.digits.prediction_shown.connect(shown)
    finished = []
    t.session.finished.connect(finished.append)
    app.processEvents()

    headless = _HeadlessRun(graph, config, dataset, steps, threads, cores)
    stroke, probe = _StrokeDriver(t.digits.canvas), _EventLoopProbe()
    try:
        gui_turns, gui_paused = 0, 0.0
        if not t.start(dataset=dataset_name, max_steps=steps):
            raise RuntimeError("the window refused to start training")
        _run_event_loop(app, 600, lambda: t.session.state == RUNNING or bool(finished))
        gui_cpu = gui_wall = 0.0  # the GUI thread's, during the window's turns
        while not (finished and headless.done):
            if not finished:  # the window's turn, everything live
                gui_turns += 1
                turn.update(open=True, since=time.perf_counter())
                probe.start()
                stroke.timer.start()
                turn_at, cpu_at = time.perf_counter(), time.thread_time()
                _run_event_loop(app, CHUNK_SECONDS if not headless.done else 600, lambda: bool(finished))
                probe.stop()
                stroke.timer.stop()
                turn["open"] = False
                gui_wall += time.perf_counter() - turn_at
                gui_cpu += time.thread_time() - cpu_at
                if not finished:
                    t.toggle_pause()
                    _run_event_loop(app, 60, lambda: t.session.state == PAUSED or bool(finished))
                    paused_at = time.perf_counter()
                    _run_event_loop(app, SETTLE_SECONDS)
            if not headless.done:  # the headless turn: the window's run is paused, the GUI thread blocked
                headless.run_for(CHUNK_SECONDS if not finished else math.inf)
                if headless.error is not None:
                    raise RuntimeError(f"the headless run failed: {headless.error}") from headless.error
            if not finished and t.session.state == PAUSED:
                t.toggle_pause()
                gui_paused += time.perf_counter() - paused_at
                _run_event_loop(app, 60, lambda: t.session.state == RUNNING or bool(finished))
    finally:
        headless.close()
    views_open = sorted(name for name in window.view_docks if views.docks[name].isVisible())
    result = finished[0]
    if not result.ok:
        raise RuntimeError(f"the GUI run failed: {result.message}")
    gui_rate, headless_rate = result.samples_per_second, headless.result.samples_per_second
    t.digits.prediction_shown.disconnect(shown)
    window.workbench.document.undo_stack.setClean()
    window.close()
    app.processEvents()
    return {
        "model": "mnist-cnn", "dataset": dataset.name, "device": "cpu", "torch_threads": threads,
        "cpu_count": os.cpu_count(), "batch_size": batch_size, "steps": steps,
        "gui_samples_per_second": round(gui_rate, 1), "headless_samples_per_second": round(headless_rate, 1),
        "gui_vs_headless": round(gui_rate / headless_rate, 3) if headless_rate else None,
        "turns": {"gui": gui_turns, "headless": headless.turns, "seconds": CHUNK_SECONDS},
        "event_loop_p99_ms": _percentile(probe.late_ms, 99), "event_loop_p50_ms": _percentile(probe.late_ms, 50),
        "event_loop_max_ms": _percentile(probe.late_ms, 100), "event_loop_probes": len(probe.late_ms),
        "predict_p99_ms": _percentile(latencies, 99), "predict_p50_ms": _percentile(latencies, 50),
        "predictions": len(latencies), "stroke_events": stroke.events,
        # Of one core, during the window's turns: what the window itself costs.
        "gui_thread_cpu_share": round(gui_cpu / gui_wall, 3) if gui_wall else None,
        # The share of its run the training thread spent waiting (for the GIL or a core), not running: unlike
        # samples/s it hardly drifts with the machine's speed, so it says best what the window costs training.
        "training_thread_waiting_share": {"gui": _waiting(result.cpu_seconds, result.seconds - gui_paused),
                                          "headless": headless.waiting_share()},
        "view_updates": streamed, "views_open": views_open,
        "targets": {"gui_vs_headless": GUI_TARGET_RATIO, "event_loop_p99_ms": EVENT_LOOP_TARGET_MS,
                    "predict_p99_ms": PREDICT_TARGET_MS},
        "seconds": round(time.perf_counter() - started, 1),
    }


def meets_targets(report: dict) -> dict[str, bool]:
    return {
        "gui_vs_headless": (report["gui_vs_headless"] or 0) >= GUI_TARGET_RATIO,
        "event_loop_p99_ms": report["event_loop_p99_ms"] is not None
        and report["event_loop_p99_ms"] <= EVENT_LOOP_TARGET_MS,
        "predict_p99_ms": report["predict_p99_ms"] is not None and report["predict_p99_ms"] <= PREDICT_TARGET_MS,
    }
