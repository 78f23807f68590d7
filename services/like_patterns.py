"""LIKE patterns built from user text, with the wildcards escaped (one rule for every search).

Every pattern uses ``ESCAPE '\\'`` (pass :data:`ESCAPE` to ``.like``), which SQLite and
PostgreSQL both honour, so ``%``, ``_`` and ``\\`` in what a user typed match themselves.
"""

from __future__ import annotations

ESCAPE = "\\"


def escape_like(text: str) -> str:
    """``text`` with LIKE's wildcards and the escape character escaped."""
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def contains(text: str) -> str:
    """A pattern matching values that contain ``text``."""
    return f"%{escape_like(text)}%"


def starts_with(text: str) -> str:
    """A pattern matching values that start with ``text``."""
    return f"{escape_like(text)}%"


def json_string_member(text: str) -> str:
    """A pattern matching the JSON text of a list that holds the string ``text`` (no quotes in it)."""
    return f'%"{escape_like(text)}"%'
