"""`playground --self-test`: open the window, train one short run, predict one drawn digit, quit.

What packaging/smoke.sh runs against the bundle (the frozen executable under Xvfb), and what a person can run to
check an installation. It goes the way a person does: the window as `playground` opens it, the `mlp` preset, the
offline sample, the Start action, a "1" drawn with the mouse on the Draw dock's canvas. It checks what would be
broken in a bad bundle: the core (torch) loads, the training process and the inference process start from this
process's own executable (a frozen app's, never a Python the machine need not have), the run completes and learns
(test accuracy above 50 %), and the drawing comes back classified as a 1. It prints one line per stage, ends with
"self-test: passed" and exit code 0, or says what failed and exits 1. It never touches the person's settings (a
temporary settings folder) and answers no dialog: any that opens is a failure.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

EXIT_FAILED = 1
PRESET = "mlp"  # the quickest preset to train: an epoch of the sample is a few seconds
DRAWN_DIGIT = 1  # a vertical stroke
MIN_ACCURACY = 0.5
RUN_SETTINGS = {"epochs": 1, "batch_size": 128, "augment": "none", "device": "cpu"}  # one epoch: 31 steps


class SelfTestFailed(Exception):
    pass


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="playground --self-test",
                                     description="Open the window, train one short run on the offline sample, "
                                                 "classify a drawn digit, quit; exit 0 when all of it worked.")
    parser.add_argument("--screenshot", metavar="PNG", help="save the window after the run and the prediction")
    parser.add_argument("--timeout", type=float, default=300, metavar="S", help="give up after S seconds "
                                                                               "(default 300)")
    return parser.parse_args(argv)


def helper_executable(pid: int) -> str | None:
    """The executable a helper process was started as (its first argument), where /proc says; None elsewhere."""
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except OSError:
        return None
    return os.path.realpath(argv0)


def check_started_from_this_executable(pid: int | None, what: str) -> str:
    if pid is None:
        raise SelfTestFailed(f"the {what} has no process")
    exe = helper_executable(pid)
    if exe is None:
        return f"{what}: process {pid}"
    if exe != os.path.realpath(sys.executable):
        raise SelfTestFailed(f"the {what} (process {pid}) runs {exe}, not this executable {sys.executable}")
    return f"{what}: process {pid}, started from {exe}"


class SelfTest:
    """The stages, each a wait on the event loop with the whole test's deadline."""

    def __init__(self, app, window, deadline: float, say):
        self.app, self.window, self.deadline, self.say = app, window, deadline, say
        self.dialogs: list[str] = []
        self.errors: list[str] = []  # exceptions no code of the app caught (PySide prints them and goes on)

    def wait_until(self, condition, what: str) -> None:
        from PySide6.QtCore import QEventLoop

        while not condition():
            if self.dialogs:
                raise SelfTestFailed(f"a dialog opened while {what}: {self.dialogs[0]}")
            if self.errors:
                raise SelfTestFailed(f"an error while {what}: {self.errors[0]}")
            if time.monotonic() > self.deadline:
                raise SelfTestFailed(f"timed out while {what}")
            self.app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.01)

    def run(self, screenshot: str | None) -> None:
        import numpy as np

        from ..core.run.messages import RunFinished
        from ..core.train import TrainConfig
        from .training.session import RUNNING

        window, started = self.window, time.monotonic()
        self.wait_until(lambda: window.isVisible(), "opening the window")
        self.say(f"window shown ({sys.executable})")
        self.wait_until(lambda: window.workbench is not None and window.training is not None,
                        "loading the core (torch) and the views")
        self.say(f"core loaded in {time.monotonic() - started:.1f} s")

        training = window.training
        window.workbench.files.new_from_preset(PRESET)
        training.panel.set_config(TrainConfig(**RUN_SETTINGS))
        training.panel.select_dataset("mnist-sample")
        finished: list[RunFinished] = []
        training.dispatcher.observe(lambda m: finished.append(m) if isinstance(m, RunFinished) else None)
        pids: list[int | None] = []
        training.session.state_changed.connect(
            lambda state: pids.append(training.session.process_id) if state == RUNNING else None)
        window.acts.start_training.trigger()
        self.wait_until(lambda: pids or finished, "starting the training process")
        if pids:
            self.say(check_started_from_this_executable(pids[0], "training process"))
        self.wait_until(lambda: finished, "training")
        result = finished[0]
        if result.status != "completed":
            raise SelfTestFailed(f"the run ended {result.status}: {result.message}")
        if result.test_accuracy is None or result.test_accuracy < MIN_ACCURACY:
            raise SelfTestFailed(f"the run did not learn: test accuracy {result.test_accuracy}")
        self.say(f"trained {PRESET} on mnist-sample: {result.global_step} steps in {result.seconds:.1f} s, "
                 f"test accuracy {result.test_accuracy:.1%}")

        digits = training.digits
        shown = []
        digits.prediction_shown.connect(lambda p: shown.append(p) if p.probabilities is not None else None)
        self.wait_until(lambda: training.weights is not None, "handing the run's weights to the canvas")
        draw_stroke(digits.canvas, [(0.5, 0.15), (0.52, 0.85)])
        if digits.canvas.is_empty():
            raise SelfTestFailed("the stroke left no ink on the canvas")
        from ..core.data import preprocess_digit

        seen = preprocess_digit(digits.canvas.raster_array())  # what the network must be shown: the whole stroke
        self.wait_until(lambda: any(np.array_equal(p.image, seen) for p in shown), "classifying the drawing")
        self.say(check_started_from_this_executable(training.predictor._inference.pid, "inference process"))
        prediction = next(p for p in shown if np.array_equal(p.image, seen))
        probabilities = prediction.probabilities
        predicted = int(probabilities.argmax())
        if abs(float(probabilities.sum()) - 1) > 1e-3:
            raise SelfTestFailed(f"the prediction's probabilities sum to {float(probabilities.sum())}")
        if predicted != DRAWN_DIGIT:
            raise SelfTestFailed(f"a drawn {DRAWN_DIGIT} was classified as {predicted} "
                                 f"({float(probabilities[predicted]):.0%})")
        self.say(f"drew a {DRAWN_DIGIT}: classified as {predicted} ({float(probabilities[predicted]):.0%})")

        if screenshot:
            pause_until = time.monotonic() + 1.5  # the charts and views repaint from their timers
            self.wait_until(lambda: time.monotonic() > pause_until, "letting the views repaint")
            if not window.grab().save(screenshot):
                raise SelfTestFailed(f"could not save the screenshot {screenshot}")
            self.say(f"screenshot: {screenshot}")


