"""`playground bench --gui --json` runs the real window and reports every figure the issue asks for.
(The figures themselves are measurements, checked by people, not by this test.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_bench_gui_prints_one_json_object_with_the_measurements(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PLAYGROUND_SETTINGS_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "playground", "bench", "--gui", "--json", "--steps", "12",
                           "--batch-size", "64"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for key in ("gui_samples_per_second", "headless_samples_per_second", "event_loop_p99_ms", "predict_p99_ms"):
        assert key in report
    assert report["gui_samples_per_second"] > 0 and report["headless_samples_per_second"] > 0
    assert report["steps"] == 12 and report["event_loop_probes"] > 0
    assert report["stroke_events"] > 0
    assert report["turns"]["gui"] >= 1 and report["turns"]["headless"] >= 1  # the two runs took turns
    waiting = report["training_thread_waiting_share"]
    assert 0 <= waiting["gui"] < 1 and 0 <= waiting["headless"] < 0.5  # a bare run in this thread hardly waits
    assert set(report["meets_targets"]) == {"gui_vs_headless", "event_loop_p99_ms", "predict_p99_ms"}
