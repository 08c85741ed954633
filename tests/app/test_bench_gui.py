"""`playground bench --gui --json` runs the real window and reports every figure the issue asks for.
(The figures themselves are measurements, checked by people, not by this test.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_bench_gui_prints_one_json_object_with_the_measurements(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PLAYGROUND_SETTINGS_DIR": str(tmp_path)}
    # Enough steps for both kinds of turn even on a fast machine (at 3 ms a step: 1.2 s, three turns of 0.3 s).
    done = subprocess.run([sys.executable, "-m", "playground", "bench", "--gui", "--json", "--steps", "400",
                           "--batch-size", "32", "--turn-seconds", "0.3"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for key in ("gui_samples_per_second", "headless_samples_per_second", "event_loop_p99_ms", "predict_p99_ms"):
        assert key in report
    assert report["gui_samples_per_second"] > 0 and report["headless_samples_per_second"] > 0
    assert report["steps"] == 400 and report["event_loop_probes"] > 0
    assert report["stroke_events"] > 0
    assert report["turns"]["gui"] >= 1 and report["turns"]["headless"] >= 1  # the run took both kinds of turn
    assert report["measured_steps"]["gui"] > 0 and report["measured_steps"]["headless"] > 0
    waiting = report["training_thread_waiting_share"]
    assert 0 <= waiting["gui"] < 1 and 0 <= waiting["headless"] < 0.5  # with the window blocked, training hardly waits
    cpu = report["training_thread_cpu_ms_per_step"]
    assert cpu["gui"] > 0 and cpu["headless"] > 0
    assert set(report["meets_targets"]) == {"gui_vs_headless", "event_loop_p99_ms", "predict_p99_ms"}
    steal = report["host_steal_share"]
    assert steal is None if not sys.platform.startswith("linux") else 0 <= steal < 1
    core_steal = report["training_core_steal_share"]
    if sys.platform.startswith("linux") and (os.cpu_count() or 1) > 1:
        assert all(0 <= core_steal[kind] < 1 for kind in ("gui", "headless"))
        assert 0 <= report["window_core_steal_share"] < 1
        assert report["gui_vs_headless_steal_excluded"] > 0
    assert report["dialogs_dismissed"] == []  # nothing went wrong: the window asked nothing


def test_too_few_steps_for_both_kinds_of_turn_is_a_plain_error(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PLAYGROUND_SETTINGS_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "playground", "bench", "--gui", "--steps", "10", "--batch-size", "32",
                           "--turn-seconds", "5"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("playground: error: 10 steps are too few") and "--steps" in last
    assert "internal error" not in done.stderr


def test_host_steal_comes_from_the_machines_cpu_line(tmp_path):
    from playground.commands.bench_gui import _steal_share, host_cpu_times

    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 50 800 10 0 5 35 0 0\ncpu0 50 0 25 400 5 0 2 18 0 0\n")
    assert host_cpu_times(str(stat)) == (35, 1000)
    assert _steal_share((35, 1000), (45, 1200)) == 0.05
    assert _steal_share((35, 1000), None) is None and _steal_share((35, 1000), (35, 1000)) is None
    stat.write_text("intr 1 2 3\n")
    assert host_cpu_times(str(stat)) is None
    assert host_cpu_times(str(tmp_path / "missing")) is None


def test_the_turn_ledger_counts_only_stretches_inside_one_turn_and_leaves_out_each_epochs_end():
    from types import SimpleNamespace

    from playground.commands.bench_gui import _TurnLedger

    ledger = _TurnLedger()
    # (published_at, global_step, cpu_seconds), 10 steps per epoch: the epoch's end (evaluation) comes after step 10.
    for at, step, cpu in [(0.0, 6, 0.0), (1.0, 8, 0.9), (2.0, 10, 1.8), (3.0, 10, 2.7), (4.0, 12, 3.6),
                          (5.0, 14, 4.5), (6.0, 16, 5.0), (7.0, 18, 5.5)]:
        ledger.on_progress(SimpleNamespace(steps_per_epoch=10, published_at=at, global_step=step, cpu_seconds=cpu))
    ledger.turns = [("gui", 0.0, 4.5), ("headless", 4.5, 7.0)]
    # gui: 0→1 only (1→2 and 2→3 touch step 10, 3→4 starts at it, 4→5 crosses into the headless turn).
    assert ledger.totals("gui") == (2, 1.0, 0.9)
    steps, seconds, cpu = ledger.totals("headless")  # 5→6 and 6→7 (4→5 began in the window turn)
    assert (steps, seconds) == (4, 2.0) and abs(cpu - 1.0) < 1e-9


def test_steal_can_be_read_for_some_cores_only(tmp_path):
    from playground.commands.bench_gui import host_cpu_times

    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 50 800 10 0 5 35 0 0\ncpu0 50 0 25 400 5 0 2 18 0 0\n"
                    "cpu1 50 0 25 400 5 0 3 17 0 0\nintr 1 2 3\n")
    assert host_cpu_times(str(stat), frozenset({0})) == (18, 500)
    assert host_cpu_times(str(stat), frozenset({1})) == (17, 500)
    assert host_cpu_times(str(stat), frozenset({0, 1})) == (35, 1000)
    assert host_cpu_times(str(stat), frozenset({2})) is None  # no such core: no figure rather than a zero


def test_the_dialog_watch_dismisses_a_modal_box_and_notes_what_it_said(qtbot):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QDialog, QMessageBox

    from playground.commands.bench_gui import _DialogWatch

    watch = _DialogWatch()
    watch.timer.start()
    box = QMessageBox(QMessageBox.Icon.Critical, "Training diverged", "the loss became NaN")
    results = []
    QTimer.singleShot(0, lambda: results.append(box.exec()))
    unstick = QTimer(singleShot=True, interval=5000)  # without the watch the box would wait for ever: fail instead
    unstick.timeout.connect(lambda: box.done(42))
    unstick.start()
    qtbot.waitUntil(lambda: bool(results), timeout=8000)
    unstick.stop()
    watch.timer.stop()
    assert results == [QDialog.DialogCode.Rejected]
    assert watch.seen == ["Training diverged: the loss became NaN"]


def test_a_run_that_fails_ends_the_bench_with_its_message_and_closes_the_window(qtbot, monkeypatch, dialogs):
    import pytest
    from PySide6.QtWidgets import QApplication

    import playground.app.training.worker as worker_module
    from playground.app.main_window import MainWindow
    from playground.commands.bench_gui import run_gui_bench

    def diverge(self, process, conn, start):  # what the training process says of a run that diverged
        return self._ended("training diverged: the loss became NaN at step 1", start, status="diverged")

    monkeypatch.setattr(worker_module.TrainingWorker, "_relay", diverge)
    with pytest.raises(RuntimeError, match="the GUI run failed: training diverged: the loss became NaN"):
        run_gui_bench(40, "mnist-sample", None, 32, 0, turn_seconds=0.2)
    assert dialogs.texts("critical") == ["training diverged: the loss became NaN at step 1"]  # the window said so
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]


def test_the_ratio_without_steal_counts_each_side_over_the_time_the_host_left_it():
    from playground.commands.bench_gui import _steal_excluded

    # 10% of the window turns stolen, none of the headless ones: 0.9 measured is the window costing nothing.
    assert _steal_excluded(0.9, {"gui": 0.1, "headless": 0.0}) == 1.0
    assert _steal_excluded(0.9, {"gui": 0.02, "headless": 0.02}) == 0.9  # the same steal: no correction
    assert _steal_excluded(0.9, {"gui": None, "headless": 0.0}) is None


def test_core_steal_is_summed_per_kind_of_turn_and_core(monkeypatch):
    from types import SimpleNamespace

    import playground.commands.bench_gui as bench_gui

    # /proc/stat as it moves on: (stolen, total) ticks of the training core and of the window's core, per reading.
    readings = iter([(0, 0), (0, 0), (5, 100), (20, 100), (5, 100), (20, 100), (6, 200), (40, 200)])
    monkeypatch.setattr(bench_gui, "host_cpu_times", lambda cpus=None: next(readings))
    steal = bench_gui._CoreSteal(SimpleNamespace(training=frozenset({0}), window=frozenset({1})))
    steal.count(("gui", "window"), steal.now())  # a window turn: 5 of 100 ticks stolen from training, 20 from window
    steal.count(("headless", None), steal.now())  # a headless turn: 1 of 100 (the window's core is not counted)
    assert steal.shares() == {"gui": 0.05, "headless": 0.01, "window": 0.2}
    assert bench_gui._CoreSteal(None).shares() == {"gui": None, "headless": None, "window": None}


def test_bench_gui_gan_trains_a_gan_with_the_sample_grid_updating(tmp_path):
    """`bench --gui --gan`: dcgan-mnist in the window, the Samples dock live (its grid and latent walk)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PLAYGROUND_SETTINGS_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "playground", "bench", "--gui", "--gan", "--json", "--steps", "90",
                           "--batch-size", "32", "--turn-seconds", "0.5"],
                          capture_output=True, text=True, env=env, timeout=400)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["model"] == "dcgan-mnist" and report["steps"] == 90
    assert report["event_loop_probes"] > 0 and report["event_loop_p99_ms"] is not None
    assert "samples" in report["views_open"]
    assert report["view_updates"]["samples"] >= 1 and report["view_updates"]["latent walk"] >= 1
    assert report["dialogs_dismissed"] == []
