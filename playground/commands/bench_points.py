"""`playground bench --points`: a network on 2-D points (TensorFlow Playground's default), headless and in the window.

Headless, in this process, with one torch thread (as a run on points trains, core/run/job.py):
- `points-tfp` (x, y; 4 and 2 tanh units; XOR; batches of 10), a bare Trainer with no callbacks against the real
  training-process path, `run_job`, with its Publisher and DecisionPublisher, each message encoded for the pipe
  (as the training process's sender does) and counted, then dropped. The difference is what publishing costs:
  the DecisionFrames above all (the output's surface and every neuron's maps, ~30 a second). The two take turns,
  bare, published, published, bare, so that a drift of the machine's speed falls on both; each figure is over the
  turns together. A short bare run first warms up (allocator, first calls).
- `points-spiral` with 10 % noise through `run_job`: the seconds to the end of its default run (data and model
  included), its test accuracy, and when the test accuracy first reached 0.95 (its EpochEnded messages).

In the window (offscreen), as a person would have it: `points-tfp` opened from the presets, the Decision dock in
front, the editor fitted once the first thumbnails are there (so every neuron's thumbnails are in sight), the run
started through the Training panel's Start path with the panel's settings. After a warm-up, until the run ends:
- training steps/s: the Progress messages' steps over their publish times (the training process's clock), the
  evaluation at each epoch's end included: the pace a person watches;
- DecisionFrames received per second, the thumbnails' repaint passes per second (the scene's unit_map_refreshes)
  and the Decision view's surface repaints per second;
- event-loop lateness from bench_gui's 1 ms precise-timer probe (p50, p99, max);
- where the CPU went: the GUI thread's share of a core, the window process's (all its threads: the relay thread
  decodes the frames), the training process's, and the share of its time the training thread waited.

`--steps N` stops every run after N steps (default: each preset's whole default run); `--batch-size` and `--seed`
apply to every run. The figures and what they showed: docs/performance.md, issue 21.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections import Counter

from .bench_gui import (
    EVENT_LOOP_TARGET_MS,
    _EventLoopProbe,
    _percentile,
    _run_event_loop,
    _steal_share,
    bench_window,
    host_cpu_times,
)
from .common import say

PRESET = "points-tfp"
SPIRAL_PRESET = "points-spiral"
STEPS_TARGET = 300.0  # training steps/s with the window live
REFRESH_TARGET = 20.0  # heatmap (neuron thumbnail) refreshes per second
SPIRAL_NOISE = 0.1
SPIRAL_ACCURACY = 0.95
SPIRAL_SECONDS = 10.0
WARM_UP_STEPS = 100  # in the window: the first frames, the strips' first layout, the fit; not counted
SETTLE_SECONDS = 0.5  # after the fit, before measuring (docs/performance.md, issue 21: the event loop's max)
HEADLESS_WARM_UP_EPOCHS = 4


def _config(batch_size: int | None, epochs: int | None, seed: int, **points):
    from ..core.train.config import default_config

    overrides = {"seed": seed, "device": "cpu", **points}
    if batch_size:
        overrides["batch_size"] = batch_size
    if epochs:
        overrides["epochs"] = epochs
    return default_config("points", **overrides)


class _CountingSink:
    """The training process's `send` without the pipe: each message encoded as its sender does, counted, timed."""

    def __init__(self):
        from ..core.run.wire import dumps

        self._dumps = dumps
        self.sent: Counter[str] = Counter()
        self.times: dict[str, list[float]] = {}  # message type -> when each was sent (perf_counter)
        self.kept: list[tuple[object, float]] = []  # (message, when) of the small ones read afterwards
        self.cpu_at: dict[str, float] = {}  # the calling thread's CPU time when RunStarted, RunFinished were sent

    def __call__(self, message) -> None:
        from ..core.run.messages import EpochEnded, RunFinished, RunStarted

        self._dumps(message)
        now = time.perf_counter()
        name = type(message).__name__
        self.sent[name] += 1
        self.times.setdefault(name, []).append(now)
        if isinstance(message, RunStarted | EpochEnded | RunFinished):
            self.kept.append((message, now))
        if isinstance(message, RunStarted | RunFinished):
            self.cpu_at[name] = time.thread_time()

    def last(self, kind: type):
        return next(m for m, _ in reversed(self.kept) if isinstance(m, kind))