def draw_stroke(canvas, points: list[tuple[float, float]], steps: int = 12) -> None:
    """A mouse stroke through `points` (fractions of the canvas's drawing square), as a person draws it."""
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    square = canvas.square()

    def at(x: float, y: float) -> QPointF:
        return QPointF(square.x() + x * square.width(), square.y() + y * square.height())

    def send(kind, pos: QPointF, button, buttons) -> None:
        event = QMouseEvent(kind, pos, QPointF(canvas.mapToGlobal(pos)), button, buttons,
                            Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(canvas, event)

    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    send(QEvent.Type.MouseButtonPress, at(*points[0]), left, left)
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        for i in range(1, steps + 1):
            t = i / steps
            send(QEvent.Type.MouseMove, at(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t), none, left)
    send(QEvent.Type.MouseButtonRelease, at(*points[-1]), left, none)


def _record_errors(test: SelfTest) -> None:
    """An exception raised in a slot is handed to sys.excepthook (and the app goes on): here it fails the test."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        test.errors.append(f"{kind.__name__}: {value}")
        previous(kind, value, tb)  # the traceback, on stderr

    sys.excepthook = hook


def _refuse_dialogs(test: SelfTest) -> None:
    """Every message box the app might open is recorded, answered at once, and fails the test."""
    from PySide6.QtWidgets import QMessageBox

    def record(kind, answer):
        def show(parent, title, text="", *args, **kwargs):
            test.dialogs.append(f"{kind} {title!r}: {text}")
            return answer

        return staticmethod(show)

    for kind in ("critical", "warning", "information"):
        setattr(QMessageBox, kind, record(kind, QMessageBox.StandardButton.Ok))
    QMessageBox.question = record("question", QMessageBox.StandardButton.No)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = time.monotonic()

    def say(text: str) -> None:
        print(f"self-test: [{time.monotonic() - started:5.1f} s] {text}", flush=True)

    from PySide6.QtCore import QTimer

    from .launch import application, open_main_window
    from .settings import AppSettings

    with tempfile.TemporaryDirectory(prefix="playground-self-test-") as settings_dir:
        app = application()
        window = open_main_window(None, AppSettings(Path(settings_dir)))
        test = SelfTest(app, window, started + args.timeout, say)
        _refuse_dialogs(test)
        _record_errors(test)

        def run() -> None:
            code = 0
            try:
                test.run(args.screenshot)
            except SelfTestFailed as exc:
                say(f"FAILED: {exc}")
                code = EXIT_FAILED
            except Exception as exc:  # a bug in the test or the app: a failure too, never a hang
                traceback.print_exc()
                say(f"FAILED: {type(exc).__name__}: {exc}")
                code = EXIT_FAILED
            _close(window)
            app.exit(code)

        QTimer.singleShot(0, run)
        code = app.exec()  # ends with aboutToQuit: the clipboard is released (PySide6 6.11 crashes at exit otherwise)
        window.loader.wait(5)
    if code == 0:
        say("passed")
    return code


def _close(window) -> None:
    """Close the window without a question: the document counts as saved, a run still going is stopped."""
    if window.workbench is not None:
        window.workbench.document.undo_stack.setClean()
    if window.training is not None and window.training.session.active:  # the test failed during a run
        window.training.session.stop(closing=True)
        window.training.session.wait()
    window.close()
