"""`playground --self-test` (what packaging/smoke.sh runs in the bundle), here through this Python, offscreen: it
passes when the window trains and predicts, and it fails, saying why, when the run or the prediction goes wrong."""

from __future__ import annotations

import os
import subprocess
import sys

# The self-test run the way `playground --self-test` runs it, after applying PATCH in the window's process.
RUN = """
import sys
import playground.app.self_test as self_test
{patch}
from playground.cli import main
sys.exit(main(["--self-test", *sys.argv[1:]]))
"""


def self_test(tmp_path, *args: str, patch: str = "") -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PLAYGROUND_SETTINGS_DIR=str(tmp_path / "unused"))
    return subprocess.run([sys.executable, "-c", RUN.format(patch=patch), *args], capture_output=True, text=True,
                          env=env, timeout=240)


def test_the_self_test_trains_predicts_a_drawn_one_and_saves_a_screenshot(tmp_path):
    shot = tmp_path / "shot.png"
    result = self_test(tmp_path, "--screenshot", str(shot))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1].endswith("passed")
    executable = os.path.realpath(sys.executable)
    said = "\n".join(lines)
    assert "training process: process " in said and f"started from {executable}" in said
    assert "inference process: process " in said
    assert "trained mlp on mnist-sample: 31 steps" in said
    assert "drew a 1: classified as 1" in said
    assert shot.read_bytes().startswith(b"\x89PNG")
    assert not (tmp_path / "unused").exists()  # a settings folder of its own, not the environment's


def test_a_run_that_fails_fails_the_self_test(tmp_path):
    result = self_test(tmp_path, patch='self_test.RUN_SETTINGS = {**self_test.RUN_SETTINGS, "lr": 1e30, '
                                       '"grad_clip": 0.0, "optimizer": "sgd"}')
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED: the run ended diverged" in result.stdout
    assert "passed" not in result.stdout


def test_a_wrong_prediction_fails_the_self_test(tmp_path):
    result = self_test(tmp_path, patch="self_test.DRAWN_DIGIT = 7")  # it draws a 1, and expects a 7
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED: a drawn 7 was classified as 1" in result.stdout
