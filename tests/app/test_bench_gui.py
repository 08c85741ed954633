"""`playground bench --gui --json` runs the real window and reports every figure the issue asks for.
(The figures themselves are measurements, checked by people, not by this test.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_bench_gui_prints_one_json_object_with_the_measurements(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PLAYGROUND_SETTINGS_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "playground", "bench", "--gui", "--json", "--steps", "120",
                           "--batch-size", "32", "--turn-seconds", "0.5"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for key in ("gui_samples_per_second", "headless_samples_per_second", "event_loop_p99_ms", "predict_p99_ms"):
        assert key in report
    assert report["gui_samples_per_second"] > 0 and report["headless_samples_per_second"] > 0
    assert report["steps"] == 120 and report["event_loop_probes"] > 0
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