def _bare_run(graph, config) -> dict:
    from ..core.train import Trainer

    trainer = Trainer(graph, config)
    start, cpu = time.perf_counter(), time.thread_time()
    result = trainer.fit()
    seconds, cpu = time.perf_counter() - start, time.thread_time() - cpu
    return {"steps": result.global_step, "seconds": seconds, "train_seconds": result.train_seconds, "frames": 0,
            "cpu_seconds": cpu}


def _published_run(graph, config, max_steps: int | None) -> dict:
    """run_job with its publishers into a counting sink; timed from RunStarted (sent just before fit) to
    RunFinished (just after)."""
    from ..core.run.job import RunControl, TrainingJob, run_job
    from ..core.run.messages import RunFinished

    sink = _CountingSink()
    run_job(TrainingJob(run_id=1, name="bench", graph=graph, config=config, max_steps=max_steps), RunControl(), sink)
    finished = sink.last(RunFinished)
    if not finished.ok:
        raise RuntimeError(f"the headless run failed: {finished.message}")
    seconds = sink.times["RunFinished"][-1] - sink.times["RunStarted"][0]
    return {"steps": finished.global_step, "seconds": seconds,
            "train_seconds": finished.global_step * config.batch_size / finished.samples_per_second,
            "frames": sink.sent["DecisionFrame"], "sent": sink.sent,
            "cpu_seconds": sink.cpu_at["RunFinished"] - sink.cpu_at["RunStarted"]}


def _rates(runs: list[dict]) -> dict:
    steps = sum(r["steps"] for r in runs)
    seconds = sum(r["seconds"] for r in runs)
    return {"steps_per_second": round(steps / seconds, 1),
            "train_steps_per_second": round(steps / sum(r["train_seconds"] for r in runs), 1),
            # Of the training thread, the epochs' evaluation and the frames included: hardly moved by the machine's
            # other work, unlike the rates (on an idle core, steps/s ≈ 1000 / this).
            "cpu_ms_per_step": round(1e3 * sum(r["cpu_seconds"] for r in runs) / steps, 3),
            "frames_per_second": round(sum(r["frames"] for r in runs) / seconds, 1),
            "steps": steps, "seconds": round(seconds, 3)}


def run_headless(steps: int | None, batch_size: int | None, seed: int) -> dict:
    """points-tfp: a bare Trainer against run_job with its publishers, taking turns (bare, published, published,
    bare). `steps`: each run's budget (None: the preset's default run)."""
    import torch

    from ..core.graph import load_graph
    from ..core.run.job import POINTS_CPU_THREADS
    from ..core.train import Trainer

    torch.set_num_threads(POINTS_CPU_THREADS)
    graph = load_graph(f"preset:{PRESET}")
    warm_up = Trainer(graph, _config(batch_size, HEADLESS_WARM_UP_EPOCHS, seed))
    warm_up.fit()  # not counted: the allocator, the first calls
    epochs = _config(batch_size, None, seed).epochs
    if steps is not None:
        epochs = max(1, math.ceil(steps / max(1, warm_up.steps_per_epoch)))
    config = _config(batch_size, epochs, seed)
    bare, published = [], []
    sent: Counter[str] = Counter()
    for kind in ("bare", "published", "published", "bare"):
        if kind == "bare":
            bare.append(_bare_run(graph, config))
        else:
            run = _published_run(graph, config, steps)
            sent.update(run["sent"])
            published.append(run)
    bare_rates, published_rates = _rates(bare), _rates(published)
    return {
        "epochs": epochs, "runs_each": 2,
        "bare_trainer": {k: v for k, v in bare_rates.items() if k != "frames_per_second"},
        "run_job": {**published_rates, "messages": dict(sent)},
        # What publishing costs (the frames above all): run_job's pace over the bare Trainer's.
        "run_job_vs_bare": round(published_rates["steps_per_second"] / bare_rates["steps_per_second"], 3),
    }


