"""Start the app: show the window at once, load the core in the background, then build the editor."""

from __future__ import annotations

import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from ..core.run.launcher import INFERENCE_MODULE, TRAINING_MODULE, start_spare_process
from .core_loader import CoreLoader
from .icons import icon
from .main_window import MainWindow
from .settings import AppSettings
from .titles import APP_NAME


def _release_clipboard() -> None:
    from .editor.clipboard import release_clipboard  # not at import time: it loads the core (torch)

    release_clipboard()


def limit_blas_threads() -> None:
    """One BLAS thread for numpy in this process.

    OpenBLAS starts a thread per core for every matrix product. The window's
    products are small (the canvas's 28×28 preprocessing, the charts), and the
    extra threads take the core that a CPU training run is using: measured on a
    2-core machine, a numpy loop in the GUI thread halved the training speed;
    with one BLAS thread it cost nothing. Torch keeps its own thread settings.
    """
    import numpy  # noqa: F401 (threadpoolctl limits only libraries already loaded: load OpenBLAS first)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


TRAINING_SPARE_DELAY_MS = 10_000
GIL_SWITCH_INTERVAL = 0.0005  # seconds; CPython's default is 0.005


def share_the_gil() -> None:
    """Let a thread waiting for the GIL get it within 0.5 ms instead of 5 ms.

    The threads of this process besides the GUI thread (the predictor's relay to
    the inference process, the training worker's relay from the training
    process) each do a little Python per message; when the GUI thread is in the
    middle of a Python handler (a repaint, a chart update), they would wait until
    the handler ends or the switch interval forces a hand-over, and a drawing's
    prediction with them. (Its history: docs/performance.md.)
    """
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)


def application() -> QApplication:
    limit_blas_threads()
    share_the_gil()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setDesktopFileName("playground")
    app.setWindowIcon(icon("app"))
    app.aboutToQuit.connect(_release_clipboard)
    return app


def open_main_window(path: str | None = None, settings: AppSettings | None = None) -> MainWindow:
    """Show the window now; the editor fills it once the core (torch) has been imported in the background."""
    window = MainWindow(settings, path=path)
    window.show()
    window.loader = loader = CoreLoader(path, window)
    loader.loaded.connect(lambda: window.start(path))
    loader.failed.connect(lambda message: _fail(window, message))
    QTimer.singleShot(0, loader.start)  # after the first paint
    QTimer.singleShot(0, lambda: start_spare_process(INFERENCE_MODULE))  # the predictor's imports torch meanwhile
    # The first run's process, once the window and the inference process have their torch (on 2 cores, a third
    # import at the same time would slow all three): Start then trains at once.
    QTimer.singleShot(TRAINING_SPARE_DELAY_MS, lambda: start_spare_process(TRAINING_MODULE))
    return window


def _fail(window: MainWindow, message: str) -> None:
    QMessageBox.critical(window, f"{APP_NAME} cannot start",
                         f"The layer library could not be loaded:\n\n{message}\n\nIs PyTorch installed?")
    window.close()
    QApplication.instance().exit(1)


def run(path: str | None = None) -> int:
    # Ctrl+C in the terminal ends the app (Qt's event loop would otherwise swallow it); an autosave of
    # unsaved work stays behind and is offered at the next start.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    app = application()
    window = open_main_window(path)
    code = app.exec()
    window.loader.wait(5)
    return code
