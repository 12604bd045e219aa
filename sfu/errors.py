"""Errors of the media/signalling layer."""

from __future__ import annotations

from wire.protocol import CloseCode, ErrorCode


class SfuError(Exception):
    """Base class for sfu errors."""


class JoinRefused(SfuError):
    """An attendee may not join a room: sent as a fatal `error`, then the socket closes with `close_code`."""

    def __init__(self, code: ErrorCode, message: str, close_code: CloseCode) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.close_code = close_code


class CommandRejected(SfuError):
    """A well-formed client message that cannot be carried out now: answered with a non-fatal `error`."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message


class NegotiationFailed(SfuError):
    """The client's SDP offer or ICE candidate could not be applied."""