def run_spiral(seed: int, steps: int | None = None) -> dict:
    """points-spiral with 10 % noise, its default run through run_job (headless, with its publishers); `steps`:
    stop after so many (tests)."""
    from ..core.graph import load_graph
    from ..core.run.job import RunControl, TrainingJob, run_job
    from ..core.run.messages import EpochEnded, RunFinished

    config = _config(None, None, seed, points_noise=SPIRAL_NOISE)
    sink = _CountingSink()
    start, cpu = time.perf_counter(), time.thread_time()
    run_job(TrainingJob(run_id=1, name="spiral", graph=load_graph(f"preset:{SPIRAL_PRESET}"), config=config,
                        max_steps=steps), RunControl(), sink)
    seconds, cpu = time.perf_counter() - start, time.thread_time() - cpu
    finished = sink.last(RunFinished)
    if not finished.ok:
        raise RuntimeError(f"the spiral run failed: {finished.message}")
    reached = next(((m, at) for m, at in sink.kept
                    if isinstance(m, EpochEnded) and (m.val_accuracy or 0) >= SPIRAL_ACCURACY), None)
    return {
        "preset": SPIRAL_PRESET, "noise": SPIRAL_NOISE, "epochs": finished.epochs_completed,
        "batch_size": config.batch_size,
        "steps": finished.global_step, "seconds": round(seconds, 2), "test_accuracy": finished.test_accuracy,
        # The training thread's CPU time: what the run takes of a core that is not shared (seconds ≈ this then).
        "cpu_seconds": round(cpu, 2),
        "seconds_to_accuracy": round(reached[1] - start, 2) if reached else None,
        "epoch_reached": reached[0].epoch if reached else None,
        "frames": sink.sent["DecisionFrame"],
    }


# -- the window ---------------------------------------------------------------------------------------------------


def _process_cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of process `pid` so far (Linux; None elsewhere, or when it is gone)."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14 and 15
    except (OSError, ValueError, IndexError):
        return None


class _ProcessCpu:
    """A process's CPU time read every 100 ms from the GUI thread while it lives: (first, last) readings with
    their times, so a process that has exited by the end still has a figure."""

    def __init__(self, pid: int | None):
        from PySide6.QtCore import QTimer

        self.pid = pid
        self.readings: list[tuple[float, float]] = []  # (perf_counter, CPU seconds)
        self.timer = QTimer(interval=100)
        self.timer.timeout.connect(self.read)

    def read(self) -> None:
        if (cpu := _process_cpu_seconds(self.pid)) is not None:
            self.readings.append((time.perf_counter(), cpu))

    def share(self) -> float | None:
        if len(self.readings) < 2:
            return None
        (t0, c0), (t1, c1) = self.readings[0], self.readings[-1]
        return round((c1 - c0) / (t1 - t0), 3) if t1 > t0 else None


def _thumbnails_in_sight(view, scene) -> tuple[int, int]:
    """(thumbnails wholly inside the editor's viewport, thumbnails there are)."""
    from ..app.editor.unit_maps import UnitStrip

    seen = view.mapToScene(view.viewport().rect()).boundingRect()
    strips = [item for item in scene.items() if isinstance(item, UnitStrip)]
    total = sum(len(s.images) for s in strips)
    inside = sum(len(s.images) for s in strips if s.isVisible() and seen.contains(s.sceneBoundingRect()))
    return inside, total


