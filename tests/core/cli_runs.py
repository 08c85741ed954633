"""Running `playground` in-process in a test, as a person runs it from a shell."""

from __future__ import annotations

from playground.cli import main


def run_cli(capsys, *argv):
    """(exit code, stdout lines, stderr) of one in-process run; arguments may be paths or numbers."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out.strip().splitlines(), err
