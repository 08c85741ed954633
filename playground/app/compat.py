"""Work-arounds for bugs in the Qt bindings, applied once at start-up.

PySide6-Essentials 6.12.0 (an abi3 wheel) on CPython 3.11 drops one reference to
`None` on every call of a void method (`widget.update()`, `label.setText()`,
every paint event...). On CPython >= 3.12 None is immortal and nothing
happens; on 3.11 its count reaches zero after a few thousand calls and the
interpreter aborts with "Fatal Python error: none_dealloc" — the editor would
die within seconds of drawing. If (and only if) the leak is measured here, we
give None a reference count it cannot run out of, which is what 3.12 does.
"""

from __future__ import annotations

import ctypes
import sys

_PROTECTED = False
_HEADROOM = 1 << 40  # decades of leaked references at thousands per second


def _leaks_none() -> bool:
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(20):
        probe.setObjectName("probe")
    return sys.getrefcount(None) < before - 10


def protect_none() -> bool:
    """Apply the work-around if this interpreter and binding need it; True if applied (idempotent)."""
    global _PROTECTED
    if _PROTECTED:
        return True
    if (sys.implementation.name != "cpython" or sys.version_info >= (3, 12)
            or hasattr(sys, "gettotalrefcount")):  # immortal None, or a debug build with a different layout
        return False
    if not _leaks_none():
        return False
    ctypes.c_ssize_t.from_address(id(None)).value += _HEADROOM  # ob_refcnt is PyObject's first field
    _PROTECTED = True
    return True
