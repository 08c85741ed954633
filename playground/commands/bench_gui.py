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

`--gan` does the same with a GAN (dcgan-mnist, judge off): the GAN charts,
the Samples dock (its grid of fixed-noise samples updating every few seconds,
its latent walk asked of the inference process with each new weights) and
the Draw dock asking the discriminator how real the stroke looks.

Headless is the same run with the window blocked. The run takes turns of
TURN_SECONDS: in a window turn everything above is live; in a headless turn the
GUI thread sleeps, so nothing of the window runs, and the run takes no
histogram snapshots, while the training process trains on. It still publishes
metrics and weights for the window (under 0.5% of its CPU time, measured),
which a bare Trainer would not; the messages queued meanwhile are dealt with
between the turns, counted in neither. Each side's samples/s comes from the
steps inside its own turns, timed by the training thread itself (the Progress
messages say when they were published and how much CPU the training thread had
used), leaving out the evaluation at each epoch's end.

Why one run and not two: two identical bare Trainers taking turns on the same
core differ by up to 20% in CPU time per step, one faster than the other in
every turn (each instance's memory layout, as far as one can tell), so a second
run measures its own luck as much as the window's cost. Why turns: the speed of
a shared machine's core drifts by 10-20% within a minute; runs one after the
other measure the drift, turns see the same drift. The first WARM_UP_STEPS are
not counted (allocator, oneDNN kernel choice, the views' first drawing), nor is
anything before the stroke's first answer (the inference process starting).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import tempfile
import time

import numpy as np

from .errors import UserError

GUI_TARGET_RATIO = 0.95
EVENT_LOOP_TARGET_MS = 16.0
PREDICT_TARGET_MS = 16.0
STROKE_HZ = 60
TURN_SECONDS = 2.0  # each side's turn: long against a Progress interval (0.1 s), short against the machine's drift
SETTLE_SECONDS = 0.1  # between turns, counted in neither: what is in flight (or queued) settles
WARM_UP_STEPS = 30


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


class _DialogWatch:
    """Notes and dismisses each modal dialog (an error box, a question): one left waiting for a person would hold
    the bench for ever. A run's error still ends the bench, with the run's message."""

    def __init__(self):
        from PySide6.QtCore import QTimer

        self.seen: list[str] = []
        self.timer = QTimer(interval=100)
        self.timer.timeout.connect(self._check)

    def _check(self) -> None:
        from PySide6.QtWidgets import QApplication, QMessageBox

        dialog = QApplication.activeModalWidget()
        if dialog is None:
            return
        text = dialog.text() if isinstance(dialog, QMessageBox) else ""
        self.seen.append(f"{dialog.windowTitle()}: {text}" if text else dialog.windowTitle())
        dialog.reject()



@contextlib.contextmanager
def bench_window(show: bool = False):
    """(app, window, dialogs): the main window as `playground` opens it (offscreen unless `show`), on settings of
    its own, at 1400×900, with its dialogs answered (`_DialogWatch`); closed afterwards, also after an error, so
    that no window (nor its inference and training processes) is left behind. The benches' one way in."""
    if not show:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("PLAYGROUND_SETTINGS_DIR", tempfile.mkdtemp(prefix="playground-bench-"))
    from ..app.launch import application
    from ..app.main_window import MainWindow
    from ..app.settings import AppSettings

    app = application()
    dialogs = _DialogWatch()
    dialogs.timer.start()
    window = MainWindow(AppSettings(), path=None)
    try:
        window.resize(1400, 900)
        window.show()
        window.start(None)
        yield app, window, dialogs
    finally:
        workbench = getattr(window, "workbench", None)
        if workbench is not None:
            workbench.document.undo_stack.setClean()
        window.close()
        app.processEvents()
        dialogs.timer.stop()

def _count(counts: dict[str, int], *names: str) -> None:
    for name in names:
        counts[name] += 1


def host_cpu_times(path: str = "/proc/stat", cpus: frozenset[int] | None = None) -> tuple[int, int] | None:
    """(stolen, total) CPU time so far, in clock ticks, of the whole machine or of just `cpus` (Linux; None
    elsewhere). Steal is the time the hypervisor gave this VM's CPUs to someone else: a run during which it grows
    measured a busy host."""
    wanted = {"cpu"} if cpus is None else {f"cpu{i}" for i in cpus}
    stolen = total = 0
    try:
        with open(path) as f:
            for line in f:
                fields = line.split()
                if not fields or not fields[0].startswith("cpu"):
                    break  # the CPU lines come first
                if fields[0] in wanted:
                    ticks = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
                    if len(ticks) < 8:
                        return None
                    stolen, total = stolen + ticks[7], total + sum(ticks)
                    wanted.discard(fields[0])
    except (OSError, ValueError):
        return None
    return None if wanted else (stolen, total)


def _steal_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    if before is None or after is None or after[1] <= before[1]:
        return None
    return round((after[0] - before[0]) / (after[1] - before[1]), 4)


class _CoreSteal:
    """Steal on the training core(s) in each kind of turn ("gui", "headless"), and on the window's core in the
    window turns ("window"): how much of the training thread's waiting, and of the window's tails, the host took."""

    def __init__(self, split):  # split: a CoreSplit, or None (one core, or no affinity API): no figures
        self.split = split
        self.ticks = {"gui": [0, 0], "headless": [0, 0], "window": [0, 0]}  # (stolen, total)

    def now(self) -> tuple:
        split = self.split
        return (host_cpu_times(cpus=split.training), host_cpu_times(cpus=split.window)) if split else (None, None)

    def count(self, kinds: tuple[str | None, str | None], before: tuple) -> None:
        """Add what was stolen since `before` (from `now()`) to `kinds`: (training cores', window core's)."""
        for kind, then, now in zip(kinds, before, self.now(), strict=True):
            if kind is not None and then is not None and now is not None:
                self.ticks[kind][0] += now[0] - then[0]
                self.ticks[kind][1] += now[1] - then[1]

    def shares(self) -> dict[str, float | None]:
        return {kind: round(stolen / total, 4) if total else None for kind, (stolen, total) in self.ticks.items()}


def _steal_excluded(ratio: float, steal: dict[str, float | None]) -> float | None:
    """`ratio` of samples per second, each side's seconds counted without the share the host stole from them."""
    if steal["gui"] is None or steal["headless"] is None or max(steal.values()) >= 1:
        return None
    return round(ratio * (1 - steal["headless"]) / (1 - steal["gui"]), 3)


def _waiting(cpu_seconds: float, seconds: float) -> float:
    return round(max(0.0, 1.0 - cpu_seconds / seconds), 3) if seconds > 0 else 0.0


class _TurnLedger:
    """The run's steps as its Progress messages tell them, summed per kind of turn.

    Counted: each stretch between two consecutive messages that lies wholly inside one turn and holds no
    epoch's end (the evaluation there is not training). Its steps, wall time and the training thread's CPU
    time are all measured in the training thread."""

    def __init__(self):
        self.samples: list[tuple[float, int, float]] = []  # (published_at, global_step, cpu_seconds)
        self.steps_per_epoch = 0
        self.turns: list[tuple[str, float, float]] = []  # (kind, start, end), perf_counter()

    def on_progress(self, progress) -> None:
        self.steps_per_epoch = progress.steps_per_epoch
        self.samples.append((progress.published_at, progress.global_step, progress.cpu_seconds))

    def totals(self, kind: str) -> tuple[int, float, float]:
        """(steps, seconds, CPU seconds of the training thread) inside turns of `kind`."""
        steps = seconds = cpu = 0.0
        spe = max(1, self.steps_per_epoch)
        for (t0, s0, c0), (t1, s1, c1) in itertools.pairwise(self.samples):
            if (s0 - 1) // spe != s1 // spe:  # some k with s0 <= k * spe <= s1: an epoch's end may lie between
                continue
            if any(k == kind and start <= t0 and t1 <= end for k, start, end in self.turns):
                steps, seconds, cpu = steps + s1 - s0, seconds + t1 - t0, cpu + c1 - c0
        return int(steps), seconds, cpu


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


GAN_PRESET = "dcgan-mnist"


def run_gui_bench(steps: int, dataset_name: str, data_dir: str | None, batch_size: int, seed: int,
                  show: bool = False, turn_seconds: float = TURN_SECONDS, device: str = "cpu",
                  gan: bool = False) -> dict:
    """`device`: where the run trains (cpu, cuda, cuda:N); the window's inference process stays on the CPU.
    `gan`: train dcgan-mnist (judge off) with the Samples dock live, instead of mnist-cnn."""
    if data_dir:
        os.environ["PLAYGROUND_DATA_DIR"] = data_dir
    from ..app.training.session import RUNNING
    from ..core.data import load_dataset
    from ..core.run.job import training_threads
    from ..core.run.messages import EpochEnded, GanEpochEnded, GanSamples, ParamHistograms, Progress, RunFinished
    from ..core.train import TrainConfig

    started = time.perf_counter()
    dataset = load_dataset(dataset_name, fallback_to_sample=True)
    steps_per_epoch = max(1, len(dataset.train_labels) // batch_size)
    epochs = max(1, math.ceil(steps / steps_per_epoch))
    config = TrainConfig(epochs=epochs, batch_size=batch_size, seed=seed, device=device, augment="default",
                         gan_judge=False)  # a GAN's judge would first train a classifier, and judge each epoch

    with bench_window(show) as (app, window, dialogs):
        if gan:
            window.workbench.files.new_from_preset(GAN_PRESET)
            window.workbench.shapes.run_now()
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
        t.weights_in_use.connect(lambda *_: _count(streamed, "weights"))
        if gan:
            streamed.update({"latent walk": 0, "charts (epochs)": 0})
            t.predictor.generator_ready.connect(lambda _: _count(streamed, "latent walk"))
        ledger = _TurnLedger()
        finished = []

        def observe(message) -> None:
            match message:
                case ParamHistograms():
                    _count(streamed, "histograms")
                case EpochEnded():
                    _count(streamed, "confusion", "predictions")
                case GanSamples():
                    _count(streamed, "samples")
                case GanEpochEnded():
                    _count(streamed, "charts (epochs)")
                case Progress():
                    ledger.on_progress(message)
                case RunFinished():
                    finished.append(message)

        t.dispatcher.observe(observe)
        # Predictions asked and shown within a window turn count; "shown" counts every one.
        turn = {"open": False, "since": math.inf, "shown": 0}
        latencies: list[float] = []

        def shown(prediction) -> None:
            turn["shown"] += 1
            if turn["open"] and prediction.submitted_at >= turn["since"]:
                latencies.append((time.perf_counter() - prediction.submitted_at) * 1e3)

        t.digits.prediction_shown.connect(shown)
        app.processEvents()

        stroke, probe = _StrokeDriver(t.digits.canvas), _EventLoopProbe()
        # Not counted: the inference process's start (it imports torch: seconds) before the stroke's first answer,
        # then the run's first steps, with the views and the canvas warming up too.
        stroke.timer.start()
        _run_event_loop(app, 120, lambda: turn["shown"] > 0)
        if not t.start(dataset=dataset_name, max_steps=steps):
            raise RuntimeError("the window refused to start training")
        _run_event_loop(app, 600, lambda: t.session.state == RUNNING or bool(finished))
        warm_up = min(WARM_UP_STEPS, steps // 5)
        _run_event_loop(app, 600, lambda: bool(finished) or bool(ledger.samples and ledger.samples[-1][1] >= warm_up))
        stroke.timer.stop()
        gui_cpu = 0.0  # the GUI thread's, during the window turns
        host_before = host_cpu_times()
        steal = _CoreSteal(t.cores)
        while not finished:
            since = time.perf_counter()
            turn.update(open=True, since=since)
            probe.start()
            stroke.timer.start()
            cpu_at = time.thread_time()
            steal_at = steal.now()
            _run_event_loop(app, turn_seconds, lambda: bool(finished))
            steal.count(("gui", "window"), steal_at)
            probe.stop()
            stroke.timer.stop()
            turn["open"] = False
            ledger.turns.append(("gui", since, time.perf_counter()))
            gui_cpu += time.thread_time() - cpu_at
            _run_event_loop(app, SETTLE_SECONDS, lambda: bool(finished))
            if not finished:  # the headless turn: nothing of the window runs while the run trains on
                wanted = t.session.histograms
                t.session.want_histograms(False)  # nor does the run take snapshots for it
                since = time.perf_counter()
                steal_at = steal.now()
                time.sleep(turn_seconds)
                steal.count(("headless", None), steal_at)
                ledger.turns.append(("headless", since, time.perf_counter()))
                t.session.want_histograms(wanted)
                # The messages queued meanwhile (with no window they would not exist) are dealt with before the
                # next window turn: that turn measures the window as it runs, not a catch-up.
                _run_event_loop(app, SETTLE_SECONDS, lambda: bool(finished))
        host_after = host_cpu_times()
        views_open = sorted(name for name in window.view_docks if views.docks[name].isVisible())
        result = finished[0]
        if not result.ok:
            raise RuntimeError(f"the GUI run failed: {result.message}")
        t.digits.prediction_shown.disconnect(shown)
    (gui_steps, gui_seconds, gui_train_cpu), (bare_steps, bare_seconds, bare_cpu) = (
        ledger.totals("gui"), ledger.totals("headless"))
    if not (gui_seconds and bare_seconds):
        raise UserError(f"{steps} steps are too few to measure both kinds of turn on this machine: "
                        "give more with --steps (or shorter turns with --turn-seconds)")
    gui_rate, headless_rate = gui_steps * batch_size / gui_seconds, bare_steps * batch_size / bare_seconds
    gui_wall = sum(end - start for kind, start, end in ledger.turns if kind == "gui")
    core_steal_share = steal.shares()
    window_core_steal = core_steal_share.pop("window")
    return {
        "model": GAN_PRESET if gan else "mnist-cnn", "dataset": dataset.name, "device": device,
        "torch_threads": training_threads(),
        "cpu_count": os.cpu_count(), "batch_size": batch_size, "steps": steps,
        "gui_samples_per_second": round(gui_rate, 1), "headless_samples_per_second": round(headless_rate, 1),
        "gui_vs_headless": round(gui_rate / headless_rate, 3),
        "turns": {"gui": sum(k == "gui" for k, *_ in ledger.turns),
                  "headless": sum(k == "headless" for k, *_ in ledger.turns), "seconds": turn_seconds},
        "measured_steps": {"gui": gui_steps, "headless": bare_steps},
        "event_loop_p99_ms": _percentile(probe.late_ms, 99), "event_loop_p50_ms": _percentile(probe.late_ms, 50),
        "event_loop_max_ms": _percentile(probe.late_ms, 100), "event_loop_probes": len(probe.late_ms),
        "predict_p99_ms": _percentile(latencies, 99), "predict_p50_ms": _percentile(latencies, 50),
        "predictions": len(latencies), "stroke_events": stroke.events,
        # Of one core, during the window turns: what the window itself costs.
        "gui_thread_cpu_share": round(gui_cpu / gui_wall, 3) if gui_wall else None,
        # The share of its time the training thread spent waiting (for a core, or its process's GIL), not running:
        # unlike samples/s it hardly drifts with the machine's speed, so it says best what the window costs training.
        "training_thread_waiting_share": {"gui": _waiting(gui_train_cpu, gui_seconds),
                                          "headless": _waiting(bare_cpu, bare_seconds)},
        # The rest of the difference: CPU time per step (the same run, so the same memory layout).
        "training_thread_cpu_ms_per_step": {"gui": round(1e3 * gui_train_cpu / max(1, gui_steps), 2),
                                            "headless": round(1e3 * bare_cpu / max(1, bare_steps), 2)},
        # Of the whole machine's CPU time while the turns ran (None: not Linux). Above ~1%, the figures above
        # measured a host busy with other guests as much as the window.
        "host_steal_share": _steal_share(host_before, host_after),
        # The same on the training core(s), per kind of turn (None: not Linux, or no core split): of the training
        # thread's waiting share above, this much was the host's doing.
        "training_core_steal_share": core_steal_share,
        # On the window's core during the window turns: the host's part in the event loop's and the stroke's tails.
        "window_core_steal_share": window_core_steal,
        # GUI/headless over the time the host left the training core to this machine: what the window alone costs
        # (the target is judged on gui_vs_headless, steal and all).
        "gui_vs_headless_steal_excluded": _steal_excluded(gui_rate / headless_rate, core_steal_share),
        "view_updates": streamed, "views_open": views_open, "dialogs_dismissed": dialogs.seen,
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
