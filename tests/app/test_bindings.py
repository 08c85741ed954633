"""The Qt bindings in use must not leak references to None (PySide6 6.12.0 does, and aborts CPython 3.11)."""

import sys

import pytest
from PySide6.QtCore import QObject


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from CPython 3.12 on")
def test_void_calls_do_not_leak_none():
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(2000):
        probe.setObjectName("probe")
    assert sys.getrefcount(None) > before - 100, "this PySide6 build leaks None; see pyproject.toml"
