"""Why an attendee may not join, or a message cannot be carried out."""

from __future__ import annotations

from wire.protocol import CloseCode, ErrorCode


class JoinRefused(Exception):
    """An attendee may not join a room: sent as a fatal `error`, then the socket closes with `close_code`."""

    def __init__(self, code: ErrorCode, message: str, close_code: CloseCode) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.close_code = close_code


def removed_from_session() -> JoinRefused:
    """The refusal of a ticket the organiser removed from the session."""
    message = "The organiser removed you from this session"
    return JoinRefused("removed_from_session", message, CloseCode.REMOVED_FROM_SESSION)


class CommandRejected(Exception):
    """A well-formed client message that cannot be carried out now: answered with a non-fatal `error`."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
