"""What callers hand the store to create or replace a row (validated again inside the store)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class EventInput:
    name: str
    timezone: str
    days: tuple[date, ...]


@dataclass(frozen=True)
class TicketInput:
    name: str
    email: str
    ticket_type: str  # the ticket type's name within the event
    headline: str | None = None
    company: str | None = None
    is_admin: bool = False
    interests: tuple[str, ...] = ()  # pre-filled from the event's interest tags (at most 5)


@dataclass(frozen=True)
class SessionInput:
    title: str
    starts_at: datetime  # aware
    ends_at: datetime
    meeting_seconds: int
    allow_rematch: bool = False
    rematch_cooldown_seconds: int = 300
    max_extensions: int = 1
    allowed_pairs: tuple[tuple[str, str], ...] | None = None  # ticket-type names; None = everyone
    interest_weighting: bool = True  # prefer partners who share interests; False: purely random


@dataclass(frozen=True)
class AssetInput:
    event_id: int
    ticket_id: int | None
    purpose: str  # "background" | "pre_session"
    kind: str  # "image" | "video"
    content_type: str
    filename: str
    size_bytes: int
    width: int | None
    height: int | None


@dataclass(frozen=True)
class UploadQuota:
    """What one ticket's uploads may take: how many files, and how many bytes in all."""

    max_files: int
    max_bytes: int
