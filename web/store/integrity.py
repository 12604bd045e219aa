"""What a database constraint violation means to the person who caused it, without the SQL.

The store checks names, emails and references before it writes, with clear messages. Two requests racing
each other can still pass those checks together; the database then refuses the second write, and this
turns its error into words about the data, never the constraint's or table's names."""

from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError

_UNIQUE_SQLSTATE = "23505"
_FOREIGN_KEY_SQLSTATE = "23503"
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?P<columns>[\w., ]+)")

# The unique things people choose, by table: what to call a clash in their terms.
_TAKEN = {
    "events": "an event with this name already exists: choose another name",
    "ticket_types": "the event already has a ticket type with this name: choose another name",
    "tickets": "the event already has a ticket with this email",
    "sessions": "the event already has a session with this title: choose another title",
}
_RETRY = "; reload and try again"
_UNIQUE = "another request just saved the same thing" + _RETRY
_GONE = "something this change refers to was just deleted or changed by another request" + _RETRY
_OTHER = "the change clashes with a change another request just made" + _RETRY


def conflict_message(exc: IntegrityError) -> str:
    """A message for a refused write, in the user's terms."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    text = str(orig)
    if sqlstate == _UNIQUE_SQLSTATE:
        cause = orig.__cause__ if orig is not None else None
        table = getattr(cause, "table_name", None)
        return _taken(table) if isinstance(table, str) else _UNIQUE
    if sqlstate == _FOREIGN_KEY_SQLSTATE or "FOREIGN KEY constraint failed" in text:
        return _GONE
    m = _SQLITE_UNIQUE.search(text)
    if m is not None:
        return _taken(m.group("columns").split(".", 1)[0].strip())
    return _OTHER


def _taken(table: str) -> str:
    return _TAKEN.get(table, _UNIQUE)
