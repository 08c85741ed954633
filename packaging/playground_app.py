"""The frozen app's entry point (PyInstaller, packaging/playground.spec): the `playground` command.

The bundle's one executable is the window, every subcommand, and its own helper processes: the app starts the
training and inference processes as `<executable> --playground-training-process FD FD` (core/run/launcher.py,
served in cli.main), never through a Python that a person's machine need not have.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    # Nothing of ours uses multiprocessing (launcher.py starts plain subprocesses); a library that does would
    # start the frozen executable with multiprocessing's own arguments, which freeze_support serves.
    multiprocessing.freeze_support()
    from playground.cli import main

    sys.exit(main())
