"""Errors as a person reads them."""

from __future__ import annotations


def first_line(exc: BaseException, limit: int = 240, with_type: bool = False) -> str:
    """An exception as one short line: its message's lines joined (torch's state_dict errors span several), cut
    at `limit` characters; the exception's type alone when it has no message, or before it when `with_type`."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    if not text:
        return type(exc).__name__
    if with_type:
        text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= limit else text[:limit - 1] + "…"
