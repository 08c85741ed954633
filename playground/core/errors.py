"""Errors as a person reads them: one line each."""

from __future__ import annotations

LIMIT = 240  # characters


def first_line(exc: BaseException, with_type: bool = False, limit: int = LIMIT) -> str:
    """The first line of an exception's message (torch.export's and ONNX's go on for pages), after its type when
    `with_type`; the type alone when there is no message."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    return _cut(f"{type(exc).__name__}: {lines[0]}" if with_type else lines[0], limit)


def one_line(exc: BaseException, limit: int = LIMIT) -> str:
    """An exception's whole message on one line (a state_dict mismatch names each wrong tensor on a line of its
    own, after a first line that says nothing); the type alone when there is no message."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return _cut(text, limit) if text else type(exc).__name__


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
