"""Tunables of the session rooms (defaults suit production; tests shorten some), and the matcher rules of
a stored session under them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from matcher import SessionRules
from web.store.records import SessionRecord


@dataclass(frozen=True)
class RoomSettings:
    tick_seconds: float = 0.25  # how often each room advances its matcher (deadlines, pairing)
    # After someone presses Ready, how long the room waits for others before pairing them all in one
    # round: ready -> matched takes this plus one pairing round.
    pair_delay_seconds: float = 0.02
    grace_seconds: float = 10.0  # a dropped attendee may come back within this and keep the meeting
    extend_window_seconds: float = 30.0  # "Extend" is offered when at most this remains
    heartbeat_seconds: float = 2.0  # WebSocket ping interval: a silent network is noticed within ~3 s
    outbox_messages: int = 512  # queued messages per socket before a non-reading client is dropped
    max_bad_messages: int = 20  # malformed messages in a row before the socket is closed
    # Each socket's message budget: `message_rate` a second on average, bursts of `message_burst` (a page
    # sends a few a second at most: trickled ICE candidates come in a burst at the start).
    message_rate: float = 20.0
    message_burst: float = 100.0
    # Wall clock of the rooms (meeting deadlines are absolute epoch seconds); tests shift it to jump ahead.
    clock: Callable[[], float] = time.time


def rules_for(session: SessionRecord, settings: RoomSettings) -> SessionRules:
    """The matcher rules of a stored session."""
    return SessionRules(
        meeting_seconds=float(session.meeting_seconds),
        allow_rematch=session.allow_rematch,
        rematch_cooldown_seconds=float(session.rematch_cooldown_seconds),
        allowed_pairs=SessionRules.pairs_from(session.allowed_pairs),
        max_extensions=session.max_extensions,
        extend_window_seconds=settings.extend_window_seconds,
        grace_seconds=settings.grace_seconds,
        ends_at=session.ends_at.timestamp(),
        interest_weighting=session.interest_weighting,
    )