def run_window_bench(steps: int | None, seed: int, show: bool = False, batch_size: int | None = None) -> dict:
    """points-tfp trained from the window's Start path, with the panel's settings but `seed` (and `batch_size`, if
    given); `steps`: stop after so many."""
    from ..app.training.session import RUNNING
    from ..core.run.messages import DecisionFrame, Progress, RunFinished, RunStarted

    with bench_window(show) as (app, window, dialogs):
        wb, t = window.workbench, window.training
        if not wb.files.new_from_preset(PRESET):
            raise RuntimeError(f"the window could not open the preset {PRESET}")
        wb.shapes.run_now()
        decision_dock = window.view_docks["decision"]
        decision_dock.show()
        decision_dock.raise_()
        decision, scene, view = window.points.view, wb.scene, wb.view
        config = t.panel.config()
        t.panel.set_config(dataclasses.replace(config, seed=seed, batch_size=batch_size or config.batch_size))
        config = t.panel.config()
        started, finished, progress = [], [], []  # progress: (published_at, global_step, cpu_seconds)
        frames_at: list[float] = []

        def observe(message) -> None:
            match message:
                case DecisionFrame():
                    frames_at.append(time.perf_counter())
                case Progress():
                    progress.append((message.published_at, message.global_step, message.cpu_seconds))
                case RunStarted():
                    started.append(message)
                case RunFinished():
                    finished.append(message)

        t.dispatcher.observe(observe)
        app.processEvents()
        if not t.start(max_steps=steps):
            raise RuntimeError("the window refused to start training")
        _run_event_loop(app, 600, lambda: t.session.state == RUNNING or bool(finished))
        total = min(steps or math.inf, started[0].total_steps) if started else steps or 0
        warm_up = min(WARM_UP_STEPS, int(total) // 5)
        _run_event_loop(app, 600, lambda: bool(finished) or (
            scene.unit_map_refreshes > 0 and bool(progress) and progress[-1][1] >= warm_up))
        if not (finished or progress):
            raise RuntimeError("the run in the window made no progress in 10 minutes")
        view.fit_all()  # every node, and the thumbnails beside them (scene.nodes_rect)
        # Not counted either: the repaints after the fit, the other views' first data (the Histograms view's rows);
        # a short run keeps its second half for measuring.
        _run_event_loop(app, SETTLE_SECONDS, lambda: bool(finished) or progress[-1][1] >= total / 2)
        in_sight = _thumbnails_in_sight(view, scene)
        decision_visible = decision.isVisible() and not decision.visibleRegion().isEmpty()

        probe = _EventLoopProbe()
        since = time.perf_counter()
        refreshes_at = (scene.unit_map_refreshes, decision.refreshes)
        cpu_at, process_at = time.thread_time(), time.process_time()
        training_cpu = _ProcessCpu(t.session.process_id)
        training_cpu.read()
        training_cpu.timer.start()
        host_before = host_cpu_times()
        probe.start()
        # Until the run's last step is in (its final Progress): what follows (the last evaluation, the process
        # ending, the document unlocked and redrawn) is no longer training.
        _run_event_loop(app, 3600, lambda: bool(finished) or progress[-1][1] >= total)
        probe.stop()
        training_cpu.timer.stop()
        until = time.perf_counter()
        wall = until - since
        gui_cpu, process_cpu = time.thread_time() - cpu_at, time.process_time() - process_at
        host_after = host_cpu_times()
        frames = sum(since <= at <= until for at in frames_at)
        refreshes = scene.unit_map_refreshes - refreshes_at[0]
        surface = decision.refreshes - refreshes_at[1]
        _run_event_loop(app, 600, lambda: bool(finished))
        result = finished[0]
        if not result.ok:
            raise RuntimeError(f"the run in the window failed: {result.message}")
    measured = [p for p in progress if since <= p[0] <= until]
    if len(measured) < 2 or wall <= 0:
        from .errors import UserError

        raise UserError("the run ended before anything could be measured: give more steps with --steps")
    (t0, s0, c0), (t1, s1, c1) = measured[0], measured[-1]
    step_rate = (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0
    return {
        "preset": PRESET, "dataset": started[0].dataset if started else None,
        "batch_size": config.batch_size, "epochs": config.epochs, "optimizer": config.optimizer, "lr": config.lr,
        "total_steps": int(total), "steps_per_epoch": started[0].steps_per_epoch if started else None,
        "measured_steps": s1 - s0, "measured_seconds": round(wall, 2),
        "steps_per_second": round(step_rate, 1),
        "train_steps_per_second": round(result.samples_per_second / config.batch_size, 1),  # the whole run's steps
        "frames_received": frames, "frames_per_second": round(frames / wall, 1),
        "heatmap_refreshes": refreshes, "heatmap_refreshes_per_second": round(refreshes / wall, 1),
        "decision_refreshes": surface, "decision_refreshes_per_second": round(surface / wall, 1),
        "frames_total": window.points.frames,
        "thumbnails_in_sight": in_sight[0], "thumbnails": in_sight[1], "decision_view_in_sight": decision_visible,
        "event_loop_p50_ms": _percentile(probe.late_ms, 50), "event_loop_p99_ms": _percentile(probe.late_ms, 99),
        "event_loop_max_ms": _percentile(probe.late_ms, 100), "event_loop_probes": len(probe.late_ms),
        # Of one core, over the measured time: the GUI thread; the window's process (all its threads); the training
        # process (all its threads: training, the sender encoding the messages, the control reader).
        "gui_thread_cpu_share": round(gui_cpu / wall, 3),
        "window_process_cpu_share": round(process_cpu / wall, 3),
        "training_process_cpu_share": training_cpu.share(),
        # The share of its time the training thread did not run (waiting for its core, or the host).
        "training_thread_waiting_share": round(max(0.0, 1 - (c1 - c0) / (t1 - t0)), 3) if t1 > t0 else None,
        "training_thread_cpu_ms_per_step": round(1e3 * (c1 - c0) / max(1, s1 - s0), 3),
        "host_steal_share": _steal_share(host_before, host_after),
        "dialogs_dismissed": dialogs.seen,
    }


def meets_targets(report: dict) -> dict[str, bool]:
    window = report["window"]
    p99 = window["event_loop_p99_ms"]
    spiral = report.get("spiral")
    targets = {
        "window_steps_per_second": window["steps_per_second"] >= STEPS_TARGET,
        "heatmap_refreshes_per_second": window["heatmap_refreshes_per_second"] >= REFRESH_TARGET,
        "event_loop_p99_ms": p99 is not None and p99 <= EVENT_LOOP_TARGET_MS,
    }
    if spiral is not None:
        targets["spiral"] = ((spiral["test_accuracy"] or 0) >= SPIRAL_ACCURACY
                             and spiral["seconds"] <= SPIRAL_SECONDS)
    return targets


def run_points_bench(steps: int | None, batch_size: int | None, seed: int, show: bool = False,
                     spiral: bool = True) -> dict:
    started = time.perf_counter()
    report: dict = {"preset": PRESET, "cpu_count": os.cpu_count(), "load_average": _load_average()}
    say(f"bench --points: {PRESET} headless (a bare Trainer, and run_job with its publishers, taking turns)")
    report["headless"] = run_headless(steps, batch_size, seed)
    if spiral:
        say(f"bench --points: {SPIRAL_PRESET} with {SPIRAL_NOISE:.0%} noise, "
            f"{'its default run' if steps is None else f'{steps} steps'}, headless")
        report["spiral"] = run_spiral(seed, steps)
    say(f"bench --points: {PRESET} in the main window (offscreen), from the Training panel's Start")
    report["window"] = run_window_bench(steps, seed, show=show, batch_size=batch_size)
    report["targets"] = {"window_steps_per_second": STEPS_TARGET, "heatmap_refreshes_per_second": REFRESH_TARGET,
                         "event_loop_p99_ms": EVENT_LOOP_TARGET_MS,
                         "spiral": {"test_accuracy": SPIRAL_ACCURACY, "seconds": SPIRAL_SECONDS}}
    report["meets_targets"] = meets_targets(report)
    report["load_average_after"] = _load_average()
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


def _load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def cmd_points_bench(args) -> int:
    import json

    steps = args.steps if args.steps != 800 else None  # --steps defaults to 800 for --gui; here: the whole run
    report = run_points_bench(steps, args.batch_size, args.seed, show=args.show)
    if args.json:
        print(json.dumps(report))
        return 0
    print_report(report)
    return 0


def print_report(report: dict) -> None:
    mark = {True: "ok", False: "MISSED"}
    ok = report["meets_targets"]
    head, w = report["headless"], report["window"]
    bare, job = head["bare_trainer"], head["run_job"]
    print(f"{report['preset']}: {w['dataset']}, batch {w['batch_size']}, {head['epochs']} epochs a headless run, "
          f"1 torch thread, {report['cpu_count']} cores (load average {report['load_average']})")
    print(f"headless  bare Trainer         {bare['steps_per_second']:7,.0f} steps/s "
          f"({bare['train_steps_per_second']:,.0f} counting only the steps, not each epoch's evaluation; "
          f"{bare['cpu_ms_per_step']:.2f} ms CPU a step)")
    print(f"headless  run_job + publishers {job['steps_per_second']:7,.0f} steps/s "
          f"({job['train_steps_per_second']:,.0f} steps only; {job['cpu_ms_per_step']:.2f} ms CPU a step), "
          f"{job['frames_per_second']:.1f} frames/s sent; {head['run_job_vs_bare']:.3f}× the bare Trainer")
    print(f"window    {w['steps_per_second']:8,.0f} steps/s over {w['measured_steps']} steps in "
          f"{w['measured_seconds']} s ({mark[ok['window_steps_per_second']]}, target ≥ {STEPS_TARGET:.0f})")
    print(f"          {w['frames_per_second']:.1f} frames/s received; heatmaps refreshed "
          f"{w['heatmap_refreshes_per_second']:.1f}/s ({mark[ok['heatmap_refreshes_per_second']]}, target ≥ "
          f"{REFRESH_TARGET:.0f}), Decision view {w['decision_refreshes_per_second']:.1f}/s; "
          f"{w['thumbnails_in_sight']} of {w['thumbnails']} thumbnails in sight, Decision view "
          f"{'in sight' if w['decision_view_in_sight'] else 'NOT in sight'}")
    print(f"          event loop lateness p50 {w['event_loop_p50_ms']} ms, p99 {w['event_loop_p99_ms']} ms, max "
          f"{w['event_loop_max_ms']} ms ({mark[ok['event_loop_p99_ms']]}, target p99 ≤ {EVENT_LOOP_TARGET_MS:.0f} ms)")
    print(f"          CPU (of one core): GUI thread {w['gui_thread_cpu_share']:.0%}, window process "
          f"{w['window_process_cpu_share']:.0%}, training process {w['training_process_cpu_share'] or 0:.0%}; "
          f"the training thread waited {w['training_thread_waiting_share'] or 0:.0%} of the time")
    if (spiral := report.get("spiral")) is not None:
        reached = (f"0.95 first at {spiral['seconds_to_accuracy']} s (epoch {spiral['epoch_reached']})"
                   if spiral["seconds_to_accuracy"] is not None else "never reached 0.95")
        print(f"spiral    {spiral['preset']}, noise {spiral['noise']:.0%}: {spiral['epochs']} epochs in "
              f"{spiral['seconds']} s ({spiral['cpu_seconds']} s of CPU), test accuracy "
              f"{spiral['test_accuracy']:.3f}; {reached} "
              f"({mark[ok['spiral']]}, target ≥ {SPIRAL_ACCURACY} in ≤ {SPIRAL_SECONDS:.0f} s)")
    if w["host_steal_share"] is not None:
        print(f"host: {w['host_steal_share']:.1%} of the machine's CPU time went to other guests during the window "
              "run (steal)")
    print(f"took {report['seconds']:.0f} s")
