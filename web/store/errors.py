"""Errors raised by the store; the HTTP layer maps each to a status code."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of the store's errors."""


class NotFound(StoreError):
    """The referenced row does not exist (HTTP 404)."""


class Conflict(StoreError):
    """The change clashes with what is stored: a duplicate name, a row still in use (HTTP 409)."""


class NotAllowed(StoreError):
    """The caller may not do this, e.g. connect with someone they never met (HTTP 403)."""


class InvalidData(StoreError):
    """The values are well-formed but break a domain rule, e.g. a session off the event's days (HTTP 422)."""
