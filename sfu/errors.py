"""Errors of the media plane (the media interface turns each into a `Refused` reply)."""

from __future__ import annotations


class SfuError(Exception):
    """Base class for sfu errors."""


class NegotiationFailed(SfuError):
    """The attendee's SDP offer or ICE candidate could not be applied."""
