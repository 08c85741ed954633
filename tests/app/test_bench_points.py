"""`playground bench --points --json`: points-tfp headless and in the real window, and points-spiral, in one JSON
object. (The figures themselves are measurements, checked by people, not by this test.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_bench_points_prints_one_json_object_with_the_measurements(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PLAYGROUND_SETTINGS_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "playground", "bench", "--points", "--json", "--steps", "1500"],
                          capture_output=True, text=True, env=env, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])

    headless = report["headless"]
    for side in ("bare_trainer", "run_job"):
        assert headless[side]["steps"] > 0 and headless[side]["steps_per_second"] > 0
        assert headless[side]["cpu_ms_per_step"] > 0
    assert headless["run_job"]["frames_per_second"] > 0 and headless["run_job"]["messages"]["DecisionFrame"] > 0
    assert headless["run_job_vs_bare"] > 0

    spiral = report["spiral"]
    assert spiral["preset"] == "points-spiral" and spiral["noise"] == 0.1 and spiral["steps"] == 1500
    assert 0 <= spiral["test_accuracy"] <= 1 and spiral["seconds"] > 0 and spiral["frames"] > 0

    window = report["window"]
    assert window["preset"] == "points-tfp" and window["dataset"] == "xor" and window["batch_size"] == 10
    assert window["total_steps"] == 1500 and window["measured_steps"] > 0 and window["steps_per_second"] > 0
    assert window["frames_received"] > 0 and window["frames_per_second"] > 0
    assert window["heatmap_refreshes"] > 0 and window["decision_refreshes"] > 0
    assert window["thumbnails"] == 16 and window["thumbnails_in_sight"] == 16  # 2 + 4 + 4 + 2 + 2 + 2 units
    assert window["decision_view_in_sight"]
    assert window["event_loop_probes"] > 0 and window["event_loop_p99_ms"] is not None
    assert window["dialogs_dismissed"] == []
    assert set(report["meets_targets"]) == {"window_steps_per_second", "heatmap_refreshes_per_second",
                                            "event_loop_p99_ms", "spiral"}
